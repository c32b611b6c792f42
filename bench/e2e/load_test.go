package main

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The generator is open loop: with idle workers every payment starts exactly at its scheduled
// time, whatever the answers' latency; a saturated pool is counted, not hidden.
func TestRunLoadOpenLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pays := make([]payment, 20)
		schedule(pays, time.Now().Add(time.Second), 100) // every 10 ms
		var done atomic.Int64
		slow := func(context.Context, *payment) { time.Sleep(35 * time.Millisecond) }
		res := runLoad(t.Context(), pays, 8, slow, &done)
		if res.waited != 0 || res.stopped || done.Load() != 20 {
			t.Fatalf("8 workers at 4 in flight: %+v, done %d", res, done.Load())
		}
		for i := range pays {
			if pays[i].started != pays[i].scheduled {
				t.Fatalf("payment %d started %d ns after its schedule", i, pays[i].started-pays[i].scheduled)
			}
		}
	})
	synctest.Test(t, func(t *testing.T) {
		pays := make([]payment, 20)
		schedule(pays, time.Now().Add(time.Second), 100)
		var done atomic.Int64
		slow := func(context.Context, *payment) { time.Sleep(35 * time.Millisecond) }
		res := runLoad(t.Context(), pays, 2, slow, &done)
		if res.waited == 0 || done.Load() != 20 {
			t.Fatalf("2 workers at 4 in flight: %+v", res)
		}
		n := 0
		for i := range pays {
			if pays[i].waited {
				n++
				if pays[i].started <= pays[i].scheduled {
					t.Fatalf("payment %d waited for a worker but started on time", i)
				}
			}
		}
		if n != res.waited {
			t.Fatalf("%d payments marked waited, %d counted", n, res.waited)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		pays := make([]payment, 100)
		schedule(pays, time.Now().Add(time.Second), 10)
		ctx, cancel := context.WithTimeout(t.Context(), 3050*time.Millisecond)
		defer cancel()
		var done atomic.Int64
		res := runLoad(ctx, pays, 4, func(context.Context, *payment) {}, &done)
		if !res.stopped || done.Load() != 21 || pays[21].scheduled != 0 || pays[20].scheduled == 0 {
			t.Fatalf("interrupted: %+v, done %d", res, done.Load())
		}
	})
}
