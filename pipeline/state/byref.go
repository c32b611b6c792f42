package state

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// OpenIntentsByReference returns the PENDING intents on wallets whose customer reference equals
// ref, compared case-insensitively and after trimming spaces (as Keys.ByReference indexes them),
// oldest first (pipeline.SortIntents). An empty ref or no wallets returns nil without touching Redis.
//
// It blocks for two pipelined round trips: the reference set of every wallet, then the records of
// every intent found, whatever its status. The cost grows with the number of intents ever created
// with that reference on those wallets. It is read-only and does not look at ExpiresAt: an intent
// past its expiry stays PENDING until the matcher expires it, so callers that care about "still
// payable" compare ExpiresAt themselves. Errors are Redis or decoding errors.
func (s *Store) OpenIntentsByReference(ctx context.Context, wallets []pipeline.Wallet, ref string) ([]*pipeline.IntentRecord, error) {
	ref = strings.TrimSpace(ref)
	ws := uniqueWallets(wallets)
	if ref == "" || len(ws) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	sets := make([]*redis.StringSliceCmd, len(ws))
	for i, w := range ws {
		sets[i] = pipe.SMembers(ctx, s.keys.ByReference(w, ref))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("finding intents by reference: %w", err)
	}
	type loc struct {
		w  pipeline.Wallet
		id string
	}
	var locs []loc
	for i, c := range sets {
		for _, id := range c.Val() {
			locs = append(locs, loc{ws[i], id})
		}
	}
	if len(locs) == 0 {
		return nil, nil
	}
	pipe = s.rdb.Pipeline()
	gets := make([]*redis.MapStringStringCmd, len(locs))
	for i, l := range locs {
		gets[i] = pipe.HGetAll(ctx, s.keys.Intent(l.w, l.id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("finding intents by reference: reading records: %w", err)
	}
	var out []*pipeline.IntentRecord
	for i, c := range gets {
		rec, err := parseRecord(c.Val())
		if errors.Is(err, ErrNotFound) {
			continue // indexed but gone: cannot happen through this package
		}
		if err != nil {
			return nil, fmt.Errorf("finding intents by reference: intent %s: %w", locs[i].id, err)
		}
		if rec.Status == pipeline.StatusPending {
			out = append(out, rec)
		}
	}
	pipeline.SortIntents(out)
	return out, nil
}
