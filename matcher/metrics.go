package matcher

import (
	"errors"
	"fmt"
	"github.com/paystream/paystream/pipeline"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the kind label of paystream_matcher_events_total besides the inbound event kinds.
const (
	kindUnknown = "unknown" // a record that did not decode
	kindExpiry  = string(KindExpiry)
)

// Values of the result label of paystream_matcher_events_total.
const (
	resultApplied  = "applied"  // decided and stored now
	resultReplayed = "replayed" // found applied before: stored outcomes re-emitted
	resultNoop     = "noop"     // nothing to decide (expiry of an intent no longer PENDING, an SMS without a trusted balance)
	resultIgnored  = "ignored"  // decided to change nothing (paystream_matcher_ignored_total says why), marker stored
	resultPoison   = "poison"   // undecodable or unusable record, skipped
)

type metrics struct {
	events    *prometheus.CounterVec
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	dups      *prometheus.CounterVec
	ignored   *prometheus.CounterVec
	gaps      *prometheus.CounterVec
	conflicts prometheus.Counter
	produced  prometheus.Counter
	retired   prometheus.Counter
	runs      prometheus.Histogram
}

// newMetrics builds the matcher's metrics and registers them on reg (nil: not registered).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_matcher_events_total",
			Help: "Inbound events and expiry ticks handled, by kind and result (applied, replayed, noop, poison).",
		}, []string{"kind", "result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_matcher_decisions_total",
			Help: "Outcomes decided, by rule and status (intent status, or payment disposition) and environment.",
		}, []string{"rule", "status", "environment"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paystream_matcher_decision_latency_seconds",
			Help:    "Time from ingest accepting an event (or an intent's deadline) to the matcher's decision.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 17), // 1ms .. ~65s
		}, []string{"environment"}),
		dups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_matcher_duplicates_total",
			Help: "Payments whose TrxID was reported before on the same wallet.",
		}, []string{"environment"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_matcher_ignored_total",
			Help: "Claims, operator decisions and SMS that changed nothing, by kind and reason (unknown_intent, trx_paid_other_intent, not_under_review, sms_out_of_order, ...).",
		}, []string{"kind", "reason"}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_matcher_balance_gaps_total",
			Help: "Wallet SMS whose balance does not follow from the previous one: possible missed SMS.",
		}, []string{"environment"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_matcher_apply_conflicts_total",
			Help: "Decisions whose compare-and-set failed because the state changed; they were decided again.",
		}),
		produced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_matcher_outcomes_produced_total",
			Help: "Outcome records acknowledged by Kafka (replays included).",
		}),
		retired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_matcher_intents_retired_total",
			Help: "Settled intents deleted from Redis after the final-intent retention (their history is in ClickHouse).",
		}),
		runs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "paystream_matcher_run_events",
			Help:    "Events per run: decided over snapshots loaded in one pipeline and applied in one pipeline (at most 512).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
	}
	// Families that only move on trouble are exported at zero from the start, so dashboards and
	// alert rules find them on a healthy process.
	for _, env := range []pipeline.Environment{pipeline.Sandbox, pipeline.Live} {
		m.dups.WithLabelValues(string(env))
		m.gaps.WithLabelValues(string(env))
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.events, m.decisions, m.latency, m.dups, m.ignored, m.gaps, m.conflicts, m.produced, m.retired, m.runs} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering matcher metrics: %w", err)
	}
	return m, nil
}
