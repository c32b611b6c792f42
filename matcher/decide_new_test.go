package matcher

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// describe renders the parts of a decision the rule-3/6 and balance tables assert, in a fixed
// order, leaving out what is empty:
//
//	rule:R disp:D ignored:X change:ID:STATUS/reason/match payment:DISP/reason/intent
//	kept:EV:DISP/reason/id+id used:EV claim:TRX>ID(n,m) drop:TRX seen:TRX head:BAL gap:EXP/ACT/review
func describe(d Decision) string {
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if d.Rule != "" {
		add("rule:%s", d.Rule)
	}
	if d.Disposition != "" {
		add("disp:%s", d.Disposition)
	}
	if d.Ignored != "" {
		add("ignored:%s", d.Ignored)
	}
	for _, o := range d.Outcomes {
		if o.Type == pipeline.OutcomeIntentStatus {
			add("change:%s:%s/%s/%s", o.Intent.ID, o.Status, o.Reason, o.MatchType)
		} else {
			add("payment:%s/%s/%s", o.Disposition, o.Reason, o.IntentID)
		}
	}
	if p := d.Payment; p != nil {
		add("kept:%s:%s/%s/%s", p.EventID, p.Disposition, p.Reason, strings.Join(p.IntentIDs, "+"))
	}
	for _, p := range d.UsedPayments {
		add("used:%s", p.EventID)
	}
	if c := d.Claims; c != nil {
		add("claim:%s>%s(%d,%d)", c.TrxID, c.IntentID, len(c.Claims), len(c.IntentTrxIDs))
	}
	for _, t := range d.DropClaims {
		add("drop:%s", t)
	}
	if d.SeenTrxID != "" {
		add("seen:%s", d.SeenTrxID)
	}
	if h := d.Balance; h != nil {
		add("head:%s", h.Balance)
	}
	if g := d.Gap; g != nil {
		add("gap:%d/%d/%v", g.ExpectedPaisa, g.ActualPaisa, g.Review)
	}
	return strings.Join(out, " ")
}

// kept is a payment kept as disp (reason, for intents ids) that occurred at base+30s.
func kept(eventID string, amount int64, trx string, disp pipeline.Disposition, reason string, ids ...string) *pipeline.PaymentRecord {
	return &pipeline.PaymentRecord{
		EventID: eventID, MerchantID: "m1", Source: pipeline.SourceSMS, Wallet: wA,
		Payment: pipeline.Payment{Provider: pipeline.BKash, TrxID: trx, Amount: pipeline.BDT(amount), Sender: "01899999999",
			OccurredAt: base.Add(30 * time.Second)},
		Disposition: disp, Rule: pipeline.RuleNone, Reason: reason, IntentIDs: ids,
		AcceptedAt: base.Add(35 * time.Second), DecidedAt: base.Add(36 * time.Second),
	}
}

func unmatchedPay(eventID string, amount int64, trx string) *pipeline.PaymentRecord {
	return kept(eventID, amount, trx, pipeline.DispositionUnmatched, "")
}

func claimEv(intentID, trx, sender string) *pipeline.Event {
	return &pipeline.Event{
		ID: "ev-claim", Kind: pipeline.KindClaimSubmitted, Source: pipeline.SourceCheckout, Wallet: wA, MerchantID: "m1",
		AcceptedAt: base.Add(2 * time.Minute), Environment: wA.Environment,
		Claim: &pipeline.Claim{IntentID: intentID, TrxID: trx, SenderMsisdn: sender},
	}
}

func reviewEv(action, intentID, paymentEventID, trx string) *pipeline.Event {
	return &pipeline.Event{
		ID: "ev-review", Kind: pipeline.KindReviewDecided, Source: pipeline.SourceOperator, Wallet: wA, MerchantID: "m1",
		AcceptedAt: base.Add(3 * time.Minute), Environment: wA.Environment,
		Review: &pipeline.ReviewDecision{IntentID: intentID, Action: action, PaymentEventID: paymentEventID, TrxID: trx, Operator: "ops@example.com"},
	}
}

// withStatus is r in status st at version v.
func withStatus(r *pipeline.IntentRecord, st pipeline.Status, v int, trx, reason string) *pipeline.IntentRecord {
	c := *r
	c.Status, c.Version, c.TrxID, c.Reason = st, v, trx, reason
	return &c
}

func money(taka int64) *pipeline.Money {
	m := pipeline.BDT(taka)
	return &m
}

// smsEv is a trusted sms.received of direction dir, amount and balance (taka), received at base+at.
func smsEv(id, dir string, amount, balance int64, at time.Duration) *pipeline.Event {
	s := &pipeline.SMS{Sender: "bKash", DeviceID: "d1", ReceivedAt: base.Add(at), Trusted: true, Kind: "x", Direction: dir, Balance: money(balance)}
	if amount > 0 {
		s.Amount = money(amount)
	}
	return &pipeline.Event{ID: id, Kind: pipeline.KindSMSReceived, Source: pipeline.SourceSMS, Wallet: wA, MerchantID: "m1",
		AcceptedAt: base.Add(at + time.Second), Environment: wA.Environment, SMS: s}
}

// paySMS is pay(amount, ref) reported from a trusted credit SMS with balance, received at base+30s.
func paySMS(amount int64, ref string, balance int64) *pipeline.Event {
	ev := pay(amount, ref)
	ev.SMS = &pipeline.SMS{Sender: "bKash", DeviceID: "d1", ReceivedAt: base.Add(30 * time.Second), Trusted: true, Kind: "received_send_money",
		Direction: "credit", Amount: money(amount), Balance: money(balance), TrxID: ev.Payment.TrxID}
	return ev
}

// head is a balance chain head of balance taka at base+at, with its own change delta taka.
func head(balance int64, at time.Duration, delta int64) *pipeline.BalanceHead {
	return &pipeline.BalanceHead{EventID: "ev-prev", At: base.Add(at), Balance: pipeline.BDT(balance), DeltaPaisa: delta * 100, HasDelta: true}
}

func TestDecideClaimsRulesAndReviews(t *testing.T) {
	now := base.Add(4 * time.Minute)
	x := open("x", 500, "")
	y := open("y", 500, "")
	ints := func(rs ...*pipeline.IntentRecord) []*pipeline.IntentRecord { return rs }
	pays := func(ps ...*pipeline.PaymentRecord) []*pipeline.PaymentRecord { return ps }
	reviewX := withStatus(x, pipeline.StatusReviewRequired, 2, "TRX1", pipeline.ReasonAmbiguous)
	cases := []struct {
		name string
		ev   *pipeline.Event
		snap Snapshot
		want string
	}{
		// Rule 3, payment first: the claim finds the kept payment by TrxID.
		{"claim: pays the unmatched payment", claimEv("x", "trx1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(x), Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:claim disp:matched change:x:PAID//CLAIM_MATCH used:ev-p drop:TRX1"},
		{"claim: same sender in another form", claimEv("x", "TRX1", "+8801899999999"),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(x), Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:claim disp:matched change:x:PAID//CLAIM_MATCH used:ev-p drop:TRX1"},
		{"claim: amount differs", claimEv("x", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(x), Payments: pays(unmatchedPay("ev-p", 450, "TRX1"))},
			"rule:claim disp:review kept:ev-p:review/amount_mismatch/x"}, // issue 13 finding 5: x stays PENDING (was REVIEW_REQUIRED)
		{"claim: sender differs", claimEv("x", "TRX1", "01811111111"),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(x), Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:claim disp:review change:x:REVIEW_REQUIRED/sender_mismatch/ kept:ev-p:review/sender_mismatch/x"},
		{"claim: sender not a mobile number is not compared", claimEv("x", "TRX1", "01811111111"),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(x), Payments: pays(func() *pipeline.PaymentRecord {
				p := unmatchedPay("ev-p", 500, "TRX1")
				p.Payment.Sender = "Bank Asia"
				return p
			}())},
			"rule:claim disp:matched change:x:PAID//CLAIM_MATCH used:ev-p drop:TRX1"},
		{"claim: payment made before the intent existed", claimEv("late", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(rec("late", pipeline.StatusPending, 500, "", 10*time.Minute, time.Hour)),
				Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:claim disp:review change:late:REVIEW_REQUIRED/payment_before_intent/ kept:ev-p:review/payment_before_intent/late"},
		{"claim: expired intent, payment after its deadline", claimEv("old", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(rec("old", pipeline.StatusExpired, 500, "", -20*time.Minute, 10*time.Minute)), Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:claim disp:review change:old:REVIEW_REQUIRED/late_payment/ kept:ev-p:review/late_payment/old"},
		{"claim: expired intent, payment before its deadline reported within the grace", claimEv("x", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(withStatus(x, pipeline.StatusExpired, 2, "", "")), Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:claim disp:matched change:x:PAID/paid_after_expiry/CLAIM_MATCH used:ev-p drop:TRX1"},
		{"claim: pending intent, payment after its deadline", claimEv("short", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(rec("short", pipeline.StatusPending, 500, "", -time.Minute, time.Minute)),
				Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:claim disp:review change:short:REVIEW_REQUIRED/late_payment/ kept:ev-p:review/late_payment/short"},
		{"claim: settles an ambiguous review", claimEv("x", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(reviewX, withStatus(y, pipeline.StatusReviewRequired, 2, "TRX1", pipeline.ReasonAmbiguous)),
				Payments: pays(kept("ev-p", 500, "TRX1", pipeline.DispositionReview, pipeline.ReasonAmbiguous, "x", "y"))},
			// issue 13 finding 8: y, left without a candidate, returns to PENDING (it stayed in review before)
			"rule:claim disp:matched change:x:PAID//CLAIM_MATCH change:y:PENDING/candidate_used/ used:ev-p drop:TRX1"},
		{"claim: settles an ambiguous review; the other intent has another candidate and stays", claimEv("x", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(reviewX, withStatus(y, pipeline.StatusReviewRequired, 2, "TRX1", pipeline.ReasonAmbiguous)),
				Payments:         pays(kept("ev-p", 500, "TRX1", pipeline.DispositionReview, pipeline.ReasonAmbiguous, "x", "y")),
				IntentCandidates: map[string][]string{"x": {"ev-p"}, "y": {"ev-p", "ev-q"}}},
			"rule:claim disp:matched change:x:PAID//CLAIM_MATCH used:ev-p drop:TRX1"},
		{"claim: already under review with that payment", claimEv("x", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(withStatus(x, pipeline.StatusReviewRequired, 2, "TRX1", pipeline.ReasonAmountMismatch)),
				Payments: pays(kept("ev-p", 450, "TRX1", pipeline.DispositionReview, pipeline.ReasonAmountMismatch, "x"))},
			"rule:claim ignored:already_under_review"},
		{"claim: under review for another payment, linked", claimEv("x", "TRX2", ""),
			Snapshot{TrxSeenBy: "ev-p2", Intents: ints(reviewX), Payments: pays(unmatchedPay("ev-p2", 450, "TRX2"))},
			"rule:claim disp:review kept:ev-p2:review/amount_mismatch/x"},
		{"claim: a payment held for its balance is not paid by a claim", claimEv("x", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(x), Payments: pays(kept("ev-p", 500, "TRX1", pipeline.DispositionReview, ReasonBalanceMismatch))},
			"rule:claim disp:review change:x:REVIEW_REQUIRED/balance_mismatch/ kept:ev-p:review/balance_mismatch/x"},
		{"claim: TrxID paid another intent", claimEv("x", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(x), TrxPaid: map[string]string{"TRX1": "y"}}, "rule:claim ignored:trx_paid_other_intent"},
		{"claim: TrxID paid this intent", claimEv("x", "TRX1", ""),
			Snapshot{TrxSeenBy: "ev-p", Intents: ints(withStatus(x, pipeline.StatusPaid, 2, "TRX1", "")), TrxPaid: map[string]string{"TRX1": "x"}},
			"rule:claim ignored:trx_paid_this_intent"},
		{"claim: unknown intent", claimEv("nope", "TRX1", ""), Snapshot{Intents: ints(x)}, "rule:claim ignored:unknown_intent"},
		{"claim: final intent", claimEv("x", "TRX9", ""), Snapshot{Intents: ints(withStatus(x, pipeline.StatusRejected, 3, "", ""))}, "rule:claim ignored:intent_final"},
		{"claim: seen but no longer kept", claimEv("x", "TRX1", ""), Snapshot{TrxSeenBy: "ev-p", Intents: ints(x)}, "rule:claim ignored:trx_used"},

		// Rule 3, claim first: recorded until the payment comes.
		{"claim first: recorded", claimEv("x", " trx1 ", "+8801811111111"), Snapshot{Intents: ints(x)}, "rule:claim claim:TRX1>x(1,1)"},
		{"claim first: on an expired intent (a late payment goes to review)", claimEv("x", "TRX1", ""),
			Snapshot{Intents: ints(withStatus(x, pipeline.StatusExpired, 2, "", ""))}, "rule:claim claim:TRX1>x(1,1)"},
		{"claim first: another intent claimed the TrxID too", claimEv("x", "TRX1", ""),
			Snapshot{Intents: ints(x, y), Claims: []pipeline.ClaimRecord{{IntentID: "y", TrxID: "TRX1"}}}, "rule:claim claim:TRX1>x(2,1)"},
		{"claim first: claims of final intents no longer count", claimEv("x", "TRX1", ""),
			Snapshot{Intents: ints(x, withStatus(y, pipeline.StatusPaid, 2, "TRX0", "")), Claims: []pipeline.ClaimRecord{{IntentID: "y", TrxID: "TRX1"}}},
			"rule:claim claim:TRX1>x(1,1)"},
		{"claim first: the same claim again", claimEv("x", "TRX1", ""), Snapshot{Intents: ints(x), IntentClaims: []string{"TRX1"}},
			"rule:claim ignored:already_claimed"},
		{"claim first: five TrxIDs claimed already", claimEv("x", "TRX6", ""),
			Snapshot{Intents: ints(x), IntentClaims: []string{"T1", "T2", "T3", "T4", "T5"}}, "rule:claim ignored:too_many_claims"},
		{"claim first: four TrxIDs claimed, a fifth is kept", claimEv("x", "TRX5", ""),
			Snapshot{Intents: ints(x), IntentClaims: []string{"T1", "T2", "T3", "T4"}}, "rule:claim claim:TRX5>x(1,5)"},

		// Rule 3 from the payment's side: claims are tried before rules 2 and 4.
		{"payment: the claimed intent, before the reference", pay(500, "ORDER-Y"),
			Snapshot{Intents: ints(x, open("ry", 500, "ORDER-Y")), Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "TRX1"}}},
			"rule:claim disp:matched change:x:PAID//CLAIM_MATCH payment:matched//x drop:TRX1 seen:TRX1"},
		{"payment: claimed intent, amount differs", pay(450, ""),
			Snapshot{Intents: ints(x), Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "TRX1"}}},
			"rule:claim disp:review payment:review/amount_mismatch/x kept:ev-pay:review/amount_mismatch/x drop:TRX1 seen:TRX1"}, // finding 5: x stays PENDING
		{"payment: claimed with another sender", pay(500, ""),
			Snapshot{Intents: ints(x), Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "TRX1", Sender: "01811111111"}}},
			"rule:claim disp:review change:x:REVIEW_REQUIRED/sender_mismatch/ payment:review/sender_mismatch/x kept:ev-pay:review/sender_mismatch/x drop:TRX1 seen:TRX1"},
		{"payment: two intents claimed it", pay(500, ""),
			Snapshot{Intents: ints(x, y), Claims: []pipeline.ClaimRecord{{IntentID: "y", TrxID: "TRX1"}, {IntentID: "x", TrxID: "TRX1"}}},
			"rule:claim disp:review change:x:REVIEW_REQUIRED/ambiguous/ change:y:REVIEW_REQUIRED/ambiguous/ payment:review/ambiguous/ kept:ev-pay:review/ambiguous/x+y drop:TRX1 seen:TRX1"},
		{"payment: claimed intent paid meanwhile: rules 2 and 4 decide", pay(500, ""),
			Snapshot{Intents: ints(withStatus(x, pipeline.StatusPaid, 2, "TRX0", ""), y), Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "TRX1"}}},
			"rule:amount_window disp:matched change:y:PAID//AUTO_MATCH payment:matched//y drop:TRX1 seen:TRX1"},
		{"payment: claimed intent under review is paid", pay(500, ""),
			Snapshot{Intents: ints(reviewX), Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "TRX1"}}},
			"rule:claim disp:matched change:x:PAID//CLAIM_MATCH payment:matched//x drop:TRX1 seen:TRX1"},
		{"payment: claimed intent under review, amount differs: linked", pay(450, ""),
			Snapshot{Intents: ints(reviewX), Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "TRX1"}}},
			"rule:claim disp:review payment:review/amount_mismatch/x kept:ev-pay:review/amount_mismatch/x drop:TRX1 seen:TRX1"},
		{"payment: claimed intent expired before the payment", pay(500, ""),
			Snapshot{Intents: ints(rec("old", pipeline.StatusExpired, 500, "", -20*time.Minute, 10*time.Minute)), Claims: []pipeline.ClaimRecord{{IntentID: "old", TrxID: "TRX1"}}},
			"rule:claim disp:review change:old:REVIEW_REQUIRED/late_payment/ payment:review/late_payment/old kept:ev-pay:review/late_payment/old drop:TRX1 seen:TRX1"},
		{"payment: claimed intent expired after the payment, reported within the grace", pay(500, ""),
			Snapshot{Intents: ints(rec("short", pipeline.StatusExpired, 500, "", -time.Minute, 100*time.Second)), Claims: []pipeline.ClaimRecord{{IntentID: "short", TrxID: "TRX1"}}},
			"rule:claim disp:matched change:short:PAID/paid_after_expiry/CLAIM_MATCH payment:matched//short drop:TRX1 seen:TRX1"},
		{"payment: duplicate ignores claims", pay(500, ""),
			Snapshot{TrxSeenBy: "ev-0", Intents: ints(x), Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "TRX1"}}},
			"rule:dedupe disp:duplicate payment:duplicate//"},

		// Rule 6.
		{"approve: with the recorded TrxID's kept payment", reviewEv(pipeline.ReviewApprove, "x", "", ""),
			Snapshot{Intents: ints(reviewX), Candidates: []string{"ev-p"}, Payments: pays(kept("ev-p", 500, "TRX1", pipeline.DispositionReview, pipeline.ReasonAmbiguous, "x", "y"))},
			"rule:manual disp:matched change:x:PAID//MANUAL used:ev-p drop:TRX1"},
		{"approve: with a TrxID the matcher never saw", reviewEv(pipeline.ReviewApprove, "x", "", " trx9 "),
			Snapshot{Intents: ints(reviewX)}, "rule:manual disp:matched change:x:PAID//MANUAL drop:TRX9 seen:TRX9"},
		{"approve: with a seen, kept TrxID", reviewEv(pipeline.ReviewApprove, "x", "", "TRX2"),
			Snapshot{TrxSeenBy: "ev-p2", Intents: ints(reviewX), Payments: pays(unmatchedPay("ev-p2", 450, "TRX2"))},
			"rule:manual disp:matched change:x:PAID//MANUAL used:ev-p2 drop:TRX2"},
		{"approve: without any TrxID", reviewEv(pipeline.ReviewApprove, "x", "", ""),
			Snapshot{Intents: ints(withStatus(x, pipeline.StatusReviewRequired, 2, "", pipeline.ReasonAmbiguous))}, "rule:manual disp:matched change:x:PAID//MANUAL"},
		{"approve: TrxID paid another intent", reviewEv(pipeline.ReviewApprove, "x", "", ""),
			Snapshot{Intents: ints(reviewX), TrxPaid: map[string]string{"TRX1": "y"}}, "rule:manual ignored:payment_used"},
		{"approve: not under review", reviewEv(pipeline.ReviewApprove, "x", "", ""), Snapshot{Intents: ints(x)}, "rule:manual ignored:not_under_review"},
		{"reject", reviewEv(pipeline.ReviewReject, "x", "", ""), Snapshot{Intents: ints(reviewX)}, "rule:manual change:x:REJECTED//"},
		{"reject: not under review", reviewEv(pipeline.ReviewReject, "x", "", ""), Snapshot{Intents: ints(withStatus(x, pipeline.StatusPaid, 2, "T", ""))},
			"rule:manual ignored:not_under_review"},
		{"attach: unmatched payment to a pending intent", reviewEv(pipeline.ReviewAttach, "x", "ev-p", ""),
			Snapshot{Intents: ints(x), Payments: pays(unmatchedPay("ev-p", 450, "TRX1"))},
			"rule:manual disp:matched change:x:PAID//MANUAL used:ev-p drop:TRX1"},
		{"attach: review payment to an intent under review", reviewEv(pipeline.ReviewAttach, "x", "ev-p", ""),
			Snapshot{Intents: ints(reviewX), Payments: pays(kept("ev-p", 500, "TRX1", pipeline.DispositionReview, pipeline.ReasonAmbiguous, "x", "y"))},
			"rule:manual disp:matched change:x:PAID//MANUAL used:ev-p drop:TRX1"},
		{"attach: expired intent", reviewEv(pipeline.ReviewAttach, "x", "ev-p", ""),
			Snapshot{Intents: ints(withStatus(x, pipeline.StatusExpired, 2, "", "")), Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:manual disp:matched change:x:PAID/paid_after_expiry/MANUAL used:ev-p drop:TRX1"}, // finding 3: was intent_not_payable
		{"attach: paid intent", reviewEv(pipeline.ReviewAttach, "x", "ev-p", ""),
			Snapshot{Intents: ints(withStatus(x, pipeline.StatusPaid, 2, "TRX0", "")), Payments: pays(unmatchedPay("ev-p", 500, "TRX1"))},
			"rule:manual ignored:intent_not_payable"},
		{"attach: payment not kept", reviewEv(pipeline.ReviewAttach, "x", "ev-gone", ""), Snapshot{Intents: ints(x)}, "rule:manual ignored:payment_not_kept"},
		{"review: unknown intent", reviewEv(pipeline.ReviewReject, "nope", "", ""), Snapshot{Intents: ints(x)}, "rule:manual ignored:unknown_intent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.ev, tc.snap, now)
			if got := describe(d); got != tc.want {
				t.Errorf("Decide =\n  %s\nwant\n  %s", got, tc.want)
			}
			checkInvariants(t, tc.ev, tc.snap, now, d)
		})
	}
}

func TestDecideBalanceChain(t *testing.T) {
	now := base.Add(time.Hour)
	x := open("x", 500, "")
	debitFee := func() *pipeline.Event {
		ev := smsEv("ev-sms", "debit", 200, 795, time.Minute)
		ev.SMS.Parsed = json.RawMessage(`{"fee_paisa": 500}`)
		return ev
	}
	creditFee := func() *pipeline.Event {
		ev := smsEv("ev-sms", "credit", 200, 1195, time.Minute)
		ev.SMS.Parsed = json.RawMessage(`{"fee_paisa": 500}`)
		return ev
	}
	cases := []struct {
		name string
		ev   *pipeline.Event
		snap Snapshot
		want string
	}{
		{"first SMS starts the chain", smsEv("ev-sms", "credit", 100, 1000, 0), Snapshot{}, "head:1000"},
		{"credit follows", smsEv("ev-sms", "credit", 200, 1200, time.Minute), Snapshot{Balance: head(1000, 0, 100)}, "head:1200"},
		{"debit with fee follows", debitFee(), Snapshot{Balance: head(1000, 0, 100)}, "head:795"},
		{"credit net of a stated fee follows", creditFee(), Snapshot{Balance: head(1000, 0, 100)}, "head:1195"},
		{"credit gross of a stated fee follows", func() *pipeline.Event {
			ev := creditFee()
			ev.SMS.Balance = money(1200)
			return ev
		}(), Snapshot{Balance: head(1000, 0, 100)}, "head:1200"},
		{"higher balance: a missed credit", smsEv("ev-sms", "credit", 200, 1700, time.Minute), Snapshot{Balance: head(1000, 0, 100)},
			"head:1700 gap:120000/170000/false"},
		{"lower balance on a debit: a missed debit", smsEv("ev-sms", "debit", 200, 300, time.Minute), Snapshot{Balance: head(1000, 0, 100)},
			"head:300 gap:80000/30000/false"},
		{"older than the head: not compared", smsEv("ev-sms", "credit", 200, 5000, -time.Minute), Snapshot{Balance: head(1000, 0, 100)},
			"rule:balance_chain ignored:sms_out_of_order"},
		{"the head again", smsEv("ev-prev", "credit", 100, 1000, 0), Snapshot{Balance: head(1000, 0, 100)}, "rule:balance_chain ignored:sms_repeated"},
		{"same time, other order", smsEv("ev-sms", "credit", 200, 900, 0), Snapshot{Balance: head(1000, 0, 100)},
			"rule:balance_chain ignored:sms_out_of_order"},
		{"same time, does not follow either way", smsEv("ev-sms", "credit", 200, 2000, 0), Snapshot{Balance: head(1000, 0, 100)},
			"head:2000 gap:120000/200000/false"},
		{"no amount: becomes the head unchecked", smsEv("ev-sms", "none", 0, 4000, time.Minute), Snapshot{Balance: head(1000, 0, 100)}, "head:4000"},
		{"untrusted sender: ignored by the chain", func() *pipeline.Event {
			ev := smsEv("ev-sms", "credit", 200, 9000, time.Minute)
			ev.SMS.Trusted = false
			return ev
		}(), Snapshot{Balance: head(1000, 0, 100)}, ""},
		{"no balance", func() *pipeline.Event {
			ev := smsEv("ev-sms", "credit", 200, 0, time.Minute)
			ev.SMS.Balance = nil
			return ev
		}(), Snapshot{Balance: head(1000, 0, 100)}, ""},

		// Paying SMS.
		{"payment SMS follows: paid", paySMS(500, "", 1500), Snapshot{Intents: []*pipeline.IntentRecord{x}, Balance: head(1000, 0, 100)},
			"rule:amount_window disp:matched change:x:PAID//AUTO_MATCH payment:matched//x seen:TRX1 head:1500"},
		{"payment SMS lower than the chain allows: review", paySMS(500, "", 1200), Snapshot{Intents: []*pipeline.IntentRecord{x}, Balance: head(1000, 0, 100)},
			"rule:amount_window disp:review change:x:REVIEW_REQUIRED/balance_mismatch/ payment:review/balance_mismatch/x kept:ev-pay:review/balance_mismatch/x seen:TRX1 head:1200 gap:150000/120000/true"},
		{"payment SMS lower, nothing to pay: kept for review", paySMS(500, "", 1200), Snapshot{Balance: head(1000, 0, 100)},
			"rule:none disp:review payment:review/balance_mismatch/ kept:ev-pay:review/balance_mismatch/ seen:TRX1 head:1200 gap:150000/120000/true"},
		{"payment SMS lower, claimed: review", paySMS(500, "", 1200),
			Snapshot{Intents: []*pipeline.IntentRecord{x}, Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "TRX1"}}, Balance: head(1000, 0, 100)},
			"rule:claim disp:review change:x:REVIEW_REQUIRED/balance_mismatch/ payment:review/balance_mismatch/x kept:ev-pay:review/balance_mismatch/x drop:TRX1 seen:TRX1 head:1200 gap:150000/120000/true"},
		{"payment SMS higher: paid, gap raised", paySMS(500, "", 2500), Snapshot{Intents: []*pipeline.IntentRecord{x}, Balance: head(1000, 0, 100)},
			"rule:amount_window disp:matched change:x:PAID//AUTO_MATCH payment:matched//x seen:TRX1 head:2500 gap:150000/250000/false"},
		{"payment SMS older than the head, fitting nowhere in the chain: review", func() *pipeline.Event {
			ev := paySMS(500, "", 1)
			ev.SMS.ReceivedAt = base.Add(-time.Hour)
			return ev
		}(), Snapshot{Intents: []*pipeline.IntentRecord{x}, Balance: head(1000, 0, 100)},
			"rule:amount_window disp:review change:x:REVIEW_REQUIRED/balance_out_of_order/ payment:review/balance_out_of_order/x kept:ev-pay:review/balance_out_of_order/x seen:TRX1"},
		{"payment SMS older than the head, just before it: paid, the chain extended back", func() *pipeline.Event {
			ev := paySMS(500, "", 900)
			ev.SMS.ReceivedAt = base.Add(-time.Hour)
			return ev
		}(), Snapshot{Intents: []*pipeline.IntentRecord{x}, Balance: head(1000, 0, 100)},
			"rule:amount_window disp:matched change:x:PAID//AUTO_MATCH payment:matched//x seen:TRX1 head:1000"},
		{"duplicate payment SMS still moves the chain", paySMS(500, "", 1500), Snapshot{TrxSeenBy: "ev-sns", Balance: head(1000, 0, 100)},
			"rule:dedupe disp:duplicate payment:duplicate// head:1500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.ev, tc.snap, now)
			if got := describe(d); got != tc.want {
				t.Errorf("Decide =\n  %s\nwant\n  %s", got, tc.want)
			}
			checkInvariants(t, tc.ev, tc.snap, now, d)
		})
	}
}

// TestDecideNewOutcomeFields checks the outcomes of a claim match, an operator decision and a
// balance gap field by field.
func TestDecideNewOutcomeFields(t *testing.T) {
	now := base.Add(4 * time.Minute)
	x := open("x", 500, "")
	p := unmatchedPay("ev-p", 500, "TRX1")
	ev := claimEv("x", "TRX1", "")
	d := Decide(ev, Snapshot{TrxSeenBy: "ev-p", Intents: []*pipeline.IntentRecord{x}, Payments: []*pipeline.PaymentRecord{p}}, now)
	if len(d.Outcomes) != 1 {
		t.Fatalf("claim match = %+v", d)
	}
	want := &pipeline.Outcome{
		ID: pipeline.IntentOutcomeID("x", 2, pipeline.StatusPaid), Type: pipeline.OutcomeIntentStatus, EventID: "ev-claim",
		MerchantID: "m1", Environment: pipeline.Sandbox, Wallet: wA, Rule: pipeline.RuleClaim, Intent: &x.Intent,
		Status: pipeline.StatusPaid, PreviousStatus: pipeline.StatusPending, Version: 2, MatchType: pipeline.MatchClaim,
		Payment: &p.Payment, AcceptedAt: ev.AcceptedAt, DecidedAt: now,
	}
	if !reflect.DeepEqual(d.Outcomes[0], want) {
		t.Errorf("claim outcome =\n%+v\nwant\n%+v", d.Outcomes[0], want)
	}
	if tr := d.Transitions[0]; tr.TrxID != "TRX1" || tr.MatchType != pipeline.MatchClaim {
		t.Errorf("transition = %+v", tr)
	}
	ch := d.Change(ev)
	if ch.SeenTrxID != "" || len(ch.UsedPayments) != 1 || ch.RecordNoop || ch.Payment != nil {
		t.Errorf("change = %+v", ch)
	}

	// Reject keeps the TrxID the intent was reviewed for; no payment, no reason, no operator.
	rx := withStatus(x, pipeline.StatusReviewRequired, 2, "TRX1", pipeline.ReasonAmbiguous)
	rj := Decide(reviewEv(pipeline.ReviewReject, "x", "", ""), Snapshot{Intents: []*pipeline.IntentRecord{rx}}, now)
	if o := rj.Outcomes[0]; o.Payment != nil || o.Reason != "" || o.Rule != pipeline.RuleManual || o.Version != 3 ||
		o.ID != pipeline.IntentOutcomeID("x", 3, pipeline.StatusRejected) || rj.Transitions[0].TrxID != "TRX1" {
		t.Errorf("reject = %+v, %+v", o, rj.Transitions[0])
	}

	// An ignored decision is still stored (an empty marker), so a replay repeats it.
	ig := Decide(reviewEv(pipeline.ReviewReject, "x", "", ""), Snapshot{Intents: []*pipeline.IntentRecord{x}}, now)
	if ch := ig.Change(reviewEv(pipeline.ReviewReject, "x", "", "")); !ch.RecordNoop || ig.Empty() {
		t.Errorf("ignored change = %+v", ch)
	}

	// Balance gap outcome.
	sms := paySMS(500, "", 1200)
	g := Decide(sms, Snapshot{Intents: []*pipeline.IntentRecord{x}, Balance: head(1000, 0, 100)}, now)
	o := g.GapOutcome
	if o == nil || o.ID != BalanceGapOutcomeID("ev-pay") || o.Type != OutcomeBalanceGap || o.MerchantID != "m1" ||
		o.Rule != RuleBalanceChain || o.Reason != ReasonBalanceMismatch || o.Disposition != pipeline.DispositionReview || o.Payment.TrxID != "TRX1" {
		t.Fatalf("gap outcome = %+v", o)
	}
	b, _ := json.Marshal(o)
	var back struct {
		ID         string
		Type       pipeline.OutcomeType
		BalanceGap pipeline.BalanceGap
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Type != OutcomeBalanceGap || back.BalanceGap.ExpectedPaisa != 150000 ||
		back.BalanceGap.ActualPaisa != 120000 || back.BalanceGap.DifferencePaisa != -30000 || back.BalanceGap.PreviousEventID != "ev-prev" {
		t.Errorf("gap outcome JSON = %s (%v)", b, err)
	}
	if dec, err := pipeline.DecodeOutcome(b); err != nil || dec.ID != o.ID {
		t.Errorf("DecodeOutcome(gap) = %+v, %v; sinks must be able to read it", dec, err)
	}
	ch = g.Change(sms)
	if len(ch.OtherOutcomes) != 1 || ch.Gap == nil || ch.Balance == nil {
		t.Errorf("gap change = %+v", ch)
	}
}
