package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// Batch queues intent creations and decided changes for one pipelined round trip, in order, and
// tracks what they write, so that a caller deciding a run of events over snapshots loaded together
// (LoadSnapshots) can tell which snapshot a change queued before it made stale. Build with
// Store.NewBatch; not safe for concurrent use.
//
// Changes of one wallet in a batch must form a version chain (Change.IfVersion of each = the
// NewVersion of the one before): Redis runs the batch's scripts in order, each atomically, and a
// change whose predecessor conflicted conflicts too.
type Batch struct {
	s      *Store
	ops    []batchOp
	writes map[string]struct{}
}

type batchOp struct {
	eventID   string // an apply: the change's event id
	items     []json.RawMessage
	intentID  string // a create: the intent's id
	keys      []string
	args      []any
	location  string // a create: Keys.IntentLocation and its wallet key
	wallet    string
	deadline  string // a create: Keys.Deadlines of the partition, or "" for none
	dlScore   float64
	dlMember  string
	script    *redis.Script
	cmd       *redis.Cmd
	extraCmds []redis.Cmder
}

// BatchResult is the result of one queued operation, in the order of queueing. For a change it is
// what Apply returns (Err may be a *ConflictError); for a creation Outcomes is nil and Err a Redis
// error.
type BatchResult struct {
	Outcomes []json.RawMessage
	Replayed bool
	Err      error
}

// NewBatch returns an empty batch.
func (s *Store) NewBatch() *Batch { return &Batch{s: s, writes: map[string]struct{}{}} }

// Len is the number of operations queued.
func (b *Batch) Len() int { return len(b.ops) }

// Create queues CreateIntentWithDeadline(in, partition). Errors: ErrInvalid (wrapped) for an
// intent that cannot be stored; nothing is queued then.
func (b *Batch) Create(in *pipeline.Intent, partition int32) error {
	keys, args, w, err := b.s.createArgs(in)
	if err != nil {
		return err
	}
	k := b.s.keys
	b.ops = append(b.ops, batchOp{
		intentID: in.ID, keys: keys, args: args, script: createScript,
		location: k.IntentLocation(in.ID), wallet: w.Key(),
		deadline: k.Deadlines(partition), dlScore: float64(msCeil(in.ExpiresAt)), dlMember: deadlineMember(w, in.ID),
	})
	b.writes[hashField(keys[0], "*")] = struct{}{}
	for _, key := range keys[1:] {
		b.writes[key] = struct{}{}
	}
	return nil
}

// Apply queues Apply(ch). Errors: ErrInvalid (wrapped) for a malformed change; nothing is queued then.
func (b *Batch) Apply(ch *Change) error {
	keys, args, items, err := b.s.applyArgs(ch)
	if err != nil {
		return err
	}
	if err := sameSlot(keys); err != nil {
		return fmt.Errorf("%w: event %s: %w", ErrInvalid, ch.EventID, err)
	}
	b.ops = append(b.ops, batchOp{eventID: ch.EventID, keys: keys, args: args, items: items, script: applyScript})
	b.addWrites(keys, args, BalanceKey(b.s.keys, ch.Wallet))
	return nil
}

// Stale reports whether sn read anything a change or creation queued in b writes. The wallet
// version is not counted (the version chain covers it), nor the balance head, which a caller
// deciding a run of SMS carries from one change (Change.Balance) to the next snapshot itself.
func (b *Batch) Stale(sn *Snapshot) bool {
	for _, r := range sn.reads {
		if _, ok := b.writes[r]; ok {
			return true
		}
	}
	return false
}

// addWrites records what the applyScript call (keys, args) writes: the applied marker, the TrxID
// mark, and the key (or hash field) of every operation, except the wallet version and balance head.
func (b *Batch) addWrites(keys []string, args []any, balance string) {
	b.writes[keys[keyApplied-1]] = struct{}{}
	if args[3] != "0" {
		b.writes[keys[keyTrx-1]] = struct{}{}
	}
	n, _ := args[5].(int)
	m, _ := args[6].(int)
	for i, o := 0, 8+3*n; i < m; i, o = i+1, o+4 {
		op, _ := args[o].(string)
		ki, _ := args[o+1].(int)
		key := keys[ki-1]
		switch {
		case key == balance:
			continue
		case op == "hset" || op == "hdel":
			b.writes[hashField(key, fmt.Sprint(args[o+2]))] = struct{}{}
			b.writes[hashField(key, "*")] = struct{}{}
		default:
			b.writes[key] = struct{}{}
		}
	}
}

// Exec runs the queued operations in one pipelined round trip (more only when Redis lost its
// script cache) and returns one result per operation, in order. The error is non-nil only when no
// result can be trusted (the context ended); a Redis error of one operation is in its result.
func (b *Batch) Exec(ctx context.Context) ([]BatchResult, error) {
	res, err := b.s.ExecAll(ctx, b)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// ExecAll is Exec of several batches (the runs of several partitions) in one pipelined round trip
// (more only when Redis lost its script cache): batches run in the order given, each one's
// operations in order, so each keeps its own version chains. results[i] holds batches[i]'s results
// (nil for an empty batch). The batches must be of s. The error is non-nil only when no result can
// be trusted (the context ended); a Redis error of one operation is in its result.
func (s *Store) ExecAll(ctx context.Context, batches ...*Batch) ([][]BatchResult, error) {
	out := make([][]BatchResult, len(batches))
	pipe := s.rdb.Pipeline()
	for _, b := range batches {
		for i := range b.ops {
			op := &b.ops[i]
			op.cmd = op.script.EvalSha(ctx, pipe, op.keys, op.args...)
			if op.intentID != "" {
				op.extraCmds = []redis.Cmder{
					pipe.Set(ctx, op.location, op.wallet, 0),
					pipe.ZAdd(ctx, op.deadline, redis.Z{Score: op.dlScore, Member: op.dlMember}),
				}
			}
		}
	}
	if pipe.Len() == 0 {
		return out, nil
	}
	_, _ = pipe.Exec(ctx) // read per command below
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Redis lost its scripts (a restart or SCRIPT FLUSH): run the refused ones again, in order,
	// loading each script on the way. A refused script ran nothing, and the scripts of one wallet
	// are one kind (changes), so the chain order is kept.
	for _, b := range batches {
		for i := range b.ops {
			if op := &b.ops[i]; isNoScript(op.cmd.Err()) {
				op.cmd = op.script.Run(ctx, s.rdb, op.keys, op.args...)
			}
		}
	}
	for bi, b := range batches {
		if len(b.ops) == 0 {
			continue
		}
		res := make([]BatchResult, len(b.ops))
		for i := range b.ops {
			op := &b.ops[i]
			if op.intentID != "" {
				res[i].Err = op.createErr()
				continue
			}
			res[i].Outcomes, res[i].Replayed, res[i].Err = applyReply(op.eventID, op.cmd, op.items)
		}
		out[bi] = res
	}
	return out, nil
}

func (op *batchOp) createErr() error {
	if err := op.cmd.Err(); err != nil {
		return fmt.Errorf("creating intent %s: %w", op.intentID, err)
	}
	for _, c := range op.extraCmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("indexing intent %s: %w", op.intentID, err)
		}
	}
	return nil
}

// hashField names one field of a hash among the items a Batch tracks; field "*" is the whole hash.
func hashField(key, field string) string { return key + "\x00" + field }
