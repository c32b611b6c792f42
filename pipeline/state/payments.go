package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/paystream/paystream/pipeline"
	"github.com/redis/go-redis/v9"
)

// ListPayments lists the payments the matcher kept with disposition (unmatched or review) on
// wallets, newest payment first, skipping offset and returning at most limit, with the total count.
// Same bounds and cost as ListIntents. Errors: ErrInvalid (wrapped) for another disposition or a
// bad page; Redis or decoding errors.
func (s *Store) ListPayments(ctx context.Context, wallets []pipeline.Wallet, disposition pipeline.Disposition, offset, limit int) ([]*pipeline.PaymentRecord, int, error) {
	ws := uniqueWallets(wallets)
	idx := make([]string, len(ws))
	for i, w := range ws {
		switch disposition {
		case pipeline.DispositionUnmatched:
			idx[i] = s.keys.Unmatched(w)
		case pipeline.DispositionReview:
			idx[i] = ReviewPaymentsKey(s.keys, w)
		default:
			return nil, 0, fmt.Errorf("%w: payments are kept only when unmatched or review, not %q", ErrInvalid, disposition)
		}
	}
	page, total, err := s.newestPage(ctx, idx, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("listing payments: %w", err)
	}
	out := make([]*pipeline.PaymentRecord, 0, len(page))
	if len(page) == 0 {
		return out, total, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(page))
	for i, e := range page {
		cmds[i] = pipe.HGet(ctx, PaymentRecordsKey(s.keys, ws[e.src]), e.member)
	}
	_, _ = pipe.Exec(ctx) // read per command: a missing field is skipped
	for i, c := range cmds {
		v, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("listing payments: reading %s: %w", page[i].member, err)
		}
		var r pipeline.PaymentRecord
		if err := unmarshal([]byte(v), &r); err != nil {
			return nil, 0, fmt.Errorf("listing payments: decoding %s: %w", page[i].member, err)
		}
		out = append(out, &r)
	}
	return out, total, nil
}
