package lifecycle

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestCloseWithoutGoroutines(t *testing.T) {
	g := New()
	if closed(g.Done()) {
		t.Fatal("Done closed before any stop")
	}
	if err := g.Close(t.Context()); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if !closed(g.Done()) || !g.Stopping() {
		t.Fatal("not stopped after Close")
	}
	if g.HardContext().Err() != nil {
		t.Fatal("a Close that finished in time triggered the hard stop")
	}
}

func TestCloseIsIdempotentAndConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		release := make(chan struct{})
		if err := g.Go("worker", func(context.Context) { <-release }); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = g.Close(context.Background()) })
		}
		synctest.Wait()
		if closed(g.Done()) {
			t.Fatal("Done closed while a goroutine still runs")
		}
		close(release)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Close #%d = %v", i, err)
			}
		}
		if err := g.Close(context.Background()); err != nil {
			t.Fatalf("Close after stop = %v", err)
		}
	})
}

func TestGoAfterCloseIsRefused(t *testing.T) {
	for _, stop := range []struct {
		name string
		f    func(*Group)
	}{
		{"Close", func(g *Group) { _ = g.Close(context.Background()) }},
		{"TriggerStopConsuming", (*Group).TriggerStopConsuming},
		{"TriggerCloseNow", (*Group).TriggerCloseNow},
	} {
		t.Run(stop.name, func(t *testing.T) {
			g := New()
			stop.f(g)
			ran := false
			err := g.Go("late", func(context.Context) { ran = true })
			if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "late") {
				t.Fatalf("Go after %s = %v, want ErrClosed naming the goroutine", stop.name, err)
			}
			if err := g.Run(context.Background(), "run", func(context.Context) error { ran = true; return nil }); !errors.Is(err, ErrClosed) {
				t.Fatalf("Run after %s = %v, want ErrClosed", stop.name, err)
			}
			if ran {
				t.Fatal("a refused function ran")
			}
		})
	}
}

func TestBoundedCloseWithStuckGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		hard := make(chan struct{})
		// Stuck: ignores the soft stop and returns only at the hard stop.
		if err := g.Go("stuck", func(context.Context) { <-g.HardContext().Done(); close(hard) }); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := g.Close(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stuck") {
			t.Fatalf("Close = %v, want DeadlineExceeded naming the stuck goroutine", err)
		}
		<-hard // the bound passed: the hard stop was triggered
		if err := g.WaitForClose(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBoundedCloseWithGoroutineIgnoringEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		release := make(chan struct{})
		_ = g.Go("deaf", func(context.Context) { <-release })
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := g.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want DeadlineExceeded", err)
		}
		if closed(g.Done()) {
			t.Fatal("Done closed while a goroutine still runs")
		}
		close(release)
		synctest.Wait()
		if !closed(g.Done()) {
			t.Fatal("Done not closed after the last goroutine returned")
		}
	})
}

func TestSoftStopLetsInFlightWorkFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		var took, finished atomic.Int32
		work := make(chan int)
		_ = g.Go("consumer", func(ctx context.Context) {
			for {
				select {
				case <-ctx.Done():
					return
				case n := <-work:
					took.Add(1)
					_ = g.Go("attempt", func(context.Context) {}) // refused once stopping: the consumer keeps the work
					select {
					case <-time.After(time.Duration(n) * time.Second): // in-flight work, under the hard context
						finished.Add(1)
					case <-g.HardContext().Done():
					}
				}
			}
		})
		work <- 5
		g.TriggerStopConsuming()
		if err := g.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took.Load() != 1 || finished.Load() != 1 {
			t.Fatalf("took %d, finished %d: the soft stop cut in-flight work short", took.Load(), finished.Load())
		}
	})
}

func TestHardStopCancelsInFlightWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		started := make(chan struct{})
		var abandoned atomic.Bool
		_ = g.Go("attempt", func(context.Context) {
			close(started)
			select {
			case <-time.After(time.Hour):
			case <-g.HardContext().Done():
				abandoned.Store(true)
			}
		})
		<-started
		g.TriggerCloseNow()
		if err := g.WaitForClose(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !abandoned.Load() || !g.Stopping() {
			t.Fatal("the hard stop did not cancel in-flight work or did not imply the soft stop")
		}
	})
}

func TestRunOnceAndStoppedByItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		parent, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		var inner context.Context
		go func() {
			errc <- g.Run(parent, "run", func(ctx context.Context) error {
				inner = ctx
				_ = g.Go("helper", func(ctx context.Context) { <-ctx.Done() })
				<-ctx.Done()
				return errors.New("stopped")
			})
		}()
		synctest.Wait()
		if err := g.Run(context.Background(), "again", func(context.Context) error { return nil }); !errors.Is(err, ErrStarted) {
			t.Fatalf("second Run = %v, want ErrStarted", err)
		}
		cancel()
		if err := <-errc; err == nil || err.Error() != "stopped" {
			t.Fatalf("Run = %v, want f's error", err)
		}
		if inner.Err() == nil || !g.Stopping() {
			t.Fatal("the end of Run's context did not stop the group")
		}
		if err := g.Close(context.Background()); err != nil { // waits for the helper too
			t.Fatal(err)
		}
	})
}

func TestCloseWaitsForRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		var returned atomic.Bool
		go func() {
			_ = g.Run(context.Background(), "run", func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(3 * time.Second) // the last flush of a soft stop
				returned.Store(true)
				return nil
			})
		}()
		synctest.Wait()
		if err := g.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !returned.Load() {
			t.Fatal("Close returned before Run's body")
		}
	})
}

// TestGoRacesClose starts goroutines while another goroutine closes the group: every Go either
// refuses or is waited for by Close (run with -race: no WaitGroup reuse, no Add after Wait).
func TestGoRacesClose(t *testing.T) {
	for range 50 {
		g := New()
		var accepted, ran atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					if g.Go("w", func(context.Context) { ran.Add(1) }) == nil {
						accepted.Add(1)
					}
				}
			})
		}
		if err := g.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		got := ran.Load()
		wg.Wait()
		if got != accepted.Load() {
			t.Fatalf("Close returned with %d of %d accepted goroutines run", got, accepted.Load())
		}
	}
}
