package state

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// What other stages may read of the matcher's state. The matcher owns every wallet key (see the
// package doc); another stage never reads or writes one with a raw Redis call, it calls one of
// these (or GetIntent, ListIntents, ListPayments, OpenIntentsByReference, TrxUse, ReviewQueue,
// BalanceGaps). Each is read-only, answers from the matcher's state as last applied (so it lags
// the inbound topic) and is safe for concurrent use.

// PaymentKept reports whether the matcher keeps payment eventID (its payment.reported event id) on
// wallet w: unmatched (Keys.Unmatched) or held for review (ReviewPaymentsKey), the payments an
// operator may attach to an intent or approve. A payment that paid an intent since, or was never
// kept, is not kept. An empty eventID is never kept (no Redis call). It blocks for one round trip.
// Errors: Redis errors, wrapped.
func (s *Store) PaymentKept(ctx context.Context, w pipeline.Wallet, eventID string) (bool, error) {
	if eventID == "" {
		return false, nil
	}
	kept, err := s.rdb.HExists(ctx, PaymentRecordsKey(s.keys, w), eventID).Result()
	if err != nil {
		return false, fmt.Errorf("reading kept payment %s: %w", eventID, err)
	}
	return kept, nil
}

// OpenIntentsOfAmount returns, for each of wallets (same order and length, duplicates answered
// each time), how many PENDING intents of amount it holds (Keys.OpenByAmount): ingest spreads new
// intents so that two open intents of one amount share a wallet as rarely as possible (amount-only
// matching is ambiguous exactly then). It counts intents whose deadline passed but whose expiry
// the matcher has not applied yet. A non-positive amount or no wallets returns zeros without a
// Redis call. It blocks for one pipelined round trip, whatever the number of wallets. Errors:
// Redis errors, wrapped.
func (s *Store) OpenIntentsOfAmount(ctx context.Context, wallets []pipeline.Wallet, amount pipeline.Money) ([]int64, error) {
	counts := make([]int64, len(wallets))
	if amount <= 0 || len(wallets) == 0 {
		return counts, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(wallets))
	for i, w := range wallets {
		cmds[i] = pipe.ZCard(ctx, s.keys.OpenByAmount(w, amount))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("counting open intents of %s: %w", amount, err)
	}
	for i, c := range cmds {
		counts[i] = c.Val()
	}
	return counts, nil
}

// TrxSeen reports whether the matcher decided a payment.reported carrying trxID on wallet w (or an
// operator approved an intent with it): the TrxID mark (Keys.Trx), kept for the dedupe window
// (Lifetimes.TrxWindow). Any later report of trxID within it is a duplicate (SPEC rule 1); a
// payment older than the window is sent to review by the matcher instead. trxID is compared in NormalizeTrxID form;
// an empty one is never seen (no Redis call). It blocks for one round trip. Errors: Redis errors,
// wrapped. TrxUse also says which intent the TrxID paid.
func (s *Store) TrxSeen(ctx context.Context, w pipeline.Wallet, trxID string) (bool, error) {
	trx := pipeline.NormalizeTrxID(trxID)
	if trx == "" {
		return false, nil
	}
	n, err := s.rdb.Exists(ctx, s.keys.Trx(w, trx)).Result()
	if err != nil {
		return false, fmt.Errorf("reading the mark of TrxID %s: %w", trx, err)
	}
	return n > 0, nil
}
