package audit

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sink's Prometheus collectors. Label values are bounded: table is one of five
// names.
type metrics struct {
	rows           *prometheus.CounterVec
	batchRows      prometheus.Histogram
	insertDuration *prometheus.HistogramVec
	insertFailures *prometheus.CounterVec
	rejects        prometheus.Counter
	buffered       prometheus.Gauge
	capacity       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, capacity int) (*metrics, error) {
	m := &metrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_audit_rows_total",
			Help: "Rows ClickHouse accepted, by table (replays count again; the table dedupes).",
		}, []string{"table"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "paystream_audit_batch_rows",
			Help:    "Rows per audit flush, over all tables.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65536
		}),
		insertDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paystream_audit_insert_duration_seconds",
			Help:    "Time of one table's batch insert (PrepareBatch to Send), successful or not.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10), // 1ms .. ~3.8s
		}, []string{"table"}),
		insertFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_audit_insert_failures_total",
			Help: "Batch inserts ClickHouse refused or did not answer, by table; the batch is retried and offsets wait.",
		}, []string{"table"}),
		rejects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_audit_rejects_total",
			Help: "Records that could not be decoded and were stored in audit_rejects.",
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_audit_buffered_rows",
			Help: "Rows held in the audit batch, not yet accepted by ClickHouse.",
		}),
		capacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_audit_buffer_capacity_rows",
			Help: "Most rows the audit batch holds (Config.BatchSize).",
		}),
	}
	m.capacity.Set(float64(capacity))
	for _, t := range tableNames {
		m.rows.WithLabelValues(t)
		m.insertFailures.WithLabelValues(t)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rows, m.batchRows, m.insertDuration, m.insertFailures, m.rejects, m.buffered, m.capacity} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering audit metrics: %w", err)
		}
	}
	return m, nil
}
