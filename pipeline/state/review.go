package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// ReviewItem is an intent under review (REVIEW_REQUIRED; its Reason says why) with the kept
// payments that put it there or were linked to it later: the candidates an operator approves,
// attaches or rejects.
type ReviewItem struct {
	*pipeline.IntentRecord
	// Payments are the candidate payments still kept (unmatched or review), oldest payment first.
	// A candidate that paid another intent meanwhile is no longer kept, so no longer listed.
	Payments []*pipeline.PaymentRecord
}

// ReviewQueue lists the intents under review on wallets (one merchant's wallets of one
// environment), newest intent first, skipping offset and returning at most limit, with the total
// count, each with its candidate payments (ReviewCandidatesKey, plus the kept payment of the TrxID
// the intent records, which also covers intents sent to review before candidates were recorded).
// Same bounds as ListIntents; it blocks for up to four pipelined round trips and is read-only.
// Errors: ErrInvalid (wrapped) for a bad page; Redis or decoding errors.
func (s *Store) ReviewQueue(ctx context.Context, wallets []pipeline.Wallet, offset, limit int) ([]ReviewItem, int, error) {
	ws := uniqueWallets(wallets)
	idx := make([]string, len(ws))
	for i, w := range ws {
		idx[i] = s.keys.IntentsByStatus(w, pipeline.StatusReviewRequired)
	}
	page, total, err := s.newestPage(ctx, idx, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("listing the review queue: %w", err)
	}
	out := make([]ReviewItem, 0, len(page))
	if len(page) == 0 {
		return out, total, nil
	}

	// Round trip 2: the intents and their candidate sets.
	pipe := s.rdb.Pipeline()
	recs := make([]*redis.MapStringStringCmd, len(page))
	cands := make([]*redis.StringSliceCmd, len(page))
	for i, e := range page {
		w := ws[e.src]
		recs[i] = pipe.HGetAll(ctx, s.keys.Intent(w, e.member))
		cands[i] = pipe.SMembers(ctx, ReviewCandidatesKey(s.keys, w, e.member))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, fmt.Errorf("listing the review queue: reading intents: %w", err)
	}
	type item struct {
		w      pipeline.Wallet
		rec    *pipeline.IntentRecord
		events []string
		trx    *redis.StringCmd
	}
	items := make([]*item, 0, len(page))
	for i, c := range recs {
		rec, err := parseRecord(c.Val())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("listing the review queue: intent %s: %w", page[i].member, err)
		}
		items = append(items, &item{w: ws[page[i].src], rec: rec, events: cands[i].Val()})
	}

	// Round trip 3: the event that reported each intent's recorded TrxID.
	pipe = s.rdb.Pipeline()
	n := 0
	for _, it := range items {
		if t := pipeline.NormalizeTrxID(it.rec.TrxID); t != "" {
			it.trx = pipe.Get(ctx, s.keys.Trx(it.w, t))
			n++
		}
	}
	if n > 0 {
		_, _ = pipe.Exec(ctx) // read per command: a missing mark is redis.Nil
		for _, it := range items {
			if it.trx == nil {
				continue
			}
			if err := it.trx.Err(); err != nil && !errors.Is(err, redis.Nil) {
				return nil, 0, fmt.Errorf("listing the review queue: reading TrxID of %s: %w", it.rec.ID, err)
			}
			if ev := it.trx.Val(); ev != "" && !slices.Contains(it.events, ev) {
				it.events = append(it.events, ev)
			}
		}
	}

	// Round trip 4: the kept payments.
	pipe = s.rdb.Pipeline()
	pays := make([][]*redis.StringCmd, len(items))
	for i, it := range items {
		slices.Sort(it.events)
		for _, ev := range it.events {
			pays[i] = append(pays[i], pipe.HGet(ctx, PaymentRecordsKey(s.keys, it.w), ev))
		}
	}
	_, _ = pipe.Exec(ctx) // read per command: a payment no longer kept is redis.Nil
	for i, it := range items {
		ri := ReviewItem{IntentRecord: it.rec, Payments: []*pipeline.PaymentRecord{}}
		for j, c := range pays[i] {
			v, err := c.Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return nil, 0, fmt.Errorf("listing the review queue: reading payment %s: %w", it.events[j], err)
			}
			var r pipeline.PaymentRecord
			if err := unmarshal([]byte(v), &r); err != nil {
				return nil, 0, fmt.Errorf("listing the review queue: decoding payment %s: %w", it.events[j], err)
			}
			if r.EventID == "" {
				r.EventID = it.events[j]
			}
			ri.Payments = append(ri.Payments, &r)
		}
		slices.SortStableFunc(ri.Payments, func(a, b *pipeline.PaymentRecord) int {
			if c := a.At().Compare(b.At()); c != 0 {
				return c
			}
			return strings.Compare(a.EventID, b.EventID)
		})
		out = append(out, ri)
	}
	return out, total, nil
}
