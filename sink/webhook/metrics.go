package webhook

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
)

// Skip reasons (paystream_webhook_outcomes_skipped_total{reason}).
const (
	skipMalformed   = "malformed"
	skipUnsupported = "unsupported_dialect"
)

type metrics struct {
	enqueued        *prometheus.CounterVec
	attempts        *prometheus.CounterVec
	attemptDuration prometheus.Histogram
	deliveryLatency *prometheus.HistogramVec
	due             prometheus.Gauge
	pending         prometheus.Gauge
	dead            prometheus.Gauge
	inflight        prometheus.Gauge
	laneQueued      prometheus.Gauge
	capacity        prometheus.Gauge
	laneFull        prometheus.Counter
	skipped         *prometheus.CounterVec
	recordFailures  prometheus.Counter
	failing         *failTracker
}

// newMetrics builds the collectors; register adds them to a registry.
func newMetrics() *metrics {
	m := &metrics{
		failing: newFailTracker(nil),
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_webhook_enqueued_total", Help: "Webhook jobs stored in Redis (replayed outcomes not counted).",
		}, []string{"environment"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_webhook_attempts_total", Help: "Webhook delivery attempts by result (delivered, retry, dead_letter).",
		}, []string{"result", "environment"}),
		attemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "paystream_webhook_attempt_duration_seconds", Help: "Duration of one webhook HTTP attempt.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paystream_webhook_delivery_latency_seconds", Help: "From ingest accepting the triggering event to the merchant acknowledging the webhook.",
			Buckets: prometheus.ExponentialBuckets(0.05, 3, 14),
		}, []string{"environment"}),
		due: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_webhook_due_jobs", Help: "Webhook jobs due now and not yet claimed (the dispatch backlog).",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_webhook_pending_jobs", Help: "Webhook jobs not yet delivered nor dead-lettered (due, leased or waiting to retry).",
		}),
		dead: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_webhook_dead_letters", Help: "Dead-lettered webhooks waiting for an operator (redeliver via the admin API).",
		}),
		laneQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_webhook_lane_queued",
			Help: "Claimed webhook jobs waiting in memory for a slot of their merchant's lane (bounded; they count against the in-flight capacity).",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_webhook_inflight", Help: "Webhook attempts in progress in this process.",
		}),
		capacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_webhook_inflight_capacity", Help: "Maximum concurrent webhook attempts in this process.",
		}),
		laneFull: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_webhook_lane_full_total", Help: "Claimed jobs put back in Redis because their merchant's lane was full and its in-memory queue too.",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_webhook_outcomes_skipped_total", Help: "Outcomes that should have become webhooks but could not (malformed record, dialect without renderer).",
		}, []string{"reason"}),
		recordFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_webhook_attempt_record_failures_total", Help: "Attempts whose audit record could not be produced to Kafka; the job is retried.",
		}),
	}
	for _, env := range []pipeline.Environment{pipeline.Sandbox, pipeline.Live} {
		m.enqueued.WithLabelValues(string(env))
		m.deliveryLatency.WithLabelValues(string(env))
		for _, r := range []pipeline.WebhookResult{pipeline.WebhookDelivered, pipeline.WebhookRetry, pipeline.WebhookDeadLetter} {
			m.attempts.WithLabelValues(string(r), string(env))
		}
	}
	m.skipped.WithLabelValues(skipMalformed)
	m.skipped.WithLabelValues(skipUnsupported)
	return m
}

// register adds every collector to reg (nil: none). On a conflict it unregisters what it added, so
// the caller may retry with another registry.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	var done []prometheus.Collector
	for _, c := range []prometheus.Collector{m.enqueued, m.attempts, m.attemptDuration, m.deliveryLatency, m.due, m.pending,
		m.dead, m.inflight, m.laneQueued, m.capacity, m.laneFull, m.skipped, m.recordFailures, m.failing} {
		if err := reg.Register(c); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("registering webhook metrics (one sink per registry): %w", err)
			}
			return fmt.Errorf("registering webhook metrics: %w", err)
		}
		done = append(done, c)
	}
	return nil
}

// envLabel keeps the environment label bounded even for a corrupt job.
func envLabel(e pipeline.Environment) string {
	if e.Valid() {
		return string(e)
	}
	return "unknown"
}
