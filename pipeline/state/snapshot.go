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
	// TrxID, if set: whether it was seen, the intent it paid (TrxPaidKey) and the claims waiting
	// for it (and the intents they name).
	TrxID string
	// LoadWhenSeen keeps loading when TrxID was seen (claims and operator decisions), and loads the
	// kept payment of the event that reported TrxID, if it is still kept. Without it a seen TrxID
	// returns right away (the payment is a duplicate whatever the rest says).
	LoadWhenSeen bool
	// Reference, if set, loads the intents whose customer reference equals it (case-insensitive) and
	// the intent whose id is the reference as given, lower-cased or upper-cased (ids are UUIDs).
	Reference string
	// Amount, if > 0, loads the newest PENDING intents of that amount created at or before
	// CreatedUpTo, at most MaxAmountCandidates (default DefaultMaxAmountCandidates).
	Amount              pipeline.Money
	CreatedUpTo         time.Time
	MaxAmountCandidates int
	// ExpiredSince, if set with Amount, also loads the EXPIRED intents of that amount whose deadline
	// is after it (ExpiredByAmountKey; at most MaxAmountCandidates, earliest deadline first): the
	// candidates of the late-payment grace.
	ExpiredSince time.Time
	// IntentIDs are loaded as well (the expiring, claimed or reviewed intent).
	IntentIDs []string
	// ClaimsOfIntent, if set, loads the TrxIDs claimed for that intent (IntentClaimsKey).
	ClaimsOfIntent string
	// CandidatesOf, if set, loads the review candidates of that intent and their kept payments.
	CandidatesOf string
	// PaymentEventIDs are kept payments to load (an operator's attach).
	PaymentEventIDs []string
	// TrxOfLoaded also loads, for the TrxIDs the loaded intents and kept payments carry, the intent
	// each paid (TrxPaid) and the kept payment of the event that reported it (Payments): up to two
	// more round trips.
	TrxOfLoaded bool
	// Balance loads the wallet's balance chain head.
	Balance bool
	// IntentsOfPayments also loads, after everything else, the intents the loaded kept payments
	// name (pipeline.PaymentRecord.IntentIDs) and the review candidates of each (IntentCandidates): one more
	// round trip, when a loaded payment names any. A decision that uses a kept payment needs them to
	// release the reviews it leaves without a candidate.
	IntentsOfPayments bool
}

// Snapshot is the state one decision is taken over.
type Snapshot struct {
	// Applied is non-nil when the event was applied already: its stored outcomes. Nothing else is
	// loaded then; re-emit these instead of deciding again.
	Applied []json.RawMessage
	// Version is the wallet's version (WalletVersionKey, 0 when none) when the snapshot was loaded:
	// set it as Change.IfVersion to make the decision a compare-and-set on everything it read.
	Version int64
	// TrxSeenBy is the event id that first reported the TrxID, "" if it was not seen. When set and
	// the query has no LoadWhenSeen, Intents and Payments are not loaded (the payment is a
	// duplicate whatever the intents say).
	TrxSeenBy string
	// Intents are the intents found, once each, oldest first (CreatedAt, then ID).
	Intents []*pipeline.IntentRecord
	// Claims are the claims waiting for the query's TrxID, oldest first.
	Claims []pipeline.ClaimRecord
	// IntentClaims are the TrxIDs claimed for ClaimsOfIntent.
	IntentClaims []string
	// Candidates are the event ids of CandidatesOf's review candidates, sorted.
	Candidates []string
	// Payments are the kept payments found (of TrxSeenBy, PaymentEventIDs and Candidates), once
	// each, sorted by event id.
	Payments []*pipeline.PaymentRecord
	// TrxPaid maps TrxIDs (pipeline.NormalizeTrxID) to the intent each paid, for the query's TrxID (and the
	// loaded intents' and payments' with TrxOfLoaded); a TrxID that paid nothing is absent.
	TrxPaid map[string]string
	// Balance is the wallet's balance chain head, nil when there is none (or it was not asked for).
	Balance *pipeline.BalanceHead
	// IntentCandidates maps the intents the kept payments name to their review candidates (event
	// ids, sorted; absent when none), with IntentsOfPayments.
	IntentCandidates map[string][]string

	// reads are the items the load read (see Footprint), except the wallet version and the balance
	// head.
	reads []string
}

// LoadSnapshot reads the state q describes in two or three pipelined round trips (markers and
// index lookups, then the intent and payment records, then TrxOfIntents). It is read-only; the
// snapshot may be stale by the time it is applied, which Apply's compare-and-sets detect (IfVersion
// covers everything read). Errors are Redis or decoding errors.
func (s *Store) LoadSnapshot(ctx context.Context, q *SnapshotQuery) (*Snapshot, error) {
	snaps, err := s.LoadSnapshots(ctx, []*SnapshotQuery{q})
	if err != nil {
		return nil, err
	}
	return snaps[0], nil
}

// LoadSnapshots is LoadSnapshot for many queries at once, in the same two pipelined round trips
// for all of them (plus the third of each TrxOfLoaded query): the matcher loads a whole polled batch
// this way. Each snapshot records what it read, so that Snapshot.Stale can tell whether a change
// applied after the load touched it. The snapshots are independent reads: one of them does not see
// the changes another one's decision will make.
func (s *Store) LoadSnapshots(ctx context.Context, qs []*SnapshotQuery) ([]*Snapshot, error) {
	loads := make([]*snapshotLoad, len(qs))
	pipe := s.rdb.Pipeline()
	for i, q := range qs {
		loads[i] = s.queueLookups(ctx, pipe, q)
	}
	_, _ = pipe.Exec(ctx) // Exec reports only the first error, and a missing key (redis.Nil) is fine: each load checks its commands
	pipe = s.rdb.Pipeline()
	records := false
	for _, l := range loads {
		if err := l.readLookups(); err != nil {
			return nil, err
		}
		if l.queueRecords(ctx, pipe) {
			records = true
		}
	}
	if records {
		_, _ = pipe.Exec(ctx) // read per command: a missing payment field is redis.Nil
	}
	snaps := make([]*Snapshot, len(loads))
	for i, l := range loads {
		if err := l.readRecords(); err != nil {
			return nil, err
		}
		if l.q.TrxOfLoaded && !l.done {
			if err := s.loadTrxOfLoaded(ctx, l.q, l.snap, l.paySeen); err != nil {
				return nil, fmt.Errorf("loading snapshot of event %s: %w", l.q.EventID, err)
			}
		}
		if l.q.IntentsOfPayments && !l.done {
			if err := s.loadIntentsOfPayments(ctx, l.q, l.snap); err != nil {
				return nil, fmt.Errorf("loading snapshot of event %s: %w", l.q.EventID, err)
			}
		}
		snaps[i] = l.snap
	}
	return snaps, nil
}

// snapshotLoad is one query's load in progress.
type snapshotLoad struct {
	s    *Store
	q    *SnapshotQuery
	snap *Snapshot
	done bool // snap is complete after the lookups

	cmds                                []redis.Cmder
	applied, version                    *redis.StringCmd
	trx, claims, paid, iclaims, balance *redis.StringCmd
	cands, refs, amt, expired           *redis.StringSliceCmd
	trxID, ref                          string
	ids, payIDs                         []string
	paySeen                             map[string]bool
	gets                                []*redis.MapStringStringCmd
	pays                                []*redis.StringCmd
}

// read records that the snapshot read key (a string, set or sorted set, or a whole hash).
func (sn *Snapshot) read(key string) { sn.reads = append(sn.reads, key) }

// readField records that the snapshot read one field of a hash.
func (sn *Snapshot) readField(key, field string) { sn.reads = append(sn.reads, hashField(key, field)) }

// queueLookups queues the first round trip of q's load on pipe.
func (s *Store) queueLookups(ctx context.Context, pipe redis.Pipeliner, q *SnapshotQuery) *snapshotLoad {
	k, w := s.keys, q.Wallet
	l := &snapshotLoad{s: s, q: q, snap: &Snapshot{}}
	get := func(key string) *redis.StringCmd {
		c := pipe.Get(ctx, key)
		l.cmds = append(l.cmds, c)
		l.snap.read(key)
		return c
	}
	l.applied = get(k.Applied(w, q.EventID))
	l.version = pipe.Get(ctx, WalletVersionKey(k, w)) // the version is compared by Apply, not read
	l.cmds = append(l.cmds, l.version)
	l.trxID = pipeline.NormalizeTrxID(q.TrxID)
	if l.trxID != "" {
		l.trx = get(k.Trx(w, l.trxID))
		l.claims = get(ClaimsKey(k, w, l.trxID))
		l.paid = pipe.HGet(ctx, TrxPaidKey(k, w), l.trxID)
		l.cmds = append(l.cmds, l.paid)
		l.snap.readField(TrxPaidKey(k, w), l.trxID)
	}
	if q.ClaimsOfIntent != "" {
		l.iclaims = get(IntentClaimsKey(k, w, q.ClaimsOfIntent))
	}
	if q.Balance {
		l.balance = pipe.Get(ctx, BalanceKey(k, w)) // the balance head is the caller's to carry (see Footprint)
		l.cmds = append(l.cmds, l.balance)
	}
	if q.CandidatesOf != "" {
		key := ReviewCandidatesKey(k, w, q.CandidatesOf)
		l.cands = pipe.SMembers(ctx, key)
		l.cmds = append(l.cmds, l.cands)
		l.snap.read(key)
	}
	l.ref = strings.TrimSpace(q.Reference)
	if l.ref != "" {
		key := k.ByReference(w, l.ref)
		l.refs = pipe.SMembers(ctx, key)
		l.cmds = append(l.cmds, l.refs)
		l.snap.read(key)
	}
	if q.Amount > 0 {
		n := q.MaxAmountCandidates
		if n <= 0 {
			n = DefaultMaxAmountCandidates
		}
		key := k.OpenByAmount(w, q.Amount)
		l.amt = pipe.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: key, ByScore: true, Rev: true,
			Start: strconv.FormatInt(ms(q.CreatedUpTo), 10), Stop: "-inf", Count: int64(n),
		})
		l.cmds = append(l.cmds, l.amt)
		l.snap.read(key)
		if !q.ExpiredSince.IsZero() {
			key := ExpiredByAmountKey(k, w, q.Amount)
			l.expired = pipe.ZRangeArgs(ctx, redis.ZRangeArgs{
				Key: key, ByScore: true, Start: "(" + strconv.FormatInt(ms(q.ExpiredSince), 10), Stop: "+inf", Count: int64(n),
			})
			l.cmds = append(l.cmds, l.expired)
			l.snap.read(key)
		}
	}
	return l
}

// readLookups decodes the first round trip; it sets done when nothing more is to be read.
func (l *snapshotLoad) readLookups() error {
	q, snap := l.q, l.snap
	for _, c := range l.cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("loading snapshot of event %s: %w", q.EventID, err)
		}
	}
	if v, err := l.applied.Result(); err == nil {
		if err := unmarshal([]byte(v), &snap.Applied); err != nil {
			return fmt.Errorf("loading snapshot of event %s: decoding stored outcomes: %w", q.EventID, err)
		}
		if snap.Applied == nil {
			snap.Applied = []json.RawMessage{}
		}
		l.done = true
		return nil
	}
	if v := l.version.Val(); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("loading snapshot of event %s: wallet version %q: %w", q.EventID, v, err)
		}
		snap.Version = n
	}
	if err := decodeOptional(l.claims, &snap.Claims); err != nil {
		return fmt.Errorf("loading snapshot of event %s: claims of %s: %w", q.EventID, l.trxID, err)
	}
	if err := decodeOptional(l.iclaims, &snap.IntentClaims); err != nil {
		return fmt.Errorf("loading snapshot of event %s: claims of intent %s: %w", q.EventID, q.ClaimsOfIntent, err)
	}
	if l.balance != nil && l.balance.Val() != "" {
		snap.Balance = &pipeline.BalanceHead{}
		if err := unmarshal([]byte(l.balance.Val()), snap.Balance); err != nil {
			return fmt.Errorf("loading snapshot of event %s: balance head: %w", q.EventID, err)
		}
	}
	if l.paid != nil && l.paid.Val() != "" {
		snap.TrxPaid = map[string]string{l.trxID: l.paid.Val()}
	}
	if l.cands != nil {
		snap.Candidates = l.cands.Val()
		slices.Sort(snap.Candidates)
	}
	if l.trx != nil {
		snap.TrxSeenBy = l.trx.Val()
		if snap.TrxSeenBy != "" && !q.LoadWhenSeen {
			l.done = true
			return nil
		}
	}

	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			l.ids = append(l.ids, id)
		}
	}
	for _, id := range q.IntentIDs {
		add(id)
	}
	for _, c := range snap.Claims {
		add(c.IntentID)
	}
	if l.ref != "" {
		add(l.ref) // the reference may be an intent id, in any case
		add(strings.ToLower(l.ref))
		add(strings.ToUpper(l.ref))
		for _, id := range l.refs.Val() {
			add(id)
		}
	}
	if l.amt != nil {
		for _, id := range l.amt.Val() {
			add(id)
		}
	}
	if l.expired != nil {
		for _, id := range l.expired.Val() {
			add(id)
		}
	}
	l.paySeen = map[string]bool{}
	addPay := func(id string) {
		if id != "" && !l.paySeen[id] {
			l.paySeen[id] = true
			l.payIDs = append(l.payIDs, id)
		}
	}
	if q.LoadWhenSeen {
		addPay(snap.TrxSeenBy)
	}
	for _, id := range q.PaymentEventIDs {
		addPay(id)
	}
	for _, id := range snap.Candidates {
		addPay(id)
	}
	if len(l.ids) == 0 && len(l.payIDs) == 0 {
		l.done = true
	}
	return nil
}

// queueRecords queues the second round trip (intent and kept payment records), if one is needed.
func (l *snapshotLoad) queueRecords(ctx context.Context, pipe redis.Pipeliner) bool {
	if l.done {
		return false
	}
	k, w := l.s.keys, l.q.Wallet
	l.gets = make([]*redis.MapStringStringCmd, len(l.ids))
	for i, id := range l.ids {
		key := k.Intent(w, id)
		l.gets[i] = pipe.HGetAll(ctx, key)
		l.snap.read(hashField(key, "*"))
	}
	l.pays = make([]*redis.StringCmd, len(l.payIDs))
	for i, id := range l.payIDs {
		l.pays[i] = pipe.HGet(ctx, PaymentRecordsKey(k, w), id)
		l.snap.readField(PaymentRecordsKey(k, w), id)
	}
	return true
}

// readRecords decodes the second round trip.
func (l *snapshotLoad) readRecords() error {
	if l.done {
		return nil
	}
	q, snap := l.q, l.snap
	for i, c := range l.gets {
		if err := c.Err(); err != nil {
			return fmt.Errorf("loading snapshot of event %s: reading intents: %w", q.EventID, err)
		}
		rec, err := parseRecord(c.Val())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("loading snapshot of event %s: intent %s: %w", q.EventID, l.ids[i], err)
		}
		snap.Intents = append(snap.Intents, rec)
	}
	pipeline.SortIntents(snap.Intents)
	for i, c := range l.pays {
		v, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return fmt.Errorf("loading snapshot of event %s: reading kept payments: %w", q.EventID, err)
		}
		var r pipeline.PaymentRecord
		if err := unmarshal([]byte(v), &r); err != nil {
			return fmt.Errorf("loading snapshot of event %s: kept payment %s: %w", q.EventID, l.payIDs[i], err)
		}
		if r.EventID == "" {
			r.EventID = l.payIDs[i]
		}
		snap.Payments = append(snap.Payments, &r)
	}
	slices.SortFunc(snap.Payments, func(a, b *pipeline.PaymentRecord) int { return strings.Compare(a.EventID, b.EventID) })
	return nil
}

// loadTrxOfLoaded completes snap for q.TrxOfLoaded; loaded holds the event ids of the payments
// looked up already.
func (s *Store) loadTrxOfLoaded(ctx context.Context, q *SnapshotQuery, snap *Snapshot, loaded map[string]bool) error {
	k, w := s.keys, q.Wallet
	var trxs []string
	addTrx := func(t string) {
		if t = pipeline.NormalizeTrxID(t); t != "" && t != pipeline.NormalizeTrxID(q.TrxID) && !slices.Contains(trxs, t) {
			trxs = append(trxs, t)
		}
	}
	for _, r := range snap.Intents {
		addTrx(r.TrxID)
	}
	for _, p := range snap.Payments {
		addTrx(p.Payment.TrxID)
	}
	if len(trxs) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	paid := pipe.HMGet(ctx, TrxPaidKey(k, w), trxs...)
	marks := make([]*redis.StringCmd, len(trxs))
	for i, t := range trxs {
		marks[i] = pipe.Get(ctx, k.Trx(w, t))
		snap.readField(TrxPaidKey(k, w), t)
		snap.read(k.Trx(w, t))
	}
	_, _ = pipe.Exec(ctx) // read per command: a missing mark is redis.Nil
	if err := paid.Err(); err != nil {
		return fmt.Errorf("reading paid TrxIDs: %w", err)
	}
	for i, v := range paid.Val() {
		if id, _ := v.(string); id != "" {
			if snap.TrxPaid == nil {
				snap.TrxPaid = map[string]string{}
			}
			snap.TrxPaid[trxs[i]] = id
		}
	}
	var events []string
	for _, c := range marks {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("reading TrxID marks: %w", err)
		}
		if ev := c.Val(); ev != "" && !loaded[ev] && !slices.Contains(events, ev) {
			events = append(events, ev)
		}
	}
	if len(events) == 0 {
		return nil
	}
	for _, ev := range events {
		snap.readField(PaymentRecordsKey(k, w), ev)
	}
	vals, err := s.rdb.HMGet(ctx, PaymentRecordsKey(k, w), events...).Result()
	if err != nil {
		return fmt.Errorf("reading kept payments: %w", err)
	}
	for i, v := range vals {
		raw, _ := v.(string)
		if raw == "" {
			continue
		}
		var r pipeline.PaymentRecord
		if err := unmarshal([]byte(raw), &r); err != nil {
			return fmt.Errorf("decoding kept payment %s: %w", events[i], err)
		}
		if r.EventID == "" {
			r.EventID = events[i]
		}
		snap.Payments = append(snap.Payments, &r)
	}
	slices.SortFunc(snap.Payments, func(a, b *pipeline.PaymentRecord) int { return strings.Compare(a.EventID, b.EventID) })
	return nil
}

// loadIntentsOfPayments completes snap for q.IntentsOfPayments in one round trip: the records of
// the intents the kept payments name that are not loaded yet, and the review candidates of all of
// them.
func (s *Store) loadIntentsOfPayments(ctx context.Context, q *SnapshotQuery, snap *Snapshot) error {
	k, w := s.keys, q.Wallet
	loaded := map[string]bool{}
	for _, r := range snap.Intents {
		loaded[r.ID] = true
	}
	var ids []string
	for _, p := range snap.Payments {
		for _, id := range p.IntentIDs {
			if id != "" && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	pipe := s.rdb.Pipeline()
	cands := make([]*redis.StringSliceCmd, len(ids))
	gets := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		key := ReviewCandidatesKey(k, w, id)
		cands[i] = pipe.SMembers(ctx, key)
		snap.read(key)
		if !loaded[id] {
			key := k.Intent(w, id)
			gets[i] = pipe.HGetAll(ctx, key)
			snap.read(hashField(key, "*"))
		}
	}
	_, _ = pipe.Exec(ctx) // read per command
	for i, id := range ids {
		if err := cands[i].Err(); err != nil {
			return fmt.Errorf("reading review candidates of intent %s: %w", id, err)
		}
		if c := cands[i].Val(); len(c) > 0 {
			slices.Sort(c)
			if snap.IntentCandidates == nil {
				snap.IntentCandidates = map[string][]string{}
			}
			snap.IntentCandidates[id] = c
		}
		if gets[i] == nil {
			continue
		}
		if err := gets[i].Err(); err != nil {
			return fmt.Errorf("reading intent %s: %w", id, err)
		}
		rec, err := parseRecord(gets[i].Val())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("intent %s: %w", id, err)
		}
		snap.Intents = append(snap.Intents, rec)
	}
	pipeline.SortIntents(snap.Intents)
	return nil
}

// decodeOptional decodes the JSON value of c into v, leaving v alone when c is nil or the key is missing.
func decodeOptional(c *redis.StringCmd, v any) error {
	if c == nil || c.Val() == "" {
		return nil
	}
	return unmarshal([]byte(c.Val()), v)
}
