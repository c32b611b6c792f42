package ingest

// Helpers of the cross-surface tests for bKash tokenized intents (ingest/tokenized, mounted on the
// test servers by surfaces_test.go with TestOptions.Bkash); copies of ingest/tokenized's test
// helpers.

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
)

type tokFixture struct {
	*fixture
	sim *bkashsim.Sim
	key string
}

// newTokFixture is newFixture with bkash_tokenized on, against the simulator as the SANDBOX default.
func newTokFixture(t *testing.T) *tokFixture {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	sim, err := bkashsim.Start("127.0.0.1:0", bkashsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	f.s = newForTest(f.s.cfg, f.s.rdb, f.s.pub, f.s.state, prometheus.NewRegistry(), TestOptions{Bkash: &TestBkash{
		Client:     bkash.New(bkash.Config{KeyPrefix: f.keys.Prefix, Timeout: 2 * time.Second}, f.s.rdb),
		Defaults:   map[pipeline.Environment]*bkash.Credentials{pipeline.Sandbox: sim.Credentials()},
		QueryDelay: 10 * time.Millisecond, CallTimeout: 2 * time.Second,
	}})
	key, _ := f.onboard(t)
	return &tokFixture{fixture: f, sim: sim, key: key}
}

// intent creates a bkash_tokenized intent and returns its id and bKash paymentID.
func (f *tokFixture) intent(t *testing.T, amount int) (string, string) {
	t.Helper()
	code, m, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": f.key}, fmt.Sprintf(
		`{"amount":%d,"currency":"BDT","customerReference":"ORD-%d","paymentMethod":"bkash_tokenized",`+
			`"successUrl":"https://shop.test/success","failedUrl":"https://shop.test/failed","cancelUrl":"https://shop.test/cancel"}`,
		amount, amount))
	if code != 201 {
		t.Fatalf("creating a tokenized intent: %d %v", code, m)
	}
	u, err := url.Parse(fmt.Sprint(m["checkoutUrl"]))
	if err != nil {
		t.Fatal(err)
	}
	return m["id"].(string), u.Query().Get("paymentId")
}

// callback GETs paystream's callback (path and query of cb) and returns the status and Location.
func (f *tokFixture) callback(t *testing.T, cb string) (int, string) {
	t.Helper()
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	code, _, resp := f.do("GET", u.RequestURI(), nil, "")
	return code, string(resp.Header.Peek("Location"))
}

// customer acts on bKash's page and follows bKash back to paystream; it checks the redirect.
func (f *tokFixture) customer(t *testing.T, pid, action, wallet, wantLocation string) {
	t.Helper()
	cb, err := f.sim.Decide(pid, action, wallet)
	if err != nil {
		t.Fatal(err)
	}
	f.expectRedirect(t, cb, wantLocation)
}

func (f *tokFixture) expectRedirect(t *testing.T, cb, want string) {
	t.Helper()
	if code, loc := f.callback(t, cb); code != 303 || loc != want {
		t.Fatalf("callback %s: %d -> %q, want 303 -> %q", cb, code, loc, want)
	}
}
