package matcher

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/state"
)

// maxRunLength bounds the events one run loads and applies in one pipeline.
const maxRunLength = 512

// pending is one inbound event of a partition's batch, not yet decided.
type pending struct {
	rec       *bus.Record // in the batch being handled
	ev        *pipeline.Event
	q         *state.SnapshotQuery // nil for intent.created
	conflicts int
}

// processPartition decides one partition's polled records, in order, and returns the outcome
// records to emit. It works in runs: a run loads the snapshots of up to maxRunLength events in one
// pipelined load (state.LoadSnapshots), decides them in order in memory, and applies every decision
// in one pipelined round trip (state.Batch). A run ends before the first event whose snapshot a
// decision earlier in the run makes stale (same TrxID, amount, reference or intent; see
// Batch.Stale); that event starts the next run with a fresh load. Decisions of one wallet in a run
// form a version chain, so a change made by anyone else in between is a conflict, as it is for a
// single decision; the conflicting event and every later one of its wallet in the run are decided
// again in the next run. A wallet's balance head is carried from one decision to the next in memory.
func (m *Matcher) processPartition(ctx context.Context, b *bus.Partition) ([]bus.Record, error) {
	items := make([]*pending, 0, len(b.Records))
	for i := range b.Records {
		if it := m.decode(&b.Records[i]); it != nil {
			items = append(items, it)
		}
	}
	var recs []bus.Record
	for len(items) > 0 {
		var err error
		if recs, items, err = m.run(ctx, b.Partition, items, recs); err != nil {
			return nil, fmt.Errorf("partition %d: %w", b.Partition, err)
		}
	}
	return recs, nil
}

// decode turns one inbound record into work, or logs, counts and skips it (nil).
func (m *Matcher) decode(r *bus.Record) *pending {
	ev, err := pipeline.DecodeEvent(r.Value)
	if err != nil {
		m.poison(kindUnknown, r, err)
		return nil
	}
	switch ev.Kind {
	case pipeline.KindIntentCreated:
		if ev.Intent == nil || ev.Intent.Wallet().Key() != ev.Wallet.Key() {
			m.poison(string(ev.Kind), r, fmt.Errorf("event %s: the intent is not on the event's wallet %s", ev.ID, ev.Wallet.Masked()))
			return nil
		}
		return &pending{rec: r, ev: ev}
	case pipeline.KindPaymentReported, pipeline.KindClaimSubmitted, pipeline.KindReviewDecided, pipeline.KindSMSReceived,
		pipeline.KindPaymentRefunded, pipeline.KindPaymentFailed:
		if w := ev.Wallet; w.Validate() == nil && w != ev.Wallet {
			m.log.Warn("event on a non-canonical wallet; using its canonical form", "event", ev.ID, "kind", ev.Kind, "wallet", ev.Wallet.Masked())
			ev.Wallet = w
		}
		return &pending{rec: r, ev: ev, q: snapshotQuery(ev)}
	}
	m.poison(string(ev.Kind), r, errors.New("unhandled event kind"))
	return nil
}

// step is one event of a run, as planned.
type step struct {
	it       *pending
	op       int // index of its operation in the run's batch, -1 for none
	d        Decision
	replay   []json.RawMessage // stored outcomes of an event applied before
	noop     bool
	poisoned bool
}

// walletChain is the version chain of one wallet's changes in a run.
type walletChain struct {
	loaded  int64                 // the version every snapshot of the run read
	next    int64                 // IfVersion of the wallet's next change
	balance *pipeline.BalanceHead // the head the last change set, nil if none did
}

// run decides and applies a prefix of items (at least one) and returns recs with its outcome
// records appended, and the events left: those after the run, preceded by the run's events to
// decide again.
func (m *Matcher) run(ctx context.Context, partition int32, items []*pending, recs []bus.Record) ([]bus.Record, []*pending, error) {
	var after []*pending
	if n := m.maxRun; len(items) > n {
		items, after = items[:n], items[n:]
	}
	var qs []*state.SnapshotQuery
	for _, it := range items {
		if it.q != nil {
			qs = append(qs, it.q)
		}
	}
	snaps, err := m.st.LoadSnapshots(ctx, qs)
	if err != nil {
		return nil, nil, err
	}

	batch := m.st.NewBatch()
	chains := map[string]*walletChain{}
	steps := make([]step, 0, len(items))
	now := m.now().UTC()
	cut, si := len(items), 0
plan:
	for i, it := range items {
		st := step{it: it, op: -1}
		if it.q == nil {
			err := batch.Create(it.ev.Intent, partition)
			switch {
			case errors.Is(err, state.ErrInvalid):
				m.poison(string(it.ev.Kind), it.rec, err)
				st.poisoned = true
			case err != nil:
				return nil, nil, fmt.Errorf("intent.created %s: %w", it.ev.ID, err)
			default:
				st.op = batch.Len() - 1
			}
			steps = append(steps, st)
			continue
		}
		snap := snaps[si]
		si++
		wk := it.ev.Wallet.Key()
		c := chains[wk]
		switch {
		case batch.Stale(snap), c != nil && snap.Version != c.loaded:
			cut = i
			break plan
		case c == nil:
			c = &walletChain{loaded: snap.Version, next: snap.Version}
			chains[wk] = c
		}
		if snap.Applied != nil {
			st.replay = snap.Applied
			steps = append(steps, st)
			continue
		}
		if it.q.Balance && c.balance != nil {
			snap.Balance = c.balance
		}
		st.d = Decide(it.ev, m.snapshotOf(snap), now)
		if st.d.Empty() {
			st.noop = true
			steps = append(steps, st)
			continue
		}
		ch := st.d.Change(it.ev)
		ifVersion := c.next
		ch.IfVersion = &ifVersion
		ch.NewVersion = newVersion()
		if err := batch.Apply(ch); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", it.ev.Kind, it.ev.ID, err)
		}
		c.next = ch.NewVersion
		if ch.Balance != nil {
			c.balance = ch.Balance
		}
		st.op = batch.Len() - 1
		steps = append(steps, st)
	}

	m.met.runs.Observe(float64(len(steps)))
	results, err := batch.Exec(ctx)
	if err != nil {
		return nil, nil, err
	}
	var again []*pending
	fu := m.st.NewFollowups(partition) // deadlines and retirements (lifecycle.go)
	var applied []state.AppliedRef
	broken := map[string]bool{} // wallets with a conflict in this run: their later events are decided again
	for _, st := range steps {
		it, kind := st.it, string(st.it.ev.Kind)
		switch {
		case st.poisoned:
			continue
		case it.q == nil:
			if err := results[st.op].Err; err != nil {
				return nil, nil, fmt.Errorf("intent.created %s: %w", it.ev.ID, err)
			}
			m.met.events.WithLabelValues(kind, resultApplied).Inc()
			continue
		case st.replay != nil:
			m.met.events.WithLabelValues(kind, resultReplayed).Inc()
			recs = m.appendOutcomes(recs, st.replay)
			fu.Outcomes(intentOutcomes(st.replay))
			if len(st.replay) > 0 { // produced again now: compacted once acknowledged
				applied = append(applied, state.AppliedRef{Wallet: it.ev.Wallet, EventID: it.ev.ID})
			}
			continue
		}
		wk := it.ev.Wallet.Key()
		if broken[wk] {
			again = append(again, it)
			continue
		}
		if st.noop {
			m.met.events.WithLabelValues(kind, resultNoop).Inc()
			continue
		}
		res := results[st.op]
		if errors.Is(res.Err, state.ErrConflict) {
			broken[wk] = true
			it.conflicts++
			m.met.conflicts.Inc()
			m.log.Info("state changed under a decision; deciding again", "event", it.ev.ID, "attempt", it.conflicts, "err", res.Err)
			if it.conflicts >= maxConflictRetries {
				return nil, nil, fmt.Errorf("%w: event %s: %w", ErrTooManyConflicts, it.ev.ID, res.Err)
			}
			again = append(again, it)
			continue
		}
		if res.Err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", kind, it.ev.ID, res.Err)
		}
		recs = m.appendOutcomes(recs, res.Outcomes)
		if res.Replayed {
			m.met.events.WithLabelValues(kind, resultReplayed).Inc()
			fu.Outcomes(intentOutcomes(res.Outcomes))
			applied = append(applied, state.AppliedRef{Wallet: it.ev.Wallet, EventID: it.ev.ID})
			continue
		}
		fu.Transitions(it.ev.Wallet, st.d.Transitions)
		if len(res.Outcomes) > 0 {
			applied = append(applied, state.AppliedRef{Wallet: it.ev.Wallet, EventID: it.ev.ID})
		}
		m.finish(ctx, it.ev, &st.d, now)
	}
	if err := fu.Exec(ctx); err != nil {
		return nil, nil, err
	}
	m.noteApplied(partition, applied...)
	rest := make([]*pending, 0, len(again)+len(items)-cut+len(after))
	rest = append(rest, again...)
	rest = append(rest, items[cut:]...)
	return recs, append(rest, after...), nil
}

// finish counts, observes and logs one applied decision.
func (m *Matcher) finish(ctx context.Context, ev *pipeline.Event, d *Decision, now time.Time) {
	kind := string(ev.Kind)
	m.observe(ev, d, now)
	if d.Ignored != "" {
		m.met.events.WithLabelValues(kind, resultIgnored).Inc()
		m.met.ignored.WithLabelValues(kind, d.Ignored).Inc()
		m.logIgnored(ctx, ev, d.Ignored)
		return
	}
	if rv := ev.Review; rv != nil {
		m.log.Info("operator decision applied", "event", ev.ID, "intent", rv.IntentID, "action", rv.Action,
			"operator", rv.Operator, "payment_event", rv.PaymentEventID, "trx_id", rv.TrxID, "note", rv.Note)
	}
	m.met.events.WithLabelValues(kind, resultApplied).Inc()
}

// newVersion returns a random wallet version for a chained change: positive, below 2^62, so that
// increments by others stay far from int64's end and never produce it.
func newVersion() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return 1 + int64(binary.LittleEndian.Uint64(b[:])>>2)
}
