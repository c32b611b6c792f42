package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// loadResult is what the generator itself observed.
type loadResult struct {
	workers int
	waited  int  // sends that found every worker busy at their scheduled time
	stopped bool // interrupted before every payment was scheduled
}

// runLoad sends every payment at its scheduled time (open loop) through a pool of workers. The
// scheduler never waits for an answer: it hands payment i to an idle worker at pays[i].scheduled.
// When every worker is busy it counts the payment as "waited" and blocks until one is free (the
// payment's latency is still measured from its scheduled time, so a saturated pool shows as
// latency and in the waited count, never as a silently lower rate). It returns when every handed
// payment has been answered, or ctx is done and the workers have stopped.
func runLoad(ctx context.Context, pays []payment, workers int, send func(context.Context, *payment), done *atomic.Int64) loadResult {
	res := loadResult{workers: workers}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				p := &pays[i]
				p.started = time.Now().UnixNano()
				send(ctx, p)
				done.Add(1)
			}
		})
	}
	timer := time.NewTimer(0)
	<-timer.C
	i := 0
schedule:
	for ; i < len(pays); i++ {
		if d := time.Until(time.Unix(0, pays[i].scheduled)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				res.stopped = true
				break schedule
			case <-timer.C:
			}
		}
		select {
		case jobs <- i:
			continue
		default:
		}
		pays[i].waited = true
		res.waited++
		select {
		case jobs <- i:
		case <-ctx.Done():
			res.stopped = true
			break schedule
		}
	}
	close(jobs)
	wg.Wait()
	for ; i < len(pays); i++ {
		pays[i].scheduled = 0 // never offered
	}
	return res
}

// errorSamples keeps the first few distinct error messages and how often each occurred.
type errorSamples struct {
	mu     sync.Mutex
	counts map[string]int
	order  []string
	other  int
}

const maxErrorSamples = 20

func (e *errorSamples) add(msg string) {
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts = map[string]int{}
	}
	if _, ok := e.counts[msg]; !ok && len(e.order) >= maxErrorSamples {
		e.other++
		return
	} else if !ok {
		e.order = append(e.order, msg)
	}
	e.counts[msg]++
}

// list returns "N× message" lines, first seen first.
func (e *errorSamples) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.order)+1)
	for _, m := range e.order {
		out = append(out, fmt.Sprintf("%d× %s", e.counts[m], m))
	}
	if e.other > 0 {
		out = append(out, fmt.Sprintf("%d× other messages", e.other))
	}
	return out
}

// progress is a progress bar on stderr, or nothing when disabled. Its methods may be called on a
// nil *progress.
type progress struct{ bar *progressbar.ProgressBar }

// stderrIsTerminal reports whether stderr is a character device (a terminal).
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newProgress(enabled bool, max int, desc string) *progress {
	if !enabled {
		return nil
	}
	return &progress{bar: progressbar.NewOptions(max,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("req"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p *progress) set(n int, desc string) {
	if p == nil {
		return
	}
	if desc != "" {
		p.bar.Describe(desc)
	}
	_ = p.bar.Set(n)
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	_ = p.bar.Finish()
	_ = p.bar.Clear()
}

// watch updates p from get every 200 ms until ctx is done.
func (p *progress) watch(ctx context.Context, get func() (int, string)) {
	if p == nil {
		return
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.set(get())
		}
	}
}
