package main

import (
	"math"
	"testing"
)

func TestPercentiles(t *testing.T) {
	if got := percentiles(nil); got != (Percentiles{}) {
		t.Fatalf("empty: %+v", got)
	}
	ms := make([]float64, 1000)
	for i := range ms {
		ms[len(ms)-1-i] = float64(i + 1) // 1000 … 1, unsorted on purpose
	}
	want := Percentiles{Count: 1000, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if got := percentiles(ms); got != want {
		t.Fatalf("1…1000: %+v, want %+v", got, want)
	}
	if got := percentiles([]float64{7}); got != (Percentiles{Count: 1, P50: 7, P90: 7, P99: 7, P999: 7, Max: 7}) {
		t.Fatalf("one value: %+v", got)
	}
	// Nearest rank: of 10 values, p90 is the 9th, p99 and p99.9 the 10th.
	got := percentiles([]float64{10, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	if got.P50 != 5 || got.P90 != 9 || got.P99 != 10 || got.P999 != 10 || got.Max != 10 {
		t.Fatalf("1…10: %+v", got)
	}
}

func TestBuildSeries(t *testing.T) {
	const s = int64(1e9)
	t0 := int64(1000) * s
	pays := []payment{
		// offered at 0 s, accepted at 0.01 s, decided at 0.5 s, delivered at 1.2 s
		{surface: surfNative, scheduled: t0, started: t0, answered: t0 + s/100, status: 202, decidedAt: t0 + s/2, paidAt: t0 + 12*s/10, paidEvents: 1},
		// offered at 0.5 s, refused at 0.6 s
		{surface: surfSNS, scheduled: t0 + s/2, started: t0 + s/2, answered: t0 + 6*s/10, status: 503},
		// offered at 1.5 s, accepted at 1.52 s, never delivered
		{surface: surfTxn, scheduled: t0 + 15*s/10, started: t0 + 15*s/10, answered: t0 + 152*s/100, status: 202},
		// never offered (interrupted)
		{surface: surfSMS},
	}
	mach := func(busy, redis, ch float64) *machineCPU {
		return &machineCPU{busy: busy, services: map[string]float64{"redis-server": redis, "clickhouse-server": ch}}
	}
	samples := []procSample{
		{at: t0, cpuSeconds: 10, rssBytes: 100 << 20, machine: mach(100, 5, 7)},
		{at: t0 + s/2, cpuSeconds: 10.25, rssBytes: 110 << 20, machine: mach(100.5, 5.1, 7.05)},
		{at: t0 + 3*s/2, cpuSeconds: 11.25, rssBytes: 120 << 20, machine: mach(102.5, 5.6, 7.25)},
	}
	got := buildSeries(seriesInput{t0: t0, pays: pays, samples: samples})
	if len(got) != 2 {
		t.Fatalf("%d seconds, want 2: %+v", len(got), got)
	}
	a, b := got[0], got[1]
	if a.Offered != 2 || a.Sent != 2 || a.Accepted != 1 || a.Errors != 1 || a.Decided != 1 || a.Delivered != 0 {
		t.Errorf("second 0: %+v", a)
	}
	if b.Offered != 1 || b.Accepted != 1 || b.Delivered != 1 || b.Decided != 0 {
		t.Errorf("second 1: %+v", b)
	}
	// Latencies belong to the second the payment was offered in.
	if a.AcceptP50 == nil || *a.AcceptP50 != 10 || a.DeliveredP99 == nil || *a.DeliveredP99 != 1200 {
		t.Errorf("second 0 latencies: accept %v delivered %v", a.AcceptP50, a.DeliveredP99)
	}
	if b.AcceptP50 == nil || *b.AcceptP50 != 20 || b.DeliveredP50 != nil {
		t.Errorf("second 1 latencies: accept %v delivered %v", b.AcceptP50, b.DeliveredP50)
	}
	if a.CPUCores == nil || *a.CPUCores != 0.5 || b.CPUCores == nil || *b.CPUCores != 1 || b.RSSMiB == nil || *b.RSSMiB != 120 {
		t.Errorf("process: %v %v %v", a.CPUCores, b.CPUCores, b.RSSMiB)
	}
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-9 }
	if !near(a.MachineCores, 1) || !near(a.RedisCores, 0.2) || !near(a.ClickHouseCores, 0.1) ||
		!near(b.MachineCores, 2) || !near(b.RedisCores, 0.5) || !near(b.ClickHouseCores, 0.2) {
		t.Errorf("machine: %+v / %+v", a, b)
	}
	// Without machine samples, no machine figures.
	samples[1].machine = nil
	for _, sec := range buildSeries(seriesInput{t0: t0, pays: pays, samples: samples[:2]}) {
		if sec.MachineCores != nil {
			t.Errorf("machine cores without machine samples: %+v", sec)
		}
	}
}
