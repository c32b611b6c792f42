package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/procfs"
)

// procSample is paystream's CPU time and resident memory at one instant.
type procSample struct {
	at         int64 // unix ns
	cpuSeconds float64
	rssBytes   uint64
}

// readProc samples process pid from /proc: utime+stime of /proc/<pid>/stat and its RSS.
func readProc(pid int) (procSample, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procSample{}, fmt.Errorf("opening /proc/%d: %w", pid, err)
	}
	st, err := p.Stat()
	if err != nil {
		return procSample{}, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
	}
	return procSample{at: time.Now().UnixNano(), cpuSeconds: st.CPUTime(), rssBytes: uint64(max(0, st.ResidentMemory()))}, nil
}

// peakRSS returns VmHWM of /proc/<pid>/status: the process's peak resident set size in bytes.
func peakRSS(pid int) (uint64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, fmt.Errorf("opening /proc/%d: %w", pid, err)
	}
	s, err := p.NewStatus()
	if err != nil {
		return 0, fmt.Errorf("reading /proc/%d/status: %w", pid, err)
	}
	return s.VmHWM, nil
}

// sampler samples one process at a fixed interval into a bounded buffer.
type sampler struct {
	pid      int
	interval time.Duration

	mu      sync.Mutex
	samples []procSample
	err     error
}

// maxSamples bounds the sampler's memory (a day at 2 samples a second).
const maxSamples = 2 * 24 * 3600

// run samples until ctx is done. It blocks; it stops early, keeping the error, when the process
// cannot be read.
func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		x, err := readProc(s.pid)
		s.mu.Lock()
		if err != nil {
			s.err = err
			s.mu.Unlock()
			return
		}
		if len(s.samples) < maxSamples {
			s.samples = append(s.samples, x)
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// snapshot returns a copy of the samples so far and the error that stopped sampling, if any.
func (s *sampler) snapshot() ([]procSample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]procSample(nil), s.samples...), s.err
}
