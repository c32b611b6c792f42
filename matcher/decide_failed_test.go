package matcher

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect/native"
)

// tok makes r an intent paid through bKash tokenized checkout.
func tok(r *pipeline.IntentRecord) *pipeline.IntentRecord {
	r.PaymentMethod = pipeline.PaymentMethodBkashTokenized
	return r
}

// failedEv is bKash's confirmation that intentID's payment failed, accepted at base+accepted.
func failedEv(intentID, reason, code string, accepted time.Duration) *pipeline.Event {
	in := &pipeline.Intent{ID: intentID, MerchantID: "m1", Environment: wA.Environment, Provider: wA.Provider, ReceiverMsisdn: wA.Account}
	return &pipeline.Event{
		ID: "ev-failed-" + intentID, Kind: pipeline.KindPaymentFailed, Source: pipeline.SourceTokenized, Wallet: wA, MerchantID: "m1",
		AcceptedAt: base.Add(accepted), Environment: wA.Environment, Intent: in,
		Failure: &pipeline.PaymentFailure{IntentID: intentID, PaymentID: "TR0011" + intentID, Reason: reason, Code: code, Op: "execute"},
		Raw:     []byte(`{"statusCode":"` + code + `","statusMessage":"Insufficient Balance"}`),
	}
}

func TestDecideFailed(t *testing.T) {
	now := base.Add(time.Minute)
	other := tok(open("a", 500, ""))
	other.MerchantID = "m2"
	cases := []struct {
		name string
		ev   *pipeline.Event
		snap []*pipeline.IntentRecord
		want string
	}{
		{"insufficient balance fails a PENDING intent", failedEv("a", pipeline.ReasonBkashInsufficient, "2023", 30*time.Second),
			[]*pipeline.IntentRecord{tok(open("a", 500, "")), tok(open("b", 500, ""))},
			"rule:payment_failed change:a:FAILED/bkash_insufficient_balance:2023/"},
		{"cancelled (payment/status, no code)", failedEv("a", pipeline.ReasonBkashCancelled, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(open("a", 500, ""))}, "rule:payment_failed change:a:FAILED/bkash_cancelled/"},
		{"declined with a code", failedEv("a", pipeline.ReasonBkashFailed, "2014", 30*time.Second),
			[]*pipeline.IntentRecord{tok(open("a", 500, ""))}, "rule:payment_failed change:a:FAILED/bkash_failed:2014/"},
		{"0000 is no code", failedEv("a", pipeline.ReasonBkashFailed, "0000", 30*time.Second),
			[]*pipeline.IntentRecord{tok(open("a", 500, ""))}, "rule:payment_failed change:a:FAILED/bkash_failed/"},
		{"a PAID intent never moves", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(rec("a", pipeline.StatusPaid, 500, "", -time.Minute, 10*time.Minute))}, "rule:payment_failed ignored:intent_final"},
		{"a repeated failure is a no-op", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(rec("a", pipeline.StatusFailed, 500, "", -time.Minute, 10*time.Minute))}, "rule:payment_failed ignored:intent_final"},
		{"REJECTED stays", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(rec("a", pipeline.StatusRejected, 500, "", -time.Minute, 10*time.Minute))}, "rule:payment_failed ignored:intent_final"},
		{"EXPIRED stays", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(rec("a", pipeline.StatusExpired, 500, "", -time.Minute, 10*time.Minute))}, "rule:payment_failed ignored:intent_not_pending"},
		{"REVIEW_REQUIRED stays", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(rec("a", pipeline.StatusReviewRequired, 500, "", -time.Minute, 10*time.Minute))}, "rule:payment_failed ignored:intent_not_pending"},
		{"unknown intent", failedEv("x", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(open("a", 500, ""))}, "rule:payment_failed ignored:unknown_intent"},
		{"not a tokenized intent", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{open("a", 500, "")}, "rule:payment_failed ignored:intent_not_tokenized"},
		{"another merchant's intent", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{other}, "rule:payment_failed ignored:intent_other_merchant"},
		{"accepted at the deadline: expiry decides", failedEv("a", pipeline.ReasonBkashFailed, "", 9*time.Minute),
			[]*pipeline.IntentRecord{tok(open("a", 500, ""))}, "rule:payment_failed ignored:failure_after_expiry"},
		{"accepted just before the deadline", failedEv("a", pipeline.ReasonBkashFailed, "", 9*time.Minute-time.Millisecond),
			[]*pipeline.IntentRecord{tok(open("a", 500, ""))}, "rule:payment_failed change:a:FAILED/bkash_failed/"},
		{"PENDING in state, past its deadline when accepted: expiry decides", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(rec("a", pipeline.StatusPending, 500, "", -time.Hour, 10*time.Minute))}, "rule:payment_failed ignored:failure_after_expiry"},
		{"accepted before the deadline, decided after it: fails", failedEv("a", pipeline.ReasonBkashFailed, "", 30*time.Second),
			[]*pipeline.IntentRecord{tok(rec("a", pipeline.StatusPending, 500, "", -time.Minute, 105*time.Second))}, "rule:payment_failed change:a:FAILED/bkash_failed/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.ev.Validate(); err != nil {
				t.Fatal(err)
			}
			snap := Snapshot{Intents: c.snap}
			d := Decide(c.ev, snap, now)
			if got := describe(d); got != c.want {
				t.Fatalf("decision\n got %s\nwant %s", got, c.want)
			}
			checkInvariants(t, c.ev, snap, now, d)
			if again := Decide(c.ev, snap, now); describe(again) != c.want ||
				(len(d.Outcomes) > 0 && again.Outcomes[0].ID != d.Outcomes[0].ID) {
				t.Fatal("decision is not deterministic")
			}
			if d.Empty() {
				t.Fatal("an ignored failure must still be applied (empty marker), so a replay repeats it")
			}
		})
	}
}

func TestDecideFailedOutcome(t *testing.T) {
	ev := failedEv("a", pipeline.ReasonBkashInsufficient, "2023", 30*time.Second)
	r := tok(open("a", 500, "ORD-1"))
	d := Decide(ev, Snapshot{Intents: []*pipeline.IntentRecord{r}}, base.Add(time.Minute))
	if len(d.Outcomes) != 1 || len(d.Transitions) != 1 || d.Payment != nil || d.SeenTrxID != "" {
		t.Fatalf("decision %+v", d)
	}
	o, tr := d.Outcomes[0], d.Transitions[0]
	if o.ID != pipeline.IntentOutcomeID("a", 2, pipeline.StatusFailed) || o.Type != pipeline.OutcomeIntentStatus ||
		o.Status != pipeline.StatusFailed || o.PreviousStatus != pipeline.StatusPending || o.Version != 2 ||
		o.Rule != pipeline.RulePaymentFailed || o.Reason != "bkash_insufficient_balance:2023" || o.Payment != nil ||
		o.EventID != ev.ID || o.MerchantID != "m1" || o.Intent.CustomerReference != "ORD-1" || o.MatchType != "" {
		t.Fatalf("outcome %+v", o)
	}
	if tr.From != pipeline.StatusPending || tr.To != pipeline.StatusFailed || tr.Version != 1 || tr.Reason != o.Reason || tr.TrxID != "" {
		t.Fatalf("transition %+v", tr)
	}
	if native.WebhookEvent(o.Status) != "payment.failed" {
		t.Fatalf("webhook event %q", native.WebhookEvent(o.Status))
	}
	b, err := pipeline.EncodeOutcome(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.DecodeOutcome(b); err != nil {
		t.Fatal(err)
	}
}

func TestFailedEventValidate(t *testing.T) {
	good := func() *pipeline.Event { return failedEv("a", pipeline.ReasonBkashFailed, "", 0) }
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := pipeline.EncodeEvent(good())
	if ev, err := pipeline.DecodeEvent(b); err != nil || ev.Failure.Reason != pipeline.ReasonBkashFailed || !bytes.Equal(ev.Raw, good().Raw) {
		t.Fatalf("round trip: %+v %v", ev, err)
	}
	for name, mut := range map[string]func(*pipeline.Event){
		"no failure":       func(e *pipeline.Event) { e.Failure = nil },
		"no intent":        func(e *pipeline.Event) { e.Intent = nil },
		"other intent":     func(e *pipeline.Event) { e.Failure.IntentID = "b" },
		"no paymentID":     func(e *pipeline.Event) { e.Failure.PaymentID = "" },
		"unknown reason":   func(e *pipeline.Event) { e.Failure.Reason = "customer_said_so" },
		"absurd long code": func(e *pipeline.Event) { e.Failure.Code = "12345678901234567" },
	} {
		ev := good()
		mut(ev)
		if err := ev.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
}

// TestMatcherFailed runs payment.failed through the consumer (Redis, embedded Kafka): a PENDING
// tokenized intent becomes FAILED once, a replay re-emits the same bytes, a second failure and a
// failure of a PAID intent change nothing.
func TestMatcherFailed(t *testing.T) {
	h := newHarness(t)
	reg := prometheus.NewRegistry()
	h.startMatcher(reg)
	ctx := context.Background()

	f1 := intentEvent("f1", walletA, 700, "ORD-F1", 10*time.Minute)
	f2 := intentEvent("f2", walletA, 800, "ORD-F2", 10*time.Minute)
	for _, e := range []*pipeline.Event{f1, f2} {
		e.Intent.PaymentMethod = pipeline.PaymentMethodBkashTokenized
	}
	failed := func(id, eventID, reason, code string, in *pipeline.Intent) *pipeline.Event {
		return &pipeline.Event{
			ID: eventID, Kind: pipeline.KindPaymentFailed, Source: pipeline.SourceTokenized, Wallet: walletA,
			MerchantID: merchantOf(walletA), AcceptedAt: time.Now().UTC(), Environment: walletA.Environment, Intent: in,
			Failure: &pipeline.PaymentFailure{IntentID: id, PaymentID: "TR" + id, Reason: reason, Code: code, Op: "execute"},
			Raw:     []byte(`{"statusCode":"2023"}`),
		}
	}
	ff1 := failed("f1", "ev-ff1", pipeline.ReasonBkashInsufficient, "2023", f1.Intent)
	h.produce(f1, f2, ff1, paymentEvent("pf2", walletA, 800, "f2", "TRXF2"))
	failedF1 := pipeline.IntentOutcomeID("f1", 2, pipeline.StatusFailed)
	paidF2 := pipeline.IntentOutcomeID("f2", 2, pipeline.StatusPaid)
	byID := h.waitFor("f1 failed, f2 paid", func(byID map[string][]*kgo.Record) bool {
		return count(byID, failedF1) == 1 && count(byID, paidF2) == 1
	})
	if o := outcomeOf(t, byID, failedF1); o.Rule != pipeline.RulePaymentFailed || o.Reason != "bkash_insufficient_balance:2023" ||
		o.EventID != "ev-ff1" || o.PreviousStatus != pipeline.StatusPending {
		t.Errorf("failed outcome = %s", byID[failedF1][0].Value)
	}
	if r, err := h.st.GetIntent(ctx, "f1"); err != nil || r.Status != pipeline.StatusFailed || r.Version != 2 || r.Reason != "bkash_insufficient_balance:2023" {
		t.Errorf("f1 = %+v, %v; want FAILED v2", r, err)
	}

	// A second failure of f1 (another event) and a failure of the PAID f2: nothing changes.
	h.produce(failed("f1", "ev-ff1b", pipeline.ReasonBkashCancelled, "", f1.Intent), failed("f2", "ev-ff2", pipeline.ReasonBkashFailed, "", f2.Intent))
	deadline := time.Now().Add(20 * time.Second)
	for counterValue(t, reg, "paystream_matcher_ignored_total", map[string]string{"kind": "payment.failed"}) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the two useless failures were not counted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := counterValue(t, reg, "paystream_matcher_ignored_total", map[string]string{"kind": "payment.failed", "reason": IgnoreIntentFinal}); v != 2 {
		t.Errorf("failures of final intents = %v, want 2", v)
	}
	if r, _ := h.st.GetIntent(ctx, "f2"); r.Status != pipeline.StatusPaid || r.Version != 2 {
		t.Errorf("f2 = %+v, want PAID v2", r)
	}

	// Replay of the first failure (after a crash before Kafka acknowledged its outcome, which
	// leaves its marker full): the same bytes, no second decision.
	h.restoreMarker(ff1.Wallet, ff1.ID)
	h.produce(ff1)
	byID = h.waitFor("the replayed failure outcome", func(byID map[string][]*kgo.Record) bool { return count(byID, failedF1) == 2 })
	if rs := byID[failedF1]; !bytes.Equal(rs[0].Value, rs[1].Value) {
		t.Errorf("replayed failure outcome differs:\n%s\n%s", rs[0].Value, rs[1].Value)
	}
	if r, _ := h.st.GetIntent(ctx, "f1"); r.Status != pipeline.StatusFailed || r.Version != 2 {
		t.Errorf("f1 after replays = %+v, want FAILED v2", r)
	}
}
