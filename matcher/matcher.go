package matcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/lifecycle"
	"github.com/paystream/paystream/pipeline/state"
)

// Bounds of the work one call does.
const (
	// maxConflictRetries bounds how often one event is decided again after conflicts before the
	// batch fails (and is retried by the consumer with backoff).
	maxConflictRetries = 8
	// expiryBatch bounds the deadlines read at once; maxExpiryRounds bounds the batches of one
	// partition per Idle call, so expiry cannot starve event processing.
	expiryBatch     = 500
	maxExpiryRounds = 4
	// closeTimeout bounds each step of Close.
	closeTimeout = 10 * time.Second
	// expiryGrace delays an expiry past its deadline so that a payment ingest accepted just before
	// the deadline, still on its way through Kafka, is decided first.
	expiryGrace = time.Second
)

// Config configures a Matcher.
type Config struct {
	Bus    bus.Config      // where Kafka is; Brokers is required
	Topics pipeline.Topics // consumes Topics.Inbound(), produces Topics.Outcomes()
	// ExpiryInterval is how often owned partitions' deadlines are checked (default 1s). A caught-up
	// matcher emits an expiry within about ExpiryInterval + 1s (grace for payments in flight) +
	// 250ms (poll) of the deadline, plus one batch's processing time.
	ExpiryInterval time.Duration
	// LatePaymentGrace is how long after an intent's deadline a payment made before the deadline
	// may still be reported and pay the EXPIRED intent as if it were PENDING (see Decide); a timely
	// payment reported later is held for review (late_payment). 0 means DefaultLatePaymentGrace (3
	// minutes); a negative value turns the grace off; at most state.ExpiredHorizon (1h).
	LatePaymentGrace time.Duration
	// Now is the clock decisions and expiry read (default time.Now); a test injects its own.
	Now    func() time.Time
	Logger *slog.Logger // default slog.Default()
}

// Matcher consumes inbound events in group pipeline.GroupMatcher, decides, stores and emits
// outcomes, and expires intents of the partitions it owns. Build with New, start with Run, stop with
// Close (or cancel Run's context, then call Close to leave the group).
type Matcher struct {
	cfg Config
	st  *state.Store
	cm  *bus.ConsumerMetrics
	log *slog.Logger
	met *metrics
	now func() time.Time

	life *lifecycle.Group // Run's body; Close stops it
	mu   sync.Mutex
	co   *bus.Consumer // built by Run

	ownedMu sync.Mutex
	owned   map[int32]bool
	// lastSeen is, per owned partition, the timestamp of the last record of a finished batch: how
	// far in (ingest's) time the partition has been decided.
	lastSeen map[int32]time.Time

	ackMu   sync.Mutex
	unacked map[int32][]state.AppliedRef // applied markers whose outcomes this handle call produces

	lastExpiry time.Time // touched only by the consumer goroutine (Idle)
	maxRun     int       // events per run (maxRunLength; 1 in tests that compare with one by one)
	closeOnce  sync.Once
}

// New validates cfg and registers the matcher's metrics on reg (nil: unregistered). cm, shared by
// the process's consumers, may be nil. It starts nothing: the Kafka client is built by Run (a franz-go
// group client joins its group as soon as it is built). Errors: ErrBadConfig, or a registration
// error (metrics already registered on reg).
func New(cfg Config, st *state.Store, reg prometheus.Registerer, cm *bus.ConsumerMetrics) (*Matcher, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: a state store is required", ErrBadConfig)
	}
	if len(cfg.Bus.Brokers) == 0 {
		return nil, fmt.Errorf("%w: Bus.Brokers is empty; set the Kafka seed brokers (the embedded broker's address in dev)", ErrBadConfig)
	}
	if cfg.ExpiryInterval <= 0 {
		cfg.ExpiryInterval = time.Second
	}
	if cfg.LatePaymentGrace > state.ExpiredHorizon {
		return nil, fmt.Errorf("%w: LatePaymentGrace %s is longer than %s; EXPIRED intents are indexed for the grace only that long", ErrBadConfig, cfg.LatePaymentGrace, state.ExpiredHorizon)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	met, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Matcher{
		cfg: cfg, st: st, cm: cm, met: met, now: cfg.Now, life: lifecycle.New(),
		log:   cfg.Logger.With("component", "matcher"),
		owned: map[int32]bool{}, lastSeen: map[int32]time.Time{}, maxRun: maxRunLength, unacked: map[int32][]state.AppliedRef{},
	}, nil
}

// Run joins the group and processes until ctx is done or Close is called; it returns nil on a clean
// stop. While Kafka or Redis fail it keeps retrying the same batch (nothing is committed, nothing is
// skipped) and returns only when stopped. It may be called once. Errors: ErrAlreadyRun (wrapping
// lifecycle.ErrStarted or, after Close, lifecycle.ErrClosed), or building the Kafka client failed.
func (m *Matcher) Run(ctx context.Context) error {
	err := m.life.Run(ctx, "matcher", m.consume)
	if errors.Is(err, lifecycle.ErrStarted) || errors.Is(err, lifecycle.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrAlreadyRun, err)
	}
	return err
}

// consume is Run's body, tracked by m.life; ctx ends at Run's context's end or at Close.
func (m *Matcher) consume(ctx context.Context) error {
	inbound := m.cfg.Topics.Inbound()
	co, err := bus.NewConsumer(m.cfg.Bus, bus.ConsumerConfig{
		Group:      m.cfg.Topics.Group(pipeline.GroupMatcher),
		Topics:     []string{inbound},
		Handle:     m.handle,
		Idle:       m.idle,
		OnAssigned: func(_ context.Context, a map[string][]int32) { m.setOwned(a[inbound], true) },
		OnRevoked: func(_ context.Context, r map[string][]int32) {
			m.setOwned(r[inbound], false)
			m.forgetApplied(r[inbound])
		},
		Metrics: m.cm,
		Logger:  m.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("starting matcher: %w", err)
	}
	m.mu.Lock()
	m.co = co
	m.mu.Unlock()
	m.log.Info("matcher running", "topic", inbound, "group", m.cfg.Topics.Group(pipeline.GroupMatcher))
	return co.Run(ctx)
}

// Close stops Run (waiting for it up to 10s), then leaves the group and closes the Kafka client.
// Every finished batch was committed by Run; a batch interrupted by the stop stays uncommitted and
// is replayed by the next owner (harmless: applied markers). Idempotent; bounded (about 20s at
// worst); safe to call without Run or concurrently with it.
func (m *Matcher) Close() {
	m.closeOnce.Do(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := m.life.Close(ctx); err != nil {
			m.log.Warn("matcher run did not stop in time; closing the client under it", "err", err)
		}
		m.mu.Lock()
		co := m.co
		m.mu.Unlock()
		if co == nil {
			return
		}
		closed := make(chan struct{})
		go func() { // not tracked: m.life is stopped; bounded below
			defer close(closed)
			co.Close() // commits nothing: an interrupted batch is replayed by the next owner
		}()
		select {
		case <-closed:
		case <-time.After(closeTimeout):
			m.log.Warn("closing the matcher's kafka client timed out", "waited", closeTimeout)
		}
		m.log.Info("matcher closed", "took", time.Since(start))
	})
}

func (m *Matcher) setOwned(ps []int32, own bool) {
	m.ownedMu.Lock()
	defer m.ownedMu.Unlock()
	for _, p := range ps {
		if own {
			m.owned[p] = true
		} else {
			delete(m.owned, p)
			delete(m.lastSeen, p)
		}
	}
}

// ownedPartitions returns the inbound partitions this member owns, ascending.
func (m *Matcher) ownedPartitions() []int32 {
	m.ownedMu.Lock()
	defer m.ownedMu.Unlock()
	out := make([]int32, 0, len(m.owned))
	for p := range m.owned {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// handle is the consumer's Handle: every partition of the poll decided together (processPoll),
// each in order; outcomes produced once every partition is done; nil only after Kafka
// acknowledged them all.
func (m *Matcher) handle(ctx context.Context, b *bus.Batch) error {
	batches := b.Partitions // one topic (inbound): one entry per partition
	if len(batches) == 0 {
		return nil
	}
	recs, err := m.processPoll(ctx, batches)
	if err != nil {
		return err
	}
	if err := m.produce(ctx, recs); err != nil {
		return err
	}
	parts := make([]int32, len(batches))
	for i, b := range batches {
		parts[i] = b.Partition
	}
	m.compactProduced(ctx, parts)
	m.ownedMu.Lock()
	for i := range batches {
		p := &batches[i]
		m.lastSeen[p.Partition] = p.Records[len(p.Records)-1].Timestamp
	}
	m.ownedMu.Unlock()
	return nil
}

// snapshotOf returns the part of a loaded snapshot Decide looks at, with the matcher's policy.
func (m *Matcher) snapshotOf(s *state.Snapshot) Snapshot {
	snap := SnapshotOf(s)
	snap.LatePaymentGrace = m.cfg.LatePaymentGrace
	snap.TrxDedupeWindow = m.st.Lifetimes().TrxWindow
	return snap
}

// snapshotQuery returns the state Decide needs for ev (a payment, claim, operator decision or SMS).
func snapshotQuery(ev *pipeline.Event) *state.SnapshotQuery {
	q := &state.SnapshotQuery{Wallet: ev.Wallet, EventID: ev.ID, Balance: ev.SMS != nil}
	switch ev.Kind {
	case pipeline.KindPaymentReported:
		at, createdUpTo := PaymentWindow(ev)
		q.TrxID, q.Reference, q.Amount, q.CreatedUpTo = ev.Payment.TrxID, ev.Payment.Reference, ev.Payment.Amount, createdUpTo
		// EXPIRED intents whose deadline is after the payment's time: the late-payment grace's
		// candidates (Decide checks the grace itself).
		q.ExpiredSince = at
		if q.ExpiredSince.IsZero() {
			q.ExpiredSince = time.Unix(0, 0)
		}
	case pipeline.KindClaimSubmitted:
		q.TrxID, q.LoadWhenSeen, q.IntentsOfPayments = ev.Claim.TrxID, true, true
		q.IntentIDs, q.ClaimsOfIntent = []string{ev.Claim.IntentID}, ev.Claim.IntentID
	case pipeline.KindReviewDecided:
		rv := ev.Review
		q.TrxID, q.LoadWhenSeen, q.TrxOfLoaded, q.IntentsOfPayments = rv.TrxID, true, true, true
		q.IntentIDs, q.CandidatesOf = []string{rv.IntentID}, rv.IntentID
		if rv.PaymentEventID != "" {
			q.PaymentEventIDs = []string{rv.PaymentEventID}
		}
	case pipeline.KindPaymentFailed:
		q.IntentIDs = []string{ev.Failure.IntentID}
	}
	return q
}

func (m *Matcher) poison(kind string, r *bus.Record, err error) {
	m.met.events.WithLabelValues(kind, resultPoison).Inc()
	m.log.Warn("skipping unusable inbound record", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
}

// decideAndApply loads the snapshot q describes, decides over it the event eventFor builds from it
// (nil: nothing to decide), and applies the decision, deciding again on conflicts. It returns the
// outcomes to emit, exactly as stored (nil when nothing was decided).
func (m *Matcher) decideAndApply(ctx context.Context, kind string, q *state.SnapshotQuery, eventFor func(*state.Snapshot) *pipeline.Event) ([]json.RawMessage, error) {
	for attempt := 1; ; attempt++ {
		snap, err := m.st.LoadSnapshot(ctx, q)
		if err != nil {
			return nil, err
		}
		if snap.Applied != nil {
			m.met.events.WithLabelValues(kind, resultReplayed).Inc()
			return snap.Applied, nil
		}
		ev := eventFor(snap)
		if ev == nil {
			m.met.events.WithLabelValues(kind, resultNoop).Inc()
			return nil, nil
		}
		now := m.now().UTC()
		d := Decide(ev, m.snapshotOf(snap), now)
		if d.Empty() {
			m.met.events.WithLabelValues(kind, resultNoop).Inc()
			return nil, nil
		}
		ch := d.Change(ev)
		ch.IfVersion = &snap.Version
		out, replayed, err := m.st.Apply(ctx, ch)
		if errors.Is(err, state.ErrConflict) {
			m.met.conflicts.Inc()
			m.log.Info("state changed under a decision; deciding again", "event", ev.ID, "attempt", attempt, "err", err)
			if attempt >= maxConflictRetries {
				return nil, fmt.Errorf("%w: event %s: %w", ErrTooManyConflicts, ev.ID, err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if replayed {
			m.met.events.WithLabelValues(kind, resultReplayed).Inc()
			return out, nil
		}
		m.finish(ctx, ev, &d, now)
		return out, nil
	}
}

func (m *Matcher) observe(ev *pipeline.Event, d *Decision, now time.Time) {
	env := string(ev.Wallet.Environment)
	for _, o := range d.Outcomes {
		status := string(o.Status)
		if o.Type == pipeline.OutcomePayment {
			status = string(o.Disposition)
			if o.Disposition == pipeline.DispositionDuplicate {
				m.met.dups.WithLabelValues(env).Inc()
			}
		}
		m.met.decisions.WithLabelValues(string(o.Rule), status, env).Inc()
	}
	if d.Gap != nil {
		m.met.gaps.WithLabelValues(env).Inc()
		g := d.Gap
		m.log.Warn("balance chain broken: possible missed SMS", "event", ev.ID, "wallet", ev.Wallet.Masked(),
			"previous_event", g.PreviousEventID, "expected_paisa", g.ExpectedPaisa, "actual_paisa", g.ActualPaisa,
			"payment_to_review", g.Review)
	}
	if len(d.Outcomes) > 0 && !ev.AcceptedAt.IsZero() {
		m.met.latency.WithLabelValues(env).Observe(max(now.Sub(ev.AcceptedAt), 0).Seconds())
	}
}

// logIgnored logs an event that changed nothing (a race the admin API or the checkout page could
// not see, or a repeat), with what an operator needs to find it.
func (m *Matcher) logIgnored(ctx context.Context, ev *pipeline.Event, reason string) {
	args := []any{"event", ev.ID, "kind", ev.Kind, "reason", reason, "wallet", ev.Wallet.Key()}
	switch {
	case ev.Claim != nil:
		args = append(args, "intent", ev.Claim.IntentID, "trx_id", ev.Claim.TrxID)
	case ev.Review != nil:
		args = append(args, "intent", ev.Review.IntentID, "action", ev.Review.Action, "operator", ev.Review.Operator,
			"payment_event", ev.Review.PaymentEventID, "trx_id", ev.Review.TrxID)
	}
	level := slog.LevelWarn
	if ev.Kind == pipeline.KindSMSReceived {
		level = slog.LevelInfo // reordered or repeated SMS are routine
	}
	m.log.Log(ctx, level, "event changed nothing", args...)
}

// appendOutcomes appends to recs the outcomes out as records of the outcomes topic, keyed by
// merchant id, values as stored (aliased, not copied).
func (m *Matcher) appendOutcomes(recs []bus.Record, out []json.RawMessage) []bus.Record {
	for _, raw := range out {
		recs = append(recs, bus.Record{Topic: m.cfg.Topics.Outcomes(), Key: merchantKey(raw), Value: raw})
	}
	return recs
}

var merchantField = []byte(`"merchantId":"`)

// merchantKey returns the merchantId of an outcome as stored by Apply (from a valid Outcome, whose
// merchantId comes before any nested object's, and an intent's merchantId is its outcome's anyway).
// It scans instead of decoding (the matcher's hottest JSON); an id with escapes is decoded properly.
// An outcome without one gets an empty key and is still delivered.
func merchantKey(raw []byte) []byte {
	if i := bytes.Index(raw, merchantField); i >= 0 {
		v := raw[i+len(merchantField):]
		if j := bytes.IndexByte(v, '"'); j >= 0 && bytes.IndexByte(v[:j], '\\') < 0 {
			return v[:j:j]
		}
	}
	var head struct {
		MerchantID string `json:"merchantId"`
	}
	_ = json.Unmarshal(raw, &head)
	return []byte(head.MerchantID)
}

// produce sends recs with acks=all and waits for all of them.
func (m *Matcher) produce(ctx context.Context, recs []bus.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := m.co.Produce(ctx, recs...); err != nil {
		return fmt.Errorf("producing %d outcomes: %w", len(recs), err)
	}
	m.met.produced.Add(float64(len(recs)))
	return nil
}
