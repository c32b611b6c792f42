package matcher

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// Adversarial tests of Decide for issue 13 (findings 3, 5, 6a and 8): what a payer who writes the
// Ref and chooses the amount, a forged SMS, or an unlucky customer whose phone forwards late can
// make the matcher decide. Each failed on the code before the fix.

// advSources are the surfaces a payment.reported comes from (SMS carries no balance here).
var advSources = []pipeline.Source{pipeline.SourceSMS, pipeline.SourceSNS, pipeline.SourceTxnAPI, pipeline.SourceTokenized, pipeline.SourceSandboxSim}

// advPay is a payment of amount paisa from src with reference ref, made at occurred and accepted at
// accepted, with TrxID trx.
func advPay(id string, src pipeline.Source, amount pipeline.Money, ref, trx string, occurred, accepted time.Time) *pipeline.Event {
	return &pipeline.Event{
		ID: id, Kind: pipeline.KindPaymentReported, Source: src, Wallet: wA, MerchantID: "m1", AcceptedAt: accepted,
		Environment: wA.Environment,
		Payment:     &pipeline.Payment{Provider: wA.Provider, TrxID: trx, Amount: amount, Sender: "01899999999", Reference: ref, OccurredAt: occurred},
	}
}

// intentChanges returns "id:STATUS/reason" of d's intent outcomes.
func intentChanges(d Decision) string {
	var out []string
	for _, o := range d.Outcomes {
		if o.Type == pipeline.OutcomeIntentStatus {
			out = append(out, fmt.Sprintf("%s:%s/%s", o.Intent.ID, o.Status, o.Reason))
		}
	}
	return strings.Join(out, ",")
}

// applyTo returns the records of snap's intents after d's transitions (a copy).
func applyTo(snap Snapshot, d Decision) []*pipeline.IntentRecord {
	var out []*pipeline.IntentRecord
	for _, r := range intents(snap) {
		c := *r
		for _, tr := range d.Transitions {
			if tr.IntentID == c.ID {
				c.Status, c.Version, c.TrxID, c.Reason = tr.To, tr.Version+1, tr.TrxID, tr.Reason
			}
		}
		out = append(out, &c)
	}
	return out
}

// TestAdversarialReferenceGriefing (finding 5): a payment whose Ref names another customer's
// intent but whose amount differs (1 Tk, short, over) never changes that intent, on any surface,
// for a PENDING intent, several intents sharing the reference, or an intent named by id; it is
// held for review as a payment with the intent as its candidate, no intent outcome (no webhook)
// is emitted, and the victim's own payment then pays the intent.
func TestAdversarialReferenceGriefing(t *testing.T) {
	now := base.Add(time.Minute)
	victim := open("victim", 500, "ORDER-1042")
	twin := open("twin", 700, "ORDER-1042")
	for _, src := range advSources {
		for _, amount := range []pipeline.Money{pipeline.BDT(1), pipeline.BDT(499), pipeline.BDT(501), pipeline.BDT(5000)} {
			for _, tc := range []struct {
				name string
				ref  string
				snap []*pipeline.IntentRecord
			}{
				{"customer reference", "ORDER-1042", []*pipeline.IntentRecord{victim}},
				{"customer reference, any case and spaces", " order-1042 ", []*pipeline.IntentRecord{victim}},
				{"intent id", "VICTIM", []*pipeline.IntentRecord{victim}},
				{"two intents share the reference", "ORDER-1042", []*pipeline.IntentRecord{victim, twin}},
			} {
				if amount == twin.Amount && len(tc.snap) > 1 {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/%s", src, amount, tc.name), func(t *testing.T) {
					snap := Snapshot{Intents: tc.snap}
					ev := advPay("ev-grief", src, amount, tc.ref, "GRIEF00001", base.Add(10*time.Second), base.Add(15*time.Second))
					d := Decide(ev, snap, now)
					checkInvariants(t, ev, snap, now, d)
					if len(d.Transitions) != 0 || intentChanges(d) != "" {
						t.Fatalf("a %s payment with the victim's reference changed intents: %s", amount, intentChanges(d))
					}
					if d.Disposition != pipeline.DispositionReview || d.Payment == nil || d.Payment.Reason != pipeline.ReasonAmountMismatch ||
						!slices.Contains(d.Payment.IntentIDs, "victim") {
						t.Fatalf("payment not held for review with its candidate: %s", describe(d))
					}
					// The victim's own payment still pays the intent.
					own := advPay("ev-own", src, victim.Amount, "ORDER-1042", "OWN0000001", base.Add(20*time.Second), base.Add(25*time.Second))
					after := Snapshot{Intents: applyTo(snap, d)}
					d2 := Decide(own, after, now)
					if got := intentChanges(d2); got != "victim:PAID/" {
						t.Fatalf("the victim's own payment after the griefing: %s", describe(d2))
					}
				})
			}
		}
	}
}

// TestAdversarialClaimGriefing (finding 5, claims): a 1 Tk payment claimed on the victim's checkout
// page (payment first or claim first) holds the payment for review and leaves the intent PENDING.
func TestAdversarialClaimGriefing(t *testing.T) {
	now := base.Add(time.Minute)
	victim := open("victim", 500, "")
	for _, sender := range []string{"", "01899999999", "01811111111"} {
		t.Run("payment first, sender "+sender, func(t *testing.T) {
			snap := Snapshot{TrxSeenBy: "ev-p", Intents: []*pipeline.IntentRecord{victim}, Payments: []*pipeline.PaymentRecord{unmatchedPay("ev-p", 1, "TRX1")}}
			ev := claimEv("victim", "TRX1", sender)
			d := Decide(ev, snap, now)
			checkInvariants(t, ev, snap, now, d)
			if len(d.Transitions) != 0 || d.Payment == nil || d.Payment.Reason != pipeline.ReasonAmountMismatch {
				t.Fatalf("claim of a 1 Tk payment: %s", describe(d))
			}
		})
		t.Run("claim first, sender "+sender, func(t *testing.T) {
			snap := Snapshot{Intents: []*pipeline.IntentRecord{victim}, Claims: []pipeline.ClaimRecord{{IntentID: "victim", TrxID: "TRX1", Sender: sender}}}
			ev := advPay("ev-pay", pipeline.SourceSMS, pipeline.BDT(1), "", "TRX1", base.Add(10*time.Second), base.Add(15*time.Second))
			d := Decide(ev, snap, now)
			checkInvariants(t, ev, snap, now, d)
			if len(d.Transitions) != 0 || d.Payment == nil || d.Payment.Reason != pipeline.ReasonAmountMismatch {
				t.Fatalf("1 Tk payment claimed first: %s", describe(d))
			}
		})
	}
}

// TestAdversarialLatePaymentGrace (finding 3): timing races around an intent's deadline. The
// intent was created at base-1m and expires at D = base+30s (short TTL); the expiry tick made it
// EXPIRED before the payment's report arrived.
func TestAdversarialLatePaymentGrace(t *testing.T) {
	created, deadline := base.Add(-time.Minute), base.Add(30*time.Second)
	expiredIntent := func(ref string) *pipeline.IntentRecord {
		r := rec("x", pipeline.StatusExpired, 500, ref, -time.Minute, 90*time.Second)
		if !r.ExpiresAt.Equal(deadline) || !r.CreatedAt.Equal(created) {
			t.Fatalf("fixture: %v %v", r.CreatedAt, r.ExpiresAt)
		}
		return r
	}
	minute := deadline.Truncate(time.Minute) // what an SMS paid in the deadline's minute says
	cases := []struct {
		name               string
		occurred, accepted time.Time
		grace              time.Duration
		want               string // intent changes by reference; "" none
		wantAmount         string // intent changes by amount only
		held               string // the payment's reason when held for review by amount only ("" unmatched or matched)
	}{
		{"paid 1.5s before the deadline, forwarded 3s after", deadline.Add(-1500 * time.Millisecond), deadline.Add(3 * time.Second), 0,
			"x:PAID/paid_after_expiry", "x:PAID/paid_after_expiry", ""},
		{"paid 1.5s before, forwarded 20s after", deadline.Add(-1500 * time.Millisecond), deadline.Add(20 * time.Second), 0,
			"x:PAID/paid_after_expiry", "x:PAID/paid_after_expiry", ""},
		{"SMS time truncated to the deadline's minute", minute, deadline.Add(40 * time.Second), 0,
			"x:PAID/paid_after_expiry", "x:PAID/paid_after_expiry", ""},
		{"paid exactly at the deadline", deadline, deadline.Add(5 * time.Second), 0,
			"x:REVIEW_REQUIRED/late_payment", "", ""},
		{"paid after the deadline", deadline.Add(time.Minute), deadline.Add(65 * time.Second), 0,
			"x:REVIEW_REQUIRED/late_payment", "", ""},
		{"in time, reported just inside the grace", deadline.Add(-time.Second), deadline.Add(DefaultLatePaymentGrace - time.Millisecond), 0,
			"x:PAID/paid_after_expiry", "x:PAID/paid_after_expiry", ""},
		{"in time, reported at the end of the grace", deadline.Add(-time.Second), deadline.Add(DefaultLatePaymentGrace), 0,
			"x:REVIEW_REQUIRED/late_payment", "", pipeline.ReasonLatePayment},
		{"in time, reported an hour late", deadline.Add(-time.Second), deadline.Add(time.Hour), 0,
			"x:REVIEW_REQUIRED/late_payment", "", pipeline.ReasonLatePayment},
		{"configured grace of 10 minutes", deadline.Add(-time.Second), deadline.Add(9 * time.Minute), 10 * time.Minute,
			"x:PAID/paid_after_expiry", "x:PAID/paid_after_expiry", ""},
		{"grace turned off", deadline.Add(-time.Second), deadline.Add(3 * time.Second), -1,
			"x:REVIEW_REQUIRED/late_payment", "", pipeline.ReasonLatePayment},
		{"a time before the intent existed never matches", created.Add(-OccurredAtTolerance - time.Second), deadline.Add(3 * time.Second), 0,
			"x:REVIEW_REQUIRED/late_payment", "", ""},
		{"no payment time: ingest's, after the deadline", time.Time{}, deadline.Add(3 * time.Second), 0,
			"x:REVIEW_REQUIRED/late_payment", "", ""},
		{"a payment time later than ingest's is ingest's", deadline.Add(time.Hour), deadline.Add(-time.Second), 0,
			"x:PAID/paid_after_expiry", "x:PAID/paid_after_expiry", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.accepted.Add(2 * time.Second)
			if now.Before(deadline) {
				now = deadline.Add(time.Second)
			}
			for _, src := range advSources {
				// By reference.
				snap := Snapshot{Intents: []*pipeline.IntentRecord{expiredIntent("ORDER-7")}, LatePaymentGrace: tc.grace}
				ev := advPay("ev-late", src, pipeline.BDT(500), "ORDER-7", "LATE000001", tc.occurred, tc.accepted)
				d := Decide(ev, snap, now)
				checkInvariants(t, ev, snap, now, d)
				if got := intentChanges(d); got != tc.want {
					t.Fatalf("%s by reference: %s, want %q", src, describe(d), tc.want)
				}
				// By amount only.
				snap = Snapshot{Intents: []*pipeline.IntentRecord{expiredIntent("")}, LatePaymentGrace: tc.grace}
				ev.Payment.Reference = ""
				d = Decide(ev, snap, now)
				checkInvariants(t, ev, snap, now, d)
				if got := intentChanges(d); got != tc.wantAmount {
					t.Fatalf("%s by amount: %s, want %q", src, describe(d), tc.wantAmount)
				}
				if tc.held != "" && (d.Payment == nil || d.Payment.Reason != tc.held || !slices.Contains(d.Payment.IntentIDs, "x")) {
					t.Fatalf("%s by amount: payment not held for review with the candidate: %s", src, describe(d))
				}
				// By a claim waiting for the TrxID.
				snap = Snapshot{Intents: []*pipeline.IntentRecord{expiredIntent("")}, LatePaymentGrace: tc.grace,
					Claims: []pipeline.ClaimRecord{{IntentID: "x", TrxID: "LATE000001"}}}
				d = Decide(ev, snap, now)
				checkInvariants(t, ev, snap, now, d)
				wantClaim := strings.Replace(tc.want, "late_payment", "late_payment", 1)
				if tc.occurred.Before(created.Add(-OccurredAtTolerance)) && !tc.occurred.IsZero() {
					wantClaim = "x:REVIEW_REQUIRED/payment_before_intent"
				}
				if got := intentChanges(d); got != wantClaim {
					t.Fatalf("%s by claim: %s, want %q", src, describe(d), wantClaim)
				}
			}
		})
	}
}

// TestAdversarialClaimAroundExpiry (finding 3): a claim submitted just before or after the deadline
// for a payment kept unmatched.
func TestAdversarialClaimAroundExpiry(t *testing.T) {
	deadline := base.Add(30 * time.Second)
	intent := func(st pipeline.Status) *pipeline.IntentRecord {
		return rec("x", st, 500, "", -time.Minute, 90*time.Second)
	}
	keptAt := func(occurred, accepted time.Time) *pipeline.PaymentRecord {
		p := unmatchedPay("ev-p", 500, "TRX1")
		p.Payment.OccurredAt, p.AcceptedAt = occurred, accepted
		return p
	}
	cases := []struct {
		name     string
		status   pipeline.Status
		pay      *pipeline.PaymentRecord
		claimAt  time.Time
		want     string
		grace    time.Duration
		released bool
	}{
		{"claim just before the deadline", pipeline.StatusPending, keptAt(deadline.Add(-20*time.Second), deadline.Add(-15*time.Second)), deadline.Add(-time.Second),
			"x:PAID/", 0, false},
		{"claim just after the expiry, payment reported before the deadline", pipeline.StatusExpired, keptAt(deadline.Add(-20*time.Second), deadline.Add(-15*time.Second)),
			deadline.Add(2 * time.Second), "x:PAID/paid_after_expiry", 0, false},
		{"claim after the expiry, payment in time, reported within the grace", pipeline.StatusExpired, keptAt(deadline.Add(-time.Second), deadline.Add(time.Minute)),
			deadline.Add(10 * time.Minute), "x:PAID/paid_after_expiry", 0, false},
		{"claim after the expiry, payment reported after the grace", pipeline.StatusExpired, keptAt(deadline.Add(-time.Second), deadline.Add(10*time.Minute)),
			deadline.Add(11 * time.Minute), "x:REVIEW_REQUIRED/late_payment", 0, false},
		{"claim after the expiry, payment made after the deadline", pipeline.StatusExpired, keptAt(deadline.Add(time.Second), deadline.Add(5*time.Second)),
			deadline.Add(10 * time.Second), "x:REVIEW_REQUIRED/late_payment", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := Snapshot{TrxSeenBy: "ev-p", Intents: []*pipeline.IntentRecord{intent(tc.status)}, Payments: []*pipeline.PaymentRecord{tc.pay}, LatePaymentGrace: tc.grace}
			ev := claimEv("x", "TRX1", "")
			ev.AcceptedAt = tc.claimAt
			d := Decide(ev, snap, tc.claimAt)
			checkInvariants(t, ev, snap, tc.claimAt, d)
			if got := intentChanges(d); got != tc.want {
				t.Fatalf("%s, want %q", describe(d), tc.want)
			}
		})
	}
}

// TestAdversarialAttachExpired (finding 3): an operator attaches a payment held as late to the
// EXPIRED intent; the merchant is told PAID with reason paid_after_expiry.
func TestAdversarialAttachExpired(t *testing.T) {
	now := base.Add(time.Hour)
	x := rec("x", pipeline.StatusExpired, 500, "", -time.Minute, 90*time.Second)
	held := kept("ev-p", 500, "TRX1", pipeline.DispositionReview, pipeline.ReasonLatePayment, "x")
	snap := Snapshot{Intents: []*pipeline.IntentRecord{x}, Payments: []*pipeline.PaymentRecord{held}}
	ev := reviewEv(pipeline.ReviewAttach, "x", "ev-p", "")
	d := Decide(ev, snap, now)
	checkInvariants(t, ev, snap, now, d)
	if got := intentChanges(d); got != "x:PAID/paid_after_expiry" || len(d.UsedPayments) != 1 {
		t.Fatalf("attach to an EXPIRED intent: %s", describe(d))
	}
}

// TestAdversarialBalanceMissing (finding 6a): a trusted paying SMS without a balance on a wallet
// whose SMS carry one goes to review (balance_missing), on every provider whose received-money SMS
// always state the balance, and on any wallet with a balance chain; payments from other surfaces
// (no SMS) are unaffected.
func TestAdversarialBalanceMissing(t *testing.T) {
	now := base.Add(time.Minute)
	for _, prov := range []pipeline.Provider{pipeline.BKash, pipeline.Nagad, pipeline.Rocket, pipeline.Upay} {
		for _, withHead := range []bool{false, true} {
			for _, ref := range []string{"", "ORDER-1"} {
				t.Run(fmt.Sprintf("%s/head=%v/ref=%q", prov, withHead, ref), func(t *testing.T) {
					w := wA
					w.Provider = prov
					in := open("a", 500, "ORDER-1")
					in.Provider = prov
					snap := Snapshot{Intents: []*pipeline.IntentRecord{in}}
					if withHead {
						snap.Balance = head(1000, -time.Hour, 100)
					}
					ev := advPay("ev-sms", pipeline.SourceSMS, pipeline.BDT(500), ref, "SMS0000001", base.Add(10*time.Second), base.Add(15*time.Second))
					ev.Wallet, ev.Payment.Provider = w, prov
					ev.SMS = &pipeline.SMS{Sender: string(prov), Trusted: true, Direction: "credit", Amount: &ev.Payment.Amount, ReceivedAt: ev.Payment.OccurredAt}
					d := Decide(ev, snap, now)
					checkInvariants(t, ev, snap, now, d)
					expect := prov != pipeline.Upay || withHead
					if got := intentChanges(d); expect && got != "a:REVIEW_REQUIRED/balance_missing" {
						t.Fatalf("SMS without a balance: %s", describe(d))
					} else if !expect && got != "a:PAID/" {
						t.Fatalf("Upay SMS without a balance on a wallet without a chain: %s", describe(d))
					}
					// Without an intent to pay, the payment is held for review, not unmatched.
					d = Decide(ev, Snapshot{Balance: snap.Balance}, now)
					if expect && (d.Payment == nil || d.Payment.Reason != ReasonBalanceMissing || d.Disposition != pipeline.DispositionReview) {
						t.Fatalf("SMS without a balance and no intent: %s", describe(d))
					}
					// The same payment from another surface carries no SMS and pays.
					for _, src := range advSources[1:] {
						ev2 := *ev
						ev2.SMS, ev2.Source = nil, src
						if got := intentChanges(Decide(&ev2, snap, now)); got != "a:PAID/" {
							t.Fatalf("%s payment without an SMS: %s", src, got)
						}
					}
					// A claim never pays a payment held for its missing balance.
					heldSnap := Snapshot{TrxSeenBy: "ev-p", Intents: []*pipeline.IntentRecord{open("a", 500, "")},
						Payments: []*pipeline.PaymentRecord{kept("ev-p", 500, "TRX1", pipeline.DispositionReview, ReasonBalanceMissing)}}
					if got := intentChanges(Decide(claimEv("a", "TRX1", ""), heldSnap, now)); got != "a:REVIEW_REQUIRED/balance_missing" {
						t.Fatalf("claim of a payment held for its missing balance: %s", got)
					}
				})
			}
		}
	}
}

// TestAdversarialAmbiguityLeftovers (finding 8): two PENDING 500 intents, one 500 payment without a
// reference puts both in review; whichever way the payment is then used (customer 1's claim, an
// operator's approve of intent 1, an attach to intent 1 or to a third intent), the intents it
// leaves without a candidate return to PENDING (EXPIRED past their deadline), and customer 2's own
// payment then pays intent 2.
func TestAdversarialAmbiguityLeftovers(t *testing.T) {
	now := base.Add(2 * time.Minute)
	i1, i2 := open("i1", 500, ""), open("i2", 500, "")
	p := advPay("ev-p", pipeline.SourceSMS, pipeline.BDT(500), "", "TRX1", base.Add(10*time.Second), base.Add(15*time.Second))
	d := Decide(p, Snapshot{Intents: []*pipeline.IntentRecord{i1, i2}}, base.Add(20*time.Second))
	if got := intentChanges(d); got != "i1:REVIEW_REQUIRED/ambiguous,i2:REVIEW_REQUIRED/ambiguous" || d.Payment == nil {
		t.Fatalf("setup: %s", describe(d))
	}
	inReview := applyTo(Snapshot{Intents: []*pipeline.IntentRecord{i1, i2}}, d)
	held := d.Payment
	held.EventID = "ev-p"
	third := open("i3", 450, "")
	cands := map[string][]string{"i1": {"ev-p"}, "i2": {"ev-p"}}

	cases := []struct {
		name string
		ev   *pipeline.Event
		now  time.Time
		want string
	}{
		{"customer 1's claim", claimEv("i1", "TRX1", ""), now, "i1:PAID/,i2:PENDING/candidate_used"},
		{"approve of intent 1", reviewEv(pipeline.ReviewApprove, "i1", "", ""), now, "i1:PAID/,i2:PENDING/candidate_used"},
		{"attach to intent 1", reviewEv(pipeline.ReviewAttach, "i1", "ev-p", ""), now, "i1:PAID/,i2:PENDING/candidate_used"},
		{"attach to a third intent (the payment used elsewhere)", reviewEv(pipeline.ReviewAttach, "i3", "ev-p", ""), now,
			"i3:PAID/,i1:PENDING/candidate_used,i2:PENDING/candidate_used"},
		{"customer 1's claim after intent 2's deadline", claimEv("i1", "TRX1", ""), i2.ExpiresAt, "i1:PAID/,i2:EXPIRED/candidate_used"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := Snapshot{TrxSeenBy: "ev-p", Intents: append(slices.Clone(inReview), third), Payments: []*pipeline.PaymentRecord{held},
				IntentCandidates: cands, Candidates: cands["i1"]}
			if tc.ev.Review != nil && tc.ev.Review.Action == pipeline.ReviewApprove {
				snap.TrxSeenBy = ""
			}
			d := Decide(tc.ev, snap, tc.now)
			checkInvariants(t, tc.ev, snap, tc.now, d)
			if got := intentChanges(d); got != tc.want {
				t.Fatalf("%s, want %q", describe(d), tc.want)
			}
			after := applyTo(snap, d)
			var i2After *pipeline.IntentRecord
			for _, r := range after {
				if r.ID == "i2" {
					i2After = r
				}
			}
			if i2After.Status != pipeline.StatusPending {
				return
			}
			// Customer 2's own payment pays intent 2.
			own := advPay("ev-own", pipeline.SourceSMS, pipeline.BDT(500), "", "TRX2", base.Add(90*time.Second), base.Add(95*time.Second))
			var open []*pipeline.IntentRecord
			for _, r := range after {
				if r.Status == pipeline.StatusPending && r.Amount == pipeline.BDT(500) {
					open = append(open, r)
				}
			}
			d2 := Decide(own, Snapshot{Intents: open}, tc.now)
			// Not unmatched: it pays i2 (or, when i1 was released too, the two are ambiguous again).
			if got := intentChanges(d2); (len(open) == 1 && got != "i2:PAID/") || (len(open) > 1 && !strings.Contains(got, "i2:REVIEW_REQUIRED/ambiguous")) {
				t.Fatalf("customer 2's own payment: %s", describe(d2))
			}
		})
	}
	// A leftover that still has another candidate stays for an operator.
	snap := Snapshot{TrxSeenBy: "ev-p", Intents: inReview, Payments: []*pipeline.PaymentRecord{held},
		IntentCandidates: map[string][]string{"i1": {"ev-p"}, "i2": {"ev-other", "ev-p"}}}
	if got := intentChanges(Decide(claimEv("i1", "TRX1", ""), snap, now)); got != "i1:PAID/" {
		t.Fatalf("leftover with another candidate: %s", got)
	}
}
