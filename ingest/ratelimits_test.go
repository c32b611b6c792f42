package ingest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/ingest/surfaces"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/pipeline/testenv"
)

// Tests of limits.go through the edge with every surface mounted: the Redis-backed rate limits
// (real Redis, ingesttest's fixture), the JSON depth bound and the header bound of fasthttp's read
// buffer (on a socket), each answered in the shape of the path's surface. (Moved from package
// ingest's limits_test.go; the pure JSONTooDeep and ClientKey tests stay there.)

// offlineEdge is an edge with every surface mounted (ingest/surfaces) on Redis clients that are
// never called: for what an edge answers without reaching a dependency.
func offlineEdge(t testing.TB) *ingest.Server {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	st := state.New(rdb, pipeline.Keys{})
	dir, err := directory.New(directory.Config{}, rdb)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ingest.New(ingest.Config{}, ingest.Deps{Redis: rdb, Pub: ingesttest.NopPublisher{}, State: st, Directory: dir}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := surfaces.Mount(s, surfaces.Config{}, surfaces.Deps{State: st, Directory: dir, Redis: rdb}); err != nil {
		t.Fatal(err)
	}
	return s
}

type lmAnswer struct {
	code int
	m    map[string]any
	resp *fasthttp.Response
}

// lmExhaust sends requests until one is answered 429: the first burst must not be (the bucket
// starts full), and one of the next 20 must be (they come far faster than the bucket refills). It
// returns the 429 and checks its Retry-After.
func lmExhaust(t *testing.T, what string, burst int, send func() (int, map[string]any, *fasthttp.Response)) lmAnswer {
	t.Helper()
	for i := range burst + 20 {
		code, m, resp := send()
		if code != http.StatusTooManyRequests {
			continue
		}
		if i < burst {
			t.Fatalf("%s: request %d of a burst of %d answered 429: %v", what, i+1, burst, m)
		}
		ra, err := strconv.Atoi(string(resp.Header.Peek("Retry-After")))
		if err != nil || ra < 1 || ra > 2 {
			t.Fatalf("%s: 429 with Retry-After %q, want 1 or 2 whole seconds", what, resp.Header.Peek("Retry-After"))
		}
		return lmAnswer{code, m, resp}
	}
	t.Fatalf("%s: no 429 after %d requests", what, burst+20)
	return lmAnswer{}
}

// TestRateLimitPerCredential exhausts one credential of each kind (1 request/s, burst 2) and checks
// the 429 in each surface's shape; another key of the same kind keeps its budget, and requests with
// a wrong credential never spend a merchant's budget.
func TestRateLimitPerCredential(t *testing.T) {
	f := newLimitedFixture(t, 1, 0)
	const burst = 2
	admin := f.AdminHeaders()
	tm := f.txnOnboard(t)
	other, _ := f.onboard(t)
	bm := f.onboardBQP(t)
	txnKey, txnSecret := f.txnIntegration(t, tm.id, pipeline.Sandbox, false)
	code, out, _ := f.do("POST", "/admin/v1/merchants/"+tm.id+"/integrations", admin,
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q}}`, tm.bkash))
	if code != 201 {
		t.Fatalf("creating the SNS integration: %d %v", code, out)
	}
	snsURL := prefixSNS + "?shunno_id=" + out["shunnoId"].(string) + "&client_app=SHUNNOIT"
	snsHdr := map[string]string{"x-app-secret": out["appSecret"].(string), "x-client-secret": out["clientSecret"].(string)}
	code, out, _ = f.do("POST", "/admin/v1/merchants/"+tm.id+"/devices", admin,
		fmt.Sprintf(`{"name":"Phone","environment":"SANDBOX","wallets":{"1":{"provider":"bkash","account":%q}}}`, tm.bkash))
	if code != 201 {
		t.Fatalf("registering a device: %d %v", code, out)
	}
	smsPath := "/v1/sms/" + out["token"].(string)

	t.Run("native", func(t *testing.T) {
		key := map[string]string{"X-Api-Key": tm.key}
		for range 10 { // a wrong key is refused before the limit: it spends nothing
			if code, m, _ := f.do("GET", "/v1/payments/intents", map[string]string{"X-Api-Key": tm.key + "x"}, ""); code != 401 {
				t.Fatalf("wrong key: %d %v", code, m)
			}
		}
		a := lmExhaust(t, "native key", burst, func() (int, map[string]any, *fasthttp.Response) {
			return f.do("GET", "/v1/payments/intents", key, "")
		})
		if a.m["statusCode"] != float64(429) || a.m["error"] != "Too Many Requests" || !strings.Contains(fmt.Sprint(a.m["message"]), "API key") || len(a.m) != 3 {
			t.Errorf("429 not in the native shape: %v", a.m)
		}
		if code, m, _ := f.do("GET", "/v1/payments/intents", map[string]string{"X-Api-Key": other}, ""); code != 200 {
			t.Errorf("another merchant's key was limited too: %d %v", code, m)
		}
	})
	t.Run("bdquickpay", func(t *testing.T) {
		a := lmExhaust(t, "app key", burst, func() (int, map[string]any, *fasthttp.Response) {
			return f.do("POST", bqpCreatePath, bm.Sandbox(), `{}`) // 422 until limited
		})
		if a.m["status"] != false || a.m["message"] == "" || len(a.m) != 2 {
			t.Errorf("429 not in the bdQuickPay shape: %v", a.m)
		}
		live := map[string]string{"X-App-Key": bm.LiveApp, "X-Secret-Key": bm.LiveSecret}
		if code, m, _ := f.do("POST", bqpCreatePath, live, `{}`); code != 422 {
			t.Errorf("the LIVE app key was limited with the SANDBOX one: %d %v", code, m)
		}
	})
	t.Run("txnapi", func(t *testing.T) {
		body := `{"acc_no":"01710000000"}`
		a := lmExhaust(t, "txn API key", burst, func() (int, map[string]any, *fasthttp.Response) {
			return f.do("POST", txnCheckPath, map[string]string{"API-Key": txnKey, "X-Signature": txnSign(txnSecret, body)}, body)
		})
		if a.m["code"] != float64(429) || a.m["type"] != "error" || a.m["message"] == "" || len(a.m) != 3 {
			t.Errorf("429 not in the transaction-API shape: %v", a.m)
		}
	})
	t.Run("sns", func(t *testing.T) {
		a := lmExhaust(t, "shunno_id", burst, func() (int, map[string]any, *fasthttp.Response) {
			return f.do("POST", snsURL, snsHdr, `{}`) // 400 "Type is required" until limited
		})
		if a.m["code"] != float64(429) || a.m["message"] == "" || len(a.m) != 2 {
			t.Errorf("429 not in the SNS shape: %v", a.m)
		}
	})
	t.Run("sms", func(t *testing.T) {
		a := lmExhaust(t, "device token", burst, func() (int, map[string]any, *fasthttp.Response) {
			return f.do("POST", smsPath, nil, `{}`) // 400 until limited
		})
		if a.m["statusCode"] != float64(429) || a.m["error"] != "Too Many Requests" {
			t.Errorf("429 not in the native shape: %v", a.m)
		}
	})
	if n := f.Metric(t, "paystream_ratelimit_rejected_total", "scope", "key"); n < 5 {
		t.Errorf("paystream_ratelimit_rejected_total{scope=key} = %v, want at least 5", n)
	}
}

// TestRateLimitPerClientAddress: behind a loopback proxy the client is the rightmost public
// X-Forwarded-For hop (a forged left entry changes nothing); another client keeps its budget, a
// public peer is counted as itself whatever it forwards, and /admin is not limited.
func TestRateLimitPerClientAddress(t *testing.T) {
	f := newLimitedFixture(t, 0, 1)
	const burst = 2
	clientA := map[string]string{"X-Forwarded-For": "203.0.113.10"}
	a := lmExhaust(t, "client A", burst, func() (int, map[string]any, *fasthttp.Response) {
		return f.lmDo("GET", "/v1/payments/intents", "127.0.0.1", clientA, "") // 401: no key, still counted
	})
	if a.m["statusCode"] != float64(429) || !strings.Contains(fmt.Sprint(a.m["message"]), "client address") {
		t.Errorf("429 not in the native shape: %v", a.m)
	}
	forged := map[string]string{"X-Forwarded-For": "198.51.100.99, 203.0.113.10, 10.0.0.2"}
	if code, m, _ := f.lmDo("GET", "/v1/payments/intents", "10.1.2.3", forged, ""); code != 429 {
		t.Errorf("client A with a forged left hop behind a private proxy: %d %v, want 429", code, m)
	}
	if code, m, _ := f.lmDo("GET", "/v1/payments/intents", "127.0.0.1", map[string]string{"X-Forwarded-For": "203.0.113.11"}, ""); code != 401 {
		t.Errorf("client B: %d %v, want 401 (not limited)", code, m)
	}
	if code, m, _ := f.lmDo("GET", "/v1/payments/intents", "198.51.100.20", clientA, ""); code != 401 {
		t.Errorf("a public peer forwarding client A's address: %d %v, want 401 (counted as itself)", code, m)
	}
	code, m, resp := f.lmDo("GET", "/api/bkash/v1/nope", "127.0.0.1", clientA, "")
	if code != 429 || m["status"] != false || string(resp.Header.Peek("Retry-After")) == "" {
		t.Errorf("client A on a bdQuickPay path: %d %v", code, m)
	}
	for range 5 {
		if code, m, _ := f.lmDo("GET", "/admin/v1/merchants/nope", "127.0.0.1", clientA, ""); code != 401 {
			t.Fatalf("/admin is not rate limited: %d %v", code, m)
		}
	}
	if n := f.Metric(t, "paystream_ratelimit_rejected_total", "scope", "ip"); n < 3 {
		t.Errorf("paystream_ratelimit_rejected_total{scope=ip} = %v, want at least 3", n)
	}
}

// TestRateLimitDefaultsLetLocalBurstsThrough: the binary's defaults (200/s per key, 1000/s per
// address, bursts 2x) do not throttle a test's burst from 127.0.0.1 with one key.
func TestRateLimitDefaultsLetLocalBurstsThrough(t *testing.T) {
	f := newLimitedFixture(t, 200, 1000)
	key, _ := f.onboard(t)
	for i := range 300 {
		if code, m, _ := f.lmDo("GET", "/v1/payments/intents", "127.0.0.1", map[string]string{"X-Api-Key": key}, ""); code != 200 {
			t.Fatalf("request %d: %d %v", i+1, code, m)
		}
	}
}

// TestRateLimiterFailsOpen: with the limiter's Redis unreachable, requests go through and are
// counted (the first check fails; the next second's are skipped, not retried against Redis).
func TestRateLimiterFailsOpen(t *testing.T) {
	f := newLimitedFixture(t, 1, 1)
	key, _ := f.onboard(t)
	down := redis.NewClient(&redis.Options{Addr: ingesttest.FreeAddr(t), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = down.Close() })
	f.S.SetLimiterRedisForTest(down) // the limiter's Redis is down; the rest of the edge's is up
	for i := range 5 {               // more than either burst
		if code, m, _ := f.lmDo("GET", "/v1/payments/intents", "198.51.100.7", map[string]string{"X-Api-Key": key}, ""); code != 200 {
			t.Fatalf("request %d with the limiter's redis down: %d %v, want 200", i+1, code, m)
		}
	}
	if n := f.Metric(t, "paystream_ratelimit_errors_total"); n != 10 {
		t.Errorf("paystream_ratelimit_errors_total = %v, want 10 (two checks per request)", n)
	}
	// Redis is back (the fixture's): once the bypass is over, the limits apply again.
	f.S.SetLimiterRedisForTest(f.RDB)
	lmExhaust(t, "after redis came back", 2, func() (int, map[string]any, *fasthttp.Response) {
		return f.lmDo("GET", "/v1/payments/intents", "198.51.100.7", map[string]string{"X-Api-Key": key}, "")
	})
}

// TestRateLimit429Shapes renders the limiter's 429 on each surface's paths.
func TestRateLimit429Shapes(t *testing.T) {
	ae := &ingest.APIError{Status: 429, Message: "Rate limit of this API key exceeded; retry in 2 seconds", RetryAfter: 2}
	// The shapes of the surfaces mounted from their own packages are the server's (Mux.ErrorShape):
	// every surface mounted as cmd mounts them, on clients that are never called (no Redis needed).
	s := offlineEdge(t)
	for path, want := range map[string]string{
		"/v1/payments/intents":                  `{"statusCode":429,"message":"Rate limit of this API key exceeded; retry in 2 seconds","error":"Too Many Requests"}`,
		bqpCreatePath:                           `{"status":false,"message":"Rate limit of this API key exceeded; retry in 2 seconds"}`,
		txnCompletePath:                         `{"code":429,"message":"Rate limit of this API key exceeded; retry in 2 seconds","type":"error"}`,
		prefixSNS + "?shunno_id=x&client_app=y": `{"code":429,"message":"Rate limit of this API key exceeded; retry in 2 seconds"}`,
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		s.WriteErrorForTest(&ctx, ae)
		sameJSON(t, path, ctx.Response.Body(), want)
		if ctx.Response.StatusCode() != 429 || string(ctx.Response.Header.Peek("Retry-After")) != "2" {
			t.Errorf("%s: %d Retry-After %q", path, ctx.Response.StatusCode(), ctx.Response.Header.Peek("Retry-After"))
		}
	}
}

func nested(depth int) string {
	return `{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
}

// TestDeepJSONRefused: a body nested deeper than 32 levels is answered 400 in the surface's shape
// before any handler reads it (so before authentication, which is what the 400 without credentials
// shows); 32 levels pass.
func TestDeepJSONRefused(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	key, _ := f.onboard(t)
	msg := "Request body nests JSON deeper than 32 levels"
	deep := `{"amount":500,"currency":"BDT","customerReference":"D-1","metadata":` + nested(32) + `}` // 33 levels
	for _, tc := range []struct {
		path    string
		headers map[string]string
		want    string
	}{
		{"/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"statusCode":400,"message":"` + msg + `","error":"Bad Request"}`},
		{bqpCreatePath, nil, `{"status":false,"message":"` + msg + `"}`},
		{txnCompletePath, nil, `{"code":400,"message":"` + msg + `","type":"error"}`},
		{prefixSNS + "?shunno_id=x&client_app=SHUNNOIT", nil, `{"code":400,"message":"` + msg + `"}`},
		{"/v1/sms/0123456789abcdef0123/forwarder", nil, `{"statusCode":400,"message":"` + msg + `","error":"Bad Request"}`},
		{"/admin/v1/merchants", f.AdminHeaders(), `{"statusCode":400,"message":"` + msg + `","error":"Bad Request"}`},
	} {
		code, _, resp := f.do("POST", tc.path, tc.headers, deep)
		if code != 400 {
			t.Errorf("%s: %d %s, want 400", tc.path, code, resp.Body())
		}
		sameJSON(t, tc.path, resp.Body(), tc.want)
	}
	// As deep as allowed, and deep brackets inside a string: the handler decides.
	ok := `{"amount":500,"currency":"BDT","customerReference":"D-2","metadata":{"a":` + nested(30) + `,"s":"` + strings.Repeat("[", 100) + `"}}`
	if code, m, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, ok); code != 201 {
		t.Errorf("32 levels: %d %v, want 201", code, m)
	}
	// A form post is not JSON: brackets in it are data.
	resp := f.Send(ingesttest.Request{Method: "POST", Path: "/v1/checkout/nope/claim", ContentType: "application/x-www-form-urlencoded",
		Body: "trxId=" + strings.Repeat("[", 40), Peer: "198.51.100.7"})
	if code, body := resp.StatusCode(), string(resp.Body()); code == 400 && strings.Contains(body, "deeper") {
		t.Errorf("a form body was depth-checked: %d %s", code, body)
	}
}

// TestOversizedHeaderAnswers431 goes through a socket: fasthttp's 8 KiB read buffer bounds the
// request line and headers, and transportError answers 431 in the shape of the path's surface
// (which fasthttp forgets with the request: restorePath).
func TestOversizedHeaderAnswers431(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	addr := f.Serve(t)
	msg := "Request headers are too large"
	for path, want := range map[string]string{
		"/v1/payments/intents":                  `{"statusCode":431,"message":"` + msg + `","error":"Request Header Fields Too Large"}`,
		bqpCreatePath:                           `{"status":false,"message":"` + msg + `"}`,
		txnCompletePath + "?x=1":                `{"code":431,"message":"` + msg + `","type":"error"}`,
		prefixSNS + "?shunno_id=a&client_app=b": `{"code":431,"message":"` + msg + `"}`,
		"/" + strings.Repeat("x", 300):          `{"statusCode":431,"message":"` + msg + `","error":"Request Header Fields Too Large"}`,
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", path, strings.Repeat("a", 9<<10))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != 431 {
			t.Errorf("%.40s: %d %s, want 431", path, resp.StatusCode, b)
		}
		sameJSON(t, path, b, want)
	}
}

// TestRefusalHeadersOnlyOnTheirSurface: the edge's own refusals (the per-address 429, the JSON-depth
// 400) on the hosted checkout's paths carry the checkout's security headers, registered by
// ingest/checkout through Mux.RefusalHeaders; the same refusals on other paths do not.
func TestRefusalHeadersOnlyOnTheirSurface(t *testing.T) {
	f := newLimitedFixture(t, 0, 1)
	const burst = 2
	security := func(resp *fasthttp.Response) bool {
		return string(resp.Header.Peek("X-Frame-Options")) == "DENY" &&
			strings.HasPrefix(string(resp.Header.Peek("Content-Security-Policy")), "default-src 'none'")
	}
	co := lmExhaust(t, "checkout", burst, func() (int, map[string]any, *fasthttp.Response) {
		return f.lmDo("GET", "/v1/checkout/"+unknownIntentID+"/status", "203.0.113.40", nil, "")
	})
	if co.m["statusCode"] != float64(429) || !security(co.resp) {
		t.Errorf("checkout 429: %v, security headers %v", co.m, security(co.resp))
	}
	other := lmExhaust(t, "native", burst, func() (int, map[string]any, *fasthttp.Response) {
		return f.lmDo("GET", "/v1/payments/intents", "203.0.113.41", nil, "")
	})
	if len(other.resp.Header.Peek("X-Frame-Options")) != 0 || len(other.resp.Header.Peek("Content-Security-Policy")) != 0 {
		t.Errorf("a native 429 carries the checkout's headers: %s", other.resp.Header.String())
	}
	deep := `{"trxId":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`
	if code, m, resp := f.lmDo("POST", "/v1/checkout/"+unknownIntentID+"/claim", "203.0.113.42", nil, deep); code != 400 || !security(resp) {
		t.Errorf("checkout deep JSON: %d %v, security headers %v", code, m, security(resp))
	}
	if code, m, resp := f.lmDo("POST", "/v1/payments/intents", "203.0.113.43", nil, deep); code != 400 || len(resp.Header.Peek("X-Frame-Options")) != 0 {
		t.Errorf("native deep JSON: %d %v, X-Frame-Options %q", code, m, resp.Header.Peek("X-Frame-Options"))
	}
}

// unknownIntentID is a well-formed intent id that no test creates.
const unknownIntentID = "0190f0e5-0000-7000-8000-00000000dead"

// TestRateLimitLeasesShareOneBudget: two replicas on one Redis answer one client address from
// leases of its shared budget (100/s, burst 200: leases of 10). Together they admit the burst, and
// no more than the burst, what refilled while the test ran and one lease per replica; a burst
// costs about one Redis round trip per lease, not one per request; and once refused, a replica
// answers the client 429 with Retry-After without asking Redis again.
func TestRateLimitLeasesShareOneBudget(t *testing.T) {
	const rate, burst, lease, replicas = 100, 200, 10, 2
	f := newLimitedFixture(t, 0, rate)
	second, err := ingest.New(f.Cfg, ingest.Deps{Redis: f.RDB, Pub: f.Pub, State: f.State, Directory: f.Dir}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	edges := []*ingest.Server{f.S, second}
	ops := testenv.CountRedisOps(f.RDB)
	send := func(s *ingest.Server) *fasthttp.Response {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/v1/nope") // 404 while admitted
		ctx.SetRemoteAddr(&net.TCPAddr{IP: net.ParseIP("203.0.113.60"), Port: 40000})
		s.Handler()(&ctx)
		resp := &fasthttp.Response{}
		ctx.Response.CopyTo(resp)
		return resp
	}
	start := time.Now()
	admitted, refusedInARow := 0, 0
	trips0, _ := ops.Snapshot()
	for i := 0; refusedInARow < replicas; i++ {
		if i > 10*burst {
			t.Fatalf("no 429 from both replicas after %d requests (%d admitted)", i, admitted)
		}
		switch code := send(edges[i%replicas]).StatusCode(); code {
		case http.StatusTooManyRequests:
			refusedInARow++
		case http.StatusNotFound:
			admitted, refusedInARow = admitted+1, 0
		default:
			t.Fatalf("request %d: %d", i, code)
		}
	}
	elapsed := time.Since(start)
	trips1, _ := ops.Snapshot()
	// Every admitted request was taken from the shared bucket: at most the burst, what refilled
	// meanwhile (wall time bounds Redis's), and what the replicas leased but had not yet spent
	// (none left here: both were refused). Fractions of a request left in the bucket are lost.
	if hi := burst + int(rate*elapsed.Seconds()) + 1 + replicas*lease; admitted > hi {
		t.Errorf("the replicas admitted %d requests; the shared budget allows at most %d", admitted, hi)
	}
	if admitted < burst-replicas {
		t.Errorf("the replicas admitted %d requests; the burst of %d should all be admitted", admitted, burst)
	}
	if trips, most := trips1-trips0, int64(admitted/lease+4*replicas+int(rate*elapsed.Seconds())); trips > most {
		t.Errorf("%d Redis round trips for %d admitted requests, want at most %d (one per lease of %d)", trips, admitted, most, lease)
	}
	// Refused: answered locally, with a Retry-After, until the one Redis gave.
	for _, s := range edges {
		var resp *fasthttp.Response
		trips, _ := ops.Measure(func() { resp = send(s) })
		if resp.StatusCode() == http.StatusTooManyRequests && trips != 0 {
			t.Errorf("a refused client cost %d Redis round trips", trips)
		}
		if ra, err := strconv.Atoi(string(resp.Header.Peek("Retry-After"))); resp.StatusCode() == http.StatusTooManyRequests && (err != nil || ra < 1 || ra > 2) {
			t.Errorf("429 with Retry-After %q, want 1 or 2 whole seconds", resp.Header.Peek("Retry-After"))
		}
	}
}

// TestRateLimitLeaseFollowsDemand: a replica's leases of an address's budget (1000/s: at most 100)
// start at one request and double while they are spent in time (7 requests: leases of 1, 2 and 4,
// three round trips), and after one runs out of time mostly unspent the next is what was used of
// it, so a quiet client takes from the shared budget about what it spends. The limiter's clock is
// the test's.
func TestRateLimitLeaseFollowsDemand(t *testing.T) {
	f := newLimitedFixture(t, 0, 1000)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	f.S.SetLimiterClockForTest(func() time.Time { return time.Unix(0, now.Load()) })
	ops := testenv.CountRedisOps(f.RDB)
	send := func(n int) int64 {
		trips, _ := ops.Measure(func() {
			for i := range n {
				if code, m, _ := f.lmDo("GET", "/v1/nope", "203.0.113.70", nil, ""); code != http.StatusNotFound {
					t.Fatalf("request %d: %d %v", i+1, code, m)
				}
			}
		})
		return trips
	}
	for _, step := range []struct {
		what      string
		requests  int
		advance   time.Duration // the clock moves this much before the requests
		wantTrips int64
	}{
		{"leases of 1, 2 and 4", 7, 0, 3},
		{"a lease of 8, spent in time", 8, 0, 1},
		{"a lease of 16 after the 8 were spent", 1, 0, 1},
		{"the 16 ran out of time with 15 unspent: a lease of 1", 1, 2 * time.Second, 1},
		{"that one was spent at once: a lease of 2", 2, 2 * time.Second, 1},
	} {
		now.Add(int64(step.advance))
		if trips := send(step.requests); trips != step.wantTrips {
			t.Errorf("%s: %d round trips for %d requests, want %d", step.what, trips, step.requests, step.wantTrips)
		}
	}
}
