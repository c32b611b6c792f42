package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// Lifetimes of the matcher's keys that are policy, not protocol (the fixed ones are AppliedTTL,
// ClaimTTL, ExpiredHorizon). DESIGN.md "Redis layout" gives every key's lifetime.
type Lifetimes struct {
	// FinalIntentRetention is how long a settled intent (PAID, REJECTED, FAILED or EXPIRED: one
	// the matcher waits on nothing for) stays in Redis after its last change: its hash, its index
	// entries (idx:all, idx:<STATUS>, ref, expired:amt), its TrxID -> intent link (trxpaid) and
	// Keys.IntentLocation. Afterwards GetIntent answers ErrNotFound and a late event naming it is
	// decided as for an unknown intent. Default DefaultFinalIntentRetention; at least
	// MinFinalIntentRetention (the late-payment grace must find EXPIRED intents).
	FinalIntentRetention time.Duration
	// TrxWindow is how long a TrxID stays marked seen (Keys.Trx) after the payment carrying it was
	// decided, plus TrxMarkSlack: the TrxID dedupe window. A payment whose own time is older than
	// TrxWindow is never paid automatically (the matcher sends it to review,
	// pipeline.ReasonBeyondDedupeWindow), so a TrxID reported again after its mark left Redis
	// cannot pay twice. Default DefaultTrxWindow.
	TrxWindow time.Duration
	// AppliedRetention is how long an applied marker says its event was applied (default
	// AppliedTTL): a replay older than this is decided again. Its outcomes are dropped from it as
	// soon as Kafka acknowledged them (CompactApplied).
	AppliedRetention time.Duration
}

// Defaults and bounds of Lifetimes.
const (
	// DefaultFinalIntentRetention is 180 days because the merchant and bdQuickPay APIs answer for an
	// intent from Redis only (GetIntent), and merchants must be able to ask for at least that long.
	// A shorter retention keeps Redis smaller but makes older intents answer 404, until those APIs
	// fall back to the ClickHouse history.
	DefaultFinalIntentRetention = 180 * 24 * time.Hour
	// MinFinalIntentRetention is the shortest retention a deployment may configure (Check): the
	// late-payment grace and ExpiredByAmountKey must find EXPIRED intents.
	MinFinalIntentRetention = 2 * ExpiredHorizon
	DefaultTrxWindow        = 7 * 24 * time.Hour
	// MinTrxWindow is the shortest TrxID dedupe window a deployment may configure (Check).
	MinTrxWindow = 24 * time.Hour
	// TrxMarkSlack is added to a TrxID mark's TTL over TrxWindow (a tenth of the window when that
	// is less), so that clocks of matchers and Redis a little apart never let a mark expire before
	// the matcher's window check takes over.
	TrxMarkSlack = time.Hour
)

// withDefaults fills zero fields and checks that every lifetime is at least a second.
func (l Lifetimes) withDefaults() (Lifetimes, error) {
	if l.FinalIntentRetention == 0 {
		l.FinalIntentRetention = DefaultFinalIntentRetention
	}
	if l.TrxWindow == 0 {
		l.TrxWindow = DefaultTrxWindow
	}
	if l.AppliedRetention == 0 {
		l.AppliedRetention = AppliedTTL
	}
	if l.FinalIntentRetention < time.Second || l.TrxWindow < time.Second || l.AppliedRetention < time.Second {
		return l, fmt.Errorf("%w: lifetimes must be at least 1s: %+v", ErrInvalid, l)
	}
	return l, nil
}

// Check reports lifetimes a deployment must not run with (zero fields are the defaults): a final
// intent retention under MinFinalIntentRetention, or a TrxID window under MinTrxWindow. Tests use shorter ones through WithLifetimes directly. Errors: ErrInvalid, wrapped, naming the
// bound.
func (l Lifetimes) Check() error {
	l, err := l.withDefaults()
	switch {
	case err != nil:
		return err
	case l.FinalIntentRetention < MinFinalIntentRetention:
		return fmt.Errorf("%w: final intent retention %s is shorter than %s (EXPIRED intents must outlive the late-payment grace)", ErrInvalid, l.FinalIntentRetention, MinFinalIntentRetention)
	case l.TrxWindow < MinTrxWindow:
		return fmt.Errorf("%w: TrxID dedupe window %s is shorter than %s", ErrInvalid, l.TrxWindow, MinTrxWindow)
	}
	return nil
}

// trxMarkTTL is the TTL of a TrxID mark: the window plus its slack.
func (l Lifetimes) trxMarkTTL() time.Duration { return l.TrxWindow + min(TrxMarkSlack, l.TrxWindow/10) }

// WithLifetimes returns a store like s (same client and keys) that keeps keys as l says (zero
// fields: the defaults). Errors: ErrInvalid (wrapped) for a retention or window out of bounds.
func (s *Store) WithLifetimes(l Lifetimes) (*Store, error) {
	l, err := l.withDefaults()
	if err != nil {
		return nil, err
	}
	c := *s
	c.life = l
	return &c, nil
}

// Lifetimes returns the lifetimes the store applies.
func (s *Store) Lifetimes() Lifetimes { return s.life }

// Settled reports whether an intent in status st waits on nothing: it leaves Redis
// FinalIntentRetention after its last change (an EXPIRED intent may still be paid by the
// late-payment grace or an operator's attach within that time).
func Settled(st pipeline.Status) bool { return st.Final() || st == pipeline.StatusExpired }

// RetireKey is the sorted set of the settled intents of one inbound partition, "<wallet
// key>|<intent id>" by the time (ms) they may leave Redis. It shares the deadlines' hash tag.
func RetireKey(k pipeline.Keys, partition int32) string {
	return strings.TrimSuffix(k.Deadlines(partition), ":deadlines") + ":retire"
}

// Followups are the writes a decided event needs outside its wallet's slot, on its partition's
// {exp:<p>} keys: deadlines of intents that left PENDING are removed, those of intents back in
// PENDING added again, settled intents scheduled to leave Redis. The matcher runs them after the
// decision is applied and before its outcomes are produced (so a replay after a crash, finding the
// applied marker, runs them again from the stored outcomes: every followup is idempotent). Build
// with NewFollowups; add in decision order (a later followup of one intent wins). Not safe for
// concurrent use.
type Followups struct {
	s         *Store
	partition int32
	ops       []followup
}

type followup struct {
	op     byte // 'a' add deadline, 'r' remove deadline, 's' schedule retirement
	member string
	score  float64
}

// NewFollowups returns empty followups of partition.
func (s *Store) NewFollowups(partition int32) *Followups {
	return &Followups{s: s, partition: partition}
}

// Len is the number of followups queued.
func (f *Followups) Len() int { return len(f.ops) }

// Transitions queues the followups of transitions applied on wallet w at their At.
func (f *Followups) Transitions(w pipeline.Wallet, ts []pipeline.Transition) {
	for _, t := range ts {
		f.transition(w, t.IntentID, t.From, t.To, t.ExpiresAt, t.At)
	}
}

// Outcomes queues the followups of the intent outcomes among out (stored outcomes of an event
// applied before). Outcomes it cannot decode are skipped (Apply stored them; they decode).
func (f *Followups) Outcomes(out []pipeline.Outcome) {
	for i := range out {
		o := &out[i]
		if o.Type != pipeline.OutcomeIntentStatus || o.Intent == nil {
			continue
		}
		f.transition(o.Wallet, o.Intent.ID, o.PreviousStatus, o.Status, o.Intent.ExpiresAt, o.DecidedAt)
	}
}

func (f *Followups) transition(w pipeline.Wallet, id string, from, to pipeline.Status, expiresAt, at time.Time) {
	m := deadlineMember(w, id)
	switch {
	case to == pipeline.StatusPending:
		f.ops = append(f.ops, followup{op: 'a', member: m, score: float64(msCeil(expiresAt))})
	case from == pipeline.StatusPending:
		f.ops = append(f.ops, followup{op: 'r', member: m})
	}
	if Settled(to) {
		f.ops = append(f.ops, followup{op: 's', member: m, score: float64(msCeil(at.Add(f.s.life.FinalIntentRetention)))})
	}
}

// Deadlines queues ds to be added again (Store.AddDeadlines).
func (f *Followups) Deadlines(ds []Deadline) {
	for _, d := range ds {
		f.ops = append(f.ops, followup{op: 'a', member: deadlineMember(d.Wallet, d.IntentID), score: float64(msCeil(d.At))})
	}
}

// RemoveDeadlines queues ds (as returned by DueDeadlines) to be removed.
func (f *Followups) RemoveDeadlines(ds []Deadline) {
	for _, d := range ds {
		m := d.member
		if m == "" {
			m = deadlineMember(d.Wallet, d.IntentID)
		}
		f.ops = append(f.ops, followup{op: 'r', member: m})
	}
}

// Exec runs the followups in order in one pipelined round trip (none when empty). Errors: Redis
// errors, wrapped; the call may be repeated.
func (f *Followups) Exec(ctx context.Context) error { return f.s.ExecFollowups(ctx, f) }

// ExecFollowups runs the followups of several partitions (each fs[i] in order) in one pipelined
// round trip (none when all are empty); each is emptied once it ran. The followups must be of s.
// Errors: Redis errors, wrapped; the call may be repeated.
func (s *Store) ExecFollowups(ctx context.Context, fs ...*Followups) error {
	pipe := s.rdb.Pipeline()
	var parts []int32
	for _, f := range fs {
		if len(f.ops) == 0 {
			continue
		}
		parts = append(parts, f.partition)
		dl, rt := s.keys.Deadlines(f.partition), RetireKey(s.keys, f.partition)
		for _, o := range f.ops {
			switch o.op {
			case 'a':
				pipe.ZAdd(ctx, dl, redis.Z{Score: o.score, Member: o.member})
			case 'r':
				pipe.ZRem(ctx, dl, o.member)
			case 's':
				pipe.ZAdd(ctx, rt, redis.Z{Score: o.score, Member: o.member})
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("updating deadlines and retirements of partitions %v: %w", parts, err)
	}
	for _, f := range fs {
		f.ops = f.ops[:0]
	}
	return nil
}

// AppliedRef names one applied marker (Keys.Applied).
type AppliedRef struct {
	Wallet  pipeline.Wallet
	EventID string
}

// compactMarker is what an applied marker holds once its outcomes were produced: no outcome to
// emit again (they are in Kafka), and nothing for a replay to redo (its followups ran before).
const compactMarker = "[]"

// CompactApplied replaces the stored outcomes of the applied markers refs by an empty list,
// keeping each marker's TTL: call it only once Kafka acknowledged those outcomes. A replay of such
// an event still finds it applied (nothing is decided twice) and emits nothing. One pipelined round
// trip (none for no refs); a marker gone already is left gone (SET XX). Errors: Redis errors,
// wrapped; the call may be repeated.
func (s *Store) CompactApplied(ctx context.Context, refs []AppliedRef) error {
	if len(refs) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for _, r := range refs {
		pipe.SetArgs(ctx, s.keys.Applied(r.Wallet, r.EventID), compactMarker, redis.SetArgs{Mode: "XX", KeepTTL: true})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("compacting %d applied markers: %w", len(refs), err)
	}
	return nil
}

// retireScript deletes one settled intent and its wallet-slot links, if it is still in the status
// and version the caller read.
//
//	KEYS: 1 intent hash, 2 idx:all, 3 idx:<status>, 4 expired:amt, 5 review candidates,
//	      6 intent claims, 7 trxpaid, 8 wallet version, [9 ref set]
//	ARGV: 1 intent id, 2 status, 3 version, 4 TRXID ('' for none)
//
// Returns 1 when deleted, 0 when the intent changed (nothing written).
var retireScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'status', 'version')
if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[5], KEYS[6])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if ARGV[4] ~= '' and redis.call('HGET', KEYS[7], ARGV[4]) == ARGV[1] then
  redis.call('HDEL', KEYS[7], ARGV[4])
end
if #KEYS >= 9 then
  redis.call('SREM', KEYS[9], ARGV[1])
end
redis.call('INCR', KEYS[8])
return 1
`)

// RetireDue deletes up to limit (default 500 when <= 0) settled intents of partition whose
// retirement (RetireKey) is due at now: each intent's hash, index entries, reference entry, TrxID
// -> intent link and location, in one Lua script per intent on its wallet's slot that first checks
// the intent is still in the status and version read (a decision in between wins). An intent
// changed since it was scheduled (an EXPIRED one paid late) is scheduled again from its last
// change; one no longer settled (or gone) is unscheduled (its next settling schedules it). Deleting
// an intent bumps its wallet's version, so a decision loaded before conflicts and is taken again.
// It returns how many intents it deleted; three pipelined round trips at most. Errors: Redis
// errors, wrapped; the call may be repeated.
func (s *Store) RetireDue(ctx context.Context, partition int32, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 500
	}
	rk := RetireKey(s.keys, partition)
	due, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: rk, ByScore: true, Start: "-inf", Stop: strconv.FormatInt(ms(now), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return 0, fmt.Errorf("reading due retirements of partition %d: %w", partition, err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	type item struct {
		member string
		w      pipeline.Wallet
		id     string
		get    *redis.SliceCmd
	}
	items := make([]item, 0, len(due))
	pipe := s.rdb.Pipeline()
	for _, m := range due {
		it := item{member: m}
		wk, id, ok := strings.Cut(m, "|")
		w, err := pipeline.ParseWalletKey(wk)
		if ok && id != "" && err == nil {
			it.w, it.id = w, id
			it.get = pipe.HMGet(ctx, s.keys.Intent(w, id), fJSON, fStatus, fVersion, fUpdatedAt, fTrxID)
		}
		items = append(items, it)
	}
	_, _ = pipe.Exec(ctx) // read per command
	var unschedule []any
	var reschedule []redis.Z
	type run struct {
		it   item
		keys []string
		args []any
		cmd  *redis.Cmd
	}
	var runs []run
	pipe = s.rdb.Pipeline()
	for _, it := range items {
		if it.get == nil {
			unschedule = append(unschedule, it.member) // malformed: never written by this package
			continue
		}
		vals, err := it.get.Result()
		if err != nil {
			return 0, fmt.Errorf("reading intent %s to retire: %w", it.id, err)
		}
		str := func(i int) string { v, _ := vals[i].(string); return v }
		status := pipeline.Status(str(1))
		if str(0) == "" || !Settled(status) {
			unschedule = append(unschedule, it.member)
			continue
		}
		if u, err := strconv.ParseInt(str(3), 10, 64); err == nil {
			if at := time.UnixMilli(u).Add(s.life.FinalIntentRetention); at.After(now) {
				reschedule = append(reschedule, redis.Z{Score: float64(msCeil(at)), Member: it.member})
				continue
			}
		}
		var in pipeline.Intent
		if err := unmarshal([]byte(str(0)), &in); err != nil {
			return 0, fmt.Errorf("decoding intent %s to retire: %w", it.id, err)
		}
		k, w := s.keys, it.w
		keys := []string{k.Intent(w, it.id), k.IntentsAll(w), k.IntentsByStatus(w, status), ExpiredByAmountKey(k, w, in.Amount),
			ReviewCandidatesKey(k, w, it.id), IntentClaimsKey(k, w, it.id), TrxPaidKey(k, w), WalletVersionKey(k, w)}
		if ref := strings.TrimSpace(in.CustomerReference); ref != "" {
			keys = append(keys, k.ByReference(w, ref))
		}
		args := []any{it.id, string(status), str(2), pipeline.NormalizeTrxID(str(4))}
		runs = append(runs, run{it: it, keys: keys, args: args, cmd: retireScript.EvalSha(ctx, pipe, keys, args...)})
	}
	if len(runs) > 0 {
		_, _ = pipe.Exec(ctx) // read per command
	}
	pipe = s.rdb.Pipeline()
	deleted := 0
	for _, r := range runs {
		res, err := r.cmd.Int()
		if isNoScript(err) {
			res, err = s.runScript(ctx, retireScript, r.keys, r.args...).Int()
		}
		if err != nil {
			return deleted, fmt.Errorf("retiring intent %s: %w", r.it.id, err)
		}
		if res == 1 {
			deleted++
			pipe.Del(ctx, s.keys.IntentLocation(r.it.id))
		}
		// changed since read: unscheduled here, scheduled again when it settles again (or,
		// still settled, by the reschedule of a later RetireDue: see below)
		unschedule = append(unschedule, r.it.member)
	}
	if len(unschedule) > 0 {
		pipe.ZRem(ctx, rk, unschedule...)
	}
	if len(reschedule) > 0 {
		pipe.ZAdd(ctx, rk, reschedule...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return deleted, fmt.Errorf("updating retirements of partition %d: %w", partition, err)
	}
	return deleted, nil
}
