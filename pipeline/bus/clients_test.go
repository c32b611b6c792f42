package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProducerRoundTrip: records sent concurrently through the acks=all idempotent producer come
// back to a group consumer each exactly once, in send order per key, on kfake and real Kafka (on
// three brokers every record was acknowledged by two replicas: min.insync.replicas=2).
func TestProducerRoundTrip(t *testing.T) {
	for _, tg := range targets(t) {
		tg.run(t, func(t *testing.T, tg target) {
			ctx := testCtx(t)
			p := prefix(t)
			topic := p + "inbound"
			c := Config{Brokers: tg.brokers, Partitions: 4}
			if err := EnsureTopics(ctx, c, topic); err != nil {
				t.Fatal(err)
			}
			pr, err := NewBusProducer(c, 20*time.Second, 1000, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close(context.Background()) })
			const keys, perKey = 8, 25
			var wg sync.WaitGroup
			errs := make(chan error, keys)
			for k := range keys {
				wg.Add(1)
				go func() { // one sender per key: its records must arrive in this order
					defer wg.Done()
					for i := range perKey {
						if err := pr.Send(ctx, topic, fmt.Appendf(nil, "k%d", k), fmt.Appendf(nil, "%d", i)); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("Send: %v", err)
			}

			var mu sync.Mutex
			got := map[string][]string{}
			n := 0
			co, err := NewConsumer(c, ConsumerConfig{Group: p + "g", Topics: []string{topic}, Handle: func(_ context.Context, f *Batch) error {
				mu.Lock()
				defer mu.Unlock()
				for r := range f.Records() {
					got[string(r.Key)] = append(got[string(r.Key)], string(r.Value))
					n++
				}
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			runConsumer(t, co)
			waitFor(t, "every record consumed", 45*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return n >= keys*perKey })
			mu.Lock()
			defer mu.Unlock()
			if n != keys*perKey {
				t.Fatalf("consumed %d records, sent %d", n, keys*perKey)
			}
			for k := range keys {
				vs := got[fmt.Sprintf("k%d", k)]
				for i, v := range vs {
					if v != fmt.Sprint(i) {
						t.Fatalf("key k%d: record %d is %q (duplicated or reordered): %v", k, i, v, vs)
					}
				}
			}
		})
	}
}

// runConsumer runs co until the test ends, then stops and closes it.
func runConsumer(t *testing.T, co *Consumer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = co.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; co.Close() })
}

// TestConsumerCommitsOnlyFinishedBatches: the group's committed offsets move only past batches
// Handle finished. A member whose Handle keeps failing commits nothing; the next member of the
// group gets exactly those records again and none of the finished ones (kfake and real Kafka's
// group coordinator).
func TestConsumerCommitsOnlyFinishedBatches(t *testing.T) {
	for _, tg := range targets(t) {
		tg.run(t, func(t *testing.T, tg target) {
			ctx := testCtx(t)
			p := prefix(t)
			topic, group := p+"outcomes", p+"g"
			c := Config{Brokers: tg.brokers, Partitions: 2}
			if err := EnsureTopics(ctx, c, topic); err != nil {
				t.Fatal(err)
			}
			pr, err := NewBusProducer(c, 20*time.Second, 1000, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close(context.Background()) })
			send := func(from, to int) {
				t.Helper()
				for i := from; i < to; i++ {
					if err := pr.Send(ctx, topic, fmt.Appendf(nil, "m%d", i%5), fmt.Appendf(nil, "%d", i)); err != nil {
						t.Fatal(err)
					}
				}
			}
			adm := admin(t, tg.brokers)
			committed := func() int64 {
				os, err := adm.FetchOffsets(ctx, group)
				if err != nil {
					return -1
				}
				var sum int64
				os.Each(func(o kadm.OffsetResponse) {
					if o.Topic == topic && o.Err == nil && o.At > 0 {
						sum += o.At
					}
				})
				return sum
			}
			member := func(handle func(*Batch) error) (*Consumer, context.CancelFunc, chan struct{}) {
				co, err := NewConsumer(c, ConsumerConfig{Group: group, Topics: []string{topic}, PollInterval: 100 * time.Millisecond,
					Handle: func(_ context.Context, f *Batch) error { return handle(f) }})
				if err != nil {
					t.Fatal(err)
				}
				rctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); _ = co.Run(rctx) }()
				return co, cancel, done
			}
			stop := func(co *Consumer, cancel context.CancelFunc, done chan struct{}) { cancel(); <-done; co.Close() }

			// 1: a member finishes 40 records; the group commits all 40.
			send(0, 40)
			var seen atomic.Int64
			co, cancel, done := member(func(f *Batch) error { seen.Add(int64(f.Len())); return nil })
			waitFor(t, "40 records committed", 45*time.Second, func() bool { return committed() == 40 })
			stop(co, cancel, done)
			if seen.Load() != 40 {
				t.Fatalf("the first member handled %d records, want 40", seen.Load())
			}

			// 2: 10 more; a member whose Handle fails is handed new records only (the same batch
			// again and again: with partitions on different brokers it may hold only some of the 10)
			// and commits nothing.
			send(40, 50)
			var failedOn sync.Map
			var attempts atomic.Int64
			co, cancel, done = member(func(f *Batch) error {
				for r := range f.Records() {
					failedOn.Store(string(r.Value), true)
				}
				attempts.Add(1)
				return errors.New("dependency down")
			})
			waitFor(t, "the failing member to be handed a batch twice", 45*time.Second, func() bool { return attempts.Load() >= 2 })
			stop(co, cancel, done)
			failedOn.Range(func(k, _ any) bool {
				var i int
				_, _ = fmt.Sscan(k.(string), &i)
				if i < 40 {
					t.Errorf("record %d was handed again after its batch was committed", i)
				}
				return true
			})
			if got := committed(); got != 40 {
				t.Fatalf("committed %d after a failing batch, want still 40", got)
			}

			// 3: the next member gets exactly the 10 uncommitted records, then commits them.
			var mu sync.Mutex
			var replayed []string
			co, cancel, done = member(func(f *Batch) error {
				mu.Lock()
				defer mu.Unlock()
				for r := range f.Records() {
					replayed = append(replayed, string(r.Value))
				}
				return nil
			})
			t.Cleanup(func() { stop(co, cancel, done) })
			waitFor(t, "50 records committed", 45*time.Second, func() bool { return committed() == 50 })
			mu.Lock()
			defer mu.Unlock()
			if len(replayed) != 10 {
				t.Fatalf("the next member handled %v, want exactly the 10 uncommitted records", replayed)
			}
		})
	}
}
