package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/lifecycle"
	"github.com/paystream/paystream/pipeline/netguard"
)

// drainGrace is added to Config.Timeout when waiting for in-flight attempts at shutdown: room for
// producing their records and storing their results.
const drainGrace = 5 * time.Second

// Sink delivers webhooks (see the package documentation). Build it with New, run it with Run, stop
// it by cancelling Run's context, then Close it.
type Sink struct {
	cfg       Config
	cm        *bus.ConsumerMetrics
	co        atomic.Pointer[bus.Consumer] // built by Run (a kgo group client starts joining when built)
	store     *store
	merchants *merchantCache
	client    *http.Client
	m         *metrics
	log       *slog.Logger

	mu       sync.Mutex
	lanes    map[string]*lane
	inflight int
	queued   int // claimed jobs waiting in lanes (see laneQueuePerSlot)
	// tasks feeds the fixed pool of MaxInFlight attempt workers (see startWorkers). Only the
	// dispatcher sends, after reserving a lane slot and an in-flight slot under mu; run closes it
	// once the dispatcher stopped.
	tasks chan task
	// settled carries finished attempts to the bookkeeper, which records them in batches (see
	// bookkeeper). Its capacity (MaxInFlight) bounds the attempts waiting to be recorded: Kafka or
	// Redis slowing down slows the workers too. The last worker to stop closes it.
	settled chan settled
	workers atomic.Int64 // live attempt workers

	wake chan struct{}
	// life tracks Run's body and the outcome consumer; its soft stop ends consumption and dispatch.
	life *lifecycle.Group
	// attempts tracks the attempt workers and the bookkeeper. Run's drain soft-stops it (workers
	// finish the attempts they hold and the bookkeeper records them) and hard-stops it past the drain
	// bound: its HardContext is the context of every attempt and of its bookkeeping.
	attempts  *lifecycle.Group
	closeOnce sync.Once
}

// New builds a sink: the guarded HTTP client and the metrics, registered on reg (nil: not
// registered); cm (may be nil) receives the consumer's metrics. It starts nothing and does no I/O
// (the Kafka client is built by Run, because a group client starts joining its group as soon as
// it exists); it fails on an invalid Config or a metrics registration conflict. The sink does not
// own rdb: closing it is the caller's job, after Close.
func New(cfg Config, rdb redis.UniversalClient, reg prometheus.Registerer, cm *bus.ConsumerMetrics) (*Sink, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	if rdb == nil {
		return nil, fmt.Errorf("%w: a Redis client is required", ErrConfig)
	}
	m := newMetrics()
	s := &Sink{
		cfg:       cfg,
		cm:        cm,
		store:     newStore(rdb, cfg.Keys),
		merchants: newMerchantCache(cfg.Merchants, rdb, cfg.Keys),
		client:    netguard.NewHTTPClient(cfg.Timeout, cfg.AllowPrivate),
		m:         m,
		log:       cfg.Logger.With("component", "webhook-sink"),
		lanes:     make(map[string]*lane),
		wake:      make(chan struct{}, 1),
		tasks:     make(chan task),
		settled:   make(chan settled, cfg.MaxInFlight),
		life:      lifecycle.New(),
		attempts:  lifecycle.New(),
	}
	if err := m.register(reg); err != nil {
		return nil, err
	}
	m.capacity.Set(float64(cfg.MaxInFlight))
	return s, nil
}

// Run consumes outcomes and delivers webhooks until ctx is done or Close is called, then stops
// claiming jobs, lets in-flight attempts finish (bounded by Config.Timeout plus a few seconds;
// attempts still running after that are abandoned and their jobs come back after the lease) and
// returns nil. Redis or Kafka outages do not make it return: consumption and dispatch pause and
// resume by themselves, and are logged. It returns ErrClosed if called after Close or twice (then
// wrapping lifecycle.ErrStarted too), or the error of building the Kafka consumer (group
// pipeline.GroupWebhooks on Topics.Outcomes()).
func (s *Sink) Run(ctx context.Context) error {
	err := s.life.Run(ctx, "webhook sink", s.run)
	switch {
	case errors.Is(err, lifecycle.ErrStarted):
		return fmt.Errorf("webhook sink: %w (%w)", ErrClosed, err)
	case errors.Is(err, ErrClosed):
		return fmt.Errorf("webhook sink: %w", err)
	}
	return err
}

// run is Run's body, tracked by s.life; ctx ends at Run's context's end or at Close.
func (s *Sink) run(ctx context.Context) error {
	co, err := bus.NewConsumer(s.cfg.Bus, bus.ConsumerConfig{
		Group:   s.cfg.Topics.Group(pipeline.GroupWebhooks),
		Topics:  []string{s.cfg.Topics.Outcomes()},
		Handle:  s.handle,
		Metrics: s.cm,
		Logger:  s.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("building webhook sink consumer: %w", err)
	}
	s.co.Store(co)
	consumed := make(chan struct{})
	if err := s.life.Go("outcome consumer", func(ctx context.Context) {
		defer close(consumed)
		if err := co.Run(ctx); err != nil {
			s.log.Error("outcome consumer stopped", "err", err)
		}
	}); err != nil { // Close came first
		co.Close()
		return nil
	}
	if !s.startWorkers() { // Close came first
		<-consumed
		co.Close()
		return nil
	}
	s.dispatch(ctx)
	close(s.tasks) // workers finish what they hold, then the bookkeeper what they settled
	<-consumed
	start := time.Now()
	s.releaseQueued()
	s.drain()
	co.Close() // commits what was handled and leaves the group; no attempt produces any more
	s.log.Info("webhook sink stopped", "drain", time.Since(start).Round(time.Millisecond))
	return nil
}

// drain waits for in-flight attempts; past the bound it abandons them (their leases expire and
// another claim takes the jobs over) and waits for them to notice.
func (s *Sink) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout+drainGrace)
	defer cancel()
	if err := s.attempts.Close(ctx); err != nil {
		s.log.Warn("in-flight webhook attempts did not finish in time; abandoning them (their jobs are retried after the lease)", "err", err)
		_ = s.attempts.WaitForClose(context.Background()) // attempts and bookkeeping end with the hard context
	}
}

// Close stops Run if it is running and waits for it (bounded), then leaves the consumer group and
// releases connections. Idempotent and safe to call concurrently with Run.
func (s *Sink) Close() {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout+2*drainGrace)
		defer cancel()
		if err := s.life.Close(ctx); err != nil {
			s.log.Warn("webhook sink did not stop in time; closing anyway", "err", err)
		}
		s.attempts.TriggerCloseNow()
		if co := s.co.Load(); co != nil {
			co.Close()
		}
		s.client.CloseIdleConnections()
	})
}

// poke wakes the dispatcher without blocking.
func (s *Sink) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// handle is the consumer's batch handler: it stores a job per webhook-worthy outcome and returns
// nil only once Redis has them all, so that offsets are committed after the jobs are durable.
func (s *Sink) handle(ctx context.Context, b *bus.Batch) error {
	topic := s.cfg.Topics.Outcomes()
	var (
		jobs    []*job
		skipped = map[string]int{}
	)
	for r := range b.Records() {
		if r.Topic != topic {
			continue
		}
		j, err := jobFor(r.Value)
		switch {
		case err == nil && j == nil:
		case errors.Is(err, ErrUnsupportedDialect):
			skipped[skipUnsupported]++
			s.log.Error("skipping webhook: the intent's dialect has no renderer", "partition", r.Partition, "offset", r.Offset, "err", err)
		case err != nil:
			skipped[skipMalformed]++
			s.log.Error("skipping malformed outcome record", "partition", r.Partition, "offset", r.Offset, "err", err)
		default:
			jobs = append(jobs, j)
		}
	}
	added, err := s.store.enqueue(ctx, jobs, s.cfg.Now())
	if err != nil {
		return fmt.Errorf("enqueueing webhooks: %w", err)
	}
	for reason, n := range skipped {
		s.m.skipped.WithLabelValues(reason).Add(float64(n))
	}
	for _, j := range added {
		s.m.enqueued.WithLabelValues(envLabel(j.Env)).Inc()
	}
	if len(added) > 0 {
		s.poke()
	}
	return nil
}

// jobFor turns an outcome record into a job, or nil (and no error) when it has no webhook: it is
// not an intent status change or a refund, or the intent's dialect sends nothing for it.
func jobFor(value []byte) (*job, error) {
	o, err := pipeline.DecodeOutcome(value)
	if err != nil {
		return nil, fmt.Errorf("decoding outcome: %w", err)
	}
	if o.Type != pipeline.OutcomeIntentStatus && o.Type != pipeline.OutcomeRefund {
		return nil, nil
	}
	if !o.Environment.Valid() {
		o.Environment = o.Intent.Environment
	}
	if !o.Environment.Valid() {
		return nil, fmt.Errorf("%w: outcome %s has no valid environment", pipeline.ErrBadOutcome, o.ID)
	}
	r, err := render(o)
	if err != nil {
		return nil, fmt.Errorf("rendering webhook of outcome %s: %w", o.ID, err)
	}
	if r.Event == "" { // the intent's dialect has no webhook for this change
		return nil, nil
	}
	return &job{
		OutcomeID:  o.ID,
		MerchantID: o.MerchantID,
		Env:        o.Environment,
		Event:      r.Event,
		IntentID:   o.Intent.ID,
		URL:        o.Intent.WebhookURL,
		Body:       r.Body,
		AcceptedAt: o.AcceptedAt,
	}, nil
}
