package ingest

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// requireNoPanic fails t when any handler of f's server has panicked so far. The router answers a
// panic with a 503 in the surface's shape, which is also what overload and a Kafka outage answer,
// so a fuzzer that accepts a 503 must ask paystream_http_panics_total to tell them apart. The
// counter is cumulative: the first input that panics fails, and so does every later one.
func (f *fixture) requireNoPanic(t testing.TB, input string) {
	t.Helper()
	var pm dto.Metric
	if err := f.s.m.panics.Write(&pm); err != nil {
		t.Fatalf("reading paystream_http_panics_total: %v", err)
	}
	if n := pm.GetCounter().GetValue(); n != 0 {
		t.Fatalf("%s: a handler panicked (paystream_http_panics_total = %v)", input, n)
	}
}
