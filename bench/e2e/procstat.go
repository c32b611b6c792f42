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
	machine    *machineCPU // the machine at the same instant; nil when not sampled
}

// procRef is one process whose CPU the report counts.
type procRef struct {
	name string // e.g. "ingest-1", "dev", "paystream" (-pid)
	role string // dev, ingest, matcher, webhooks, audit, kafka-dev; "" for -pid
	pid  int
}

// readProcs samples several processes at once: the sum of their CPU times and of their RSS.
func readProcs(pids []int) (procSample, error) {
	var sum procSample
	for _, pid := range pids {
		x, err := readProc(pid)
		if err != nil {
			return procSample{}, err
		}
		sum.cpuSeconds += x.cpuSeconds
		sum.rssBytes += x.rssBytes
		sum.at = x.at
	}
	return sum, nil
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

// sampler samples a set of processes (their summed CPU and RSS) at a fixed interval into a
// bounded buffer.
type sampler struct {
	pids     []int
	interval time.Duration
	machine  bool // also sample the machine's and its services' CPU

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
		x, err := readProcs(s.pids)
		if s.machine {
			if m, err := readMachineCPU(); err == nil {
				x.machine = &m
			}
		}
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

// machineCPU is the CPU time, in seconds, the whole machine and the services paystream depends on
// have used so far: what the rest of the machine does while paystream is measured.
type machineCPU struct {
	busy     float64            // every CPU's non-idle time (/proc/stat: all but idle and iowait)
	services map[string]float64 // by command name: redis-server, clickhouse-server
}

// serviceComms are the processes whose CPU the report breaks out: the names /proc/<pid>/comm shows
// (15 characters at most, so clickhouse-server is "clickhouse-serv").
var serviceComms = map[string]string{"redis-server": "redis-server", "clickhouse-serv": "clickhouse-server"}

// readMachineCPU reads /proc/stat and the CPU time of every process in serviceComms.
func readMachineCPU() (machineCPU, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return machineCPU{}, fmt.Errorf("opening /proc: %w", err)
	}
	st, err := fs.Stat()
	if err != nil {
		return machineCPU{}, fmt.Errorf("reading /proc/stat: %w", err)
	}
	t := st.CPUTotal
	m := machineCPU{
		busy:     t.User + t.Nice + t.System + t.IRQ + t.SoftIRQ + t.Steal,
		services: map[string]float64{},
	}
	procs, err := fs.AllProcs()
	if err != nil {
		return machineCPU{}, fmt.Errorf("listing /proc: %w", err)
	}
	for _, p := range procs {
		ps, err := p.Stat()
		if err != nil {
			continue // exited meanwhile
		}
		if name, ok := serviceComms[ps.Comm]; ok {
			m.services[name] += ps.CPUTime()
		}
	}
	return m, nil
}

// cpuShare is the CPU the machine, and each service in it, used between two readings, in cores.
func cpuShare(from, to machineCPU, seconds float64) (busy float64, services map[string]float64) {
	seconds = max(seconds, 1e-9)
	services = map[string]float64{}
	for name, v := range to.services {
		services[name] = max(0, v-from.services[name]) / seconds
	}
	return max(0, to.busy-from.busy) / seconds, services
}

// rssByMinute is the largest RSS sampled in each whole or partial minute from t0 (unix ns): a
// flat series is what a soak is run to show.
func rssByMinute(samples []procSample, t0 int64) []uint64 {
	var out []uint64
	for _, s := range samples {
		if s.at < t0 {
			continue
		}
		i := int((s.at - t0) / int64(time.Minute))
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i] = max(out[i], s.rssBytes)
	}
	return out
}
