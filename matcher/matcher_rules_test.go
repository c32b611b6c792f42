package matcher

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
)

func claimEvent(id string, w pipeline.Wallet, intentID, trx, sender string) *pipeline.Event {
	return &pipeline.Event{
		ID: id, Kind: pipeline.KindClaimSubmitted, Source: pipeline.SourceCheckout, Wallet: w, MerchantID: merchantOf(w),
		AcceptedAt: time.Now().UTC(), Environment: w.Environment,
		Claim: &pipeline.Claim{IntentID: intentID, TrxID: trx, SenderMsisdn: sender},
	}
}

func reviewEvent(id string, w pipeline.Wallet, action, intentID, paymentEventID, trx string) *pipeline.Event {
	return &pipeline.Event{
		ID: id, Kind: pipeline.KindReviewDecided, Source: pipeline.SourceOperator, Wallet: w, MerchantID: merchantOf(w),
		AcceptedAt: time.Now().UTC(), Environment: w.Environment,
		Review: &pipeline.ReviewDecision{IntentID: intentID, Action: action, PaymentEventID: paymentEventID, TrxID: trx, Operator: "ops@example.com"},
	}
}

func smsEvent(id string, w pipeline.Wallet, dir string, amount, balance int64, at time.Time) *pipeline.Event {
	a, b := pipeline.BDT(amount), pipeline.BDT(balance)
	return &pipeline.Event{
		ID: id, Kind: pipeline.KindSMSReceived, Source: pipeline.SourceSMS, Wallet: w, MerchantID: merchantOf(w),
		AcceptedAt: time.Now().UTC(), Environment: w.Environment,
		SMS: &pipeline.SMS{Sender: "bKash", Text: "...", DeviceID: "dev-1", ReceivedAt: at, Trusted: true, Kind: "cash_in",
			Direction: dir, Amount: &a, Balance: &b},
	}
}

// count returns how many records the outcome id has.
func count(byID map[string][]*kgo.Record, id string) int { return len(byID[id]) }

// TestMatcherClaims: claim first and payment first both pay exactly once; a claim naming a TrxID
// that paid another intent, or the intent's own TrxID again, changes nothing; a replayed claim
// re-emits its outcome byte for byte.
func TestMatcherClaims(t *testing.T) {
	h := newHarness(t)
	reg := prometheus.NewRegistry()
	h.startMatcher(reg)
	ctx := context.Background()

	// Claim first: c1 and c2 have the same amount, so the payment alone would be ambiguous; the
	// claim recorded before it makes it pay c1.
	h.produce(
		intentEvent("c1", walletA, 500, "", 10*time.Minute),
		intentEvent("c2", walletA, 500, "", 10*time.Minute),
		claimEvent("cl1", walletA, "c1", "trxc1", "01999999999"),
		paymentEvent("pc1", walletA, 500, "", "TRXC1"),
	)
	paidC1 := pipeline.IntentOutcomeID("c1", 2, pipeline.StatusPaid)
	byID := h.waitFor("c1 paid by its claim", func(byID map[string][]*kgo.Record) bool {
		return count(byID, paidC1) == 1 && count(byID, pipeline.PaymentOutcomeID("pc1")) == 1
	})
	if o := outcomeOf(t, byID, paidC1); o.Rule != pipeline.RuleClaim || o.MatchType != pipeline.MatchClaim || o.EventID != "pc1" || o.Payment.TrxID != "TRXC1" {
		t.Errorf("claim-first outcome = %s", byID[paidC1][0].Value)
	}
	if o := outcomeOf(t, byID, pipeline.PaymentOutcomeID("pc1")); o.Disposition != pipeline.DispositionMatched || o.IntentID != "c1" || o.Rule != pipeline.RuleClaim {
		t.Errorf("claim-first payment outcome = %s", byID[pipeline.PaymentOutcomeID("pc1")][0].Value)
	}

	// Payment first: the payment is accepted before c3 was created, so rule 4 leaves it unmatched;
	// the claim then finds it by TrxID and pays c3.
	c3 := intentEvent("c3", walletA, 900, "", 10*time.Minute)
	pc3 := paymentEvent("pc3", walletA, 900, "", "TRXC3")
	pc3.AcceptedAt = c3.Intent.CreatedAt.Add(-20 * time.Second)
	pc3.Payment.OccurredAt = pc3.AcceptedAt.Add(-10 * time.Second)
	h.produce(c3, pc3)
	h.waitFor("pc3 unmatched", func(byID map[string][]*kgo.Record) bool { return count(byID, pipeline.PaymentOutcomeID("pc3")) == 1 })
	if seen, paid, err := h.st.TrxUse(ctx, walletA, "trxc3"); err != nil || !seen || paid != "" {
		t.Errorf("TrxUse(unmatched) = %v %q %v", seen, paid, err)
	}
	cl3 := claimEvent("cl3", walletA, "c3", "TRXC3", "")
	h.produce(cl3)
	paidC3 := pipeline.IntentOutcomeID("c3", 2, pipeline.StatusPaid)
	byID = h.waitFor("c3 paid by its claim", func(byID map[string][]*kgo.Record) bool { return count(byID, paidC3) == 1 })
	if o := outcomeOf(t, byID, paidC3); o.Rule != pipeline.RuleClaim || o.EventID != "cl3" || o.Payment == nil || o.Payment.Amount != pipeline.BDT(900) {
		t.Errorf("payment-first outcome = %s", byID[paidC3][0].Value)
	}
	un, total, err := h.st.ListPayments(ctx, []pipeline.Wallet{walletA}, pipeline.DispositionUnmatched, 0, 10)
	if err != nil || total != 0 {
		t.Errorf("unmatched after the claim = %+v (%d), %v; want none", un, total, err)
	}
	if seen, paid, err := h.st.TrxUse(ctx, walletA, "TRXC3"); err != nil || !seen || paid != "c3" {
		t.Errorf("TrxUse(claimed) = %v %q %v; want paid c3", seen, paid, err)
	}

	// A claim of a TrxID that paid another intent, and the intent's own TrxID again: nothing.
	h.produce(claimEvent("cl4", walletA, "c2", "TRXC1", ""), claimEvent("cl5", walletA, "c1", "TRXC1", ""))
	deadline := time.Now().Add(20 * time.Second)
	for counterValue(t, reg, "paystream_matcher_ignored_total", map[string]string{"kind": "claim.submitted"}) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the two useless claims were not counted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := counterValue(t, reg, "paystream_matcher_ignored_total", map[string]string{"reason": IgnoreTrxPaidOther}); v != 1 {
		t.Errorf("claims of a TrxID paid to another intent = %v, want 1", v)
	}
	if v := counterValue(t, reg, "paystream_matcher_ignored_total", map[string]string{"reason": IgnoreTrxPaidThis}); v != 1 {
		t.Errorf("claims of the intent's own TrxID = %v, want 1", v)
	}
	if rec, _ := h.st.GetIntent(ctx, "c2"); rec.Status != pipeline.StatusPending || rec.Version != 1 {
		t.Errorf("c2 = %+v, want untouched", rec)
	}

	// Replay of the payment-first claim (after a crash before Kafka acknowledged its outcomes,
	// which leaves its marker full): the same bytes, no second decision.
	h.restoreMarker(cl3.Wallet, cl3.ID)
	h.produce(cl3)
	byID = h.waitFor("the replayed claim outcome", func(byID map[string][]*kgo.Record) bool { return count(byID, paidC3) == 2 })
	if rs := byID[paidC3]; !bytes.Equal(rs[0].Value, rs[1].Value) {
		t.Errorf("replayed claim outcome differs:\n%s\n%s", rs[0].Value, rs[1].Value)
	}
	// Exactly once: c1 and c3 were paid once each, nothing else changed status.
	for id, recs := range byID {
		o, _ := pipeline.DecodeOutcome(recs[0].Value)
		if o.Type == pipeline.OutcomeIntentStatus && o.Intent.ID != "c1" && o.Intent.ID != "c3" {
			t.Errorf("unexpected status change %s: %s", id, recs[0].Value)
		}
	}
	if rec, _ := h.st.GetIntent(ctx, "c3"); rec.Status != pipeline.StatusPaid || rec.Version != 2 || rec.MatchType != pipeline.MatchClaim {
		t.Errorf("c3 = %+v, want PAID v2 by claim", rec)
	}
}

// TestMatcherOperatorDecisions: approve, reject and attach produce the right outcomes, the review
// queue shows the candidates, a decision on an intent not under review changes nothing, and a
// replayed decision re-emits its outcome.
func TestMatcherOperatorDecisions(t *testing.T) {
	h := newHarness(t)
	reg := prometheus.NewRegistry()
	h.startMatcher(reg)
	ctx := context.Background()

	h.produce(
		intentEvent("r1", walletB, 500, "", 10*time.Minute),
		intentEvent("r2", walletB, 500, "", 10*time.Minute),
		intentEvent("u1", walletB, 300, "", 10*time.Minute),
		paymentEvent("pr", walletB, 500, "", "TRXR"), // ambiguous: r1 and r2 under review
		paymentEvent("pu", walletB, 999, "", "TRXU"), // unmatched
	)
	h.waitFor("both payments decided", func(byID map[string][]*kgo.Record) bool {
		return count(byID, pipeline.PaymentOutcomeID("pr")) == 1 && count(byID, pipeline.PaymentOutcomeID("pu")) == 1
	})
	items, total, err := h.st.ReviewQueue(ctx, []pipeline.Wallet{walletB}, 0, 10)
	if err != nil || total != 2 || len(items[0].Payments) != 1 || items[0].Payments[0].EventID != "pr" || items[1].Payments[0].EventID != "pr" {
		t.Fatalf("review queue = %+v (%d), %v; want r1 and r2 with candidate pr", items, total, err)
	}

	approve := reviewEvent("op1", walletB, pipeline.ReviewApprove, "r1", "", "")
	h.produce(
		approve,
		reviewEvent("op2", walletB, pipeline.ReviewReject, "r2", "", ""), // r2 is PENDING again by now (op1 used its only candidate): ignored
		reviewEvent("op3", walletB, pipeline.ReviewAttach, "u1", "pu", ""),
		reviewEvent("op4", walletB, pipeline.ReviewApprove, "u1", "", ""), // u1 is paid by now: a race, nothing happens
	)
	paidR1 := pipeline.IntentOutcomeID("r1", 3, pipeline.StatusPaid)
	// Issue 13 finding 8: approving r1 with pr leaves r2 without a candidate, so r2 returns to
	// PENDING (candidate_used) and the reject finds it not under review (this test expected r2
	// REJECTED before: it asserted that the ambiguity's leftover stays in review).
	relR2 := pipeline.IntentOutcomeID("r2", 3, pipeline.StatusPending)
	paidU1 := pipeline.IntentOutcomeID("u1", 2, pipeline.StatusPaid)
	byID := h.waitFor("the three decisions", func(byID map[string][]*kgo.Record) bool {
		return count(byID, paidR1) == 1 && count(byID, relR2) == 1 && count(byID, paidU1) == 1
	})
	if o := outcomeOf(t, byID, paidR1); o.Rule != pipeline.RuleManual || o.MatchType != pipeline.MatchManual || o.Reason != "" ||
		o.PreviousStatus != pipeline.StatusReviewRequired || o.Payment == nil || o.Payment.TrxID != "TRXR" || o.EventID != "op1" {
		t.Errorf("approve outcome = %s", byID[paidR1][0].Value)
	}
	if o := outcomeOf(t, byID, relR2); o.Rule != pipeline.RuleManual || o.Status != pipeline.StatusPending || o.Reason != ReasonCandidateUsed ||
		o.EventID != "op1" || o.Payment != nil {
		t.Errorf("release outcome = %s", byID[relR2][0].Value)
	}
	if o := outcomeOf(t, byID, paidU1); o.MatchType != pipeline.MatchManual || o.Payment.TrxID != "TRXU" || o.PreviousStatus != pipeline.StatusPending {
		t.Errorf("attach outcome = %s", byID[paidU1][0].Value)
	}
	deadline := time.Now().Add(20 * time.Second)
	for counterValue(t, reg, "paystream_matcher_ignored_total", map[string]string{"kind": "review.decided", "reason": IgnoreNotUnderReview}) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the approval of a paid intent and the reject of a released one were not counted as ignored")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if items, total, _ := h.st.ReviewQueue(ctx, []pipeline.Wallet{walletB}, 0, 10); total != 0 {
		t.Errorf("review queue after the decisions = %+v", items)
	}
	for _, d := range []pipeline.Disposition{pipeline.DispositionUnmatched, pipeline.DispositionReview} {
		if ps, total, _ := h.st.ListPayments(ctx, []pipeline.Wallet{walletB}, d, 0, 10); total != 0 {
			t.Errorf("%s payments after the decisions = %+v; the used ones must leave", d, ps)
		}
	}
	for trx, want := range map[string]string{"TRXR": "r1", "TRXU": "u1"} {
		if _, paid, _ := h.st.TrxUse(ctx, walletB, trx); paid != want {
			t.Errorf("%s paid %q, want %s", trx, paid, want)
		}
	}

	// r2's own 500 payment now pays it by amount (it is back in the open-by-amount index).
	h.produce(paymentEvent("p2", walletB, 500, "", "TRX2"))
	paidR2 := pipeline.IntentOutcomeID("r2", 4, pipeline.StatusPaid)
	byID = h.waitFor("r2 paid by its own payment", func(byID map[string][]*kgo.Record) bool { return count(byID, paidR2) == 1 })
	if o := outcomeOf(t, byID, paidR2); o.MatchType != pipeline.MatchAuto || o.Payment.TrxID != "TRX2" {
		t.Errorf("r2 outcome = %s", byID[paidR2][0].Value)
	}

	// A replayed approval whose outcomes Kafka acknowledged emits nothing again (a sentinel
	// payment on the same wallet is decided after it).
	h.produce(approve, paymentEvent("p9", walletB, 9, "", "TRX9"))
	byID = h.waitFor("the sentinel after the replayed approval", func(byID map[string][]*kgo.Record) bool {
		return count(byID, pipeline.PaymentOutcomeID("p9")) == 1
	})
	if n := count(byID, paidR1); n != 1 {
		t.Errorf("approval outcome emitted %d times after its replay, want once", n)
	}
}

// TestMatcherBalanceGap: a balance that does not follow from the previous SMS is a gap outcome (and
// a metric, and listed for operators); a paying SMS below the chain goes to review; an older SMS
// raises nothing; a replay re-emits the gap byte for byte.
func TestMatcherBalanceGap(t *testing.T) {
	h := newHarness(t)
	reg := prometheus.NewRegistry()
	h.startMatcher(reg)
	ctx := context.Background()
	t0 := time.Now().UTC().Add(-time.Hour)

	gapSMS := smsEvent("s2", walletA, "credit", 200, 1500, t0.Add(2*time.Minute)) // expected 1200: a credit was missed
	h.produce(
		smsEvent("s1", walletA, "credit", 100, 1000, t0.Add(time.Minute)),
		gapSMS,
		smsEvent("s0", walletA, "debit", 50, 7, t0), // older: not compared
		intentEvent("b1", walletA, 500, "", 10*time.Minute),
	)
	pay := paymentEvent("pb1", walletA, 500, "", "TRXB1")
	amount, bal := pay.Payment.Amount, pipeline.BDT(1700) // expected 2000
	pay.SMS = &pipeline.SMS{Sender: "bKash", DeviceID: "dev-1", ReceivedAt: t0.Add(3 * time.Minute), Trusted: true, Kind: "received_send_money",
		Direction: "credit", Amount: &amount, Balance: &bal, TrxID: "TRXB1"}
	h.produce(pay)

	gapID, payGapID := BalanceGapOutcomeID("s2"), BalanceGapOutcomeID("pb1")
	reviewB1 := pipeline.IntentOutcomeID("b1", 2, pipeline.StatusReviewRequired)
	byID := h.waitFor("the two gaps and b1's review", func(byID map[string][]*kgo.Record) bool {
		return count(byID, gapID) == 1 && count(byID, payGapID) == 1 && count(byID, reviewB1) == 1
	})
	var g BalanceGapOutcome
	if err := json.Unmarshal(byID[gapID][0].Value, &g); err != nil || g.Type != OutcomeBalanceGap || g.BalanceGap == nil ||
		g.BalanceGap.ExpectedPaisa != 120000 || g.BalanceGap.ActualPaisa != 150000 || g.BalanceGap.PreviousEventID != "s1" || g.MerchantID != merchantOf(walletA) {
		t.Errorf("gap outcome = %s (%v)", byID[gapID][0].Value, err)
	}
	if o := outcomeOf(t, byID, reviewB1); o.Reason != ReasonBalanceMismatch || o.Payment.TrxID != "TRXB1" {
		t.Errorf("b1 = %s, want review balance_mismatch", byID[reviewB1][0].Value)
	}
	if err := json.Unmarshal(byID[payGapID][0].Value, &g); err != nil || !g.BalanceGap.Review || g.BalanceGap.DifferencePaisa != -30000 {
		t.Errorf("payment gap outcome = %s (%v)", byID[payGapID][0].Value, err)
	}
	if v := counterValue(t, reg, "paystream_matcher_balance_gaps_total", map[string]string{"environment": "SANDBOX"}); v != 2 {
		t.Errorf("balance gaps metric = %v, want 2 (the older SMS raises none)", v)
	}
	gaps, err := h.st.BalanceGaps(ctx, []pipeline.Wallet{walletA}, 10)
	if err != nil || len(gaps) != 2 || gaps[0].EventID != "pb1" || gaps[1].EventID != "s2" {
		t.Errorf("BalanceGaps = %+v, %v; want pb1, s2", gaps, err)
	}

	// A replayed gap whose outcome Kafka acknowledged emits nothing again (a sentinel payment on
	// the same wallet is decided after it).
	h.produce(gapSMS, paymentEvent("p9", walletA, 9, "", "TRX9"))
	byID = h.waitFor("the sentinel after the replayed gap", func(byID map[string][]*kgo.Record) bool {
		return count(byID, pipeline.PaymentOutcomeID("p9")) == 1
	})
	if n := count(byID, gapID); n != 1 {
		t.Errorf("gap outcome emitted %d times after its replay, want once", n)
	}
	if v := counterValue(t, reg, "paystream_matcher_balance_gaps_total", nil); v != 2 {
		t.Errorf("balance gaps metric after the replay = %v, want 2", v)
	}
}
