package state

import (
	"context"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// MaxBalanceGaps bounds the balance gaps kept per wallet (the newest ones).
const MaxBalanceGaps = 1000

// BalanceGaps returns the newest balance gaps of wallets, newest SMS first, at most limit
// (1..MaxListLimit). It blocks for one pipelined round trip. Errors: ErrInvalid (wrapped) for a bad
// limit; Redis or decoding errors.
func (s *Store) BalanceGaps(ctx context.Context, wallets []pipeline.Wallet, limit int) ([]pipeline.BalanceGap, error) {
	if limit < 1 || limit > MaxListLimit {
		return nil, fmt.Errorf("%w: need 1 <= limit <= %d, got %d", ErrInvalid, MaxListLimit, limit)
	}
	ws := uniqueWallets(wallets)
	if len(ws) == 0 {
		return []pipeline.BalanceGap{}, nil
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
		gap   pipeline.BalanceGap
		score float64
	}
	var all []scored
	for _, c := range cmds {
		for _, z := range c.Val() {
			m, _ := z.Member.(string)
			var g pipeline.BalanceGap
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
	out := make([]pipeline.BalanceGap, 0, min(limit, len(all)))
	for i := 0; i < len(all) && i < limit; i++ {
		out = append(out, all[i].gap)
	}
	return out, nil
}
