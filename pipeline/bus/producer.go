package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrUnavailable wraps every produce failure: Kafka did not acknowledge the record, so the caller
// must not report success (ingest answers 503 with Retry-After).
var ErrUnavailable = errors.New("kafka did not acknowledge the record")

// Producer sends records and waits for Kafka's acknowledgement (acks=all, idempotent). Concurrent
// Send calls are batched together by franz-go, so many requests share one produce round trip.
// It is safe for concurrent use.
type Producer struct {
	cl       *kgo.Client
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
}

// NewBusProducer builds a Producer; deliveryTimeout bounds how long a record may wait for an
// acknowledgement, maxBuffered bounds the records held in memory.
func NewBusProducer(c Config, deliveryTimeout time.Duration, maxBuffered int, reg prometheus.Registerer) (*Producer, error) {
	cl, err := NewProducer(c, deliveryTimeout, maxBuffered)
	if err != nil {
		return nil, err
	}
	p := &Producer{
		cl: cl,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paystream_kafka_produce_duration_seconds",
			Help:    "Time from produce to Kafka acknowledgement (acks=all), by topic.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"topic"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_kafka_produce_failures_total",
			Help: "Records Kafka did not acknowledge, by topic.",
		}, []string{"topic"}),
	}
	buffered := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "paystream_kafka_producer_buffered_records",
		Help: "Records buffered in the producer waiting for acknowledgement.",
	}, func() float64 { return float64(cl.BufferedProduceRecords()) })
	capacity := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "paystream_kafka_producer_buffer_capacity_records",
		Help: "Maximum records the producer buffers before Send blocks.",
	})
	capacity.Set(float64(maxBuffered))
	reg.MustRegister(p.duration, p.failures, buffered, capacity)
	return p, nil
}

// Send produces one record and blocks until Kafka acknowledged it, ctx ended, or the delivery
// timeout passed, whichever comes first. Any failure wraps ErrUnavailable. Send returns at ctx's
// deadline even when the record is still in flight to an unresponsive broker (franz-go cannot
// recall a record once it is on the wire): the record may then still be written later
// (at-least-once), which every consumer tolerates because it dedupes by the record's own id.
// Records left in flight stay bounded by the producer's buffer limit.
func (p *Producer) Send(ctx context.Context, topic string, key, value []byte) error {
	start := time.Now()
	done := make(chan error, 1)
	p.cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value}, func(_ *kgo.Record, err error) {
		done <- err
	})
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		p.failures.WithLabelValues(topic).Inc()
		return fmt.Errorf("%w: producing to %s: %w", ErrUnavailable, topic, err)
	}
	p.duration.WithLabelValues(topic).Observe(time.Since(start).Seconds())
	return nil
}

// SendAll produces recs (topic, key and value of each; see Record) and blocks until Kafka
// acknowledged all of them, ctx ended or their delivery timed out. Records of one partition are
// written in the order given. It is Send for many records at once (a backlog, a benchmark's
// load): one produce round trip per partition batch instead of one wait per record. Any failure
// wraps ErrUnavailable; some records may have been written nonetheless (see Send).
func (p *Producer) SendAll(ctx context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	start := time.Now()
	for i, res := range p.cl.ProduceSync(ctx, toProduce(recs)...) {
		if res.Err != nil {
			p.failures.WithLabelValues(res.Record.Topic).Inc()
			return fmt.Errorf("%w: producing %d records (record %d to %s): %w", ErrUnavailable, len(recs), i, res.Record.Topic, res.Err)
		}
	}
	took := time.Since(start).Seconds()
	for i := range recs {
		p.duration.WithLabelValues(recs[i].Topic).Observe(took)
	}
	return nil
}

// Ping checks that a broker answers.
func (p *Producer) Ping(ctx context.Context) error { return p.cl.Ping(ctx) }

// Close flushes buffered records and closes the client, failing what could not be flushed. The
// flush is bounded by ctx and by 10 s at most (an unresponsive broker must not block shutdown).
func (p *Producer) Close(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = p.cl.Flush(fctx)
	p.cl.Close()
}
