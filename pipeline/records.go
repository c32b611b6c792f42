package pipeline

import (
	"slices"
	"strings"
	"time"
)

// The matcher's records: the state matcher.Decide decides over and the changes it decides. They are
// vocabulary, so that Decide depends on this package only; pipeline/state, the matcher's
// persistence adapter, loads them from Redis and stores them (as the JSON their tags describe, with
// the codec of pipeline/codec.go), and other stages read them only through its documented read
// methods (see the package doc, "How stages meet").

// IntentRecord is an intent with its current status.
type IntentRecord struct {
	Intent
	Status    Status
	Version   int // 1 at creation, +1 per status change
	UpdatedAt time.Time
	TrxID     string // the payment that decided it, if any
	MatchType MatchType
	Reason    string
}

// SortIntents orders records oldest first: CreatedAt, then ID.
func SortIntents(rs []*IntentRecord) {
	slices.SortStableFunc(rs, func(a, b *IntentRecord) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Transition is one intent status change of a decision, with what the store needs to keep the
// indexes right. It is a compare-and-set: it applies only if the intent is still in From at Version.
type Transition struct {
	IntentID  string
	Amount    Money     // the intent's amount (its open-by-amount index)
	CreatedAt time.Time // the intent's creation time (its index score)
	// ExpiresAt is the intent's deadline: its score in the store's EXPIRED-by-amount index when To
	// is EXPIRED.
	ExpiresAt time.Time
	From      Status
	Version   int // the version the intent has now; the change makes it Version+1
	To        Status
	TrxID     string // the payment that caused the change, if any
	MatchType MatchType
	Reason    string
	At        time.Time // becomes the record's UpdatedAt
}

// PaymentRecord is a reported payment the matcher kept for operators: unmatched (claimable later)
// or sent to review. The store keeps it as JSON in the wallet's payment records hash under its
// event id.
type PaymentRecord struct {
	EventID     string      `json:"eventId"`
	MerchantID  string      `json:"merchantId"`
	Source      Source      `json:"source"`
	Wallet      Wallet      `json:"wallet"`
	Payment     Payment     `json:"payment"`
	Disposition Disposition `json:"disposition"`
	Rule        Rule        `json:"rule"`
	Reason      string      `json:"reason,omitempty"`
	IntentIDs   []string    `json:"intentIds,omitempty"` // intents the payment concerns, if any
	AcceptedAt  time.Time   `json:"acceptedAt"`
	DecidedAt   time.Time   `json:"decidedAt"`
}

// At is the payment's time as indexed: OccurredAt, or AcceptedAt when OccurredAt is unknown.
func (r *PaymentRecord) At() time.Time {
	if r.Payment.OccurredAt.IsZero() {
		return r.AcceptedAt
	}
	return r.Payment.OccurredAt
}

// Bounds of customers' claims (SPEC rule 3).
const (
	// MaxClaimsPerIntent bounds the different TrxIDs kept as claimed for one intent.
	MaxClaimsPerIntent = 5
	// MaxClaimsPerTrx bounds the different intents kept as claiming one TrxID.
	MaxClaimsPerTrx = 5
)

// ClaimRecord is a customer's claim, from the checkout page, that transaction TrxID paid intent
// IntentID, kept until the payment is reported.
type ClaimRecord struct {
	EventID  string    `json:"eventId"` // the claim.submitted event
	IntentID string    `json:"intentId"`
	TrxID    string    `json:"trxId"`            // NormalizeTrxID form
	Sender   string    `json:"sender,omitempty"` // the sender number the customer typed, if any
	At       time.Time `json:"at"`               // when ingest accepted the claim
}

// ClaimsUpdate records one new claim. Both lists are written whole (the snapshot's plus the new
// claim), so a change carrying one must be a compare-and-set on the wallet's version.
type ClaimsUpdate struct {
	TrxID        string        // NormalizeTrxID form
	Claims       []ClaimRecord // every claim of TrxID, the new one included
	IntentID     string        // the claimed intent
	IntentTrxIDs []string      // every TrxID claimed for IntentID, the new one included
}

// BalanceHead is the last link of a wallet's balance chain: the newest trusted SMS that carried a
// balance.
type BalanceHead struct {
	EventID string    `json:"eventId"`
	At      time.Time `json:"at"` // the SMS's time (see the matcher's balance rule)
	Balance Money     `json:"balance"`
	// DeltaPaisa is the change of balance the SMS itself reports (+amount for a credit, -amount-fee
	// for a debit), valid when HasDelta.
	DeltaPaisa int64  `json:"deltaPaisa"`
	HasDelta   bool   `json:"hasDelta"`
	TrxID      string `json:"trxId,omitempty"`
	// Base is the balance before the oldest SMS of the chain (at BaseAt): the chain is known from
	// BaseAt up to the head, except for its Holes. An SMS forwarded late, older than BaseAt, links to
	// the chain only if its balance is BasePaisa. Valid when HasBase (heads stored before these fields
	// existed have none: the matcher derives it from the head itself).
	// (Paisa, not Money: a balance may be 0, and a forged SMS may make it negative.)
	BasePaisa int64     `json:"basePaisa,omitempty"`
	BaseAt    time.Time `json:"baseAt,omitzero"`
	HasBase   bool      `json:"hasBase,omitempty"`
	// StartedAt is when ingest accepted the chain's first SMS (zero for heads stored before the
	// field existed): for a while after it, SMS older than BaseAt may come in any order.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Holes are the stretches of the chain no SMS explains yet (its gaps), oldest first, at most
	// MaxBalanceHoles: an SMS forwarded late may fill one from either end (or, while the hole is
	// young, split it).
	Holes []BalanceHole `json:"holes,omitempty"`
}

// MaxBalanceHoles bounds the holes a balance head keeps (the newest ones).
const MaxBalanceHoles = 16

// BalanceHole is an unexplained stretch of a balance chain: the balance was FromPaisa after the SMS
// at FromAt and ToPaisa before the SMS at ToAt, and no SMS in between is known. OpenedAt is when
// ingest accepted the SMS that opened it (zero for holes stored before the field existed).
type BalanceHole struct {
	FromAt    time.Time `json:"fromAt"`
	FromPaisa int64     `json:"fromPaisa"`
	ToAt      time.Time `json:"toAt"`
	ToPaisa   int64     `json:"toPaisa"`
	OpenedAt  time.Time `json:"openedAt,omitzero"`
}

// NormalizeTrxID is the form TrxIDs are compared and keyed in (Keys.Trx upper-cases too): trimmed
// and upper-cased.
func NormalizeTrxID(trxID string) string { return strings.ToUpper(strings.TrimSpace(trxID)) }
