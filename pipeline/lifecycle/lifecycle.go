package lifecycle

import (
	"context"
	"fmt"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
)

// Group tracks one component's goroutines and carries its soft and hard stop signals. Build it with
// New; all methods are safe for concurrent use. A Group is used for one run: once stopped it stays
// stopped.
type Group struct {
	soft       context.Context // ends at the soft stop (and so at the hard stop)
	softCancel context.CancelFunc
	hard       context.Context // ends at the hard stop only
	hardCancel context.CancelFunc
	done       chan struct{} // closed once the stop began and no tracked goroutine is left

	mu       sync.Mutex
	n        int            // tracked goroutines running
	names    map[string]int // running, by name (for the error of a bounded wait)
	started  bool           // Run was called
	stopping bool           // the soft stop began: Go and Run refuse
}

// New returns a running Group; it starts nothing.
func New() *Group {
	hard, hardCancel := context.WithCancel(context.Background())
	soft, softCancel := context.WithCancel(hard)
	return &Group{
		soft: soft, softCancel: softCancel, hard: hard, hardCancel: hardCancel,
		done: make(chan struct{}), names: map[string]int{},
	}
}

// Go runs f in a new goroutine tracked as name (also its pprof label "goroutine"). f's context ends
// at the soft stop: f must then stop taking new work and return once the work it took is done (that
// work should run under HardContext). Go returns ErrClosed, and does not run f, once the soft stop
// began; the caller then still owns whatever f would have handled.
func (g *Group) Go(name string, f func(ctx context.Context)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping {
		return fmt.Errorf("starting goroutine %s: %w", name, ErrClosed)
	}
	g.enter(name)
	go func() {
		defer g.leave(name)
		pprof.Do(g.soft, pprof.Labels("goroutine", name), f)
	}()
	return nil
}

// Run runs f in the calling goroutine, tracked as name, and returns f's error: it is the body of a
// component's blocking Run. f's context ends when parent ends or at the soft stop; parent's end is
// itself a soft stop of the group (a component whose Run's context ended does not run again). Run
// may be called once: later calls return ErrStarted, and calls after the stop began ErrClosed,
// without running f.
func (g *Group) Run(parent context.Context, name string, f func(ctx context.Context) error) error {
	g.mu.Lock()
	switch {
	case g.stopping:
		g.mu.Unlock()
		return ErrClosed
	case g.started:
		g.mu.Unlock()
		return ErrStarted
	}
	g.started = true
	g.enter(name)
	g.mu.Unlock()
	defer g.leave(name)

	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	stopRun := context.AfterFunc(g.soft, cancel)
	defer stopRun()
	stopGroup := context.AfterFunc(parent, g.TriggerStopConsuming)
	defer stopGroup()
	err := f(ctx)
	if parent.Err() != nil {
		// AfterFunc runs TriggerStopConsuming in a goroutine of its own, which may not have run
		// yet: the group must be stopping when Run returns because its context ended.
		g.TriggerStopConsuming()
	}
	return err
}

// TriggerStopConsuming begins the soft stop: Go and Run refuse from now on and the context they
// handed out ends. Idempotent; it does not wait.
func (g *Group) TriggerStopConsuming() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping {
		return
	}
	g.stopping = true
	g.softCancel()
	if g.n == 0 {
		close(g.done)
	}
}

// TriggerCloseNow begins the hard stop (and the soft one, if it has not begun): HardContext ends, so
// work in flight is abandoned. Idempotent; it does not wait.
func (g *Group) TriggerCloseNow() {
	g.TriggerStopConsuming()
	g.hardCancel()
}

// Stopping reports whether the soft stop began.
func (g *Group) Stopping() bool { return g.soft.Err() != nil }

// HardContext ends at the hard stop only: work a goroutine already took (an HTTP attempt, an insert)
// runs under it, so that a soft stop lets it finish and a hard stop cuts it short.
func (g *Group) HardContext() context.Context { return g.hard }

// Done is closed once the stop began and every tracked goroutine returned.
func (g *Group) Done() <-chan struct{} { return g.done }

// WaitForClose blocks until the stop began and every tracked goroutine returned (nil), or until ctx
// ends: then it returns ctx's error, wrapped with the names of the goroutines still running. It
// triggers nothing.
func (g *Group) WaitForClose(ctx context.Context) error {
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
	}
	select { // both ready: report the stop
	case <-g.done:
		return nil
	default:
	}
	return fmt.Errorf("waiting for goroutines %s: %w", g.running(), ctx.Err())
}

// Close stops the group: the soft stop, then a wait bounded by ctx for every tracked goroutine; if
// ctx ends first it triggers the hard stop and returns WaitForClose's error without waiting more
// (call WaitForClose to wait for the abandoned work to notice). Close is idempotent: every call
// waits the same way, and returns nil once everything stopped.
func (g *Group) Close(ctx context.Context) error {
	g.TriggerStopConsuming()
	if err := g.WaitForClose(ctx); err != nil {
		g.TriggerCloseNow()
		return err
	}
	return nil
}

func (g *Group) enter(name string) { // g.mu held
	g.n++
	g.names[name]++
}

func (g *Group) leave(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.names[name]--; g.names[name] == 0 {
		delete(g.names, name)
	}
	if g.n == 0 && g.stopping {
		close(g.done) // once: after the stop began nothing enters, so n reaches 0 once
	}
}

// running describes the tracked goroutines still running, e.g. "[attempt×3 dispatch]".
func (g *Group) running() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.names))
	for name, n := range g.names {
		if n > 1 {
			name = fmt.Sprintf("%s×%d", name, n)
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return "[" + strings.Join(out, " ") + "]"
}
