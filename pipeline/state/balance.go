package state

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// MaxBalanceGaps bounds the balance gaps kept per wallet (the newest ones).
const MaxBalanceGaps = 1000

// BalanceHead is the last link of a wallet's balance chain: the newest trusted SMS that carried a
// balance (BalanceKey).
type BalanceHead struct {
	EventID string         `json:"eventId"`
	At      time.Time      `json:"at"` // the SMS's time (see the matcher's balance rule)
	Balance pipeline.Money `json:"balance"`
	// DeltaPaisa is the change of balance the SMS itself reports (+amount for a credit, -amount-fee
	// for a debit), valid when HasDelta.
	DeltaPaisa int64  `json:"deltaPaisa"`
	HasDelta   bool   `json:"hasDelta"`
	TrxID      string `json:"trxId,omitempty"`
	// Base is the balance before the oldest SMS of the chain (at BaseAt): the chain is known from
	// BaseAt up to the head, except for its Holes. An SMS forwarded late, older than BaseAt, links to
	// the chain only if its balance is BasePaisa. Valid when HasBase (heads stored before these fields
	// existed have none: the matcher derives it from the head itself).
	// (Paisa, not pipeline.Money: a balance may be 0, and a forged SMS may make it negative.)
	BasePaisa int64     `json:"basePaisa,omitempty"`
	BaseAt    time.Time `json:"baseAt,omitzero"`
	HasBase   bool      `json:"hasBase,omitempty"`
	// Holes are the stretches of the chain no SMS explains yet (its gaps), oldest first, at most
	// MaxBalanceHoles: an SMS forwarded late may fill one from either end.
	Holes []BalanceHole `json:"holes,omitempty"`
}

// MaxBalanceHoles bounds the holes a balance head keeps (the newest ones).
const MaxBalanceHoles = 16

// BalanceHole is an unexplained stretch of a balance chain: the balance was FromPaisa after the SMS
// at FromAt and ToPaisa before the SMS at ToAt, and no SMS in between is known.
type BalanceHole struct {
	FromAt    time.Time `json:"fromAt"`
	FromPaisa int64     `json:"fromPaisa"`
	ToAt      time.Time `json:"toAt"`
	ToPaisa   int64     `json:"toPaisa"`
}

// BalanceGap is a break of a wallet's balance chain (pipeline.BalanceGap, the vocabulary the
// matcher's gap outcome and the audit share).
type BalanceGap = pipeline.BalanceGap

// BalanceGaps returns the newest balance gaps of wallets, newest SMS first, at most limit
// (1..MaxListLimit). It blocks for one pipelined round trip. Errors: ErrInvalid (wrapped) for a bad
// limit; Redis or decoding errors.
func (s *Store) BalanceGaps(ctx context.Context, wallets []pipeline.Wallet, limit int) ([]BalanceGap, error) {
	if limit < 1 || limit > MaxListLimit {
		return nil, fmt.Errorf("%w: need 1 <= limit <= %d, got %d", ErrInvalid, MaxListLimit, limit)
	}
	ws := uniqueWallets(wallets)
	if len(ws) == 0 {
		return []BalanceGap{}, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.ZSliceCmd, len(ws))
	for i, w := range ws {
		cmds[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: BalanceGapsKey(s.keys, w), Start: 0, Stop: limit - 1, Rev: true})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("listing balance gaps: %w", err)
	}
	type scored struct {
		gap   BalanceGap
		score float64
	}
	var all []scored
	for _, c := range cmds {
		for _, z := range c.Val() {
			m, _ := z.Member.(string)
			var g BalanceGap
			if err := unmarshal([]byte(m), &g); err != nil {
				return nil, fmt.Errorf("listing balance gaps: decoding %q: %w", m, err)
			}
			all = append(all, scored{g, z.Score})
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].score != all[b].score {
			return all[a].score > all[b].score
		}
		return all[a].gap.EventID > all[b].gap.EventID
	})
	out := make([]BalanceGap, 0, min(limit, len(all)))
	for i := 0; i < len(all) && i < limit; i++ {
		out = append(out, all[i].gap)
	}
	return out, nil
}
