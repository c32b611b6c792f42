package ingesttest

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
)

// Helpers of bKash tokenized checkout (ingest/tokenized) that the surface's tests and the
// cross-surface tests share.

// BkashSim is bKash's simulator, started for one test, with the settings a tokenized surface
// (tokenized.Config's fields of the same names) is given to use it as the SANDBOX default
// upstream.
type BkashSim struct {
	Sim         *bkashsim.Sim
	Client      *bkash.Client
	Defaults    map[pipeline.Environment]*bkash.Credentials
	QueryDelay  time.Duration
	CallTimeout time.Duration
}

// StartBkashSim starts the simulator until t ends, with a bKash client on the fixture's Redis.
func (f *Fixture) StartBkashSim(t testing.TB) *BkashSim {
	t.Helper()
	sim, err := bkashsim.Start("127.0.0.1:0", bkashsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return &BkashSim{
		Sim:        sim,
		Client:     bkash.New(bkash.Config{KeyPrefix: f.Keys.Prefix, Timeout: 2 * time.Second}, f.RDB),
		Defaults:   map[pipeline.Environment]*bkash.Credentials{pipeline.Sandbox: sim.Credentials()},
		QueryDelay: 10 * time.Millisecond, CallTimeout: 2 * time.Second,
	}
}

// TokenizedIntent creates a bkash_tokenized intent of amount with the merchant API key key and
// returns its id and bKash paymentID.
func (f *Fixture) TokenizedIntent(t testing.TB, key string, amount int) (id, paymentID string) {
	t.Helper()
	code, m, _ := f.Do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, fmt.Sprintf(
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

// Callback GETs paystream's bKash callback (the path and query of cb) and returns the status and
// Location.
func (f *Fixture) Callback(t testing.TB, cb string) (int, string) {
	t.Helper()
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	code, _, resp := f.Do("GET", u.RequestURI(), nil, "")
	return code, string(resp.Header.Peek("Location"))
}

// ExpectRedirect follows cb and fails t unless paystream answers 303 to want.
func (f *Fixture) ExpectRedirect(t testing.TB, cb, want string) {
	t.Helper()
	if code, loc := f.Callback(t, cb); code != 303 || loc != want {
		t.Fatalf("callback %s: %d -> %q, want 303 -> %q", cb, code, loc, want)
	}
}

// Customer acts (approve, cancel, …) on the simulator's page of paymentID with wallet, follows bKash
// back to paystream and checks the redirect to wantLocation.
func (f *Fixture) Customer(t testing.TB, b *BkashSim, paymentID, action, wallet, wantLocation string) {
	t.Helper()
	cb, err := b.Sim.Decide(paymentID, action, wallet)
	if err != nil {
		t.Fatal(err)
	}
	f.ExpectRedirect(t, cb, wantLocation)
}
