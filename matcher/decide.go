package matcher

import (
	"slices"
	"strings"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// KindExpiry is the kind of the synthetic event an intent deadline becomes (see ExpiryEvent). It
// never travels on Kafka.
const KindExpiry pipeline.EventKind = "intent.expiry"

// OccurredAtTolerance widens the "created before the payment" test of the amount-and-window rule:
// wallet SMS timestamps have minute precision and phone clocks drift, so an intent created up to
// this long after the reported payment time (but never after ingest accepted the payment) still
// counts as created before it.
const OccurredAtTolerance = 2 * time.Minute

// DefaultLatePaymentGrace is the late-payment grace when Config.LatePaymentGrace is 0: how long
// after an intent's deadline a payment made before the deadline may still be reported and pay the
// EXPIRED intent as if it were PENDING (see Decide). Three minutes cover an SMS time's minute
// truncation (up to 59 s), a forwarder app's retries and a short pipeline lag, while keeping the
// time in which a merchant may see payment.expired followed by payment.paid short.
const DefaultLatePaymentGrace = 3 * time.Minute

// ExpiryEventID is the applied-marker id (and outcome EventID) of the expiry of intentID.
func ExpiryEventID(intentID string) string { return "expire:" + intentID }

// ExpiryEvent returns the synthetic event that asks Decide whether intent in, on wallet w, expires.
// Its AcceptedAt is the deadline, so DecidedAt-AcceptedAt measures how late the expiry was.
func ExpiryEvent(w pipeline.Wallet, in *pipeline.Intent) *pipeline.Event {
	return &pipeline.Event{
		ID: ExpiryEventID(in.ID), Kind: KindExpiry, Wallet: w, MerchantID: in.MerchantID,
		AcceptedAt: in.ExpiresAt, Intent: in, Environment: w.Environment,
	}
}

// Snapshot is the state of one wallet that Decide may look at.
type Snapshot struct {
	// TrxSeenBy is the id of the event that first reported the TrxID the event concerns (the
	// payment's, the claim's, the approval's) on this wallet, or "" when it was never seen.
	TrxSeenBy string
	// Intents are the intents the rules may consider: those the payment's reference names (by id or
	// customer reference, in any status), the PENDING ones of the payment's amount, the ones that
	// claimed the payment's TrxID, or the expiring, claimed or reviewed one. Order and duplicates do
	// not matter.
	Intents []*pipeline.IntentRecord
	// Claims are the customers' claims waiting for the event's TrxID (payments).
	Claims []pipeline.ClaimRecord
	// IntentClaims are the TrxIDs already claimed for the claimed intent (claims).
	IntentClaims []string
	// Payments are the kept payments (unmatched or review) the event may use: the one that reported
	// the claimed or approved TrxID, the one an attach names, the reviewed intent's candidates.
	// Order and duplicates do not matter.
	Payments []*pipeline.PaymentRecord
	// Candidates are the event ids of the reviewed intent's candidate payments (reviews).
	Candidates []string
	// TrxPaid maps TrxIDs (pipeline.NormalizeTrxID) to the intent each paid, for the TrxIDs the event
	// concerns.
	TrxPaid map[string]string
	// Balance is the wallet's balance chain head (SMS), nil when none.
	Balance *pipeline.BalanceHead
	// IntentCandidates maps the intents the kept payments name (PaymentRecord.IntentIDs) to their
	// review candidates (claims and operator decisions): a review left without a candidate by the
	// payment the event uses is released.
	IntentCandidates map[string][]string

	// LatePaymentGrace is not state but the matcher's policy (Config.LatePaymentGrace), carried here
	// so that Decide stays a function of its arguments: 0 means DefaultLatePaymentGrace, a negative
	// value no grace.
	LatePaymentGrace time.Duration
	// TrxDedupeWindow is the matcher's TrxID dedupe window (state.Lifetimes.TrxWindow), policy
	// carried like LatePaymentGrace: a payment whose time (PaymentWindow) is longer ago than it is
	// kept for review (pipeline.ReasonBeyondDedupeWindow) instead of paying or staying unmatched,
	// since its TrxID mark may have left Redis. 0 means no window (every TrxID mark kept).
	TrxDedupeWindow time.Duration
}

// Decision is what Decide concluded: the intent transitions, payment disposition and other state
// to store, and the outcomes to emit, in emission order (intent changes oldest intent first, then
// the reviews a used payment releases, then the payment record, then GapOutcome). A zero Decision (Empty) changes nothing.
type Decision struct {
	Rule        pipeline.Rule        // the rule that decided ("" when nothing was decided)
	Disposition pipeline.Disposition // for payments
	SeenTrxID   string               // the TrxID to mark seen ("" for duplicates and expiries)
	Transitions []pipeline.Transition
	Payment     *pipeline.PaymentRecord // kept for operators when unmatched or sent to review (or moved by a claim)
	Outcomes    []*pipeline.Outcome

	// Ignored, for a claim, an operator decision or an SMS, is why the event changes nothing (one
	// of the Ignore* reasons, a metric label). Such a decision is still applied (an empty applied
	// marker), so that a replay repeats it instead of deciding again over later state.
	Ignored string
	// UsedPayments are kept payments that now paid an intent (a claim, an approval, an attach).
	UsedPayments []*pipeline.PaymentRecord
	// Claims records a claim that waits for its payment.
	Claims *pipeline.ClaimsUpdate
	// DropClaims are TrxIDs whose waiting claims this payment settled.
	DropClaims []string
	// Balance is the wallet's new balance chain head; Gap a break of the chain and GapOutcome its
	// outcome (OutcomeBalanceGap).
	Balance    *pipeline.BalanceHead
	Gap        *pipeline.BalanceGap
	GapOutcome *BalanceGapOutcome
}

// Empty reports whether d neither changes state nor emits anything (nothing to apply).
func (d *Decision) Empty() bool {
	return len(d.Outcomes) == 0 && len(d.Transitions) == 0 && d.Payment == nil && d.SeenTrxID == "" &&
		d.Ignored == "" && len(d.UsedPayments) == 0 && d.Claims == nil && len(d.DropClaims) == 0 &&
		d.Balance == nil && d.Gap == nil && d.GapOutcome == nil
}

// PaymentWindow returns the time the rules take a payment to have happened (OccurredAt, or
// AcceptedAt when OccurredAt is zero or later than AcceptedAt: money cannot move after ingest
// accepted its report) and the latest creation time of an intent the amount-and-window rule may
// match it to (that time plus OccurredAtTolerance, but never after AcceptedAt).
func PaymentWindow(ev *pipeline.Event) (at, createdUpTo time.Time) {
	at = ev.AcceptedAt
	if p := ev.Payment; p != nil && !p.OccurredAt.IsZero() && (ev.AcceptedAt.IsZero() || !p.OccurredAt.After(ev.AcceptedAt)) {
		at = p.OccurredAt
	}
	createdUpTo = at.Add(OccurredAtTolerance)
	if !ev.AcceptedAt.IsZero() && createdUpTo.After(ev.AcceptedAt) {
		createdUpTo = ev.AcceptedAt
	}
	return at, createdUpTo
}

// Decide applies the matching rules (SPEC "Matching rules") to one event over snap and returns
// the decision, taken at now. It is pure and deterministic: no I/O, no clock; the same arguments
// always give an equal Decision with the same outcome ids. It never changes a final intent, never
// pays more than one intent per event, never pays with a TrxID that paid another intent, and only
// moves intents out of the status and version snap shows (Apply's compare-and-sets enforce that
// nothing changed in between).
//
//   - payment.reported: the balance chain when it came from an SMS (see below), then rule 1 (TrxID
//     seen, or known to have paid an intent => duplicate), else rule 3 (claims waiting for the TrxID), else rule 2 (the reference
//     names intents), else rule 4 (amount and window); every payment yields exactly one
//     OutcomePayment.
//   - claim.submitted: rule 3 from the claim's side (decide_claims.go).
//   - review.decided: rule 6, an operator's approve, reject or attach (decide_review.go).
//   - sms.received: the balance chain only (decide_balance.go); its only outcome is a balance gap.
//   - payment.refunded: one OutcomeRefund (decide_refund.go); no state changes.
//   - payment.failed: bKash confirmed a tokenized payment will not complete; a PENDING intent
//     becomes FAILED, anything else is ignored (decide_failed.go).
//   - KindExpiry (ExpiryEvent): rule 5, a PENDING intent whose ExpiresAt <= now becomes EXPIRED.
//   - intent.created and anything else: a zero Decision (creation is CreateIntent's job).
//
// Choices where the SPEC is silent (see the package tests for each):
//   - Times: a payment's time is PaymentWindow's; "expired" for a payment means ExpiresAt <= that
//     time, so a backlog or a replay does not turn a timely payment into a late one, and an intent
//     still PENDING in state but past its deadline at payment time counts as expired (late_payment).
//     Late-payment grace: an EXPIRED intent is paid as if PENDING by a payment made within its life
//     (before ExpiresAt, not before CreatedAt-OccurredAtTolerance) whose report ingest accepted
//     less than Snapshot.LatePaymentGrace after ExpiresAt (AcceptedAt is paystream's clock; the
//     phone's stamps are never used). An SMS time has minute precision and counts as its minute's
//     start, so a payment in the deadline's minute gets the benefit of that minute.
//   - Rule 2 candidates: an intent whose id equals the reference wins over customer-reference
//     matches. Open candidates are PENDING ones not expired at payment time, and EXPIRED ones the
//     late-payment grace still lets the payment pay (payable). Exactly one open candidate with the
//     payment's amount => PAID (REFERENCE_MATCH; ReasonPaidAfterExpiry from EXPIRED); several with
//     the amount => all of those REVIEW_REQUIRED ambiguous; none with the amount => the payment is
//     held for review (amount_mismatch, the open candidates as its candidates) and no intent
//     changes (hold: the reference is the payer's). With no open candidate, the expired ones
//     (EXPIRED, or PENDING past the deadline): the newest with the amount goes REVIEW_REQUIRED
//     late_payment; none with the amount => the payment is held (amount_mismatch). With only final
//     or REVIEW_REQUIRED candidates, no intent changes and the payment is kept for review
//     (ReasonIntentClosed); rule 4 is not tried.
//   - Rule 4 candidates are PENDING (or EXPIRED within the grace), same amount, created at or
//     before PaymentWindow's createdUpTo and not expired at payment time. A payment made before an
//     EXPIRED intent's deadline but reported after the grace is held for review (late_payment)
//     with those intents as candidates; they stay EXPIRED. Ambiguity sends every candidate the snapshot
//     holds to review (the store loads at most state.DefaultMaxAmountCandidates, newest first).
//   - Review transitions carry the payment's TrxID and Reason and no MatchType. An intent already
//     REVIEW_REQUIRED that a payment concerns is not changed again: the payment is linked to it
//     (a review candidate, state.ReviewCandidatesKey) and the payment outcome names it.
//   - A payment whose time is longer ago than Snapshot.TrxDedupeWindow (its TrxID mark may have
//     left Redis) is kept for review (pipeline.ReasonBeyondDedupeWindow) before any rule but
//     dedupe, and a claim does not pay it either.
//   - A payment whose SMS balance is lower than the chain allows (ReasonBalanceMismatch), or whose
//     SMS is older than the chain's head and fits nowhere in it (ReasonBalanceOutOfOrder), goes to
//     review instead of paying or staying unmatched.
func Decide(ev *pipeline.Event, snap Snapshot, now time.Time) Decision {
	x := &decider{ev: ev, now: now, snap: snap}
	switch ev.Kind {
	case pipeline.KindPaymentReported:
		if ev.Payment != nil {
			x.pay = ev.Payment
			x.balance()
			x.payment()
		}
	case pipeline.KindClaimSubmitted:
		if ev.Claim != nil {
			x.claim()
		}
	case pipeline.KindReviewDecided:
		if ev.Review != nil {
			x.operator()
		}
	case pipeline.KindSMSReceived:
		if ev.SMS != nil {
			x.balance()
		}
	case KindExpiry:
		if ev.Intent != nil {
			x.expiry()
		}
	case pipeline.KindPaymentRefunded:
		if ev.Refund != nil && ev.Intent != nil {
			x.refund()
		}
	case pipeline.KindPaymentFailed:
		if ev.Failure != nil {
			x.failed()
		}
	}
	x.finishGap()
	return x.d
}

type decider struct {
	ev   *pipeline.Event
	now  time.Time
	snap Snapshot
	d    Decision
	// pay is the payment the decision is about: the reported one, or the kept one a claim or an
	// operator decision uses. Outcomes and transitions carry a copy.
	pay *pipeline.Payment
	// suspect is set by the balance chain: the paying SMS reports a lower balance than the chain
	// allows (ReasonBalanceMismatch), none where one is expected (ReasonBalanceMissing), or is older
	// than the chain's head and fits nowhere in it (ReasonBalanceOutOfOrder), so the
	// payment goes to review with that reason instead of paying.
	suspect    string
	suspectHit bool // a payment was sent to review because of suspect
}

// intents returns snap's records without nils and duplicate ids (the first one wins), oldest first.
func intents(snap Snapshot) []*pipeline.IntentRecord {
	out := make([]*pipeline.IntentRecord, 0, len(snap.Intents))
	for _, r := range snap.Intents {
		if r != nil {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *pipeline.IntentRecord) int { return strings.Compare(a.ID, b.ID) })
	out = slices.CompactFunc(out, func(a, b *pipeline.IntentRecord) bool { return a.ID == b.ID })
	pipeline.SortIntents(out)
	return out
}

// intentByID returns the snapshot's record of id, nil when absent.
func (x *decider) intentByID(id string) *pipeline.IntentRecord {
	for _, r := range intents(x.snap) {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// keptPayment returns the snapshot's kept payment whose event id is eventID, nil when absent.
func (x *decider) keptPayment(eventID string) *pipeline.PaymentRecord {
	if eventID == "" {
		return nil
	}
	for _, p := range x.snap.Payments {
		if p != nil && p.EventID == eventID {
			return p
		}
	}
	return nil
}

func (x *decider) expiry() {
	for _, r := range intents(x.snap) {
		if r.ID != x.ev.Intent.ID {
			continue
		}
		if r.Status == pipeline.StatusPending && !x.now.Before(r.ExpiresAt) {
			x.d.Rule = pipeline.RuleExpiry
			x.change(r, pipeline.StatusExpired, pipeline.RuleExpiry, "", "")
		}
		return
	}
}

func (x *decider) payment() {
	p := x.ev.Payment
	// A TrxID that paid an intent was seen, even if its mark were missing (state written before
	// the mark existed, or by hand): never let it pay again.
	if x.snap.TrxSeenBy != "" || x.snap.TrxPaid[pipeline.NormalizeTrxID(p.TrxID)] != "" {
		x.d.Rule, x.d.Disposition = pipeline.RuleDedupe, pipeline.DispositionDuplicate
		x.recordPayment(pipeline.DispositionDuplicate, pipeline.RuleDedupe, "", nil, false)
		return
	}
	x.d.SeenTrxID = p.TrxID
	all := intents(x.snap)
	at, createdUpTo := PaymentWindow(x.ev)
	if x.beyondWindow(at) {
		x.d.Rule, x.d.Disposition = pipeline.RuleDedupe, pipeline.DispositionReview
		x.recordPayment(pipeline.DispositionReview, pipeline.RuleDedupe, pipeline.ReasonBeyondDedupeWindow, nil, true)
		return
	}
	if x.byClaims(all, at) {
		return
	}
	if ref := strings.TrimSpace(p.Reference); ref != "" {
		if cands := referenced(all, ref); len(cands) > 0 {
			x.byReference(cands, at)
			return
		}
	}
	var cands, late []*pipeline.IntentRecord
	for _, r := range all {
		if r.Amount != p.Amount || r.CreatedAt.After(createdUpTo) {
			continue
		}
		switch {
		case x.payable(r, at, x.ev.AcceptedAt):
			cands = append(cands, r)
		case r.Status == pipeline.StatusExpired && x.timely(r, at):
			late = append(late, r)
		}
	}
	switch len(cands) {
	case 0:
		if x.suspect != "" {
			x.suspectHit = true
			x.d.Rule, x.d.Disposition = pipeline.RuleNone, pipeline.DispositionReview
			x.recordPayment(pipeline.DispositionReview, pipeline.RuleNone, x.suspect, nil, true)
			return
		}
		if len(late) > 0 {
			// Made before these intents' deadlines, reported after the grace: an operator decides
			// (attach); the intents stay EXPIRED.
			x.hold(late, pipeline.RuleAmount, pipeline.ReasonLatePayment)
			return
		}
		x.d.Rule, x.d.Disposition = pipeline.RuleNone, pipeline.DispositionUnmatched
		x.recordPayment(pipeline.DispositionUnmatched, pipeline.RuleNone, "", nil, true)
	case 1:
		x.payIntent(cands[0], pipeline.RuleAmount, pipeline.MatchAuto)
	default:
		x.review(cands, pipeline.RuleAmount, pipeline.ReasonAmbiguous)
	}
}

// beyondWindow reports whether a payment made at "at" is older than the TrxID dedupe window
// (Snapshot.TrxDedupeWindow), so it must not pay automatically.
func (x *decider) beyondWindow(at time.Time) bool {
	w := x.snap.TrxDedupeWindow
	return w > 0 && !at.IsZero() && x.now.Sub(at) > w
}

// referenced returns the intent whose id is ref, or else those whose customer reference is ref.
func referenced(all []*pipeline.IntentRecord, ref string) []*pipeline.IntentRecord {
	var byRef []*pipeline.IntentRecord
	for _, r := range all {
		if strings.EqualFold(r.ID, ref) {
			return []*pipeline.IntentRecord{r}
		}
		if strings.EqualFold(strings.TrimSpace(r.CustomerReference), ref) {
			byRef = append(byRef, r)
		}
	}
	return byRef
}

// grace is the late-payment grace in force (see Snapshot.LatePaymentGrace).
func (x *decider) grace() time.Duration {
	switch g := x.snap.LatePaymentGrace; {
	case g == 0:
		return DefaultLatePaymentGrace
	case g < 0:
		return 0
	default:
		return g
	}
}

// timely reports whether a payment made at "at" was made within intent r's life: before its
// deadline and not before it was created (OccurredAtTolerance).
func (x *decider) timely(r *pipeline.IntentRecord, at time.Time) bool {
	return at.Before(r.ExpiresAt) && !at.Before(r.CreatedAt.Add(-OccurredAtTolerance))
}

// payable reports whether a payment made at "at" and accepted by ingest at accepted may pay r as
// an open intent: r is PENDING and the payment was made before its deadline, or r is EXPIRED, the
// payment was made within its life (timely) and ingest accepted the report less than the
// late-payment grace after the deadline. accepted is paystream's own clock; a zero accepted (an
// unknown report time) never gets the grace.
func (x *decider) payable(r *pipeline.IntentRecord, at, accepted time.Time) bool {
	switch r.Status {
	case pipeline.StatusPending:
		return at.Before(r.ExpiresAt)
	case pipeline.StatusExpired:
		g := x.grace()
		return g > 0 && !accepted.IsZero() && x.timely(r, at) && accepted.Before(r.ExpiresAt.Add(g))
	}
	return false
}

// byReference is rule 2 over the intents the payment's reference names. The reference is written
// by the payer, so it alone never moves an intent out of a status its rightful payment can still
// pay: with another amount the payment is held for review (hold) and the intents do not change.
func (x *decider) byReference(cands []*pipeline.IntentRecord, at time.Time) {
	var open, late, closed []*pipeline.IntentRecord
	for _, r := range cands {
		switch {
		case x.payable(r, at, x.ev.AcceptedAt):
			open = append(open, r)
		case r.Status == pipeline.StatusPending || r.Status == pipeline.StatusExpired:
			late = append(late, r)
		default:
			closed = append(closed, r)
		}
	}
	amount := x.ev.Payment.Amount
	switch {
	case len(open) > 0:
		exact := withAmount(open, amount)
		switch {
		case len(exact) == 1:
			x.payIntent(exact[0], pipeline.RuleReference, pipeline.MatchReference)
		case len(exact) > 1:
			x.review(exact, pipeline.RuleReference, pipeline.ReasonAmbiguous)
		default:
			x.hold(open, pipeline.RuleReference, pipeline.ReasonAmountMismatch)
		}
	case len(late) > 0:
		exact := withAmount(late, amount)
		if len(exact) == 0 {
			x.hold(late[len(late)-1:], pipeline.RuleReference, pipeline.ReasonAmountMismatch) // newest
			return
		}
		x.review(exact[len(exact)-1:], pipeline.RuleReference, pipeline.ReasonLatePayment) // newest
	default:
		newest := closed[len(closed)-1]
		x.d.Rule, x.d.Disposition = pipeline.RuleReference, pipeline.DispositionReview
		x.recordPayment(pipeline.DispositionReview, pipeline.RuleReference, ReasonIntentClosed, []string{newest.ID}, true)
	}
}

func withAmount(rs []*pipeline.IntentRecord, amount pipeline.Money) []*pipeline.IntentRecord {
	var out []*pipeline.IntentRecord
	for _, r := range rs {
		if r.Amount == amount {
			out = append(out, r)
		}
	}
	return out
}

// payIntent pays r with the reported payment, or sends it to review when the balance chain
// contradicts the payment's SMS.
func (x *decider) payIntent(r *pipeline.IntentRecord, rule pipeline.Rule, mt pipeline.MatchType) {
	if x.suspect != "" {
		x.suspectHit = true
		x.review([]*pipeline.IntentRecord{r}, rule, x.suspect)
		return
	}
	x.d.Rule, x.d.Disposition = rule, pipeline.DispositionMatched
	x.change(r, pipeline.StatusPaid, rule, mt, paidReason(r))
	x.recordPayment(pipeline.DispositionMatched, rule, "", []string{r.ID}, false)
}

// paidReason is the Reason of r's change to PAID: ReasonPaidAfterExpiry when r is EXPIRED (the
// merchant was told payment.expired and must learn that the order was paid after all).
func paidReason(r *pipeline.IntentRecord) string {
	if r.Status == pipeline.StatusExpired {
		return ReasonPaidAfterExpiry
	}
	return ""
}

// hold keeps the reported payment for review with rs as its candidates, without changing them:
// the reason is one a payer's choice (the reference, the amount, a claim) can cause, so the
// intents stay where their own payment can still pay them (REVIEW_REQUIRED ones only get the
// candidate). An operator attaches the payment if it is the intent's after all. No intent
// outcome: the merchant is told nothing that is not certain.
func (x *decider) hold(rs []*pipeline.IntentRecord, rule pipeline.Rule, reason string) {
	x.d.Rule, x.d.Disposition = rule, pipeline.DispositionReview
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	x.recordPayment(pipeline.DispositionReview, rule, reason, ids, true)
}

// release returns the intents under review that kept payment used named and that are left
// without a candidate now that used paid intent paidID: to PENDING before their deadline (so that
// their own payment can match them again), EXPIRED after it, with ReasonCandidateUsed. A review
// that still has another candidate stays for an operator.
func (x *decider) release(used *pipeline.PaymentRecord, paidID string) {
	pay := x.pay
	x.pay = nil // the used payment is not theirs
	defer func() { x.pay = pay }()
	for _, r := range intents(x.snap) {
		if r.ID == paidID || r.Status != pipeline.StatusReviewRequired || !slices.Contains(used.IntentIDs, r.ID) {
			continue
		}
		if slices.ContainsFunc(x.snap.IntentCandidates[r.ID], func(e string) bool { return e != used.EventID }) {
			continue
		}
		to := pipeline.StatusPending
		if !x.now.Before(r.ExpiresAt) {
			to = pipeline.StatusExpired
		}
		x.change(r, to, x.d.Rule, "", ReasonCandidateUsed)
	}
}

// review sends the reported payment to review with rs: each intent not yet REVIEW_REQUIRED goes
// there; those already under review only get the payment as a candidate.
func (x *decider) review(rs []*pipeline.IntentRecord, rule pipeline.Rule, reason string) {
	x.d.Rule, x.d.Disposition = rule, pipeline.DispositionReview
	ids := make([]string, len(rs))
	for i, r := range rs {
		if r.Status != pipeline.StatusReviewRequired {
			x.change(r, pipeline.StatusReviewRequired, rule, "", reason)
		}
		ids[i] = r.ID
	}
	x.recordPayment(pipeline.DispositionReview, rule, reason, ids, true)
}

// change records the transition of r to status and its outcome, carrying x.pay.
func (x *decider) change(r *pipeline.IntentRecord, to pipeline.Status, rule pipeline.Rule, mt pipeline.MatchType, reason string) {
	ev := x.ev
	var pay *pipeline.Payment
	trx := ""
	if x.pay != nil {
		p := *x.pay
		pay, trx = &p, p.TrxID
	}
	x.d.Transitions = append(x.d.Transitions, pipeline.Transition{
		IntentID: r.ID, Amount: r.Amount, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		From: r.Status, Version: r.Version, To: to,
		TrxID: trx, MatchType: mt, Reason: reason, At: x.now,
	})
	in := r.Intent
	merchant := in.MerchantID
	if merchant == "" {
		merchant = ev.MerchantID
	}
	x.d.Outcomes = append(x.d.Outcomes, &pipeline.Outcome{
		ID:   pipeline.IntentOutcomeID(r.ID, r.Version+1, to),
		Type: pipeline.OutcomeIntentStatus, EventID: ev.ID, MerchantID: merchant,
		Environment: ev.Wallet.Environment, Wallet: ev.Wallet, Rule: rule,
		Intent: &in, Status: to, PreviousStatus: r.Status, Version: r.Version + 1, MatchType: mt, Reason: reason,
		Payment: pay, AcceptedAt: ev.AcceptedAt, DecidedAt: x.now,
	})
}

// recordPayment adds the reported payment's outcome and, if keep, the record kept for operators.
func (x *decider) recordPayment(disp pipeline.Disposition, rule pipeline.Rule, reason string, intentIDs []string, keep bool) {
	ev := x.ev
	p := *ev.Payment
	intentID := ""
	if len(intentIDs) == 1 {
		intentID = intentIDs[0]
	}
	x.d.Outcomes = append(x.d.Outcomes, &pipeline.Outcome{
		ID:   pipeline.PaymentOutcomeID(ev.ID),
		Type: pipeline.OutcomePayment, EventID: ev.ID, MerchantID: ev.MerchantID,
		Environment: ev.Wallet.Environment, Wallet: ev.Wallet, Rule: rule, Reason: reason,
		Payment: &p, Disposition: disp, IntentID: intentID,
		AcceptedAt: ev.AcceptedAt, DecidedAt: x.now,
	})
	if keep {
		x.d.Payment = &pipeline.PaymentRecord{
			EventID: ev.ID, MerchantID: ev.MerchantID, Source: ev.Source, Wallet: ev.Wallet,
			Payment: p, Disposition: disp, Rule: rule, Reason: reason, IntentIDs: intentIDs,
			AcceptedAt: ev.AcceptedAt, DecidedAt: x.now,
		}
	}
}

// ignore records that the event changes nothing, and why.
func (x *decider) ignore(rule pipeline.Rule, reason string) {
	x.d = Decision{Rule: rule, Ignored: reason}
}
