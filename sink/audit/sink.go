package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/lifecycle"
)

// Defaults and bounds of Config.
const (
	DefaultBatchSize     = 5000
	DefaultFlushInterval = time.Second
	// MaxBatchSize bounds Config.BatchSize (memory: one row per record, payloads included).
	MaxBatchSize = 1_000_000
)

// insertTimeout bounds one flush (all tables). A flush is not interrupted by Run's context: a
// shutdown waits for the insert in flight (at most this long) rather than tearing it down.
const insertTimeout = 10 * time.Second

// Config configures a Sink. The zero values of BatchSize, FlushInterval, Topics and Logger mean
// their defaults.
type Config struct {
	// DSN is the native-protocol ClickHouse address and database,
	// e.g. "clickhouse://127.0.0.1:9000/paystream". Migrate must have run against it.
	DSN string
	// Bus says where Kafka is.
	Bus bus.Config
	// Topics names the topics consumed: Inbound, Outcomes and WebhookAttempts.
	Topics pipeline.Topics
	// BatchSize is the most rows (one per record) buffered before a flush; default 5000.
	BatchSize int
	// FlushInterval is the longest a row waits in the buffer before a flush; default 1s.
	FlushInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock of the rows' ingested_at_ms (the version ReplacingMergeTree keeps the last
	// of; default time.Now). Insert durations are measured on the real clock regardless.
	Now func() time.Time
}

// Sink consumes the inbound, outcomes and webhook-attempts topics in group pipeline.GroupAudit and
// writes every record as one ClickHouse row. See the package doc for the batching and commit
// contract. Run and Close may be called from different goroutines.
type Sink struct {
	cfg  Config
	db   string
	conn driver.Conn
	m    *metrics
	cm   *bus.ConsumerMetrics
	log  *slog.Logger
	conv converter
	buf  *buffer // owned by the consumer goroutine inside Run

	// failed is set while the buffer holds rows ClickHouse has not accepted (a flush failed and the
	// consumer is retrying the same batch). Read by Close after Run returned.
	failed atomic.Bool
	// first identifies the first record of the batch being retried; rejected counts the batch's
	// undecodable records and firstReject describes one, logged once the batch is written.
	first       recordID
	rejected    int
	firstReject string

	life     *lifecycle.Group // Run's body; Close stops it
	mu       sync.Mutex
	consumer *bus.Consumer // built by Run
	closeMu  sync.Once
}

// New validates cfg and builds a Sink and its metrics on reg (nil: metrics are kept but not
// registered). cm is shared with the process's other consumers and may be nil. New starts nothing
// and connects to nothing: Run does. Errors wrap ErrBadConfig, or a registration error.
func New(cfg Config, reg prometheus.Registerer, cm *bus.ConsumerMetrics) (*Sink, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.BatchSize < 0 || cfg.BatchSize > MaxBatchSize:
		return nil, fmt.Errorf("%w: BatchSize %d must be between 1 and %d", ErrBadConfig, cfg.BatchSize, MaxBatchSize)
	case cfg.FlushInterval < 0:
		return nil, fmt.Errorf("%w: FlushInterval %s must be positive", ErrBadConfig, cfg.FlushInterval)
	case len(cfg.Bus.Brokers) == 0:
		return nil, fmt.Errorf("%w: Bus.Brokers is empty: set the Kafka seed brokers", ErrBadConfig)
	}
	opts, db, err := parseDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg, cfg.BatchSize)
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(opts) // lazy: dials on first use
	if err != nil {
		return nil, fmt.Errorf("opening clickhouse %s: %w", db, err)
	}
	return &Sink{
		cfg:  cfg,
		db:   db,
		conn: conn,
		m:    m,
		cm:   cm,
		log:  cfg.Logger.With("component", "audit"),
		conv: newConverter(cfg.Topics),
		buf:  newBuffer(),
		life: lifecycle.New(),
	}, nil
}

// Run joins the consumer group and writes records to ClickHouse until ctx is done or Close is
// called, then returns nil. It blocks. While ClickHouse refuses inserts Run keeps retrying the same
// batch (consumption pauses, offsets stay uncommitted) and catches up when ClickHouse is back.
// On stop, rows already buffered get one last flush bounded by 10 s; rows it could not flush are
// left uncommitted and replayed by the next run. Run may be called once; it returns ErrStarted on
// a second call, ErrClosed after Close, or an error when the Kafka client cannot be built.
func (s *Sink) Run(ctx context.Context) error {
	err := s.life.Run(ctx, "audit", s.run)
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrStarted) {
		return fmt.Errorf("audit sink: %w", err)
	}
	return err
}

// run is Run's body, tracked by s.life; ctx ends at Run's context's end or at Close.
func (s *Sink) run(ctx context.Context) error {
	co, err := bus.NewConsumer(s.cfg.Bus, bus.ConsumerConfig{
		Group:          s.cfg.Topics.Group(pipeline.GroupAudit),
		Topics:         []string{s.cfg.Topics.Inbound(), s.cfg.Topics.Outcomes(), s.cfg.Topics.WebhookAttempts()},
		MaxPollRecords: s.cfg.BatchSize,
		PollInterval:   s.cfg.FlushInterval,
		Fill:           s.cfg.FlushInterval, // small polls still make large inserts
		Handle:         s.handle,
		Metrics:        s.cm,
		Logger:         s.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("starting audit consumer: %w", err)
	}
	s.mu.Lock()
	s.consumer = co
	s.mu.Unlock()

	s.log.Info("audit sink running", "database", s.db, "batch_size", s.cfg.BatchSize, "flush_interval", s.cfg.FlushInterval)
	err = co.Run(ctx)
	if s.failed.Load() {
		s.log.Warn("audit sink stopped with an unflushed batch; its offsets stay uncommitted and it will be replayed",
			"rows", s.buf.rows())
	}
	return err
}

// handle is the consumer's Handle: it owns the batch until ClickHouse accepted every table's rows.
// The consumer fills the batch (ConsumerConfig.Fill: up to BatchSize records or FlushInterval after
// the first) so that small polls still make large inserts; rebalances stay blocked meanwhile, so no
// partition moves while its rows are buffered. It returns nil only after a successful flush;
// bus.Consumer then commits the batch. On error bus hands the same batch back after a backoff: the
// buffer already holds its rows, so only the flush is retried.
func (s *Sink) handle(ctx context.Context, b *bus.Batch) error {
	switch {
	case !s.failed.Load():
		s.first = firstID(b)
		s.add(b)
	case firstID(b) != s.first:
		// bus promises to hand back the same batch after a failure; should it ever hand a new
		// one, keep those records too rather than commit them unwritten.
		s.log.Error("audit sink got a new batch while the previous one is unwritten; buffering both")
		s.add(b)
	}
	return s.flush(ctx)
}

// recordID names a record by its Kafka position.
type recordID struct {
	topic     string
	partition int32
	offset    int64
}

func firstID(b *bus.Batch) recordID {
	r := b.First()
	if r == nil {
		return recordID{}
	}
	return recordID{r.Topic, r.Partition, r.Offset}
}

// add converts the batch's records into buffered rows (copies: the rows keep nothing of b).
func (s *Sink) add(b *bus.Batch) {
	for rec := range b.Records() {
		if err := s.conv.add(s.buf, rec); err != nil {
			s.m.rejects.Inc()
			if s.rejected == 0 {
				s.firstReject = fmt.Sprintf("%s/%d@%d: %v", rec.Topic, rec.Partition, rec.Offset, err)
			}
			s.rejected++
		}
	}
	s.m.buffered.Set(float64(s.buf.rows()))
}

// flush inserts every table's pending rows, one PrepareBatch per table, skipping tables already
// accepted by an earlier attempt of the same batch. It runs even when ctx is done (the last flush
// of a soft stop), bounded by insertTimeout.
func (s *Sink) flush(ctx context.Context) error {
	total := s.buf.rows()
	if total == 0 {
		return nil
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), insertTimeout)
	defer cancel()
	ingested := unixMs(s.cfg.Now())
	for _, t := range s.buf.all {
		n := t.pending()
		if n == 0 {
			continue
		}
		start := time.Now()
		err := t.insert(fctx, s.conn, ingested)
		s.m.insertDuration.WithLabelValues(t.tableName()).Observe(time.Since(start).Seconds())
		if err != nil {
			s.failed.Store(true)
			s.m.insertFailures.WithLabelValues(t.tableName()).Inc()
			return fmt.Errorf("inserting audit batch into %s.%s (%d rows): %w", s.db, t.tableName(), n, schemaHint(unreachableHint(err)))
		}
		s.m.rows.WithLabelValues(t.tableName()).Add(float64(n))
	}
	s.m.batchRows.Observe(float64(total))
	if s.rejected > 0 {
		s.log.Warn("stored undecodable records in audit_rejects", "records", s.rejected, "first", s.firstReject)
		s.rejected, s.firstReject = 0, ""
	}
	s.buf.reset()
	s.failed.Store(false)
	s.m.buffered.Set(0)
	return nil
}

// Close stops Run (if running) and waits for it to return, at most insertTimeout plus 5 s, then
// leaves the consumer group and closes the ClickHouse connections. It is idempotent and safe to
// call from any goroutine, before, during or after Run.
//
// Close commits offsets only when no batch is pending: after a failed flush it closes the Kafka
// client without the consumer's final commit, which would otherwise commit the polled but
// unwritten records and lose them.
func (s *Sink) Close() {
	s.closeMu.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), insertTimeout+5*time.Second)
		defer cancel()
		if err := s.life.Close(ctx); err != nil {
			s.log.Error("audit sink did not stop in time; closing its clients under it", "err", err)
		}
		s.mu.Lock()
		co := s.consumer
		s.mu.Unlock()
		if co != nil {
			co.Close() // commits nothing: an unflushed batch stays uncommitted and is replayed
		}
		if err := s.conn.Close(); err != nil {
			s.log.Debug("closing clickhouse", "err", err)
		}
	})
}
