package bkash

import (
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Grants and Refreshes expose the counters to tests.
func (m *Metrics) Grants() prometheus.Counter    { return m.grants }
func (m *Metrics) Refreshes() prometheus.Counter { return m.refreshes }
