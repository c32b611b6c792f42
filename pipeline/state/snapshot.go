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
	Intents []*IntentRecord
	// Claims are the claims waiting for the query's TrxID, oldest first.
	Claims []ClaimRecord
	// IntentClaims are the TrxIDs claimed for ClaimsOfIntent.
	IntentClaims []string
	// Candidates are the event ids of CandidatesOf's review candidates, sorted.
	Candidates []string
	// Payments are the kept payments found (of TrxSeenBy, PaymentEventIDs and Candidates), once
	// each, sorted by event id.
	Payments []*PaymentRecord
	// TrxPaid maps TrxIDs (NormalizeTrxID) to the intent each paid, for the query's TrxID (and the
	// loaded intents' and payments' with TrxOfLoaded); a TrxID that paid nothing is absent.
	TrxPaid map[string]string
	// Balance is the wallet's balance chain head, nil when there is none (or it was not asked for).
	Balance *BalanceHead
}

// LoadSnapshot reads the state q describes in two or three pipelined round trips (markers and
// index lookups, then the intent and payment records, then TrxOfIntents). It is read-only; the
// snapshot may be stale by the time it is applied, which Apply's compare-and-sets detect (IfVersion
// covers everything read). Errors are Redis or decoding errors.
func (s *Store) LoadSnapshot(ctx context.Context, q *SnapshotQuery) (*Snapshot, error) {
	k, w := s.keys, q.Wallet
	pipe := s.rdb.Pipeline()
	applied := pipe.Get(ctx, k.Applied(w, q.EventID))
	version := pipe.Get(ctx, WalletVersionKey(k, w))
	cmds := []redis.Cmder{applied, version}
	get := func(key string) *redis.StringCmd {
		c := pipe.Get(ctx, key)
		cmds = append(cmds, c)
		return c
	}
	var trx, claims, paid, iclaims, balance *redis.StringCmd
	trxID := NormalizeTrxID(q.TrxID)
	if trxID != "" {
		trx = get(k.Trx(w, trxID))
		claims = get(ClaimsKey(k, w, trxID))
		paid = pipe.HGet(ctx, TrxPaidKey(k, w), trxID)
		cmds = append(cmds, paid)
	}
	if q.ClaimsOfIntent != "" {
		iclaims = get(IntentClaimsKey(k, w, q.ClaimsOfIntent))
	}
	if q.Balance {
		balance = get(BalanceKey(k, w))
	}
	var cands *redis.StringSliceCmd
	if q.CandidatesOf != "" {
		cands = pipe.SMembers(ctx, ReviewCandidatesKey(k, w, q.CandidatesOf))
		cmds = append(cmds, cands)
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
	if v := version.Val(); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("loading snapshot of event %s: wallet version %q: %w", q.EventID, v, err)
		}
		snap.Version = n
	}
	if err := decodeOptional(claims, &snap.Claims); err != nil {
		return nil, fmt.Errorf("loading snapshot of event %s: claims of %s: %w", q.EventID, trxID, err)
	}
	if err := decodeOptional(iclaims, &snap.IntentClaims); err != nil {
		return nil, fmt.Errorf("loading snapshot of event %s: claims of intent %s: %w", q.EventID, q.ClaimsOfIntent, err)
	}
	if balance != nil && balance.Val() != "" {
		snap.Balance = &BalanceHead{}
		if err := json.Unmarshal([]byte(balance.Val()), snap.Balance); err != nil {
			return nil, fmt.Errorf("loading snapshot of event %s: balance head: %w", q.EventID, err)
		}
	}
	if paid != nil && paid.Val() != "" {
		snap.TrxPaid = map[string]string{trxID: paid.Val()}
	}
	if cands != nil {
		snap.Candidates = cands.Val()
		slices.Sort(snap.Candidates)
	}
	if trx != nil {
		snap.TrxSeenBy = trx.Val()
		if snap.TrxSeenBy != "" && !q.LoadWhenSeen {
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
	for _, c := range snap.Claims {
		add(c.IntentID)
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
	var payIDs []string
	paySeen := map[string]bool{}
	addPay := func(id string) {
		if id != "" && !paySeen[id] {
			paySeen[id] = true
			payIDs = append(payIDs, id)
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
	if len(ids) == 0 && len(payIDs) == 0 {
		return snap, nil
	}
	pipe = s.rdb.Pipeline()
	gets := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		gets[i] = pipe.HGetAll(ctx, k.Intent(w, id))
	}
	pays := make([]*redis.StringCmd, len(payIDs))
	for i, id := range payIDs {
		pays[i] = pipe.HGet(ctx, PaymentRecordsKey(k, w), id)
	}
	_, _ = pipe.Exec(ctx) // read per command: a missing payment field is redis.Nil
	for i, c := range gets {
		if err := c.Err(); err != nil {
			return nil, fmt.Errorf("loading snapshot of event %s: reading intents: %w", q.EventID, err)
		}
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
	for i, c := range pays {
		v, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("loading snapshot of event %s: reading kept payments: %w", q.EventID, err)
		}
		var r PaymentRecord
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("loading snapshot of event %s: kept payment %s: %w", q.EventID, payIDs[i], err)
		}
		if r.EventID == "" {
			r.EventID = payIDs[i]
		}
		snap.Payments = append(snap.Payments, &r)
	}
	slices.SortFunc(snap.Payments, func(a, b *PaymentRecord) int { return strings.Compare(a.EventID, b.EventID) })

	if q.TrxOfLoaded {
		if err := s.loadTrxOfLoaded(ctx, q, snap, paySeen); err != nil {
			return nil, fmt.Errorf("loading snapshot of event %s: %w", q.EventID, err)
		}
	}
	return snap, nil
}

// loadTrxOfLoaded completes snap for q.TrxOfLoaded; loaded holds the event ids of the payments
// looked up already.
func (s *Store) loadTrxOfLoaded(ctx context.Context, q *SnapshotQuery, snap *Snapshot, loaded map[string]bool) error {
	k, w := s.keys, q.Wallet
	var trxs []string
	addTrx := func(t string) {
		if t = NormalizeTrxID(t); t != "" && t != NormalizeTrxID(q.TrxID) && !slices.Contains(trxs, t) {
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
	vals, err := s.rdb.HMGet(ctx, PaymentRecordsKey(k, w), events...).Result()
	if err != nil {
		return fmt.Errorf("reading kept payments: %w", err)
	}
	for i, v := range vals {
		raw, _ := v.(string)
		if raw == "" {
			continue
		}
		var r PaymentRecord
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return fmt.Errorf("decoding kept payment %s: %w", events[i], err)
		}
		if r.EventID == "" {
			r.EventID = events[i]
		}
		snap.Payments = append(snap.Payments, &r)
	}
	slices.SortFunc(snap.Payments, func(a, b *PaymentRecord) int { return strings.Compare(a.EventID, b.EventID) })
	return nil
}

// decodeOptional decodes the JSON value of c into v, leaving v alone when c is nil or the key is missing.
func decodeOptional(c *redis.StringCmd, v any) error {
	if c == nil || c.Val() == "" {
		return nil
	}
	return json.Unmarshal([]byte(c.Val()), v)
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
