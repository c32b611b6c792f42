package bkash

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the client's Prometheus metrics. Build them once per registry with NewMetrics and
// share them between the clients of one process.
type Metrics struct {
	grants    prometheus.Counter
	refreshes prometheus.Counter
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	lockWaits prometheus.Counter
}

// NewMetrics registers the client's metrics on reg (a nil reg keeps them unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		grants: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_bkash_token_grants_total", Help: "bKash token grants (token/grant calls that returned a token).",
		}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_bkash_token_refreshes_total", Help: "bKash token refreshes (token/refresh calls that returned a token).",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_bkash_requests_total", Help: "bKash API calls by operation and bKash statusCode (none: no statusCode; timeout, transport, http_<code>: no usable answer).",
		}, []string{"op", "status_code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paystream_bkash_request_duration_seconds", Help: "bKash API call latency by operation.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 13),
		}, []string{"op"}),
		lockWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_bkash_token_lock_waits_total", Help: "Times a replica waited for another replica's token renewal.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.grants, m.refreshes, m.requests, m.duration, m.lockWaits)
	}
	return m
}
