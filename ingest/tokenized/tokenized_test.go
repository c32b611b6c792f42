package tokenized

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
)

// These component tests run the bKash callback against the simulator, the real Redis and the
// embedded broker: only bKash's own answer may fail an intent, never the callback's status.

// fixture is ingesttest's edge with this surface mounted (tok), bkash_tokenized off until
// configure.
type fixture struct {
	*ingesttest.Fixture
	tok *Surface
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	f := &fixture{}
	f.Fixture = ingesttest.New(t, produceTimeout, f.mount(Config{}))
	return f
}

// mount builds the surface with cfg (and the fixture's Keys) and keeps it as f.tok.
func (f *fixture) mount(cfg Config) ingesttest.Mount {
	return func(fx *ingesttest.Fixture) []ingest.Surface {
		cfg.Keys = fx.Keys
		s, err := New(cfg, Deps{Redis: fx.RDB, Fail: fx.S, Pub: fx.S, Admin: fx.AdminAPI, Links: fx.S, Intents: fx.State})
		if err != nil {
			panic(err)
		}
		f.tok = s
		return []ingest.Surface{s, fx.Native()}
	}
}

// configure rebuilds the edge (before any request) with the surface configured as cfg, as the
// binary builds it at start.
func (f *fixture) configure(cfg Config) { f.Rebuild(nil, f.mount(cfg)) }

func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	return f.Do(method, path, headers, body)
}

func (f *fixture) onboard(t testing.TB) (testKey, liveKey string) { return f.Onboard(t) }

func randHex(n int) string { return ingesttest.RandHex(n) }

type tokFixture struct {
	*fixture
	sim *bkashsim.Sim
	key string
}

func newTokFixture(t *testing.T) *tokFixture {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	b := f.StartBkashSim(t)
	f.configure(Config{Client: b.Client, Defaults: b.Defaults, QueryDelay: b.QueryDelay, CallTimeout: b.CallTimeout})
	key, _ := f.onboard(t)
	return &tokFixture{fixture: f, sim: b.Sim, key: key}
}

// intent creates a bkash_tokenized intent and returns its id and bKash paymentID
// (ingesttest.TokenizedIntent).
func (f *tokFixture) intent(t *testing.T, amount int) (string, string) {
	t.Helper()
	return f.TokenizedIntent(t, f.key, amount)
}

func (f *tokFixture) forged(id, pid, status string) string {
	return "https://pay.example.test/v1/bkash/callback/" + id + "?paymentID=" + pid + "&status=" + status
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
	f.ExpectRedirect(t, cb, want)
}

// inbound reads the inbound topic from its start until until holds for an event read, and returns
// the events read (fails the test after 15 s).
func (f *tokFixture) inbound(t *testing.T, until func(*pipeline.Event) bool) []*pipeline.Event {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.Addr), kgo.ConsumeTopics(f.Topics.Inbound()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []*pipeline.Event
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no matching event within 15s (read %d)", len(out))
		}
		found := false
		fs.EachRecord(func(r *kgo.Record) {
			ev, err := pipeline.DecodeEvent(r.Value)
			if err != nil {
				t.Errorf("undecodable event %s: %v", r.Value, err)
				return
			}
			out = append(out, ev)
			found = found || until(ev)
		})
		if found {
			return out
		}
	}
}

func failuresOf(evs []*pipeline.Event, intentID string) []*pipeline.Event {
	var out []*pipeline.Event
	for _, ev := range evs {
		if ev.Kind == pipeline.KindPaymentFailed && ev.Failure.IntentID == intentID {
			out = append(out, ev)
		}
	}
	return out
}

func TestTokenizedCallbackFailures(t *testing.T) {
	f := newTokFixture(t)

	// failure: bKash's payment/status says Failed -> payment.failed, customer to failedUrl; a
	// reload produces the same event again.
	failID, failPID := f.intent(t, 510)
	f.customer(t, failPID, "fail", "", "https://shop.test/failed")
	f.expectRedirect(t, f.forged(failID, failPID, "failure"), "https://shop.test/failed")

	// cancel: bKash says Cancelled -> payment.failed (bkash_cancelled), customer to cancelUrl.
	cancelID, cancelPID := f.intent(t, 520)
	f.customer(t, cancelPID, "cancel", "", "https://shop.test/cancel")

	// insufficient balance: execute answers 2023; a later success callback never executes again.
	poorID, poorPID := f.intent(t, 530)
	f.customer(t, poorPID, "approve", bkashsim.DefaultInsufficientWallet, "https://shop.test/failed")
	executes := f.sim.Executes()
	f.expectRedirect(t, f.forged(poorID, poorPID, "success"), "https://shop.test/failed")
	if f.sim.Executes() != executes {
		t.Fatal("a payment bKash failed was executed again")
	}

	// forged failure while bKash still says Initiated: nothing is recorded or produced, and the
	// customer can still pay through the same bkashURL.
	openID, openPID := f.intent(t, 540)
	f.expectRedirect(t, f.forged(openID, openPID, "failure"), "https://shop.test/failed")
	f.expectRedirect(t, f.forged(openID, openPID, "cancel"), "https://shop.test/cancel")
	if rec, err := f.tok.loadTokenized(context.Background(), openID); err != nil || rec.Failure != nil || rec.Status != tokInitiated {
		t.Fatalf("forged failure recorded %+v, %v", rec, err)
	}
	f.customer(t, openPID, "approve", "01711111111", "https://shop.test/success")

	// forged failure for a payment bKash reports Completed (its execute answer was lost): it is a
	// success, reported as a payment, and the customer goes to successUrl.
	doneID, donePID := f.intent(t, 550)
	if _, err := f.sim.Decide(donePID, "approve", "01722222222"); err != nil {
		t.Fatal(err)
	}
	tc := f.tok.cfg
	if _, err := tc.Client.Execute(context.Background(), tc.Defaults[pipeline.Sandbox], donePID); err != nil {
		t.Fatal(err)
	}
	f.expectRedirect(t, f.forged(doneID, donePID, "failure"), "https://shop.test/success")

	p, _ := f.sim.Payment(donePID)
	evs := f.inbound(t, func(ev *pipeline.Event) bool {
		return ev.Kind == pipeline.KindPaymentReported && ev.Payment.Reference == doneID
	})
	// The payment.reported of openID comes before donePID's: both are in evs.
	var paidOpen, paidDone bool
	for _, ev := range evs {
		if ev.Kind == pipeline.KindPaymentReported {
			paidOpen = paidOpen || ev.Payment.Reference == openID
			paidDone = paidDone || (ev.Payment.Reference == doneID && ev.Payment.TrxID == p.TrxID)
		}
	}
	if !paidOpen || !paidDone {
		t.Fatalf("payments reported: open %v, completed-before-failure %v", paidOpen, paidDone)
	}
	if n := len(failuresOf(evs, openID)) + len(failuresOf(evs, doneID)); n != 0 {
		t.Fatalf("%d payment.failed events for payments bKash did not fail", n)
	}

	check := func(id, pid, reason, code, bkStatus, op, rawHas string, copies int) {
		t.Helper()
		fs := failuresOf(evs, id)
		if len(fs) != copies {
			t.Fatalf("intent %s: %d payment.failed events, want %d", id, len(fs), copies)
		}
		for _, ev := range fs {
			fl := ev.Failure
			if ev.ID != tokenizedEventID("failed", pid) || ev.Source != pipeline.SourceTokenized || ev.Intent == nil || ev.Intent.ID != id ||
				fl.PaymentID != pid || fl.Reason != reason || fl.Code != code || fl.BkashStatus != bkStatus || fl.Op != op ||
				!strings.Contains(string(ev.Raw), rawHas) || ev.Wallet != ev.Intent.Wallet() {
				t.Fatalf("payment.failed of %s: %+v %+v raw %s", id, ev, fl, ev.Raw)
			}
			if !ev.AcceptedAt.Equal(fs[0].AcceptedAt) || string(ev.Raw) != string(fs[0].Raw) {
				t.Fatalf("a re-produced payment.failed differs: %+v / %+v", ev, fs[0])
			}
		}
	}
	check(failID, failPID, pipeline.ReasonBkashFailed, "", "Failed", "query", `"transactionStatus":"Failed"`, 2)
	check(cancelID, cancelPID, pipeline.ReasonBkashCancelled, "", "Cancelled", "query", `"transactionStatus":"Cancelled"`, 1)
	check(poorID, poorPID, pipeline.ReasonBkashInsufficient, "2023", "", "execute", `"statusCode":"2023"`, 2)
}

// TestTokenizedSettle is the decision table of bKash answers.
func TestTokenizedSettle(t *testing.T) {
	in := &pipeline.Intent{ID: "i1"}
	pay := func(status, trx string) *bkash.Payment {
		return &bkash.Payment{PaymentID: "P1", TransactionStatus: status, TrxID: trx, MerchantInvoiceNumber: "i1", Raw: []byte(`{}`)}
	}
	se := func(code string) error {
		return &bkash.StatusError{Op: "execute", Code: code, Outcome: bkash.Classify(code), Raw: []byte(`{"statusCode":"` + code + `"}`)}
	}
	cases := []struct {
		name    string
		op      string
		p       *bkash.Payment
		err     error
		settled bool
		status  string // record status when settled
		reason  string
		wantErr bool
	}{
		{"completed", opQuery, pay("Completed", "T1"), nil, true, tokCompleted, "", false},
		{"completed without TrxID stays open", opQuery, pay("Completed", ""), nil, false, "", "", false},
		{"another intent's payment", opQuery, &bkash.Payment{PaymentID: "P1", TransactionStatus: "Failed", MerchantInvoiceNumber: "i2"}, nil, false, "", "", false},
		{"another paymentID", opQuery, &bkash.Payment{PaymentID: "P2", TransactionStatus: "Failed", MerchantInvoiceNumber: "i1"}, nil, false, "", "", false},
		{"initiated stays open", opQuery, pay("Initiated", ""), nil, false, "", "", false},
		{"failed", opQuery, pay("Failed", ""), nil, true, tokFailed, pipeline.ReasonBkashFailed, false},
		{"expired", opQuery, pay("Expired", ""), nil, true, tokFailed, pipeline.ReasonBkashFailed, false},
		{"cancelled", opQuery, pay("Cancelled", ""), nil, true, tokCancelled, pipeline.ReasonBkashCancelled, false},
		{"execute 2023", opExecute, nil, se("2023"), true, tokInsufficient, pipeline.ReasonBkashInsufficient, false},
		{"execute 2069", opExecute, nil, se("2069"), true, tokCancelled, pipeline.ReasonBkashCancelled, false},
		{"execute 2014 wrong PIN", opExecute, nil, se("2014"), true, tokFailed, pipeline.ReasonBkashFailed, false},
		{"execute 2002 unknown paymentID stays open", opExecute, nil, se("2002"), false, "", "", false},
		{"query 2023 is about the query: open", opQuery, nil, se("2023"), false, "", "", false},
		{"query 2002: open", opQuery, nil, se("2002"), false, "", "", false},
		{"execute 2001 bad app key: error", opExecute, nil, se("2001"), false, "", "", true},
		{"query 9999 bKash down: error", opQuery, nil, se("9999"), false, "", "", true},
		{"timeout: error", opQuery, nil, bkash.ErrTimeout, false, "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &tokenizedRecord{IntentID: "i1", PaymentID: "P1", Status: tokInitiated}
			settled, err := settleTokenized(c.op, in, rec, c.p, c.err)
			if settled != c.settled || (err != nil) != c.wantErr {
				t.Fatalf("settled %v err %v", settled, err)
			}
			if !settled {
				if rec.Status != tokInitiated || rec.Failure != nil {
					t.Fatalf("an open answer changed the record: %+v", rec)
				}
				return
			}
			if rec.Status != c.status {
				t.Fatalf("status %q, want %q", rec.Status, c.status)
			}
			if c.reason == "" {
				if rec.Failure != nil {
					t.Fatalf("completed with a failure %+v", rec.Failure)
				}
				return
			}
			fl := rec.Failure
			if fl == nil || fl.Reason != c.reason || fl.IntentID != "i1" || fl.PaymentID != "P1" || fl.Op != c.op || len(fl.Raw) == 0 || fl.At.IsZero() {
				t.Fatalf("failure %+v", fl)
			}
			ev := &pipeline.Event{ID: "e", Kind: pipeline.KindPaymentFailed, Wallet: pipeline.Wallet{Provider: pipeline.BKash, Account: "01711111111", Environment: pipeline.Sandbox},
				Intent: in, Failure: &fl.PaymentFailure}
			if err := ev.Validate(); err != nil {
				t.Fatalf("the failure makes an invalid event: %v", err)
			}
		})
	}
}

// nativeError is the native error shape of seed 004 (ingest's nativeError).
type nativeError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
}
