package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// env is what every stage shares: options, the Redis client, a logger and the run's unique name.
type env struct {
	opt options
	rdb *redis.Client
	log *slog.Logger
	run string // unique per run: key prefixes, topic prefixes, database names
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// keys returns a Redis key prefix unique to this run and stage.
func (e *env) keys(stage string) pipeline.Keys {
	return pipeline.Keys{Prefix: "bench-" + e.run + "-" + stage}
}

// topics returns topic names unique to this run and stage.
func (e *env) topics(stage string) pipeline.Topics {
	return pipeline.Topics{Prefix: "bench." + e.run + "." + stage + "."}
}

// broker starts a fresh in-memory embedded broker with the stage's topics; the caller closes it.
func (e *env) broker(stage string) (*bus.Embedded, bus.Config, pipeline.Topics, error) {
	topics := e.topics(stage)
	b, err := bus.StartEmbedded("127.0.0.1:0", "", e.opt.partitions, topics.All())
	if err != nil {
		return nil, bus.Config{}, topics, err
	}
	return b, bus.Config{Brokers: b.Addrs(), Partitions: e.opt.partitions, Logger: e.log}, topics, nil
}

// cleanRedis deletes every key under prefix (and the rate limiter's keys of that prefix).
func (e *env) cleanRedis(prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := 0
	for _, pat := range []string{prefix + ":*", "rate:" + prefix + ":*"} {
		iter := e.rdb.Scan(ctx, 0, pat, 2000).Iterator()
		batch := make([]string, 0, 2000)
		flush := func() {
			if len(batch) > 0 {
				if err := e.rdb.Unlink(ctx, batch...).Err(); err != nil {
					e.log.Warn("cleaning up bench keys", "err", err)
				}
				n += len(batch)
				batch = batch[:0]
			}
		}
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == cap(batch) {
				flush()
			}
		}
		flush()
		if err := iter.Err(); err != nil {
			e.log.Warn("scanning bench keys", "err", err)
		}
	}
	e.log.Debug("cleaned redis", "prefix", prefix, "keys", n)
}

// window measures one run: wall time, the process's heap allocations and, with -cpuprofile, a CPU
// profile. start it right before the measured work, stop it right after.
type window struct {
	start   time.Time
	mallocs uint64
	bytes   uint64
	prof    *os.File
	path    string
}

func (e *env) begin(name string) *window {
	w := &window{}
	if e.opt.cpuprofile != "" {
		w.path = filepath.Join(e.opt.cpuprofile, strings.ReplaceAll(name, "/", "-")+".pprof")
		f, err := os.Create(w.path)
		if err != nil {
			e.log.Warn("cannot write cpu profile", "path", w.path, "err", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			e.log.Warn("cannot start cpu profile", "err", err)
			_ = f.Close()
		} else {
			w.prof = f
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.mallocs, w.bytes = ms.Mallocs, ms.TotalAlloc
	w.start = time.Now()
	return w
}

// end closes the window. from/to, when non-zero, replace the window's own start/end as the
// measured interval (the components' progress tracking knows better when the work began and
// ended); ops is what was done in it.
func (w *window) end(what string, ops, errs int64, from, to time.Time) Measure {
	stop := time.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := Measure{What: what, Ops: ops, Errors: errs}
	if w.prof != nil {
		pprof.StopCPUProfile()
		_ = w.prof.Close()
		m.Profile = w.path
	}
	if from.IsZero() {
		from = w.start
	}
	if to.IsZero() {
		to = stop
	}
	m.Seconds = to.Sub(from).Seconds()
	if ops > 0 {
		m.AllocsPerOp = float64(ms.Mallocs-w.mallocs) / float64(ops)
		m.BytesPerOp = float64(ms.TotalAlloc-w.bytes) / float64(ops)
	}
	return m
}

// progress is what a component has done, sampled from its own metrics.
type progress struct {
	started func() bool    // the component has begun the work (e.g. its consumer polled records)
	count   func() float64 // units of work done so far
}

// track samples p every few milliseconds until count reaches target or timeout passes. It returns
// when the work began (first sample with started true), the time count last increased, and the
// count then. A timeout is not an error here: the caller reports the partial count.
func track(ctx context.Context, p progress, target float64, timeout time.Duration) (from, to time.Time, done float64, timedOut bool) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Now()
		if from.IsZero() && p.started() {
			from = now
		}
		if c := p.count(); c > done {
			done, to = c, now
		}
		if done >= target {
			return from, to, done, false
		}
		if now.After(deadline) || ctx.Err() != nil {
			return from, to, done, true
		}
		<-tick.C
	}
}

// sumMetric adds the values of every counter or gauge series of family name in reg whose labels
// satisfy match (nil: all series).
func sumMetric(reg prometheus.Gatherer, name string, match func(labels map[string]string) bool) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if match != nil {
				labels := map[string]string{}
				for _, lp := range m.GetLabel() {
					labels[lp.GetName()] = lp.GetValue()
				}
				if !match(labels) {
					continue
				}
			}
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// consumerPolled reports whether group's consumer has polled any record (bus.ConsumerMetrics).
func consumerPolled(reg prometheus.Gatherer, group string) func() bool {
	return func() bool {
		return sumMetric(reg, "paystream_consumer_records_total", func(l map[string]string) bool { return l["group"] == group }) > 0
	}
}

// closedLoop runs workers goroutines calling op in a loop for d and counts successes and errors.
// op gets the worker index; it returns false for an error.
func closedLoop(d time.Duration, workers int, op func(worker int) bool) (ok, failed int64, elapsed time.Duration) {
	var okN, errN atomic.Int64
	stop := time.Now().Add(d)
	start := time.Now()
	done := make(chan struct{})
	for i := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for time.Now().Before(stop) {
				if op(i) {
					okN.Add(1)
				} else {
					errN.Add(1)
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	return okN.Load(), errN.Load(), time.Since(start)
}
