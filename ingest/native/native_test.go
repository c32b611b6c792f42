package native_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// Component tests of the native merchant API on ingesttest's fixture (real Redis, embedded Kafka,
// handlers in memory). They are an external test package: ingesttest builds this surface
// (Fixture.Native) for the other surfaces' tests.

func mountNative(f *ingesttest.Fixture) []ingest.Surface { return []ingest.Surface{f.Native()} }

func newFixture(t testing.TB, produceTimeout time.Duration) *ingesttest.Fixture {
	return ingesttest.New(t, produceTimeout, mountNative)
}

func TestKafkaDownAnswers503ThenIdempotentRetrySucceeds(t *testing.T) {
	f := newFixture(t, time.Second)
	key, _ := f.Onboard(t)
	body := `{"amount":500,"currency":"BDT","customerReference":"K-1","idempotencyKey":"k-1"}`

	f.Broker.Close() // Kafka is gone
	code, m, resp := f.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
	if code != http.StatusServiceUnavailable || string(resp.Header.Peek("Retry-After")) == "" || m["statusCode"] != float64(503) {
		t.Fatalf("with kafka down: %d %v (Retry-After %q)", code, m, resp.Header.Peek("Retry-After"))
	}

	b, err := bus.StartEmbedded(f.Addr, "", 2, f.Topics.All()) // Kafka is back, same address
	if err != nil {
		t.Fatal(err)
	}
	f.Broker = b
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, m, _ = f.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
		if code == 201 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != 201 {
		t.Fatalf("after kafka came back: %d %v", code, m)
	}
	id := m["id"].(string)
	code, again, _ := f.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
	if code != 201 || again["id"] != id {
		t.Fatalf("idempotent retry: %d %v, want intent %s", code, again, id)
	}
	code, got, _ := f.Do("GET", "/v1/payments/intents/"+id, map[string]string{"X-Api-Key": key}, "")
	if code != 200 || got["status"] != "PENDING" || got["checkoutUrl"] != "https://pay.example.test/v1/checkout/"+id {
		t.Fatalf("GET: %d %v", code, got)
	}
}

func TestWalletSpreadAvoidsAmbiguity(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	body := `{"name":"Two wallets","wallets":[{"provider":"bkash","account":"01711%06d","environment":"SANDBOX"},{"provider":"bkash","account":"01712%06d","environment":"SANDBOX"}]}`
	n := time.Now().UnixNano() % 1e6
	code, m, _ := f.Do("POST", "/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + f.Admin}, fmt.Sprintf(body, n, n))
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, m)
	}
	key := m["apiKeys"].(map[string]any)["SANDBOX"].(string)
	// The matcher is not running here, so mark the first intent open by hand the way it would.
	code, first, _ := f.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"amount":900,"currency":"BDT","customerReference":"A"}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, first)
	}
	w := pipeline.Wallet{Provider: "bkash", Account: first["receiverMsisdn"].(string), Environment: pipeline.Sandbox}
	f.RDB.ZAdd(context.Background(), f.Keys.OpenByAmount(w, pipeline.BDT(900)), redis.Z{Score: 1, Member: first["id"]})
	_, second, _ := f.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"amount":900,"currency":"BDT","customerReference":"B"}`)
	if second["receiverMsisdn"] == first["receiverMsisdn"] {
		t.Fatalf("two open 900 BDT intents were put on the same wallet %v", first["receiverMsisdn"])
	}
}

// FuzzCreateIntent throws arbitrary bodies at the create route: the answer is always one of the
// documented statuses in the native error shape, never a 5xx other than 503 and never a panic.
func FuzzCreateIntent(f *testing.F) {
	fx := newFixture(f, 2*time.Second)
	key, _ := fx.Onboard(f)
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
		code, m, _ := fx.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
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
		fx.RequireNoPanic(t, fmt.Sprintf("body %q", body))
	})
}

// TestKafkaGoneAfterUseAnswers503 closes the broker after the producer has used it: the next
// request must still answer 503 with Retry-After (not hang until franz-go gives up on the
// connection).
func TestKafkaGoneAfterUseAnswers503(t *testing.T) {
	f := newFixture(t, time.Second)
	key, _ := f.Onboard(t)
	if code, m, _ := f.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"amount":5,"currency":"BDT","customerReference":"a"}`); code != 201 {
		t.Fatalf("with kafka up: %d %v", code, m)
	}
	f.Broker.Close()
	type answer struct {
		code int
		m    map[string]any
		ra   string
	}
	got := make(chan answer, 1)
	go func() {
		code, m, resp := f.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, `{"amount":6,"currency":"BDT","customerReference":"b"}`)
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
