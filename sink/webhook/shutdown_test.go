package webhook

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// TestShutdownSettlesEveryWorker: stopping the sink while every lane's slots hold an attempt and
// more jobs wait in the lanes lets each held attempt finish and be recorded (attempt record, then
// done mark), and puts every job that was not attempted back in Redis untouched, due, with no
// attempt counted: nothing is lost and nothing is marked done without a request. The workers and
// the bookkeeper are a fixed pool, so this checks that the bookkeeper outlives the last worker.
func TestShutdownSettlesEveryWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	arrived := make(chan struct{}, 64)
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	rcv.hold = func(string) {
		arrived <- struct{}{}
		<-release
	}
	const merchants, per = 3, 10
	for i := range merchants {
		e.merchant("m"+strconv.Itoa(i), rcv.srv.URL, rcv.secret)
	}
	cfg := e.config()
	cfg.PerMerchantConcurrency = 2
	s := e.start(cfg)
	var os []*pipeline.Outcome
	for i := range merchants * per {
		os = append(os, outcome("m"+strconv.Itoa(i%merchants)))
	}
	e.produce(os...)
	held := merchants * cfg.PerMerchantConcurrency
	for range held {
		select {
		case <-arrived:
		case <-time.After(15 * time.Second):
			t.Fatal("the lanes' slots did not fill")
		}
	}
	stopped := make(chan struct{})
	go func() { e.stopSink(); close(stopped) }()
	releaseOnce.Do(func() { close(release) })
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("sink did not stop")
	}

	ctx := context.Background()
	var done int
	for _, o := range os {
		requests, delivered := rcv.counts(o.ID)
		isDone := e.rdb.Exists(ctx, s.store.doneKey(o.ID)).Val() == 1
		switch {
		case isDone:
			done++
			if delivered != 1 {
				t.Errorf("%s marked done after %d deliveries", o.ID, delivered)
			}
			eventually(t, "the attempt record of "+o.ID, func() bool { return len(e.attempts.of(o.ID)) == 1 })
		case requests > 0:
			t.Errorf("%s: %d requests during shutdown, but not marked done", o.ID, requests)
		default:
			f := e.rdb.HGetAll(ctx, s.store.jobKey(o.ID)).Val()
			if f[fAttempts] != "0" || f[fLease] != "" || e.rdb.ZScore(ctx, s.store.due, o.ID).Err() != nil {
				t.Errorf("%s not back in Redis untouched: %v", o.ID, f)
			}
		}
	}
	if done < held {
		t.Fatalf("%d webhooks done, want at least the %d held when the sink stopped", done, held)
	}
}
