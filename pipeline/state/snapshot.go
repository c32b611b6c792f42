package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/redis/go-redis/v9"
)

// DefaultMaxAmountCandidates bounds the open intents of one amount a snapshot loads.
const DefaultMaxAmountCandidates = 64

// SnapshotQuery says which state one decision needs, all of one wallet.
type SnapshotQuery struct {
	Wallet  pipeline.Wallet
	EventID string // the applied marker to look for
	TrxID   string // the payment's TrxID, to learn whether it was seen ("" for none)
	// Reference, if set, loads the intents whose customer reference equals it (case-insensitive) and
	// the intent whose id is the reference as given, lower-cased or upper-cased (ids are UUIDs).
	Reference string
	// Amount, if > 0, loads the newest PENDING intents of that amount created at or before
	// CreatedUpTo, at most MaxAmountCandidates (default DefaultMaxAmountCandidates).
	Amount              pipeline.Money
	CreatedUpTo         time.Time
	MaxAmountCandidates int
	// IntentIDs are loaded as well (the expiring intent).
	IntentIDs []string
}

// Snapshot is the state one decision is taken over.
type Snapshot struct {
	// Applied is non-nil when the event was applied already: its stored outcomes. Nothing else is
	// loaded then; re-emit these instead of deciding again.
	Applied []json.RawMessage
	// TrxSeenBy is the event id that first reported the TrxID, "" if it was not seen. When set,
	// Intents is not loaded (the payment is a duplicate whatever the intents say).
	TrxSeenBy string
	// Intents are the intents found, once each, oldest first (CreatedAt, then ID).
	Intents []*IntentRecord
}

// LoadSnapshot reads the state q describes in two pipelined round trips (markers and index
// lookups, then the intent records). It is read-only; the snapshot may be stale by the time it is
// applied, which Apply's compare-and-set detects. Errors are Redis or decoding errors.
func (s *Store) LoadSnapshot(ctx context.Context, q *SnapshotQuery) (*Snapshot, error) {
	k, w := s.keys, q.Wallet
	pipe := s.rdb.Pipeline()
	applied := pipe.Get(ctx, k.Applied(w, q.EventID))
	cmds := []redis.Cmder{applied}
	var trx *redis.StringCmd
	if q.TrxID != "" {
		trx = pipe.Get(ctx, k.Trx(w, q.TrxID))
		cmds = append(cmds, trx)
	}
	ref := strings.TrimSpace(q.Reference)
	var refs *redis.StringSliceCmd
	if ref != "" {
		refs = pipe.SMembers(ctx, k.ByReference(w, ref))
		cmds = append(cmds, refs)
	}
	var amt *redis.StringSliceCmd
	if q.Amount > 0 {
		n := q.MaxAmountCandidates
		if n <= 0 {
			n = DefaultMaxAmountCandidates
		}
		amt = pipe.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: k.OpenByAmount(w, q.Amount), ByScore: true, Rev: true,
			Start: strconv.FormatInt(ms(q.CreatedUpTo), 10), Stop: "-inf", Count: int64(n),
		})
		cmds = append(cmds, amt)
	}
	_, _ = pipe.Exec(ctx) // Exec reports only the first error, and a missing key (redis.Nil) is fine: check each
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("loading snapshot of event %s: %w", q.EventID, err)
		}
	}

	snap := &Snapshot{}
	if v, err := applied.Result(); err == nil {
		if err := json.Unmarshal([]byte(v), &snap.Applied); err != nil {
			return nil, fmt.Errorf("loading snapshot of event %s: decoding stored outcomes: %w", q.EventID, err)
		}
		if snap.Applied == nil {
			snap.Applied = []json.RawMessage{}
		}
		return snap, nil
	}
	if trx != nil {
		snap.TrxSeenBy = trx.Val()
		if snap.TrxSeenBy != "" {
			return snap, nil
		}
	}

	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range q.IntentIDs {
		add(id)
	}
	if ref != "" {
		add(ref) // the reference may be an intent id, in any case
		add(strings.ToLower(ref))
		add(strings.ToUpper(ref))
		for _, id := range refs.Val() {
			add(id)
		}
	}
	if amt != nil {
		for _, id := range amt.Val() {
			add(id)
		}
	}
	if len(ids) == 0 {
		return snap, nil
	}
	pipe = s.rdb.Pipeline()
	gets := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		gets[i] = pipe.HGetAll(ctx, k.Intent(w, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("loading snapshot of event %s: reading intents: %w", q.EventID, err)
	}
	for i, c := range gets {
		rec, err := parseRecord(c.Val())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("loading snapshot of event %s: intent %s: %w", q.EventID, ids[i], err)
		}
		snap.Intents = append(snap.Intents, rec)
	}
	SortIntents(snap.Intents)
	return snap, nil
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
