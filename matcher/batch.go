package matcher

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
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

// processPoll decides the records of every partition of a poll, each partition in order, and
// returns the outcome records to emit, partition by partition. It works in rounds, and a round in
// runs, one per partition with events left: a run takes up to maxRunLength of its partition's
// events. The round loads the snapshots of every run in one pipelined load (state.LoadSnapshots),
// decides each run in order in memory (plan), applies every run's decisions in one pipelined round
// trip (state.Store.ExecAll), then settles each run and executes every run's followups in one
// pipeline (state.Store.ExecFollowups). So a poll pays its round trips per round, not per partition.
//
// A run ends before the first event whose snapshot a decision earlier in the run makes stale
// (same TrxID, amount, reference or intent; see Batch.Stale); that event starts its partition's run
// of the next round with a fresh load. Decisions of one wallet in a run form a version chain, so a
// change made by anyone else in between is a conflict, as it is for a single decision; the
// conflicting event and every later one of its wallet in the run are decided again in the next
// round. A wallet's balance head is carried from one decision to the next in memory.
func (m *Matcher) processPoll(ctx context.Context, parts []bus.Partition) ([]bus.Record, error) {
	works := make([]*partWork, len(parts))
	for i := range parts {
		w := &partWork{partition: parts[i].Partition, items: make([]*pending, 0, len(parts[i].Records))}
		for j := range parts[i].Records {
			if it := m.decode(&parts[i].Records[j]); it != nil {
				w.items = append(w.items, it)
			}
		}
		works[i] = w
	}
	for {
		var runs []*runPlan
		var qs []*state.SnapshotQuery
		for _, w := range works {
			if len(w.items) > 0 {
				r := m.startRun(w)
				runs = append(runs, r)
				qs = append(qs, r.qs...)
			}
		}
		if len(runs) == 0 {
			break
		}
		if err := m.round(ctx, runs, qs); err != nil {
			return nil, err
		}
	}
	var recs []bus.Record
	for _, w := range works {
		recs = append(recs, w.recs...)
	}
	return recs, nil
}

// partWork is one partition's work in a poll: the events left to decide and the outcome records
// decided so far.
type partWork struct {
	partition int32
	items     []*pending
	recs      []bus.Record
}

// runPlan is one partition's run in a round.
type runPlan struct {
	w     *partWork
	items []*pending // the run's events
	after []*pending // the partition's events after the run
	qs    []*state.SnapshotQuery
	batch *state.Batch
	steps []step
	cut   int // items[cut:] were not planned: a snapshot was stale
	now   time.Time
	fu    *state.Followups
}

// startRun takes the run's events off w and lists their snapshot queries.
func (m *Matcher) startRun(w *partWork) *runPlan {
	r := &runPlan{w: w, items: w.items}
	if n := m.maxRun; len(r.items) > n {
		r.items, r.after = r.items[:n], r.items[n:]
	}
	for _, it := range r.items {
		if it.q != nil {
			r.qs = append(r.qs, it.q)
		}
	}
	return r
}

// round decides and applies runs (at most one per partition) over the snapshots of qs (every
// run's queries, in run order) and leaves in each run's partition the events left: those after
// the run, preceded by the run's events to decide again.
func (m *Matcher) round(ctx context.Context, runs []*runPlan, qs []*state.SnapshotQuery) error {
	snaps, err := m.st.LoadSnapshots(ctx, qs)
	if err != nil {
		return fmt.Errorf("loading snapshots: %w", err)
	}
	now := m.now().UTC()
	runSnaps := make([][]*state.Snapshot, len(runs))
	for i, r := range runs {
		runSnaps[i], snaps = snaps[:len(r.qs)], snaps[len(r.qs):]
	}
	if err := eachRun(runs, func(i int, r *runPlan) error { return m.plan(r, runSnaps[i], now) }); err != nil {
		return err
	}
	batches := make([]*state.Batch, len(runs))
	for i, r := range runs {
		batches[i] = r.batch
	}
	results, err := m.st.ExecAll(ctx, batches...)
	if err != nil {
		return fmt.Errorf("applying decisions: %w", err)
	}
	applied := make([][]state.AppliedRef, len(runs))
	if err := eachRun(runs, func(i int, r *runPlan) (err error) {
		applied[i], err = m.settle(ctx, r, results[i])
		return err
	}); err != nil {
		return err
	}
	fus := make([]*state.Followups, len(runs))
	for i, r := range runs {
		fus[i] = r.fu
	}
	if err := m.st.ExecFollowups(ctx, fus...); err != nil {
		return err
	}
	for i, r := range runs {
		m.noteApplied(r.w.partition, applied[i]...)
	}
	return nil
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

// parallelRunEvents is the events of a round from which its runs are planned and settled
// concurrently (one goroutine per run, on every core); a smaller round is done inline, where a
// goroutine would cost more than it saves.
const parallelRunEvents = 64

// eachRun calls fn for every run: concurrently when the round is large (parallelRunEvents), else in
// order. It returns every error, each wrapped with its run's partition.
func eachRun(runs []*runPlan, fn func(int, *runPlan) error) error {
	errs := make([]error, len(runs))
	call := func(i int) {
		if err := fn(i, runs[i]); err != nil {
			errs[i] = fmt.Errorf("partition %d: %w", runs[i].w.partition, err)
		}
	}
	n := 0
	for _, r := range runs {
		n += len(r.items)
	}
	if len(runs) == 1 || n < parallelRunEvents {
		for i := range runs {
			call(i)
		}
		return errors.Join(errs...)
	}
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() { call(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// plan decides r's events in order over snaps (the snapshots of r.qs) and queues their changes and
// creations in r.batch, up to the first event whose snapshot is stale (r.cut).
func (m *Matcher) plan(r *runPlan, snaps []*state.Snapshot, now time.Time) error {
	batch := m.st.NewBatch()
	r.batch = batch
	partition, items := r.w.partition, r.items
	chains := map[string]*walletChain{}
	steps := make([]step, 0, len(items))
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
				return fmt.Errorf("intent.created %s: %w", it.ev.ID, err)
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
			return fmt.Errorf("%s %s: %w", it.ev.Kind, it.ev.ID, err)
		}
		c.next = ch.NewVersion
		if ch.Balance != nil {
			c.balance = ch.Balance
		}
		st.op = batch.Len() - 1
		steps = append(steps, st)
	}
	r.steps, r.cut, r.now = steps, cut, now
	return nil
}

// settle reads r's results (those of r.batch), appends the outcome records to r's partition,
// queues the followups in r.fu and leaves in the partition the events left: those after the run,
// preceded by the run's events to decide again. It returns the applied markers whose outcomes the
// partition now produces.
func (m *Matcher) settle(ctx context.Context, r *runPlan, results []state.BatchResult) ([]state.AppliedRef, error) {
	steps, items, now, recs := r.steps, r.items, r.now, r.w.recs
	m.met.runs.Observe(float64(len(steps)))
	var again []*pending
	fu := m.st.NewFollowups(r.w.partition) // deadlines and retirements (lifecycle.go)
	var applied []state.AppliedRef
	broken := map[string]bool{} // wallets with a conflict in this run: their later events are decided again
	for _, st := range steps {
		it, kind := st.it, string(st.it.ev.Kind)
		switch {
		case st.poisoned:
			continue
		case it.q == nil:
			if err := results[st.op].Err; err != nil {
				return nil, fmt.Errorf("intent.created %s: %w", it.ev.ID, err)
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
				return nil, fmt.Errorf("%w: event %s: %w", ErrTooManyConflicts, it.ev.ID, res.Err)
			}
			again = append(again, it)
			continue
		}
		if res.Err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, it.ev.ID, res.Err)
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
	r.fu, r.w.recs = fu, recs
	rest := make([]*pending, 0, len(again)+len(items)-r.cut+len(r.after))
	rest = append(rest, again...)
	rest = append(rest, items[r.cut:]...)
	r.w.items = append(rest, r.after...)
	return applied, nil
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
