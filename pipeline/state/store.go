package state

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/redis/go-redis/v9"
)

// Retention and bounds.
const (
	// AppliedTTL is how long an applied marker (an event's stored outcomes) is kept: a replay older
	// than this is decided again (a payment then becomes a duplicate of itself, same outcome id).
	AppliedTTL = 7 * 24 * time.Hour
	// MaxListLimit bounds one page of ListIntents and ListPayments.
	MaxListLimit = 100
	// MaxListOffset bounds how deep a page may start: a page reads offset+limit entries of every
	// wallet, so deeper pages must be found by filtering instead.
	MaxListOffset = 10_000
	// ExpiredHorizon is how long after its deadline an EXPIRED intent stays in ExpiredByAmountKey,
	// measured from the newest deadline added there: the longest late-payment grace a matcher may
	// use.
	ExpiredHorizon = time.Hour
	// MaxExpiredByAmount bounds ExpiredByAmountKey (the newest deadlines are kept).
	MaxExpiredByAmount = 256
)

// Intent hash fields.
const (
	fJSON      = "json"
	fStatus    = "status"
	fVersion   = "version"
	fUpdatedAt = "updatedAt"
	fTrxID     = "trxId"
	fMatchType = "matchType"
	fReason    = "reason"
)

// Store reads and writes intent and matcher state in Redis. It is safe for concurrent use; it owns
// nothing but references to its arguments (closing the Redis client is the caller's job).
type Store struct {
	rdb  redis.UniversalClient
	keys pipeline.Keys
	life Lifetimes
}

// New returns a store over rdb (a single node, a failover client or a cluster client) using keys,
// with the default Lifetimes (WithLifetimes changes them).
func New(rdb redis.UniversalClient, keys pipeline.Keys) *Store {
	life, _ := Lifetimes{}.withDefaults() // the defaults are within bounds
	return &Store{rdb: rdb, keys: keys, life: life}
}

// Keys returns the key builder the store uses.
func (s *Store) Keys() pipeline.Keys { return s.keys }

// ms is t in Unix milliseconds (the score and timestamp unit of every index).
func ms(t time.Time) int64 { return t.UnixMilli() }

// msCeil is t in Unix milliseconds rounded up, so that "score <= now" implies "t <= now".
func msCeil(t time.Time) int64 {
	m := t.UnixMilli()
	if time.UnixMilli(m).Before(t) {
		m++
	}
	return m
}

// intentWallet returns the intent's wallet after checking the intent can be stored: keys are built
// from the wallet as given, so it must already be in canonical form.
func intentWallet(in *pipeline.Intent) (pipeline.Wallet, error) {
	if in == nil || in.ID == "" || in.Amount <= 0 || in.CreatedAt.IsZero() || in.ExpiresAt.IsZero() {
		return pipeline.Wallet{}, fmt.Errorf("%w: intent needs an id, a positive amount, createdAt and expiresAt", ErrInvalid)
	}
	w := in.Wallet()
	norm := w
	if err := norm.Validate(); err != nil || norm != w {
		return pipeline.Wallet{}, fmt.Errorf("%w: intent %s has a non-canonical wallet %q (normalise it with Wallet.Validate first)", ErrInvalid, in.ID, w.Key())
	}
	return w, nil
}

// CreateIntent writes the intent record (status PENDING, version 1, UpdatedAt = CreatedAt), its
// wallet indexes (all, PENDING, open-by-amount, by-reference) and Keys.IntentLocation(id), only if
// the record does not exist yet: calling it again, or after the matcher changed the status, changes
// nothing. It blocks for one pipelined round trip (one Lua script on the wallet slot and one SET).
// Errors: ErrInvalid (wrapped) for an intent that cannot be stored; otherwise Redis errors, after
// which the call may be repeated safely.
func (s *Store) CreateIntent(ctx context.Context, in *pipeline.Intent) error {
	return s.createIntent(ctx, in, nil)
}

// CreateIntentWithDeadline is CreateIntent plus adding the intent's expiry to Keys.Deadlines(partition)
// in the same round trip (the matcher's handling of intent.created consumed from that partition).
// The deadline is added even when the record existed: expiry of a non-PENDING intent is a no-op.
func (s *Store) CreateIntentWithDeadline(ctx context.Context, in *pipeline.Intent, partition int32) error {
	return s.createIntent(ctx, in, &partition)
}

func (s *Store) createIntent(ctx context.Context, in *pipeline.Intent, partition *int32) error {
	keys, args, w, err := s.createArgs(in)
	if err != nil {
		return err
	}
	k := s.keys
	pipe := s.rdb.Pipeline()
	create := createScript.EvalSha(ctx, pipe, keys, args...)
	loc := pipe.Set(ctx, k.IntentLocation(in.ID), w.Key(), 0)
	var dl *redis.IntCmd
	if partition != nil {
		dl = pipe.ZAdd(ctx, k.Deadlines(*partition), redis.Z{Score: float64(msCeil(in.ExpiresAt)), Member: deadlineMember(w, in.ID)})
	}
	_, _ = pipe.Exec(ctx) // errors are read per command below
	if isNoScript(create.Err()) {
		create = createScript.Run(ctx, s.rdb, keys, args...)
	}
	if err := create.Err(); err != nil {
		return fmt.Errorf("creating intent %s: %w", in.ID, err)
	}
	if err := loc.Err(); err != nil {
		return fmt.Errorf("writing location of intent %s: %w", in.ID, err)
	}
	if dl != nil {
		if err := dl.Err(); err != nil {
			return fmt.Errorf("adding deadline of intent %s: %w", in.ID, err)
		}
	}
	return nil
}

// createArgs returns the KEYS and ARGV of createScript for in, and in's wallet.
func (s *Store) createArgs(in *pipeline.Intent) ([]string, []any, pipeline.Wallet, error) {
	w, err := intentWallet(in)
	if err != nil {
		return nil, nil, w, err
	}
	body, err := marshal(in)
	if err != nil {
		return nil, nil, w, fmt.Errorf("%w: encoding intent %s: %w", ErrInvalid, in.ID, err)
	}
	k := s.keys
	keys := []string{k.Intent(w, in.ID), k.IntentsAll(w), k.IntentsByStatus(w, pipeline.StatusPending), k.OpenByAmount(w, in.Amount)}
	if ref := strings.TrimSpace(in.CustomerReference); ref != "" {
		keys = append(keys, k.ByReference(w, ref))
	}
	if err := sameSlot(keys); err != nil {
		return nil, nil, w, err
	}
	return keys, []any{in.ID, body, ms(in.CreatedAt), string(pipeline.StatusPending)}, w, nil
}

// GetIntent returns the record of intentID, found by id alone (Keys.IntentLocation, then the
// wallet-slot hash: two round trips). Errors: ErrNotFound when absent; Redis or decoding errors.
func (s *Store) GetIntent(ctx context.Context, intentID string) (*pipeline.IntentRecord, error) {
	wk, err := s.rdb.Get(ctx, s.keys.IntentLocation(intentID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading location of intent %s: %w", intentID, err)
	}
	w, err := pipeline.ParseWalletKey(wk)
	if err != nil {
		return nil, fmt.Errorf("reading location of intent %s: %q: %w", intentID, wk, err)
	}
	m, err := s.rdb.HGetAll(ctx, s.keys.Intent(w, intentID)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading intent %s: %w", intentID, err)
	}
	rec, err := parseRecord(m)
	if err != nil {
		return nil, fmt.Errorf("reading intent %s: %w", intentID, err)
	}
	return rec, nil
}

// parseRecord decodes an intent hash; an empty hash is ErrNotFound.
func parseRecord(m map[string]string) (*pipeline.IntentRecord, error) {
	raw, ok := m[fJSON]
	if !ok {
		return nil, ErrNotFound
	}
	rec := &pipeline.IntentRecord{
		Status:    pipeline.Status(m[fStatus]),
		TrxID:     m[fTrxID],
		MatchType: pipeline.MatchType(m[fMatchType]),
		Reason:    m[fReason],
	}
	if err := unmarshal([]byte(raw), &rec.Intent); err != nil {
		return nil, fmt.Errorf("decoding intent json: %w", err)
	}
	v, err := strconv.Atoi(m[fVersion])
	if err != nil {
		return nil, fmt.Errorf("decoding intent %s version %q: %w", rec.ID, m[fVersion], err)
	}
	rec.Version = v
	u, err := strconv.ParseInt(m[fUpdatedAt], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decoding intent %s updatedAt %q: %w", rec.ID, m[fUpdatedAt], err)
	}
	rec.UpdatedAt = time.UnixMilli(u).UTC()
	return rec, nil
}

// ListIntents lists the intents of wallets (one merchant's wallets of one environment), newest
// first (creation time, then id, descending), only those in status (or all when status is ""),
// skipping offset and returning at most limit, with the total count over all wallets. It blocks for
// two pipelined round trips; it reads offset+limit index entries per wallet, hence MaxListOffset.
// limit 0 returns only the total. Errors: ErrInvalid (wrapped) for a bad status, limit or offset.
func (s *Store) ListIntents(ctx context.Context, wallets []pipeline.Wallet, status pipeline.Status, offset, limit int) ([]*pipeline.IntentRecord, int, error) {
	if status != "" && !status.Valid() {
		return nil, 0, fmt.Errorf("%w: unknown status %q", ErrInvalid, status)
	}
	ws := uniqueWallets(wallets)
	idx := make([]string, len(ws))
	for i, w := range ws {
		if status == "" {
			idx[i] = s.keys.IntentsAll(w)
		} else {
			idx[i] = s.keys.IntentsByStatus(w, status)
		}
	}
	page, total, err := s.newestPage(ctx, idx, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("listing intents: %w", err)
	}
	if len(page) == 0 {
		return []*pipeline.IntentRecord{}, total, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(page))
	for i, e := range page {
		cmds[i] = pipe.HGetAll(ctx, s.keys.Intent(ws[e.src], e.member))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, fmt.Errorf("listing intents: reading records: %w", err)
	}
	out := make([]*pipeline.IntentRecord, 0, len(page))
	for i, c := range cmds {
		rec, err := parseRecord(c.Val())
		if errors.Is(err, ErrNotFound) {
			continue // indexed but gone: cannot happen through this package; skip rather than fail the page
		}
		if err != nil {
			return nil, 0, fmt.Errorf("listing intents: intent %s: %w", page[i].member, err)
		}
		out = append(out, rec)
	}
	return out, total, nil
}

func uniqueWallets(wallets []pipeline.Wallet) []pipeline.Wallet {
	seen := make(map[string]bool, len(wallets))
	out := make([]pipeline.Wallet, 0, len(wallets))
	for _, w := range wallets {
		if !seen[w.Key()] {
			seen[w.Key()] = true
			out = append(out, w)
		}
	}
	return out
}

// entry is one member of one of several sorted sets.
type entry struct {
	src    int // index of the sorted set
	member string
	score  float64
}

// newestPage merges sorted sets newest first (score desc, member desc, set index asc) and returns
// entries [offset, offset+limit) and the sum of their cardinalities, in one pipelined round trip.
func (s *Store) newestPage(ctx context.Context, zsets []string, offset, limit int) ([]entry, int, error) {
	if limit < 0 || limit > MaxListLimit || offset < 0 || offset > MaxListOffset {
		return nil, 0, fmt.Errorf("%w: need 0 <= limit <= %d and 0 <= offset <= %d, got limit %d offset %d",
			ErrInvalid, MaxListLimit, MaxListOffset, limit, offset)
	}
	if len(zsets) == 0 {
		return nil, 0, nil
	}
	n := offset + limit
	pipe := s.rdb.Pipeline()
	cards := make([]*redis.IntCmd, len(zsets))
	ranges := make([]*redis.ZSliceCmd, len(zsets))
	for i, z := range zsets {
		cards[i] = pipe.ZCard(ctx, z)
		if n > 0 {
			ranges[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: z, Start: 0, Stop: n - 1, Rev: true})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, err
	}
	total := 0
	var all []entry
	for i := range zsets {
		total += int(cards[i].Val())
		if ranges[i] == nil {
			continue
		}
		for _, z := range ranges[i].Val() {
			m, _ := z.Member.(string)
			all = append(all, entry{src: i, member: m, score: z.Score})
		}
	}
	sort.Slice(all, func(a, b int) bool {
		x, y := all[a], all[b]
		if x.score != y.score {
			return x.score > y.score
		}
		if x.member != y.member {
			return x.member > y.member
		}
		return x.src < y.src
	})
	if offset >= len(all) {
		return nil, total, nil
	}
	return all[offset:min(len(all), n)], total, nil
}
