package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/pipeline/testenv"
)

// These component tests run the ingest handlers in memory (no socket) against the real Redis and a
// real embedded Kafka-protocol broker.

func redisClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	addr := testenv.RedisAddr(t) // skips without Redis (fails under PAYSTREAM_TEST_SERVICES=1)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s is not reachable (%v): run deploy/local/services.sh", addr, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type fixture struct {
	s      *Server
	keys   pipeline.Keys
	topics pipeline.Topics
	broker *bus.Embedded
	addr   string
	admin  string
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	t.Helper()
	rdb := redisClient(t)
	f := &fixture{keys: pipeline.Keys{Prefix: "t" + randHex(4)}, topics: pipeline.Topics{Prefix: "t."}, addr: freeAddr(t), admin: "adm_" + randHex(8)}
	b, err := bus.StartEmbedded(f.addr, "", 2, f.topics.All())
	if err != nil {
		t.Fatal(err)
	}
	f.broker = b
	t.Cleanup(func() { f.broker.Close() })
	prod, err := bus.NewBusProducer(bus.Config{Brokers: []string{f.addr}}, produceTimeout, 1000, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close(context.Background()) })
	f.s = newForTest(Config{
		AdminToken: f.admin, AllowPrivateWebhooks: true, Topics: f.topics, Keys: f.keys,
		ProduceTimeout: produceTimeout, PublicURL: "https://pay.example.test",
	}, rdb, prod, state.New(rdb, f.keys), prometheus.NewRegistry())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, f.keys.Prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return f
}

// do runs one request through the router in memory.
func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetContentType("application/json")
	for k, v := range headers {
		ctx.Request.Header.Set(k, v)
	}
	ctx.Request.SetBodyString(body)
	f.s.srv.Handler(&ctx)
	var out map[string]any
	_ = json.Unmarshal(ctx.Response.Body(), &out)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return ctx.Response.StatusCode(), out, resp
}

func (f *fixture) onboard(t testing.TB) (testKey, liveKey string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":"Shop","wallets":[{"provider":"bkash","account":"017%08d","environment":"SANDBOX"},{"provider":"bkash","account":"+880 18%08d","environment":"LIVE"}]}`,
		time.Now().UnixNano()%1e8, time.Now().UnixNano()%1e8)
	code, m, _ := f.do("POST", "/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + f.admin}, body)
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, m)
	}
	k := m["apiKeys"].(map[string]any)
	return k["SANDBOX"].(string), k["LIVE"].(string)
}

func TestKafkaDownAnswers503ThenIdempotentRetrySucceeds(t *testing.T) {
	f := newFixture(t, time.Second)
	key, _ := f.onboard(t)
	body := `{"amount":500,"currency":"BDT","customerReference":"K-1","idempotencyKey":"k-1"}`

	f.broker.Close() // Kafka is gone
	code, m, resp := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
	if code != http.StatusServiceUnavailable || string(resp.Header.Peek("Retry-After")) == "" || m["statusCode"] != float64(503) {
		t.Fatalf("with kafka down: %d %v (Retry-After %q)", code, m, resp.Header.Peek("Retry-After"))
	}

	b, err := bus.StartEmbedded(f.addr, "", 2, f.topics.All()) // Kafka is back, same address
	if err != nil {
		t.Fatal(err)
	}
	f.broker = b
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, m, _ = f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
		if code == 201 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != 201 {
		t.Fatalf("after kafka came back: %d %v", code, m)
	}
	id := m["id"].(string)
	code, again, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
	if code != 201 || again["id"] != id {
		t.Fatalf("idempotent retry: %d %v, want intent %s", code, again, id)
	}
	code, got, _ := f.do("GET", "/v1/payments/intents/"+id, map[string]string{"X-Api-Key": key}, "")
	if code != 200 || got["status"] != "PENDING" || got["checkoutUrl"] != "https://pay.example.test/v1/checkout/"+id {
		t.Fatalf("GET: %d %v", code, got)
	}
}

func TestWalletSpreadAvoidsAmbiguity(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	body := `{"name":"Two wallets","wallets":[{"provider":"bkash","account":"01711%06d","environment":"SANDBOX"},{"provider":"bkash","account":"01712%06d","environment":"SANDBOX"}]}`
	n := time.Now().UnixNano() % 1e6
	code, m, _ := f.do("POST", "/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + f.admin}, fmt.Sprintf(body, n, n))
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, m)
	}
	key := m["apiKeys"].(map[string]any)["SANDBOX"].(string)
	// The matcher is not running here, so mark the first intent open by hand the way it would.
	code, first, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"amount":900,"currency":"BDT","customerReference":"A"}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, first)
	}
	w := pipeline.Wallet{Provider: "bkash", Account: first["receiverMsisdn"].(string), Environment: pipeline.Sandbox}
	f.s.rdb.ZAdd(context.Background(), f.keys.OpenByAmount(w, pipeline.BDT(900)), redis.Z{Score: 1, Member: first["id"]})
	_, second, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"amount":900,"currency":"BDT","customerReference":"B"}`)
	if second["receiverMsisdn"] == first["receiverMsisdn"] {
		t.Fatalf("two open 900 BDT intents were put on the same wallet %v", first["receiverMsisdn"])
	}
}

func TestAdminTokenRequired(t *testing.T) {
	f := newFixture(t, time.Second)
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer"}, {"Authorization": "Bearer " + f.admin + "x"}, {"Authorization": "Basic " + f.admin}} {
		if code, m, _ := f.do("POST", "/admin/v1/merchants", h, `{}`); code != 401 || m["error"] != "Unauthorized" {
			t.Fatalf("%v: %d %v", h, code, m)
		}
	}
}

// FuzzCreateIntent throws arbitrary bodies at the create route: the answer is always one of the
// documented statuses in the native error shape, never a 5xx other than 503 and never a panic.
func FuzzCreateIntent(f *testing.F) {
	fx := newFixture(f, 2*time.Second)
	key, _ := fx.onboard(f)
	for _, s := range []string{
		`{"amount":500,"currency":"BDT","customerReference":"ORDER-10045","idempotencyKey":"pi_ORDER-10045","ttlSeconds":300,"successUrl":"https://smspaybd.com/payment/success"}`,
		`{"amount": 500, "currency": "BDT", "customerReference": "ORDER-10045"}`,
		`{"amount":"500","currency":"BDT","customerReference":"x"}`,
		`{"amount":1e3,"currency":"BDT","customerReference":"x"}`,
		`{"amount":null}`, `[]`, `"x"`, `{"metadata":{"a":[1,2,{"b":null}]}}`, `{"amount":99999999999999999999}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		code, m, _ := fx.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
		switch code {
		case 201:
			if m["id"] == nil || m["status"] != "PENDING" {
				t.Fatalf("201 without an intent: %v", m)
			}
		case 400, 409, 413, 422, 503:
			if m["statusCode"] != float64(code) || m["message"] == "" || m["error"] == "" {
				t.Fatalf("%d not in the native error shape: %v", code, m)
			}
		default:
			t.Fatalf("body %q: unexpected status %d %v", body, code, m)
		}
		if strings.Contains(fmt.Sprint(m["message"]), "panic") {
			t.Fatalf("panic leaked: %v", m)
		}
		fx.requireNoPanic(t, fmt.Sprintf("body %q", body))
	})
}

// TestKafkaGoneAfterUseAnswers503 closes the broker after the producer has used it: the next
// request must still answer 503 with Retry-After (not hang until franz-go gives up on the
// connection).
func TestKafkaGoneAfterUseAnswers503(t *testing.T) {
	f := newFixture(t, time.Second)
	key, _ := f.onboard(t)
	if code, m, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"amount":5,"currency":"BDT","customerReference":"a"}`); code != 201 {
		t.Fatalf("with kafka up: %d %v", code, m)
	}
	f.broker.Close()
	type answer struct {
		code int
		m    map[string]any
		ra   string
	}
	got := make(chan answer, 1)
	go func() {
		code, m, resp := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"amount":6,"currency":"BDT","customerReference":"b"}`)
		got <- answer{code, m, string(resp.Header.Peek("Retry-After"))}
	}()
	select {
	case a := <-got:
		if a.code != 503 || a.ra == "" || a.m["statusCode"] != float64(503) {
			t.Fatalf("with kafka gone: %d %v Retry-After %q", a.code, a.m, a.ra)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the request hung with kafka gone instead of answering 503")
	}
}
