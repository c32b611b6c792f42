package matcher

import "github.com/paystream/paystream/pipeline"

// Why a payment.failed event changes nothing (Decision.Ignored; metric label values).
const (
	IgnoreNotPending    = "intent_not_pending"    // the intent is EXPIRED or REVIEW_REQUIRED: a bKash failure does not override either
	IgnoreFailedLate    = "failure_after_expiry"  // ingest accepted the failure at or after the intent's deadline: expiry decides
	IgnoreNotTokenized  = "intent_not_tokenized"  // the intent is not paid through bKash tokenized checkout
	IgnoreMerchantOther = "intent_other_merchant" // the intent belongs to another merchant than the event
)

// failed decides a payment.failed event: bKash confirmed that the intent's tokenized payment will
// not complete (failed, cancelled, insufficient balance). Only a PENDING intent of the event's
// merchant, paid through bKash tokenized checkout, whose deadline had not passed when ingest
// accepted the failure, becomes FAILED (rule payment_failed, reason PaymentFailure.OutcomeReason).
// Anything else changes nothing (Decision.Ignored): a PAID intent never moves, a repeated failure
// finds the intent FAILED (final), an EXPIRED or REVIEW_REQUIRED intent keeps its status. The
// outcome id is IntentOutcomeID(intent, version+1, FAILED), so a replay re-emits the same outcome.
func (x *decider) failed() {
	f := x.ev.Failure
	r := x.intentByID(f.IntentID)
	switch {
	case r == nil:
		x.ignore(pipeline.RulePaymentFailed, IgnoreUnknownIntent)
	case r.MerchantID != "" && r.MerchantID != x.ev.MerchantID:
		x.ignore(pipeline.RulePaymentFailed, IgnoreMerchantOther)
	case r.Status.Final():
		x.ignore(pipeline.RulePaymentFailed, IgnoreIntentFinal)
	case r.Status != pipeline.StatusPending:
		x.ignore(pipeline.RulePaymentFailed, IgnoreNotPending)
	case r.PaymentMethod != pipeline.PaymentMethodBkashTokenized:
		x.ignore(pipeline.RulePaymentFailed, IgnoreNotTokenized)
	case !x.ev.AcceptedAt.IsZero() && !x.ev.AcceptedAt.Before(r.ExpiresAt):
		x.ignore(pipeline.RulePaymentFailed, IgnoreFailedLate)
	default:
		x.d.Rule = pipeline.RulePaymentFailed
		x.change(r, pipeline.StatusFailed, pipeline.RulePaymentFailed, "", f.OutcomeReason())
	}
}
