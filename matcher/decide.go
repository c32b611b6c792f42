package matcher

import (
	"slices"
	"strings"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// KindExpiry is the kind of the synthetic event an intent deadline becomes (see ExpiryEvent). It
// never travels on Kafka.
const KindExpiry pipeline.EventKind = "intent.expiry"

// ReasonIntentClosed is the reason of a payment kept for review because its reference names only
// intents that are final or already under review: it is never matched by amount to another intent,
// so an intent is never paid twice and a second payment for a paid order is never pinned on a
// stranger's intent.
const ReasonIntentClosed = "intent_closed"

// OccurredAtTolerance widens the "created before the payment" test of the amount-and-window rule:
// wallet SMS timestamps have minute precision and phone clocks drift, so an intent created up to
// this long after the reported payment time (but never after ingest accepted the payment) still
// counts as created before it.
const OccurredAtTolerance = 2 * time.Minute

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
	// TrxSeenBy is the id of the event that first reported the payment's TrxID on this wallet, or ""
	// when it was never seen.
	TrxSeenBy string
	// Intents are the intents the rules may consider: those the payment's reference names (by id or
	// customer reference, in any status), the PENDING ones of the payment's amount, or the expiring
	// one. Order and duplicates do not matter.
	Intents []*state.IntentRecord
}

// Decision is what Decide concluded: the intent transitions and payment disposition to store and
// the outcomes to emit, in emission order (intent changes oldest intent first, then the payment
// record). A zero Decision (no outcomes) changes nothing.
type Decision struct {
	Rule        pipeline.Rule        // the rule that decided ("" when nothing was decided)
	Disposition pipeline.Disposition // for payments
	SeenTrxID   string               // the TrxID to mark seen ("" for duplicates and expiries)
	Transitions []state.Transition
	Payment     *state.PaymentRecord // kept for operators when unmatched or sent to review
	Outcomes    []*pipeline.Outcome
}

// Change returns the decision as a state change of ev's wallet, applied under ev.ID.
func (d *Decision) Change(ev *pipeline.Event) *state.Change {
	return &state.Change{
		Wallet: ev.Wallet, EventID: ev.ID, SeenTrxID: d.SeenTrxID,
		Transitions: d.Transitions, Payment: d.Payment, Outcomes: d.Outcomes,
	}
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

// Decide applies the matching rules (SPEC "Matching rules" 1, 2, 4, 5) to one event over snap and
// returns the decision, taken at now. It is pure and deterministic: no I/O, no clock; the same
// arguments always give an equal Decision with the same outcome ids. It never changes a final
// intent, never pays more than one intent per payment, and only moves intents out of the status and
// version snap shows (Apply's compare-and-set enforces that nothing changed in between).
//
//   - payment.reported: rule 1 (TrxID seen => duplicate), else rule 2 (the reference names intents),
//     else rule 4 (amount and window); every payment yields exactly one OutcomePayment.
//   - KindExpiry (ExpiryEvent): rule 5, a PENDING intent whose ExpiresAt <= now becomes EXPIRED.
//   - intent.created and anything else: a zero Decision (creation is CreateIntent's job).
//
// Choices where the SPEC is silent (see the package tests for each):
//   - Times: a payment's time is PaymentWindow's; "expired" for a payment means ExpiresAt <= that
//     time, so a backlog or a replay does not turn a timely payment into a late one, and an intent
//     still PENDING in state but past its deadline at payment time counts as expired (late_payment).
//   - Rule 2 candidates: an intent whose id equals the reference wins over customer-reference
//     matches. Among open candidates (PENDING, not expired at payment time): exactly one with the
//     payment's amount => PAID (REFERENCE_MATCH); several with the amount => all of those
//     REVIEW_REQUIRED ambiguous; none with the amount => REVIEW_REQUIRED amount_mismatch if there
//     is one open candidate, ambiguous (all open candidates) if several. With no open candidate,
//     the expired ones (EXPIRED, or PENDING past the deadline): the one with the amount if exactly
//     one has it, else the newest, goes REVIEW_REQUIRED late_payment. With only final or
//     REVIEW_REQUIRED candidates, no intent changes and the payment is kept for review
//     (ReasonIntentClosed); rule 4 is not tried.
//   - Rule 4 candidates are PENDING, same amount, created at or before PaymentWindow's
//     createdUpTo and not expired at payment time. Ambiguity sends every candidate the snapshot
//     holds to review (the store loads at most state.DefaultMaxAmountCandidates, newest first).
//   - Review transitions carry the payment's TrxID and Reason and no MatchType.
func Decide(ev *pipeline.Event, snap Snapshot, now time.Time) Decision {
	x := &decider{ev: ev, now: now}
	switch ev.Kind {
	case pipeline.KindPaymentReported:
		if ev.Payment != nil {
			x.payment(snap)
		}
	case KindExpiry:
		if ev.Intent != nil {
			x.expiry(snap)
		}
	}
	return x.d
}

type decider struct {
	ev  *pipeline.Event
	now time.Time
	d   Decision
}

// intents returns snap's records without nils and duplicate ids (the first one wins), oldest first.
func intents(snap Snapshot) []*state.IntentRecord {
	out := make([]*state.IntentRecord, 0, len(snap.Intents))
	for _, r := range snap.Intents {
		if r != nil {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *state.IntentRecord) int { return strings.Compare(a.ID, b.ID) })
	out = slices.CompactFunc(out, func(a, b *state.IntentRecord) bool { return a.ID == b.ID })
	state.SortIntents(out)
	return out
}

func (x *decider) expiry(snap Snapshot) {
	for _, r := range intents(snap) {
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

func (x *decider) payment(snap Snapshot) {
	p := x.ev.Payment
	if snap.TrxSeenBy != "" {
		x.d.Rule, x.d.Disposition = pipeline.RuleDedupe, pipeline.DispositionDuplicate
		x.recordPayment(pipeline.DispositionDuplicate, pipeline.RuleDedupe, "", nil, false)
		return
	}
	x.d.SeenTrxID = p.TrxID
	all := intents(snap)
	at, createdUpTo := PaymentWindow(x.ev)
	if ref := strings.TrimSpace(p.Reference); ref != "" {
		if cands := referenced(all, ref); len(cands) > 0 {
			x.byReference(cands, at)
			return
		}
	}
	var cands []*state.IntentRecord
	for _, r := range all {
		if r.Status == pipeline.StatusPending && r.Amount == p.Amount && !r.CreatedAt.After(createdUpTo) && at.Before(r.ExpiresAt) {
			cands = append(cands, r)
		}
	}
	switch len(cands) {
	case 0:
		x.d.Rule, x.d.Disposition = pipeline.RuleNone, pipeline.DispositionUnmatched
		x.recordPayment(pipeline.DispositionUnmatched, pipeline.RuleNone, "", nil, true)
	case 1:
		x.pay(cands[0], pipeline.RuleAmount, pipeline.MatchAuto)
	default:
		x.review(cands, pipeline.RuleAmount, pipeline.ReasonAmbiguous)
	}
}

// referenced returns the intent whose id is ref, or else those whose customer reference is ref.
func referenced(all []*state.IntentRecord, ref string) []*state.IntentRecord {
	var byRef []*state.IntentRecord
	for _, r := range all {
		if strings.EqualFold(r.ID, ref) {
			return []*state.IntentRecord{r}
		}
		if strings.EqualFold(strings.TrimSpace(r.CustomerReference), ref) {
			byRef = append(byRef, r)
		}
	}
	return byRef
}

func (x *decider) byReference(cands []*state.IntentRecord, at time.Time) {
	var open, late, closed []*state.IntentRecord
	for _, r := range cands {
		switch {
		case r.Status == pipeline.StatusPending && at.Before(r.ExpiresAt):
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
			x.pay(exact[0], pipeline.RuleReference, pipeline.MatchReference)
		case len(exact) > 1:
			x.review(exact, pipeline.RuleReference, pipeline.ReasonAmbiguous)
		case len(open) == 1:
			x.review(open, pipeline.RuleReference, pipeline.ReasonAmountMismatch)
		default:
			x.review(open, pipeline.RuleReference, pipeline.ReasonAmbiguous)
		}
	case len(late) > 0:
		target := late[len(late)-1] // newest
		if exact := withAmount(late, amount); len(exact) == 1 {
			target = exact[0]
		}
		x.review([]*state.IntentRecord{target}, pipeline.RuleReference, pipeline.ReasonLatePayment)
	default:
		newest := closed[len(closed)-1]
		x.d.Rule, x.d.Disposition = pipeline.RuleReference, pipeline.DispositionReview
		x.recordPayment(pipeline.DispositionReview, pipeline.RuleReference, ReasonIntentClosed, []string{newest.ID}, true)
	}
}

func withAmount(rs []*state.IntentRecord, amount pipeline.Money) []*state.IntentRecord {
	var out []*state.IntentRecord
	for _, r := range rs {
		if r.Amount == amount {
			out = append(out, r)
		}
	}
	return out
}

func (x *decider) pay(r *state.IntentRecord, rule pipeline.Rule, mt pipeline.MatchType) {
	x.d.Rule, x.d.Disposition = rule, pipeline.DispositionMatched
	x.change(r, pipeline.StatusPaid, rule, mt, "")
	x.recordPayment(pipeline.DispositionMatched, rule, "", []string{r.ID}, false)
}

func (x *decider) review(rs []*state.IntentRecord, rule pipeline.Rule, reason string) {
	x.d.Rule, x.d.Disposition = rule, pipeline.DispositionReview
	ids := make([]string, len(rs))
	for i, r := range rs {
		x.change(r, pipeline.StatusReviewRequired, rule, "", reason)
		ids[i] = r.ID
	}
	x.recordPayment(pipeline.DispositionReview, rule, reason, ids, true)
}

// change records the transition of r to status and its outcome.
func (x *decider) change(r *state.IntentRecord, to pipeline.Status, rule pipeline.Rule, mt pipeline.MatchType, reason string) {
	ev := x.ev
	var pay *pipeline.Payment
	trx := ""
	if ev.Payment != nil {
		p := *ev.Payment
		pay, trx = &p, p.TrxID
	}
	x.d.Transitions = append(x.d.Transitions, state.Transition{
		IntentID: r.ID, Amount: r.Amount, CreatedAt: r.CreatedAt,
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

// recordPayment adds the payment's outcome and, if keep, the record kept for operators.
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
		x.d.Payment = &state.PaymentRecord{
			EventID: ev.ID, MerchantID: ev.MerchantID, Source: ev.Source, Wallet: ev.Wallet,
			Payment: p, Disposition: disp, Rule: rule, Reason: reason, IntentIDs: intentIDs,
			AcceptedAt: ev.AcceptedAt, DecidedAt: x.now,
		}
	}
}
