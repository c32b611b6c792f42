package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// ClaimTTL is how long a customer's claim waits for its payment (SPEC rule 3). A payment reported
// later is decided by the other rules (and the customer may claim again).
const ClaimTTL = 7 * 24 * time.Hour

// TrxUse says what the matcher knows about a TrxID on wallet w, for a synchronous answer on the
// checkout page: seen is true once the matcher decided a payment.reported carrying it (or an
// operator approved an intent with it); paidIntentID is the intent that TrxID paid, "" while the
// payment is unmatched, under review, or paid nothing. Both come from the matcher's state, so they
// lag the inbound topic. It blocks for one pipelined round trip and is read-only. Errors:
// ErrInvalid (wrapped) for an empty TrxID; Redis errors.
func (s *Store) TrxUse(ctx context.Context, w pipeline.Wallet, trxID string) (seen bool, paidIntentID string, err error) {
	trx := pipeline.NormalizeTrxID(trxID)
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
