package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline/lifecycle"
)

// closeWait bounds how long Close waits for Run before closing the client under it.
const closeWait = 5 * time.Second

// ConsumerMetrics are shared by every group consumer of a process; build once per registry.
type ConsumerMetrics struct {
	records    *prometheus.CounterVec
	lag        *prometheus.GaugeVec
	lagSeconds *prometheus.GaugeVec
	failures   *prometheus.CounterVec
	commits    *prometheus.CounterVec
	batch      *prometheus.HistogramVec
}

// NewConsumerMetrics registers the consumer metrics on reg.
func NewConsumerMetrics(reg prometheus.Registerer) *ConsumerMetrics {
	m := &ConsumerMetrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_consumer_records_total", Help: "Records consumed and processed, by group and topic.",
		}, []string{"group", "topic"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paystream_consumer_lag_records", Help: "Records behind the partition's high watermark after the last processed batch.",
		}, []string{"group", "topic", "partition"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paystream_consumer_lag_seconds", Help: "Age of the last processed record when the partition still had records waiting, else 0.",
		}, []string{"group", "topic", "partition"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_consumer_batch_failures_total", Help: "Batches whose processing failed and was retried (offsets not committed).",
		}, []string{"group"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_consumer_commits_total", Help: "Offset commits by result.",
		}, []string{"group", "result"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paystream_consumer_batch_records", Help: "Records per processed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}, []string{"group"}),
	}
	reg.MustRegister(m.records, m.lag, m.lagSeconds, m.failures, m.commits, m.batch)
	return m
}

// ConsumerConfig describes one group consumer.
type ConsumerConfig struct {
	Group  string
	Topics []string
	// MaxPollRecords bounds a batch (default 2000): the memory a consumer holds is this many records.
	MaxPollRecords int
	// PollInterval bounds how long a poll waits for records before Idle runs (default 250ms).
	PollInterval time.Duration
	// Fill, if positive, is the batching policy of a consumer that wants batches larger than one
	// poll (the audit sink's large inserts): after a poll returned records the consumer polls on
	// until the batch holds MaxPollRecords records, Fill has passed, or the consumer stops, and
	// hands all of it to Handle as one Batch. Rebalances stay blocked meanwhile. 0 (the default)
	// hands each poll's records as they come.
	Fill time.Duration
	// Handle processes one batch (see Batch for what it may keep). It returns nil only when every
	// record is done for good; then the batch's offsets are committed. On error the same batch is
	// handed again after a backoff (100ms doubling to 5s), forever until it succeeds or the consumer
	// stops: a consumer whose dependency is down stops consuming and resumes by itself. Handle runs
	// on the consumer's goroutine; it may call Produce and Backlog.
	Handle func(ctx context.Context, batch *Batch) error
	// Idle, if set, runs after every poll (at least every PollInterval), between batches: work that
	// must not interleave with a batch (expiry ticks) goes here. Its error is logged and retried next time.
	Idle func(ctx context.Context) error
	// OnAssigned and OnRevoked, if set, learn of partition moves. They run between batches.
	OnAssigned func(ctx context.Context, assigned map[string][]int32)
	OnRevoked  func(ctx context.Context, revoked map[string][]int32)
	Metrics    *ConsumerMetrics
	Logger     *slog.Logger
}

// Consumer is a manually committing group consumer: poll a batch, hand it to Handle, commit its
// offsets only after Handle succeeded, allow rebalances only between batches.
type Consumer struct {
	cfg       ConsumerConfig
	cl        *kgo.Client
	adm       *kadm.Client // on cl, for Backlog
	batch     Batch        // reused from batch to batch; owned by Run's goroutine
	log       *slog.Logger
	life      *lifecycle.Group
	closeOnce sync.Once
}

// NewConsumer builds the client; it starts nothing until Run.
func NewConsumer(c Config, cc ConsumerConfig, extra ...kgo.Opt) (*Consumer, error) {
	if cc.Handle == nil || cc.Group == "" || len(cc.Topics) == 0 {
		return nil, errors.New("consumer needs a group, topics and a handler")
	}
	if cc.MaxPollRecords <= 0 {
		cc.MaxPollRecords = 2000
	}
	if cc.PollInterval <= 0 {
		cc.PollInterval = 250 * time.Millisecond
	}
	if cc.Logger == nil {
		cc.Logger = slog.Default()
	}
	co := &Consumer{cfg: cc, log: cc.Logger.With("group", cc.Group), life: lifecycle.New()}
	if cc.Metrics != nil { // exported at zero from the start, so alert rules find them
		cc.Metrics.failures.WithLabelValues(cc.Group)
		cc.Metrics.commits.WithLabelValues(cc.Group, "error")
	}
	extra = append(extra,
		kgo.OnPartitionsAssigned(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			co.log.Info("partitions assigned", "partitions", m)
			if cc.OnAssigned != nil {
				cc.OnAssigned(ctx, m)
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			co.log.Info("partitions revoked", "partitions", m)
			co.forget(m)
			if cc.OnRevoked != nil {
				cc.OnRevoked(ctx, m)
			}
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			co.log.Warn("partitions lost", "partitions", m)
			co.forget(m)
			if cc.OnRevoked != nil {
				cc.OnRevoked(ctx, m)
			}
		}),
	)
	cl, err := NewGroupConsumer(c, cc.Group, cc.Topics, extra...)
	if err != nil {
		return nil, err
	}
	co.cl, co.adm = cl, kadm.NewClient(cl)
	return co, nil
}

func (co *Consumer) forget(m map[string][]int32) {
	if co.cfg.Metrics == nil {
		return
	}
	for t, ps := range m {
		for _, p := range ps {
			lbl := prometheus.Labels{"group": co.cfg.Group, "topic": t, "partition": strconv.Itoa(int(p))}
			co.cfg.Metrics.lag.Delete(lbl)
			co.cfg.Metrics.lagSeconds.Delete(lbl)
		}
	}
}

// Run polls and processes until ctx is done or Close is called. It returns nil on a clean stop,
// lifecycle.ErrClosed after Close and lifecycle.ErrStarted on a second call. The stop interrupts
// Handle through its context: a batch not finished by then stays uncommitted.
func (co *Consumer) Run(ctx context.Context) error {
	return co.life.Run(ctx, "consumer "+co.cfg.Group, co.loop)
}

func (co *Consumer) loop(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		b := &co.batch
		b.reset()
		if closed := co.poll(ctx, time.Now().Add(co.cfg.PollInterval)); closed && b.Len() == 0 {
			return nil
		}
		if b.Len() > 0 && co.cfg.Fill > 0 {
			co.fill(ctx)
		}
		if b.Len() > 0 {
			b.group()
			if err := co.handle(ctx, b); err != nil {
				co.cl.AllowRebalance()
				return nil // ctx done mid-retry: stop without committing
			}
			co.commit(ctx)
		}
		if co.cfg.Idle != nil && ctx.Err() == nil {
			if err := co.cfg.Idle(ctx); err != nil && ctx.Err() == nil {
				co.log.Warn("idle work failed; will retry", "err", err)
			}
		}
		co.cl.AllowRebalance()
	}
}

// poll adds to co.batch the records of one poll that waits until deadline at most, and observes
// them. closed reports that the client was closed.
func (co *Consumer) poll(ctx context.Context, deadline time.Time) (closed bool) {
	pctx, cancel := context.WithDeadline(ctx, deadline)
	fetches := co.cl.PollRecords(pctx, co.cfg.MaxPollRecords-co.batch.Len())
	cancel()
	if fetches.IsClientClosed() {
		return true
	}
	fetches.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			co.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
		}
	})
	if co.batch.add(fetches) > 0 {
		co.observe(fetches)
	}
	return false
}

// fill polls on (ConsumerConfig.Fill) until the batch is full, Fill passed, ctx is done or the
// client closed. Rebalances stay blocked: no partition moves while its records are in the batch.
func (co *Consumer) fill(ctx context.Context) {
	deadline := time.Now().Add(co.cfg.Fill)
	for co.batch.Len() < co.cfg.MaxPollRecords && ctx.Err() == nil && time.Now().Before(deadline) {
		if co.poll(ctx, deadline) {
			return
		}
	}
}

func (co *Consumer) handle(ctx context.Context, b *Batch) error {
	backoff := 100 * time.Millisecond
	for {
		err := co.cfg.Handle(ctx, b)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if co.cfg.Metrics != nil {
			co.cfg.Metrics.failures.WithLabelValues(co.cfg.Group).Inc()
		}
		co.log.Warn("processing batch failed; retrying the same batch", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// observe updates the consumed-records and lag metrics for the records of one poll.
func (co *Consumer) observe(fetches kgo.Fetches) {
	m := co.cfg.Metrics
	if m == nil {
		return
	}
	m.batch.WithLabelValues(co.cfg.Group).Observe(float64(fetches.NumRecords()))
	now := time.Now()
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		last := p.Records[len(p.Records)-1]
		m.records.WithLabelValues(co.cfg.Group, p.Topic).Add(float64(len(p.Records)))
		lbl := prometheus.Labels{"group": co.cfg.Group, "topic": p.Topic, "partition": strconv.Itoa(int(p.Partition))}
		lag := max(p.HighWatermark-last.Offset-1, 0)
		m.lag.With(lbl).Set(float64(lag))
		if lag > 0 {
			m.lagSeconds.With(lbl).Set(now.Sub(last.Timestamp).Seconds())
		} else {
			m.lagSeconds.With(lbl).Set(0)
		}
	})
}

// commit commits what was polled (all of it was processed). A failed commit is logged: the batch
// will be replayed after a restart or rebalance, which every handler tolerates (idempotent by id).
func (co *Consumer) commit(ctx context.Context) {
	// The batch is done even if we are stopping: commit it with a bounded context of its own.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := co.cl.CommitUncommittedOffsets(cctx)
	result := "ok"
	if err != nil {
		result = "error"
		co.log.Warn("committing offsets failed; the batch may be replayed", "err", err)
	}
	if co.cfg.Metrics != nil {
		co.cfg.Metrics.commits.WithLabelValues(co.cfg.Group, result).Inc()
	}
}

// Close stops Run if it runs and waits for it (at most 5 s; then the client is closed under it),
// leaves the group and closes the client. Idempotent; safe before, during or after Run. It commits
// nothing: Run already committed every batch that Handle finished, and a batch that failed or was
// interrupted must stay uncommitted so that the next owner replays it.
func (co *Consumer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if err := co.life.Close(ctx); err != nil {
		co.log.Warn("consumer run did not stop in time; closing its client under it", "err", err)
	}
	co.closeOnce.Do(co.cl.Close)
}

// Produce sends recs with this consumer's client (acks=all, idempotent: records of one partition
// are written in the order given, each once) and blocks until Kafka acknowledged every one of them,
// ctx ended or their delivery timed out. A record's key picks its partition; Partition and Offset
// are ignored. Produce only reads recs, and not after it returns. On failure some records may still
// have been written (at-least-once: every consumer dedupes by the record's own id), and the error
// wraps ErrUnavailable and the first record's error. Safe for concurrent use, also from Handle
// (the matcher produces a batch's outcomes before returning from Handle, so that the batch is
// committed only after them).
func (co *Consumer) Produce(ctx context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := co.cl.ProduceSync(ctx, toProduce(recs)...).FirstErr(); err != nil {
		return fmt.Errorf("%w: producing %d records: %w", ErrUnavailable, len(recs), err)
	}
	return nil
}

// Backlog reports, for each of partitions of topic, whether it has records this group has not
// committed yet: this client's committed offset (with nothing committed in this process: the log's
// start) is below the partition's end offset. A partition whose end offset could not be listed is
// left out of the answer. The committed offsets are those this client knows (its own commits and
// what it fetched on assignment), so ask only about partitions this member owns. It costs one or
// two ListOffsets requests. Errors: listing the offsets failed as a whole.
func (co *Consumer) Backlog(ctx context.Context, topic string, partitions []int32) (map[int32]bool, error) {
	if len(partitions) == 0 {
		return nil, nil
	}
	ends, err := co.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
	}
	committed := co.cl.CommittedOffsets()[topic]
	var starts kadm.ListedOffsets
	out := make(map[int32]bool, len(partitions))
	for _, p := range partitions {
		end, ok := ends.Lookup(topic, p)
		if !ok || end.Err != nil {
			continue
		}
		pos := int64(-1)
		if c, ok := committed[p]; ok {
			pos = c.Offset
		}
		if pos < 0 && end.Offset > 0 { // nothing committed: caught up only if the log is empty
			if starts == nil {
				if starts, err = co.adm.ListStartOffsets(ctx, topic); err != nil {
					return nil, fmt.Errorf("listing start offsets of %s: %w", topic, err)
				}
			}
			if start, ok := starts.Lookup(topic, p); ok && start.Err == nil {
				pos = start.Offset
			}
		}
		out[p] = pos < end.Offset
	}
	return out, nil
}
