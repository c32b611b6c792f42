package matcher

import (
	"github.com/google/uuid"

	"github.com/paystream/paystream/pipeline"
)

// OutcomeBalanceGap is the type of the outcome a break of a wallet's balance chain produces (a
// "possible missed SMS"). It is the matcher's own: no webhook is sent for it (the webhook sink
// handles only pipeline.OutcomeIntentStatus); the audit sink stores it in its balance_gaps table.
// Operators list gaps with state.Store.BalanceGaps.
const OutcomeBalanceGap = pipeline.OutcomeBalanceGap

// RuleBalanceChain is the rule of balance gap outcomes: consecutive SMS balances of one wallet
// must follow from each other.
const RuleBalanceChain pipeline.Rule = "balance_chain"

// Review reasons besides pipeline's.
const (
	// ReasonIntentClosed is the reason of a payment kept for review because its reference names
	// only intents that are final or already under review: it is never matched by amount to
	// another intent, so an intent is never paid twice and a second payment for a paid order is
	// never pinned on a stranger's intent.
	ReasonIntentClosed = "intent_closed"
	// ReasonSenderMismatch: the sender number the customer claimed is not the payment's sender.
	ReasonSenderMismatch = "sender_mismatch"
	// ReasonPaymentBeforeIntent: the claimed payment happened before the intent was created (more
	// than OccurredAtTolerance before), so it cannot have been made for it.
	ReasonPaymentBeforeIntent = "payment_before_intent"
	// ReasonBalanceMismatch: the paying SMS reports a balance lower than the wallet's previous
	// balance plus the amount, so the money may not have arrived as the SMS claims.
	ReasonBalanceMismatch = "balance_mismatch"
	// ReasonBalanceMissing: the paying SMS states no balance although the wallet's SMS carry one
	// (its provider's always do, or the wallet has a balance chain): a forged or mangled SMS may
	// omit it to escape the chain, so an operator decides.
	ReasonBalanceMissing = "balance_missing"
	// ReasonBalanceOutOfOrder: the paying SMS is older than the wallet's newest SMS (forwarded late,
	// or stamped in the past) and its balance fits nowhere in the chain known so far: neither just
	// before its oldest SMS nor at either end of a gap. It may be genuine (an SMS between two whose
	// order is unknown) or forged; an operator compares it with the wallet's statement.
	ReasonBalanceOutOfOrder = "balance_out_of_order"
	// ReasonPaidAfterExpiry is the Reason of an EXPIRED intent's change to PAID: a payment made
	// before the deadline and reported within the late-payment grace, or an operator's attach. The
	// merchant, told payment.expired before, gets payment.paid (bdQuickPay: payment.completed)
	// with this reason.
	ReasonPaidAfterExpiry = "paid_after_expiry"
	// ReasonCandidateUsed is the Reason of a review's return to PENDING (or EXPIRED, past the
	// deadline): the only payment it was waiting on paid another intent (a claim, an attach, an
	// approve settled an ambiguity), so the intent's own payment may still come.
	ReasonCandidateUsed = "candidate_used"
)

// Reasons an event changed nothing (Decision.Ignored, the reason label of
// paystream_matcher_ignored_total). The admin API and the checkout page refuse most of these
// synchronously, so seeing them means a race (or a bug upstream).
const (
	IgnoreUnknownIntent      = "unknown_intent"        // the claimed or reviewed intent is not on the event's wallet
	IgnoreIntentFinal        = "intent_final"          // the intent is PAID, REJECTED or FAILED
	IgnoreTrxPaidOther       = "trx_paid_other_intent" // the TrxID already paid another intent
	IgnoreTrxPaidThis        = "trx_paid_this_intent"  // the TrxID already paid this intent
	IgnoreTrxUsed            = "trx_used"              // the TrxID was seen but its payment is no longer kept (used or a duplicate)
	IgnoreAlreadyClaimed     = "already_claimed"       // this intent already claimed this TrxID
	IgnoreTooManyClaims      = "too_many_claims"       // pipeline.MaxClaimsPerIntent or MaxClaimsPerTrx reached
	IgnoreAlreadyUnderReview = "already_under_review"  // the intent is already under review with that payment
	IgnoreNotUnderReview     = "not_under_review"      // approve or reject of an intent not REVIEW_REQUIRED
	IgnoreIntentNotPayable   = "intent_not_payable"    // attach to an intent that is PAID, REJECTED or FAILED
	IgnorePaymentNotKept     = "payment_not_kept"      // attach of a payment that is not kept (unknown, or it paid an intent already)
	IgnorePaymentUsed        = "payment_used"          // approve with a TrxID that paid another intent
	IgnoreSMSOutOfOrder      = "sms_out_of_order"      // an SMS older than the balance chain's head: not compared
	IgnoreSMSRepeated        = "sms_repeated"          // the chain's head SMS again
)

// BalanceGapOutcome is the record of an OutcomeBalanceGap: the common outcome fields (Type,
// EventID, MerchantID, Wallet, Rule RuleBalanceChain, Payment when the SMS paid) plus the gap.
type BalanceGapOutcome struct {
	pipeline.Outcome
	BalanceGap *pipeline.BalanceGap `json:"balanceGap"`
}

// gapNS is the UUIDv5 namespace of balance gap outcome ids. Never change it.
var gapNS = uuid.MustParse("8d3c1f0e-6a52-4b8e-b1a4-2f7e9c0d5a61")

// BalanceGapOutcomeID is the id of the balance gap found at SMS event eventID.
func BalanceGapOutcomeID(eventID string) string {
	return uuid.NewSHA1(gapNS, []byte("balance_gap/"+eventID)).String()
}
