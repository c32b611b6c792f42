package main

import (
	"os"
	"slices"
	"testing"
	"time"
)

func TestRSSByMinute(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).UnixNano()
	at := func(d time.Duration) int64 { return t0 + int64(d) }
	samples := []procSample{
		{at: at(-time.Second), rssBytes: 999}, // before the load: not counted
		{at: at(0), rssBytes: 10},
		{at: at(30 * time.Second), rssBytes: 30},
		{at: at(59 * time.Second), rssBytes: 20},
		{at: at(61 * time.Second), rssBytes: 25},
		{at: at(3*time.Minute + time.Second), rssBytes: 40}, // minute 2 has no sample: 0
	}
	if got, want := rssByMinute(samples, t0), []uint64{30, 25, 0, 40}; !slices.Equal(got, want) {
		t.Errorf("rssByMinute = %v, want %v", got, want)
	}
	if got := rssByMinute(nil, t0); got != nil {
		t.Errorf("no samples: %v", got)
	}
}

func TestCPUShare(t *testing.T) {
	from := machineCPU{busy: 10, services: map[string]float64{"redis-server": 1}}
	to := machineCPU{busy: 13, services: map[string]float64{"redis-server": 2.5, "clickhouse-server": 0.5}}
	busy, svc := cpuShare(from, to, 2)
	if busy != 1.5 || svc["redis-server"] != 0.75 || svc["clickhouse-server"] != 0.25 {
		t.Errorf("cpuShare = %v %v", busy, svc)
	}
}

// TestReadMachineCPU reads this machine's /proc: the busy time only grows.
func TestReadMachineCPU(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	a, err := readMachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3_000_000; i++ { // burn a little CPU
		_ = time.Now()
	}
	b, err := readMachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	if a.busy <= 0 || b.busy < a.busy {
		t.Errorf("busy went from %v to %v", a.busy, b.busy)
	}
}
