package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Status is a payment intent's status (seed 004).
type Status string

// Intent statuses.
const (
	StatusPending        Status = "PENDING"
	StatusPaid           Status = "PAID"
	StatusExpired        Status = "EXPIRED"
	StatusRejected       Status = "REJECTED"
	StatusFailed         Status = "FAILED"
	StatusReviewRequired Status = "REVIEW_REQUIRED"
)

// Statuses lists every status, for validation and indexes.
var Statuses = []Status{StatusPending, StatusPaid, StatusExpired, StatusRejected, StatusFailed, StatusReviewRequired}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Final reports whether no automatic rule may change s any more.
func (s Status) Final() bool { return s == StatusPaid || s == StatusRejected || s == StatusFailed }

// Rule names the matching rule (SPEC "Matching rules") that produced a decision.
type Rule string

// Rules.
const (
	RuleDedupe    Rule = "dedupe"
	RuleReference Rule = "reference"
	RuleClaim     Rule = "claim"
	RuleAmount    Rule = "amount_window"
	RuleNone      Rule = "none" // payment kept as unmatched
	RuleExpiry    Rule = "expiry"
	RuleManual    Rule = "manual"
)

// MatchType is how a payment was tied to an intent, as merchants see it in webhooks.
type MatchType string

// Match types.
const (
	MatchAuto      MatchType = "AUTO_MATCH"
	MatchReference MatchType = "REFERENCE_MATCH"
	MatchClaim     MatchType = "CLAIM_MATCH"
	MatchManual    MatchType = "MANUAL"
)

// Review reasons.
const (
	ReasonAmountMismatch = "amount_mismatch"
	ReasonAmbiguous      = "ambiguous"
	ReasonLatePayment    = "late_payment"
	// ReasonBeyondDedupeWindow: the payment happened longer ago than the TrxID dedupe window
	// (state.Lifetimes.TrxWindow), so paystream can no longer prove its TrxID was not used before;
	// it is never paid automatically, an operator compares it with the wallet's statement.
	ReasonBeyondDedupeWindow = "beyond_dedupe_window"
)

// OutcomeType says what an outcome records.
type OutcomeType string

// Outcome types.
const (
	// OutcomeIntentStatus is an intent status change: it becomes a webhook and an audit row.
	OutcomeIntentStatus OutcomeType = "intent.status_changed"
	// OutcomePayment records what became of a reported payment (matched, duplicate, unmatched,
	// review): an audit row and a metric, never a webhook on its own.
	OutcomePayment OutcomeType = "payment.recorded"
	// OutcomeRefund is a refund bKash confirmed (KindPaymentRefunded): a payment.refunded webhook.
	// The intent's status does not change.
	OutcomeRefund OutcomeType = "payment.refunded"
)

// OutcomeBalanceGap is the matcher's record of a break of a wallet's balance chain: the common
// outcome fields plus "balanceGap", a BalanceGap (see matcher.BalanceGapOutcome). No webhook is
// sent for it; the audit stores it in balance_gaps.
const OutcomeBalanceGap OutcomeType = "wallet.balance_gap"

// BalanceGap is a break of a wallet's balance chain, "a possible missed SMS": an SMS whose balance
// is not the previous balance plus or minus its own amount. Signed amounts are in paisa (int64),
// because an expected balance may be negative.
type BalanceGap struct {
	EventID         string    `json:"eventId"` // the SMS that broke the chain
	MerchantID      string    `json:"merchantId"`
	Wallet          Wallet    `json:"wallet"`
	Direction       string    `json:"direction"` // credit or debit
	Amount          Money     `json:"amount"`
	FeePaisa        int64     `json:"feePaisa,omitempty"`
	TrxID           string    `json:"trxId,omitempty"`
	At              time.Time `json:"at"`
	PreviousEventID string    `json:"previousEventId"`
	PreviousAt      time.Time `json:"previousAt"`
	PreviousBalance Money     `json:"previousBalance"`
	// ExpectedPaisa is the previous balance plus or minus the SMS's amount (and fee); ActualPaisa the
	// balance the SMS reports; DifferencePaisa = actual - expected (> 0: money arrived that no SMS
	// reported, typically a missed credit; < 0: a missed debit, or the SMS overstates a credit).
	ExpectedPaisa   int64 `json:"expectedPaisa"`
	ActualPaisa     int64 `json:"actualPaisa"`
	DifferencePaisa int64 `json:"differencePaisa"`
	// Review is true when the SMS was a payment that was sent to review (balance_mismatch) because of it.
	Review     bool      `json:"review,omitempty"`
	DetectedAt time.Time `json:"detectedAt"`
}

// RuleRefund is the rule of OutcomeRefund outcomes.
const RuleRefund Rule = "refund"

// Disposition is what the matcher did with a reported payment.
type Disposition string

// Payment dispositions.
const (
	DispositionMatched   Disposition = "matched"
	DispositionDuplicate Disposition = "duplicate"
	DispositionUnmatched Disposition = "unmatched"
	DispositionReview    Disposition = "review"
)

// Outcome is one decision of the matcher, produced to the outcomes topic keyed by merchant id. Its
// ID is deterministic (see OutcomeID), so a replay after a crash re-emits a byte-identical decision
// and sinks drop what they already did by ID.
type Outcome struct {
	ID          string      `json:"id"`
	Type        OutcomeType `json:"type"`
	EventID     string      `json:"eventId"` // the inbound event (or expiry tick) that caused it
	MerchantID  string      `json:"merchantId"`
	Environment Environment `json:"environment"`
	Wallet      Wallet      `json:"wallet"`
	Rule        Rule        `json:"rule"`

	// Intent status changes.
	Intent         *Intent   `json:"intent,omitempty"`
	Status         Status    `json:"status,omitempty"`
	PreviousStatus Status    `json:"previousStatus,omitempty"`
	Version        int       `json:"version,omitempty"` // the intent's status version after this change (created = 1)
	MatchType      MatchType `json:"matchType,omitempty"`
	Reason         string    `json:"reason,omitempty"`

	// The payment involved, if any, and (for OutcomePayment) what became of it.
	Payment     *Payment    `json:"payment,omitempty"`
	Disposition Disposition `json:"disposition,omitempty"`
	IntentID    string      `json:"intentId,omitempty"` // for OutcomePayment: the intent it went to, if any

	// Refund is what OutcomeRefund refunded.
	Refund *Refund `json:"refund,omitempty"`

	AcceptedAt time.Time `json:"acceptedAt"` // when ingest accepted the triggering event
	DecidedAt  time.Time `json:"decidedAt"`
}

// outcomeNS is the UUIDv5 namespace of outcome ids. Never change it: ids must stay stable across
// versions so replays dedupe.
var outcomeNS = uuid.MustParse("5b0f4c52-8e0a-4f4e-9f53-3d1f1c7a9e10")

// IntentOutcomeID is the id of the change of intentID to status at version: a replay of the same
// decision yields the same id.
func IntentOutcomeID(intentID string, version int, status Status) string {
	return uuid.NewSHA1(outcomeNS, fmt.Appendf(nil, "intent/%s/%d/%s", intentID, version, status)).String()
}

// PaymentOutcomeID is the id of the payment record caused by inbound event eventID.
func PaymentOutcomeID(eventID string) string {
	return uuid.NewSHA1(outcomeNS, []byte("payment/"+eventID)).String()
}

// RefundOutcomeID is the id of the refund outcome caused by inbound event eventID.
func RefundOutcomeID(eventID string) string {
	return uuid.NewSHA1(outcomeNS, []byte("refund/"+eventID)).String()
}

// ErrBadOutcome reports an outcome record that cannot be decoded.
var ErrBadOutcome = errors.New("malformed outcome")

// EncodeOutcome returns the JSON record value of o (as encoding/json writes it; see codec.go).
func EncodeOutcome(o *Outcome) ([]byte, error) { return marshalRecord(o) }

// DecodeOutcome parses a record value (as encoding/json reads it; see codec.go).
func DecodeOutcome(b []byte) (*Outcome, error) {
	var o Outcome
	if err := unmarshalRecord(b, &o); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOutcome, err)
	}
	if o.ID == "" || o.MerchantID == "" || (o.Type == OutcomeIntentStatus && (o.Intent == nil || !o.Status.Valid())) ||
		(o.Type == OutcomeRefund && (o.Intent == nil || o.Refund == nil)) {
		return nil, fmt.Errorf("%w: missing id, merchant or intent", ErrBadOutcome)
	}
	return &o, nil
}
