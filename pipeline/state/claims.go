package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// Bounds and retention of customers' claims (SPEC rule 3).
const (
	// MaxClaimsPerIntent bounds the different TrxIDs kept as claimed for one intent.
	MaxClaimsPerIntent = 5
	// MaxClaimsPerTrx bounds the different intents kept as claiming one TrxID.
	MaxClaimsPerTrx = 5
	// ClaimTTL is how long a claim waits for its payment. A payment reported later is decided by
	// the other rules (and the customer may claim again).
	ClaimTTL = 7 * 24 * time.Hour
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
// claim), so a change carrying one must be a compare-and-set on the wallet's version (IfVersion).
type ClaimsUpdate struct {
	TrxID        string        // NormalizeTrxID form
	Claims       []ClaimRecord // every claim of TrxID, the new one included (ClaimsKey)
	IntentID     string        // the claimed intent
	IntentTrxIDs []string      // every TrxID claimed for IntentID, the new one included (IntentClaimsKey)
}

// TrxUse says what the matcher knows about a TrxID on wallet w, for a synchronous answer on the
// checkout page: seen is true once the matcher decided a payment.reported carrying it (or an
// operator approved an intent with it); paidIntentID is the intent that TrxID paid, "" while the
// payment is unmatched, under review, or paid nothing. Both come from the matcher's state, so they
// lag the inbound topic. It blocks for one pipelined round trip and is read-only. Errors:
// ErrInvalid (wrapped) for an empty TrxID; Redis errors.
func (s *Store) TrxUse(ctx context.Context, w pipeline.Wallet, trxID string) (seen bool, paidIntentID string, err error) {
	trx := NormalizeTrxID(trxID)
	if trx == "" {
		return false, "", fmt.Errorf("%w: empty TrxID", ErrInvalid)
	}
	pipe := s.rdb.Pipeline()
	mark := pipe.Exists(ctx, s.keys.Trx(w, trx))
	paid := pipe.HGet(ctx, TrxPaidKey(s.keys, w), trx)
	_, _ = pipe.Exec(ctx) // read per command: a missing field is redis.Nil
	if err := mark.Err(); err != nil {
		return false, "", fmt.Errorf("reading the use of TrxID %s: %w", trx, err)
	}
	if err := paid.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return false, "", fmt.Errorf("reading the use of TrxID %s: %w", trx, err)
	}
	return mark.Val() == 1, paid.Val(), nil
}
