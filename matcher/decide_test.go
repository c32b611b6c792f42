package matcher

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

var (
	wA   = pipeline.Wallet{Provider: pipeline.BKash, Account: "01711111111", Environment: pipeline.Sandbox}
	base = time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
)

// rec is an intent record created at base+created that lives ttl; non-PENDING ones are at version 2.
func rec(id string, st pipeline.Status, amount int64, ref string, created, ttl time.Duration) *pipeline.IntentRecord {
	v := 1
	if st != pipeline.StatusPending {
		v = 2
	}
	return &pipeline.IntentRecord{
		Intent: pipeline.Intent{
			ID: id, MerchantID: "m1", Environment: wA.Environment, Amount: pipeline.BDT(amount), Currency: "BDT",
			CustomerReference: ref, Provider: wA.Provider, ReceiverMsisdn: wA.Account, Dialect: pipeline.DialectNative,
			CreatedAt: base.Add(created), ExpiresAt: base.Add(created + ttl),
		},
		Status: st, Version: v, UpdatedAt: base.Add(created),
	}
}

// open is a PENDING intent created a minute before base that lives 10 minutes.
func open(id string, amount int64, ref string) *pipeline.IntentRecord {
	return rec(id, pipeline.StatusPending, amount, ref, -time.Minute, 10*time.Minute)
}

// payAt is a payment that occurred at base+occurred and was accepted 5s later.
func payAt(amount int64, ref string, occurred time.Duration) *pipeline.Event {
	return &pipeline.Event{
		ID: "ev-pay", Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSMS, Wallet: wA, MerchantID: "m1",
		AcceptedAt: base.Add(occurred + 5*time.Second), Environment: wA.Environment,
		Payment: &pipeline.Payment{Provider: pipeline.BKash, TrxID: "TRX1", Amount: pipeline.BDT(amount),
			Sender: "01899999999", Reference: ref, OccurredAt: base.Add(occurred)},
	}
}

func pay(amount int64, ref string) *pipeline.Event { return payAt(amount, ref, 30*time.Second) }

// summary is the part of a decision the table asserts.
type summary struct {
	Rule     pipeline.Rule
	Disp     pipeline.Disposition
	Changes  string // "id:STATUS/reason/matchType", oldest intent first
	IntentID string // the payment outcome's
	Kept     bool   // payment record kept for operators
}

func summarize(d Decision) summary {
	var ch []string
	s := summary{Rule: d.Rule, Disp: d.Disposition, Kept: d.Payment != nil}
	for _, o := range d.Outcomes {
		if o.Type == pipeline.OutcomeIntentStatus {
			ch = append(ch, fmt.Sprintf("%s:%s/%s/%s", o.Intent.ID, o.Status, o.Reason, o.MatchType))
		} else {
			s.IntentID = o.IntentID
		}
	}
	s.Changes = strings.Join(ch, ",")
	return s
}

func TestDecide(t *testing.T) {
	const (
		paid     = pipeline.StatusPaid
		review   = pipeline.StatusReviewRequired
		expired  = pipeline.StatusExpired
		rejected = pipeline.StatusRejected
		failed   = pipeline.StatusFailed
	)
	now := base.Add(time.Minute)
	cases := []struct {
		name string
		ev   *pipeline.Event
		snap Snapshot
		now  time.Time
		want summary
	}{
		// Rule 1.
		{"duplicate trx", pay(500, "ORDER-1"), Snapshot{TrxSeenBy: "ev-0", Intents: []*pipeline.IntentRecord{open("a", 500, "ORDER-1")}}, now,
			summary{Rule: pipeline.RuleDedupe, Disp: pipeline.DispositionDuplicate}},

		// Rule 2.
		{"reference: customer reference, any case, equal amount", pay(500, " order-1 "), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "ORDER-1"), open("b", 500, "")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionMatched, Changes: "a:PAID//REFERENCE_MATCH", IntentID: "a"}},
		{"reference: intent id in upper case", pay(500, "B5012F33"), Snapshot{Intents: []*pipeline.IntentRecord{open("b5012f33", 500, "X")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionMatched, Changes: "b5012f33:PAID//REFERENCE_MATCH", IntentID: "b5012f33"}},
		{"reference: id match wins over customer references", pay(500, "k1"), Snapshot{Intents: []*pipeline.IntentRecord{open("x", 500, "K1"), open("k1", 500, "other")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionMatched, Changes: "k1:PAID//REFERENCE_MATCH", IntentID: "k1"}},
		{"reference: amount mismatch", pay(450, "ORDER-1"), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "ORDER-1"), open("b", 450, "")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, IntentID: "a", Kept: true}}, // issue 13 finding 5: a stays PENDING
		{"reference: expired intent", pay(500, "ORDER-1"), Snapshot{Intents: []*pipeline.IntentRecord{rec("a", expired, 500, "ORDER-1", -time.Hour, time.Minute), open("b", 500, "")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, Changes: "a:REVIEW_REQUIRED/late_payment/", IntentID: "a", Kept: true}},
		{"reference: pending in state but past its deadline at payment time", pay(500, "ORDER-1"),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("a", pipeline.StatusPending, 500, "ORDER-1", -10*time.Minute, 10*time.Minute)}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, Changes: "a:REVIEW_REQUIRED/late_payment/", IntentID: "a", Kept: true}},
		{"reference: paid in time, decided after the deadline (backlog)", pay(500, "ORDER-1"),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("a", pipeline.StatusPending, 500, "ORDER-1", -time.Minute, 2*time.Minute)}}, base.Add(time.Hour),
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionMatched, Changes: "a:PAID//REFERENCE_MATCH", IntentID: "a"}},
		{"reference: paid intent is never paid again nor replaced by an amount match", pay(500, "ORDER-1"),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("a", paid, 500, "ORDER-1", -time.Hour, time.Hour), open("b", 500, "")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, IntentID: "a", Kept: true}},
		{"reference: intent already in review", pay(500, "ORDER-1"), Snapshot{Intents: []*pipeline.IntentRecord{rec("a", review, 500, "ORDER-1", -time.Minute, time.Hour)}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, IntentID: "a", Kept: true}},
		{"reference: only final intents, newest named", pay(500, "R"),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("new", rejected, 500, "R", -time.Minute, time.Hour), rec("old", failed, 500, "R", -time.Hour, time.Hour)}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, IntentID: "new", Kept: true}},
		{"reference: several pending, one with the amount", pay(700, "R"), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "R"), open("b", 700, "R"), open("c", 900, "r")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionMatched, Changes: "b:PAID//REFERENCE_MATCH", IntentID: "b"}},
		{"reference: several pending with the amount", pay(500, "R"), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "R"), open("b", 500, "R"), open("c", 900, "R")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, Changes: "a:REVIEW_REQUIRED/ambiguous/,b:REVIEW_REQUIRED/ambiguous/", Kept: true}},
		{"reference: several pending, none with the amount", pay(100, "R"), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "R"), open("b", 700, "R")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, Kept: true}}, // issue 13 finding 5: both stay PENDING
		{"reference: an open intent wins over expired and paid ones", pay(500, "R"),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("x", expired, 500, "R", -time.Hour, time.Minute), rec("y", paid, 500, "R", -time.Hour, time.Hour), open("z", 500, "R")}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionMatched, Changes: "z:PAID//REFERENCE_MATCH", IntentID: "z"}},
		{"reference: several expired, the one with the amount", pay(500, "R"),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("x", expired, 500, "R", -2*time.Hour, time.Minute), rec("y", expired, 700, "R", -time.Hour, time.Minute)}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, Changes: "x:REVIEW_REQUIRED/late_payment/", IntentID: "x", Kept: true}},
		{"reference: several expired, none or both with the amount: the newest", pay(500, "R"),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("x", expired, 500, "R", -2*time.Hour, time.Minute), rec("y", expired, 500, "R", -time.Hour, time.Minute)}}, now,
			summary{Rule: pipeline.RuleReference, Disp: pipeline.DispositionReview, Changes: "y:REVIEW_REQUIRED/late_payment/", IntentID: "y", Kept: true}},
		{"reference matching nothing falls through to the amount rule", pay(500, "NOPE"), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "ORDER-1")}}, now,
			summary{Rule: pipeline.RuleAmount, Disp: pipeline.DispositionMatched, Changes: "a:PAID//AUTO_MATCH", IntentID: "a"}},

		// Rule 4.
		{"amount: exactly one candidate", pay(500, ""), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, ""), open("b", 700, ""),
			rec("c", paid, 500, "", -time.Minute, time.Hour), rec("d", review, 500, "", -time.Minute, time.Hour)}}, now,
			summary{Rule: pipeline.RuleAmount, Disp: pipeline.DispositionMatched, Changes: "a:PAID//AUTO_MATCH", IntentID: "a"}},
		{"amount: two candidates are ambiguous", pay(500, ""), Snapshot{Intents: []*pipeline.IntentRecord{open("b", 500, ""), open("a", 500, "x")}}, now,
			summary{Rule: pipeline.RuleAmount, Disp: pipeline.DispositionReview, Changes: "a:REVIEW_REQUIRED/ambiguous/,b:REVIEW_REQUIRED/ambiguous/", Kept: true}},
		{"amount: none", pay(500, ""), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 499, "")}}, now,
			summary{Rule: pipeline.RuleNone, Disp: pipeline.DispositionUnmatched, Kept: true}},
		{"amount: empty wallet", pay(500, ""), Snapshot{}, now,
			summary{Rule: pipeline.RuleNone, Disp: pipeline.DispositionUnmatched, Kept: true}},
		{"amount: created after the payment (beyond tolerance)", payAt(500, "", 0),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("a", pipeline.StatusPending, 500, "", OccurredAtTolerance+time.Second, time.Hour)}}, now,
			summary{Rule: pipeline.RuleNone, Disp: pipeline.DispositionUnmatched, Kept: true}},
		{"amount: created within the tolerance (minute-precision SMS time)", &pipeline.Event{
			ID: "ev-pay", Kind: pipeline.KindPaymentReported, Wallet: wA, MerchantID: "m1", AcceptedAt: base.Add(90 * time.Second),
			Payment: &pipeline.Payment{Provider: pipeline.BKash, TrxID: "T", Amount: pipeline.BDT(500), OccurredAt: base}},
			Snapshot{Intents: []*pipeline.IntentRecord{rec("a", pipeline.StatusPending, 500, "", 40*time.Second, time.Hour)}}, now,
			summary{Rule: pipeline.RuleAmount, Disp: pipeline.DispositionMatched, Changes: "a:PAID//AUTO_MATCH", IntentID: "a"}},
		{"amount: created after ingest accepted the payment", payAt(500, "", 0), // accepted at base+5s
			Snapshot{Intents: []*pipeline.IntentRecord{rec("a", pipeline.StatusPending, 500, "", 6*time.Second, time.Hour)}}, now,
			summary{Rule: pipeline.RuleNone, Disp: pipeline.DispositionUnmatched, Kept: true}},
		{"amount: expired at payment time", pay(500, ""),
			Snapshot{Intents: []*pipeline.IntentRecord{rec("a", pipeline.StatusPending, 500, "", -10*time.Minute, 10*time.Minute)}}, now,
			summary{Rule: pipeline.RuleNone, Disp: pipeline.DispositionUnmatched, Kept: true}},
		{"amount: payment time from AcceptedAt when OccurredAt is zero", func() *pipeline.Event {
			ev := pay(500, "")
			ev.Payment.OccurredAt = time.Time{}
			ev.AcceptedAt = base.Add(-90 * time.Second) // before the intent was created
			return ev
		}(), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "")}}, now,
			summary{Rule: pipeline.RuleNone, Disp: pipeline.DispositionUnmatched, Kept: true}},
		{"amount: OccurredAt after AcceptedAt is clamped", func() *pipeline.Event {
			ev := pay(500, "")
			ev.Payment.OccurredAt = base.Add(time.Hour) // sender clock ahead: would be past the deadline
			return ev
		}(), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "")}}, now,
			summary{Rule: pipeline.RuleAmount, Disp: pipeline.DispositionMatched, Changes: "a:PAID//AUTO_MATCH", IntentID: "a"}},

		// Rule 5.
		{"expiry: due", ExpiryEvent(wA, &open("a", 500, "").Intent), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "")}}, base.Add(9 * time.Minute),
			summary{Rule: pipeline.RuleExpiry, Changes: "a:EXPIRED//"}},
		{"expiry: not due yet", ExpiryEvent(wA, &open("a", 500, "").Intent), Snapshot{Intents: []*pipeline.IntentRecord{open("a", 500, "")}}, base.Add(9*time.Minute - 1),
			summary{}},
		{"expiry: no longer pending", ExpiryEvent(wA, &open("a", 500, "").Intent), Snapshot{Intents: []*pipeline.IntentRecord{rec("a", paid, 500, "", -time.Minute, time.Minute)}}, base.Add(time.Hour),
			summary{}},
		{"expiry: intent missing", ExpiryEvent(wA, &open("a", 500, "").Intent), Snapshot{Intents: []*pipeline.IntentRecord{open("b", 500, "")}}, base.Add(time.Hour),
			summary{}},

		{"intent.created decides nothing", &pipeline.Event{ID: "e", Kind: pipeline.KindIntentCreated, Wallet: wA, Intent: &open("a", 1, "").Intent},
			Snapshot{Intents: []*pipeline.IntentRecord{open("a", 1, "")}}, now, summary{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.ev, tc.snap, tc.now)
			if got := summarize(d); got != tc.want {
				t.Errorf("Decide =\n  %+v\nwant\n  %+v", got, tc.want)
			}
			checkInvariants(t, tc.ev, tc.snap, tc.now, d)
		})
	}
}

// TestDecideOutcomeFields checks every field of a paid decision's outcomes and state change.
func TestDecideOutcomeFields(t *testing.T) {
	ev := pay(500, "ORDER-1")
	a := open("a", 500, "ORDER-1")
	now := base.Add(time.Minute)
	d := Decide(ev, Snapshot{Intents: []*pipeline.IntentRecord{a}}, now)
	if len(d.Outcomes) != 2 || len(d.Transitions) != 1 {
		t.Fatalf("decision = %+v", d)
	}
	io, po := d.Outcomes[0], d.Outcomes[1]
	wantIntent := &pipeline.Outcome{
		ID: pipeline.IntentOutcomeID("a", 2, pipeline.StatusPaid), Type: pipeline.OutcomeIntentStatus, EventID: "ev-pay",
		MerchantID: "m1", Environment: pipeline.Sandbox, Wallet: wA, Rule: pipeline.RuleReference, Intent: &a.Intent,
		Status: pipeline.StatusPaid, PreviousStatus: pipeline.StatusPending, Version: 2, MatchType: pipeline.MatchReference,
		Payment: ev.Payment, AcceptedAt: ev.AcceptedAt, DecidedAt: now,
	}
	if !reflect.DeepEqual(io, wantIntent) {
		t.Errorf("intent outcome =\n%+v\nwant\n%+v", io, wantIntent)
	}
	wantPay := &pipeline.Outcome{
		ID: pipeline.PaymentOutcomeID("ev-pay"), Type: pipeline.OutcomePayment, EventID: "ev-pay", MerchantID: "m1",
		Environment: pipeline.Sandbox, Wallet: wA, Rule: pipeline.RuleReference, Payment: ev.Payment,
		Disposition: pipeline.DispositionMatched, IntentID: "a", AcceptedAt: ev.AcceptedAt, DecidedAt: now,
	}
	if !reflect.DeepEqual(po, wantPay) {
		t.Errorf("payment outcome =\n%+v\nwant\n%+v", po, wantPay)
	}
	wantTr := pipeline.Transition{IntentID: "a", Amount: a.Amount, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, From: pipeline.StatusPending, Version: 1,
		To: pipeline.StatusPaid, TrxID: "TRX1", MatchType: pipeline.MatchReference, At: now}
	if d.Transitions[0] != wantTr {
		t.Errorf("transition = %+v, want %+v", d.Transitions[0], wantTr)
	}
	ch := d.Change(ev)
	if ch.EventID != "ev-pay" || ch.Wallet != wA || ch.SeenTrxID != "TRX1" || ch.Payment != nil || len(ch.Outcomes) != 2 {
		t.Errorf("change = %+v", ch)
	}
	// Outcomes own copies: mutating them leaves the snapshot and event alone.
	io.Intent.Amount = 1
	io.Payment.Amount = 1
	if a.Amount != pipeline.BDT(500) || ev.Payment.Amount != pipeline.BDT(500) {
		t.Errorf("outcomes alias the snapshot or the event")
	}

	// Expiry: AcceptedAt is the deadline, no payment.
	ex := Decide(ExpiryEvent(wA, &a.Intent), Snapshot{Intents: []*pipeline.IntentRecord{a}}, a.ExpiresAt.Add(time.Second))
	if len(ex.Outcomes) != 1 {
		t.Fatalf("expiry = %+v", ex)
	}
	o := ex.Outcomes[0]
	if o.ID != pipeline.IntentOutcomeID("a", 2, pipeline.StatusExpired) || o.EventID != "expire:a" || o.Payment != nil ||
		!o.AcceptedAt.Equal(a.ExpiresAt) || o.Rule != pipeline.RuleExpiry || ex.SeenTrxID != "" || ex.Payment != nil {
		t.Errorf("expiry outcome = %+v", o)
	}

	// Unmatched: the payment record kept for operators.
	un := Decide(pay(1, ""), Snapshot{}, now)
	want := &pipeline.PaymentRecord{EventID: "ev-pay", MerchantID: "m1", Source: pipeline.SourceSMS, Wallet: wA, Payment: *pay(1, "").Payment,
		Disposition: pipeline.DispositionUnmatched, Rule: pipeline.RuleNone, AcceptedAt: ev.AcceptedAt, DecidedAt: now}
	if !reflect.DeepEqual(un.Payment, want) {
		t.Errorf("kept payment = %+v, want %+v", un.Payment, want)
	}
}

// checkInvariants asserts what must hold for every decision (shared with FuzzDecide).
// primary counts d's transitions that are not releases (ReasonCandidateUsed).
func primary(d Decision) int {
	n := 0
	for _, tr := range d.Transitions {
		if tr.Reason != ReasonCandidateUsed {
			n++
		}
	}
	return n
}

// releasedBy reports whether intentID may be released by d: a payment d uses named it.
func releasedBy(d Decision, intentID string) bool {
	for _, u := range d.UsedPayments {
		if slices.Contains(u.IntentIDs, intentID) {
			return true
		}
	}
	return false
}

func checkInvariants(t *testing.T, ev *pipeline.Event, snap Snapshot, now time.Time, d Decision) {
	t.Helper()
	byID := map[string]*pipeline.IntentRecord{}
	for _, r := range snap.Intents {
		if r != nil {
			if _, dup := byID[r.ID]; !dup {
				byID[r.ID] = r
			}
		}
	}
	kept := map[string]*pipeline.PaymentRecord{}
	for _, p := range snap.Payments {
		if p != nil {
			kept[p.EventID] = p
		}
	}
	paid := 0
	changed := map[string]bool{}
	var intentOutcomes, paymentOutcomes int
	for _, tr := range d.Transitions {
		r := byID[tr.IntentID]
		switch {
		case r == nil:
			t.Fatalf("transition of %s which is not in the snapshot", tr.IntentID)
		case r.Status.Final():
			t.Fatalf("transition of final intent %s (%s)", tr.IntentID, r.Status)
		case tr.From != r.Status || tr.Version != r.Version:
			t.Fatalf("transition of %s expects %s v%d, snapshot has %s v%d", tr.IntentID, tr.From, tr.Version, r.Status, r.Version)
		case tr.To == tr.From || !tr.To.Valid():
			t.Fatalf("transition of %s to %q", tr.IntentID, tr.To)
		case tr.To == pipeline.StatusPending && (tr.From != pipeline.StatusReviewRequired || tr.Reason != ReasonCandidateUsed):
			t.Fatalf("transition of %s from %s to PENDING (%q): only a review whose candidate was used returns", tr.IntentID, tr.From, tr.Reason)
		case tr.Reason == ReasonCandidateUsed && (tr.From != pipeline.StatusReviewRequired || tr.TrxID != "" || !releasedBy(d, tr.IntentID) ||
			(tr.To == pipeline.StatusPending) != now.Before(r.ExpiresAt) || (tr.To != pipeline.StatusPending && tr.To != pipeline.StatusExpired)):
			t.Fatalf("release %+v of %+v by %+v", tr, r, d.UsedPayments)
		case changed[tr.IntentID]:
			t.Fatalf("intent %s changed twice", tr.IntentID)
		}
		changed[tr.IntentID] = true
		// Issue 13 finding 5: the payer's reference, amount or claim alone never moves an intent out
		// of a status its own payment can still pay, unless the amounts are equal.
		if (tr.From == pipeline.StatusPending || tr.From == pipeline.StatusExpired) && tr.Reason != ReasonCandidateUsed &&
			(ev.Kind == pipeline.KindPaymentReported || ev.Kind == pipeline.KindClaimSubmitted) {
			if o := d.Outcomes[len(changed)-1]; o.Payment == nil || o.Payment.Amount != r.Amount {
				t.Fatalf("%s moved intent %s (%s, %s) to %s with a payment of another amount: %+v", ev.Kind, r.ID, r.Status, r.Amount, tr.To, o.Payment)
			}
		}
		if tr.To == pipeline.StatusPaid {
			paid++
			if p := snap.TrxPaid[pipeline.NormalizeTrxID(tr.TrxID)]; tr.TrxID != "" && p != "" && p != tr.IntentID {
				t.Fatalf("intent %s paid with TrxID %s that paid %s", tr.IntentID, tr.TrxID, p)
			}
		}
	}
	if paid > 1 {
		t.Fatalf("%d intents paid by one event", paid)
	}
	ids := map[string]bool{}
	for i, o := range d.Outcomes {
		if ids[o.ID] {
			t.Fatalf("outcome id %s twice", o.ID)
		}
		ids[o.ID] = true
		if o.EventID != ev.ID {
			t.Fatalf("outcome %d has event id %s", i, o.EventID)
		}
		switch o.Type {
		case pipeline.OutcomeIntentStatus:
			intentOutcomes++
			tr := d.Transitions[i]
			if o.Intent.ID != tr.IntentID || o.Status != tr.To || o.Version != tr.Version+1 || o.PreviousStatus != tr.From ||
				o.ID != pipeline.IntentOutcomeID(tr.IntentID, tr.Version+1, tr.To) {
				t.Fatalf("outcome %d %+v does not match transition %+v", i, o, tr)
			}
			// A claim never pays an intent whose amount differs.
			if o.MatchType == pipeline.MatchClaim && (o.Status != pipeline.StatusPaid || o.Payment == nil || o.Payment.Amount != o.Intent.Amount) {
				t.Fatalf("claim match %+v with payment %+v", o, o.Payment)
			}
		case pipeline.OutcomePayment:
			paymentOutcomes++
			if i != len(d.Outcomes)-1 || o.ID != pipeline.PaymentOutcomeID(ev.ID) || o.Disposition != d.Disposition {
				t.Fatalf("payment outcome %d = %+v", i, o)
			}
		default:
			t.Fatalf("outcome type %q", o.Type)
		}
	}
	if intentOutcomes != len(d.Transitions) {
		t.Fatalf("%d intent outcomes for %d transitions", intentOutcomes, len(d.Transitions))
	}
	for _, u := range d.UsedPayments {
		if kept[u.EventID] == nil || paid != 1 {
			t.Fatalf("payment %s used (kept %v) with %d intents paid", u.EventID, kept[u.EventID] != nil, paid)
		}
	}
	if (d.Gap == nil) != (d.GapOutcome == nil) || (d.Gap != nil && d.Balance == nil) {
		t.Fatalf("gap %+v, gap outcome %+v, head %+v", d.Gap, d.GapOutcome, d.Balance)
	}
	if o := d.GapOutcome; o != nil && (o.ID != BalanceGapOutcomeID(ev.ID) || o.Type != OutcomeBalanceGap || o.EventID != ev.ID || o.BalanceGap != d.Gap) {
		t.Fatalf("gap outcome %+v", o)
	}
	if d.Ignored != "" && (len(d.Outcomes) != 0 || len(d.Transitions) != 0 || d.Payment != nil || d.SeenTrxID != "" ||
		len(d.UsedPayments) != 0 || d.Claims != nil || len(d.DropClaims) != 0 || d.Balance != nil || d.Gap != nil) {
		t.Fatalf("ignored (%s) decision changes state: %+v", d.Ignored, d)
	}
	switch ev.Kind {
	case pipeline.KindPaymentReported:
		if paymentOutcomes != 1 {
			t.Fatalf("payment event with %d payment outcomes", paymentOutcomes)
		}
		if (d.Disposition == pipeline.DispositionMatched) != (paid == 1) {
			t.Fatalf("disposition %s with %d paid", d.Disposition, paid)
		}
		kept := d.Disposition == pipeline.DispositionUnmatched || d.Disposition == pipeline.DispositionReview
		if kept != (d.Payment != nil) {
			t.Fatalf("disposition %s, kept payment %v", d.Disposition, d.Payment != nil)
		}
		if d.Disposition == pipeline.DispositionDuplicate {
			if len(d.Transitions) != 0 || d.SeenTrxID != "" || d.Claims != nil || len(d.DropClaims) != 0 {
				t.Fatalf("duplicate changed state: %+v", d)
			}
		} else if d.SeenTrxID != ev.Payment.TrxID {
			t.Fatalf("TrxID %q not marked seen (%q)", ev.Payment.TrxID, d.SeenTrxID)
		}
		if len(d.UsedPayments) != 0 || d.Claims != nil || d.Ignored != "" {
			t.Fatalf("payment decision uses kept payments or records claims: %+v", d)
		}
	case pipeline.KindClaimSubmitted:
		if paymentOutcomes != 0 || primary(d) > 1 || d.SeenTrxID != "" || d.Gap != nil || d.Balance != nil {
			t.Fatalf("claim decision %+v", d)
		}
		if paid == 1 && (len(d.UsedPayments) != 1 || d.Transitions[0].IntentID != ev.Claim.IntentID) {
			t.Fatalf("claim paid without using the kept payment: %+v", d)
		}
		if d.Claims != nil && (len(d.Transitions) != 0 || d.Claims.IntentID != ev.Claim.IntentID ||
			len(d.Claims.IntentTrxIDs) > pipeline.MaxClaimsPerIntent || len(d.Claims.Claims) > pipeline.MaxClaimsPerTrx) {
			t.Fatalf("claim recorded with %+v", d)
		}
	case pipeline.KindReviewDecided:
		if paymentOutcomes != 0 || primary(d) > 1 || d.Gap != nil || d.Balance != nil || d.Claims != nil || d.Payment != nil {
			t.Fatalf("operator decision %+v", d)
		}
		for _, tr := range d.Transitions {
			if tr.Reason == ReasonCandidateUsed {
				continue
			}
			ok := tr.IntentID == ev.Review.IntentID && tr.MatchType == map[pipeline.Status]pipeline.MatchType{pipeline.StatusPaid: pipeline.MatchManual}[tr.To]
			switch ev.Review.Action {
			case pipeline.ReviewApprove:
				ok = ok && tr.From == pipeline.StatusReviewRequired && tr.To == pipeline.StatusPaid
			case pipeline.ReviewReject:
				ok = ok && tr.From == pipeline.StatusReviewRequired && tr.To == pipeline.StatusRejected
			case pipeline.ReviewAttach:
				ok = ok && (tr.From == pipeline.StatusPending || tr.From == pipeline.StatusReviewRequired || tr.From == pipeline.StatusExpired) && tr.To == pipeline.StatusPaid &&
					len(d.UsedPayments) == 1 && d.UsedPayments[0].EventID == ev.Review.PaymentEventID
			}
			if !ok {
				t.Fatalf("operator %s made transition %+v", ev.Review.Action, tr)
			}
		}
	case pipeline.KindSMSReceived:
		if len(d.Outcomes) != 0 || len(d.Transitions) != 0 || d.Payment != nil || d.SeenTrxID != "" || len(d.UsedPayments) != 0 {
			t.Fatalf("sms decision %+v", d)
		}
	case KindExpiry:
		if paymentOutcomes != 0 || len(d.Transitions) > 1 || (len(d.Transitions) == 1 && d.Transitions[0].To != pipeline.StatusExpired) {
			t.Fatalf("expiry decision %+v", d)
		}
	case pipeline.KindPaymentFailed:
		if paymentOutcomes != 0 || len(d.Transitions) > 1 || d.Payment != nil || d.SeenTrxID != "" || len(d.UsedPayments) != 0 ||
			d.Claims != nil || d.Balance != nil || (len(d.Transitions) == 1 && (d.Transitions[0].From != pipeline.StatusPending ||
			d.Transitions[0].To != pipeline.StatusFailed || d.Transitions[0].IntentID != ev.Failure.IntentID)) {
			t.Fatalf("payment.failed decision %+v", d)
		}
	default:
		if !d.Empty() {
			t.Fatalf("%s decided %+v", ev.Kind, d)
		}
	}
	// Same input, same output (byte for byte once encoded).
	again := Decide(ev, snap, now)
	a, _ := json.Marshal(d.Outcomes)
	b, _ := json.Marshal(again.Outcomes)
	ga, _ := json.Marshal(d.GapOutcome)
	gb, _ := json.Marshal(again.GapOutcome)
	if string(a) != string(b) || string(ga) != string(gb) || !reflect.DeepEqual(d, again) {
		t.Fatalf("Decide is not deterministic:\n%s\n%s", a, b)
	}
}

func BenchmarkDecide(b *testing.B) {
	var intents []*pipeline.IntentRecord
	for i := range 32 {
		intents = append(intents, open(fmt.Sprintf("pi-%02d", i), int64(100+i%8), fmt.Sprintf("ORDER-%d", i)))
	}
	now := base.Add(time.Minute)
	for _, bc := range []struct {
		name string
		ev   *pipeline.Event
	}{
		{"reference", pay(105, "order-5")},
		{"amount_ambiguous", pay(101, "")},
		{"unmatched", pay(999, "")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			snap := Snapshot{Intents: intents}
			b.ReportAllocs()
			for b.Loop() {
				if d := Decide(bc.ev, snap, now); len(d.Outcomes) == 0 {
					b.Fatal("no outcome")
				}
			}
		})
	}
}
