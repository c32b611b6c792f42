package ingest_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify/snstest"
	"github.com/paystream/paystream/pipeline/testenv"
)

// Fixed per-request counters of the hot ingest routes that CI guards (issue 16): Redis round trips
// (a pipeline is one), Redis commands and heap allocations per accepted request, with the rate
// limits at cmd's production defaults (200/s per credential, 1000/s per client address). A test
// fails when a route goes over its budget; nothing here measures time. When a change lowers a
// figure, lower its budget with it (the commit message says from what to what).

// Production rate limits (cmd/paystream: --rate-limit-key, --rate-limit-ip).
const (
	prodRateLimitKey = 200
	prodRateLimitIP  = 1000
)

// routeBudget is what one accepted request of a route may cost at most.
type routeBudget struct {
	trips, cmds float64 // Redis round trips and commands, on average over a run of requests
	allocs      float64 // heap allocations (testing.AllocsPerRun), the handler's and go-redis's
}

// hotRoute is one hot route: how to build its i-th request (each a new payment or intent) and the
// answer it must get.
type hotRoute struct {
	name    string
	path    string
	headers func(body []byte) map[string]string
	body    func(i int) []byte
	want    int
}

// hotRoutes builds a merchant with SANDBOX bKash and Nagad wallets, an SMS device, a transaction-API
// integration and an SNS integration on f, and returns the hot routes on them. Budgets: see
// TestRedisRoundTripBudget.
func hotRoutes(t testing.TB, f *fixture, signer *snstest.Signer) []hotRoute {
	t.Helper()
	m := f.txnOnboard(t)
	_, token, _ := f.RegisterDevice(t, m.id, "", fmt.Sprintf(`{"1":{"provider":"bkash","account":%q},"2":{"provider":"nagad","account":%q}}`, m.bkash, m.nagad))
	txnKey, txnSecret := f.txnIntegration(t, m.id, pipeline.Sandbox, false)
	code, out, _ := f.do("POST", "/admin/v1/merchants/"+m.id+"/integrations", f.AdminHeaders(),
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q},"topicArn":%q}`, m.bkash, ingesttest.SNSTopic))
	if code != 201 {
		t.Fatalf("creating the SNS integration: %d %v", code, out)
	}
	sns := ingesttest.SNS{Signer: signer, ShunnoID: out["shunnoId"].(string), AppSecret: out["appSecret"].(string),
		ClientKey: out["clientSecret"].(string), MerchantID: m.id, Wallet: pipeline.Wallet{Provider: pipeline.BKash, Account: m.bkash, Environment: pipeline.Sandbox}}
	code, in, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": m.key}, `{"amount":500,"currency":"BDT","customerReference":"BUDGET-SIM"}`)
	if code != 201 {
		t.Fatalf("creating the simulator's intent: %d %v", code, in)
	}
	run := randHex(3)
	trx := func(p string, i int) string { return fmt.Sprintf("%s%s%05d", p, run, i) }
	key := func([]byte) map[string]string { return map[string]string{"X-Api-Key": m.key} }
	return []hotRoute{
		{name: "create intent", path: "/v1/payments/intents", headers: key, want: 201,
			body: func(i int) []byte {
				return fmt.Appendf(nil, `{"amount":%d,"currency":"BDT","customerReference":"B-%s","idempotencyKey":"idem-%s"}`, 100+i, trx("C", i), trx("C", i))
			}},
		{name: "create intent, no idempotency key", path: "/v1/payments/intents", headers: key, want: 201,
			body: func(i int) []byte {
				return fmt.Appendf(nil, `{"amount":%d,"currency":"BDT","customerReference":"B-%s"}`, 100+i, trx("N", i))
			}},
		{name: "sandbox simulator", path: "/v1/sandbox/sms-events/simulate", headers: key, want: 202,
			body: func(i int) []byte {
				return fmt.Appendf(nil, `{"paymentIntentId":%q,"amount":500,"trxId":%q,"senderMsisdn":"01783110247"}`, in["id"], trx("S", i))
			}},
		{name: "SMS forward", path: "/v1/sms/" + token + "/forwarder", headers: func([]byte) map[string]string { return nil }, want: 202,
			body: func(i int) []byte {
				return []byte(ingesttest.SMSForwarderBody("bKash", ingesttest.SMSBKash(trx("F", i), ingesttest.SMSAt), ingesttest.SMSAt, "1"))
			}},
		{name: "txn complete", path: txnCompletePath, want: 202,
			headers: func(b []byte) map[string]string {
				return map[string]string{"API-Key": txnKey, "X-Signature": txnSign(txnSecret, string(b))}
			},
			body: func(i int) []byte {
				return fmt.Appendf(nil, `{"transaction_id":%q,"amount":100,"from_account":"01711111111","to_account":%q}`, trx("T", i), m.bkash)
			}},
		{name: "SNS notification", path: sns.URL("SHUNNOIT"), headers: func([]byte) map[string]string { return sns.Secrets() }, want: 200,
			body: func(i int) []byte {
				return []byte(sns.Notification(t, ingesttest.SNSMessage(trx("N", i), nil), true, ""))
			}},
	}
}

// routeBudgets are the documented budgets of hotRoutes, by name. Round trips and commands are the
// route's own (a whole number) plus at most 0.15 a request for the rate limiters' leases spread over
// the requests (leases grow from 1 to 20 per credential and 100 per address at cmd's defaults; in
// the steady state that is 0.06 a request); allocations have a few of headroom for what the runtime
// and go-redis's pool allocate now and then.
var routeBudgets = map[string]routeBudget{
	"create intent":                     {trips: 3.15, cmds: 5.15, allocs: 160},
	"create intent, no idempotency key": {trips: 2.15, cmds: 4.15, allocs: 140},
	"sandbox simulator":                 {trips: 0.15, cmds: 0.15, allocs: 50},
	"SMS forward":                       {trips: 2.15, cmds: 4.15, allocs: 143},
	"txn complete":                      {trips: 2.15, cmds: 2.15, allocs: 174},
	"SNS notification":                  {trips: 2.15, cmds: 2.15, allocs: 113},
}

// budgetFixture is the fixture with every surface mounted, the SNS signer's host trusted, the
// rate limits at cmd's defaults, Kafka acknowledging at once, and Redis commands counted.
func budgetFixture(t testing.TB) (*fixture, *testenv.RedisOps, []hotRoute) {
	return budgetFixtureLimits(t, prodRateLimitKey, prodRateLimitIP)
}

// budgetFixtureLimits is budgetFixture with the given rate limits.
func budgetFixtureLimits(t testing.TB, keyRate, ipRate int) (*fixture, *testenv.RedisOps, []hotRoute) {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	signer := snstest.NewSigner(t)
	f.remount(func(c *ingest.Config) { c.RateLimitKey, c.RateLimitIP = keyRate, ipRate }, allOptions{snsHosts: []string{signer.Host}})
	routes := hotRoutes(t, f, signer)
	f.Pub.Swap(ingesttest.NopPublisher{})
	frozen := time.Now()
	f.S.SetLimiterClockForTest(func() time.Time { return frozen })
	return f, testenv.CountRedisOps(f.RDB), routes
}

// sendRoute runs one request of r in memory on ctx (reused, as the server reuses its contexts)
// and fails t unless it gets r.want.
func sendRoute(t testing.TB, f *fixture, ctx *fasthttp.RequestCtx, r hotRoute, body []byte, headers map[string]string) {
	t.Helper()
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.ResetUserValues()
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.SetRequestURI(r.path)
	ctx.Request.Header.SetContentType("application/json")
	for k, v := range headers {
		ctx.Request.Header.Set(k, v)
	}
	ctx.Request.SetBodyRaw(body)
	f.S.Handler()(ctx)
	if code := ctx.Response.StatusCode(); code != r.want {
		t.Fatalf("%s: answer %d, want %d: %s", r.name, code, r.want, ctx.Response.Body())
	}
}

// TestRedisRoundTripBudget sends a run of each hot route's requests with the production rate
// limits on and checks the Redis round trips and commands they cost, on average per request,
// against the route's budget (routeBudgets): the rate limiters' leases are spread over the
// requests they served. The first requests of a route warm the caches (directory, intent
// identity) and are not counted: the budget is the steady state. The limiter's clock is frozen,
// so no lease runs out however slowly the test runs.
func TestRedisRoundTripBudget(t *testing.T) {
	f, ops, routes := budgetFixture(t)
	const warm, n = 3, 60
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.SetRemoteAddr(budgetPeer)
			for i := range warm {
				b := r.body(i)
				sendRoute(t, f, &ctx, r, b, r.headers(b))
			}
			var trips, cmds, most int64
			for i := warm; i < warm+n; i++ {
				b := r.body(i)
				h := r.headers(b)
				tr, cm := ops.Measure(func() { sendRoute(t, f, &ctx, r, b, h) })
				trips, cmds, most = trips+tr, cmds+cm, max(most, tr)
			}
			b := routeBudgets[r.name]
			mt, mc := float64(trips)/n, float64(cmds)/n
			t.Logf("%s: %.3f round trips, %.3f commands per request (at most %d in one; budget %.3f, %.3f)", r.name, mt, mc, most, b.trips, b.cmds)
			if mt > b.trips || mc > b.cmds {
				t.Errorf("%s: %.3f Redis round trips and %.3f commands per request, budget %.3f and %.3f", r.name, mt, mc, b.trips, b.cmds)
			}
		})
	}
}

// TestAllocationBudget checks the heap allocations of one accepted request of each hot route
// (testing.AllocsPerRun, Kafka acknowledging at once; go-redis's allocations included) against the
// route's budget (routeBudgets). Requests are built before they are counted.
func TestAllocationBudget(t *testing.T) {
	f, _, routes := budgetFixture(t)
	const runs = 50
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.SetRemoteAddr(budgetPeer)
			bodies := make([][]byte, runs+5)
			headers := make([]map[string]string, len(bodies))
			for i := range bodies {
				bodies[i] = r.body(100 + i)
				headers[i] = r.headers(bodies[i])
			}
			for i := range 3 { // warm the caches
				sendRoute(t, f, &ctx, r, bodies[i], headers[i])
			}
			i := 3
			allocs := testing.AllocsPerRun(runs, func() {
				sendRoute(t, f, &ctx, r, bodies[i], headers[i])
				i++
			})
			b := routeBudgets[r.name]
			t.Logf("%s: %.0f allocations per request (budget %.0f)", r.name, allocs, b.allocs)
			if allocs > b.allocs+raceAllocs {
				t.Errorf("%s: %.0f allocations per request, budget %.0f", r.name, allocs, b.allocs)
			}
		})
	}
}

// budgetPeer is the public client address the budget tests send from (the per-address limit
// counts it as itself).
var budgetPeer = &net.TCPAddr{IP: net.ParseIP("198.51.100.77"), Port: 40000}

// BenchmarkHotRoutes runs each hot route of TestRedisRoundTripBudget, one new payment or intent
// per iteration, with the rate limits on but high enough for a benchmark's pace (10^6/s: a lease
// serves 10^5 requests, so the limiters cost what a request answered from a lease costs):
//
//	go test -run '^$' -bench HotRoutes -benchmem ./ingest
func BenchmarkHotRoutes(b *testing.B) {
	f, _, routes := budgetFixtureLimits(b, 1_000_000, 1_000_000)
	for _, r := range routes {
		b.Run(r.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			ctx.SetRemoteAddr(budgetPeer)
			bodies := make([][]byte, 0, 256)
			headers := make([]map[string]string, 0, 256)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i%256 == 0 { // build the next requests outside the timer
					b.StopTimer()
					bodies, headers = bodies[:0], headers[:0]
					for j := range 256 {
						body := r.body(1000 + i + j)
						bodies, headers = append(bodies, body), append(headers, r.headers(body))
					}
					b.StartTimer()
				}
				sendRoute(b, f, &ctx, r, bodies[i%256], headers[i%256])
				i++
			}
		})
	}
}
