package bus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestFillMakesOneBatchOfSeveralPolls: with ConsumerConfig.Fill (the audit sink's batching policy)
// records that arrive in separate polls reach Handle as one batch once MaxPollRecords is reached,
// each partition's records together and in order, and the batch is committed after Handle.
func TestFillMakesOneBatchOfSeveralPolls(t *testing.T) {
	for _, tg := range targets(t) {
		tg.run(t, func(t *testing.T, tg target) {
			ctx := testCtx(t)
			topic := prefix(t) + "in"
			c := Config{Brokers: tg.brokers, Partitions: 2}
			if err := EnsureTopics(ctx, c, topic); err != nil {
				t.Fatal(err)
			}
			pr, err := NewBusProducer(c, 20*time.Second, 100, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close(context.Background()) })
			send := func(from, to int) {
				t.Helper()
				recs := make([]Record, 0, to-from)
				for i := from; i < to; i++ {
					recs = append(recs, Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%2), Value: fmt.Appendf(nil, "%d", i)})
				}
				if err := pr.SendAll(ctx, recs...); err != nil {
					t.Fatal(err)
				}
			}
			reg := prometheus.NewRegistry()
			cm := NewConsumerMetrics(reg)
			var mu sync.Mutex
			type pv struct {
				partition int32
				value     int
			}
			var batches [][]pv // per batch, in batch order
			co, err := NewConsumer(c, ConsumerConfig{Group: prefix(t) + "g", Topics: []string{topic}, MaxPollRecords: 10,
				PollInterval: 50 * time.Millisecond, Fill: time.Minute, Metrics: cm,
				Handle: func(_ context.Context, b *Batch) error {
					var got []pv
					for r := range b.Records() {
						var v int
						_, _ = fmt.Sscan(string(r.Value), &v)
						got = append(got, pv{r.Partition, v})
					}
					mu.Lock()
					batches = append(batches, got)
					mu.Unlock()
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			send(0, 4)
			runConsumer(t, co)
			polled := func() float64 {
				var d dto.Metric
				if err := cm.records.WithLabelValues(co.cfg.Group, topic).Write(&d); err != nil {
					t.Fatal(err)
				}
				return d.GetCounter().GetValue()
			}
			waitFor(t, "the first 4 records polled", 30*time.Second, func() bool { return polled() == 4 })
			send(4, 10) // a later poll of the same batch: only now is MaxPollRecords reached
			waitFor(t, "a batch handled", 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(batches) > 0 })
			mu.Lock()
			defer mu.Unlock()
			first := batches[0]
			if len(first) != 10 {
				t.Fatalf("first batch %v: want all 10 records of both polls in one batch", first)
			}
			last := map[int32]int{}
			for i, r := range first {
				if p, ok := last[r.partition]; ok && (r.value <= p || first[i-1].partition != r.partition) {
					t.Fatalf("batch %v: a partition's records are not together and in order", first)
				}
				last[r.partition] = r.value
			}
		})
	}
}

// TestConsumerProduceAndBacklog: records a handler produces with Consumer.Produce land in order on
// their partition; Backlog reports a partition's records as waiting until the batch that holds
// them is committed, and as caught up after.
func TestConsumerProduceAndBacklog(t *testing.T) {
	for _, tg := range targets(t) {
		tg.run(t, func(t *testing.T, tg target) {
			ctx := testCtx(t)
			p := prefix(t)
			in, out := p+"in", p+"out"
			c := Config{Brokers: tg.brokers, Partitions: 1}
			if err := EnsureTopics(ctx, c, in, out); err != nil {
				t.Fatal(err)
			}
			pr, err := NewBusProducer(c, 20*time.Second, 100, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close(context.Background()) })
			var recs []Record
			for i := range 20 {
				recs = append(recs, Record{Topic: in, Key: []byte("k"), Value: fmt.Appendf(nil, "%d", i)})
			}
			if err := pr.SendAll(ctx, recs...); err != nil {
				t.Fatal(err)
			}

			var mu sync.Mutex
			var inHandle, afterCommit []bool // Backlog of partition 0 as seen in Handle and in Idle
			var co *Consumer
			co, err = NewConsumer(c, ConsumerConfig{Group: p + "g", Topics: []string{in}, PollInterval: 50 * time.Millisecond,
				Handle: func(ctx context.Context, b *Batch) error {
					bl, err := co.Backlog(ctx, in, []int32{0})
					if err != nil {
						return err
					}
					outs := make([]Record, 0, b.Len())
					for r := range b.Records() {
						outs = append(outs, Record{Topic: out, Key: r.Key, Value: append([]byte("out-"), r.Value...)})
					}
					if err := co.Produce(ctx, outs...); err != nil {
						return err
					}
					mu.Lock()
					inHandle = append(inHandle, bl[0])
					mu.Unlock()
					return nil
				},
				Idle: func(ctx context.Context) error {
					bl, err := co.Backlog(ctx, in, []int32{0})
					if err != nil {
						return err
					}
					mu.Lock()
					afterCommit = append(afterCommit, bl[0])
					mu.Unlock()
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}

			var rmu sync.Mutex
			var read []string
			reader, err := NewConsumer(c, ConsumerConfig{Group: p + "reader", Topics: []string{out}, Handle: func(_ context.Context, b *Batch) error {
				rmu.Lock()
				defer rmu.Unlock()
				for r := range b.Records() {
					read = append(read, string(r.Value))
				}
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			runConsumer(t, co)
			runConsumer(t, reader)
			waitFor(t, "the 20 produced records read back", 30*time.Second, func() bool { rmu.Lock(); defer rmu.Unlock(); return len(read) >= 20 })
			waitFor(t, "an idle call after the last commit", 30*time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(afterCommit) > 0 && !afterCommit[len(afterCommit)-1]
			})
			rmu.Lock()
			for i, v := range read {
				if v != fmt.Sprintf("out-%d", i) {
					t.Fatalf("produced records read back as %v: want out-0..out-19 in order, once each", read)
				}
			}
			rmu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			for i, waiting := range inHandle {
				if !waiting {
					t.Fatalf("Backlog in Handle of batch %d = caught up, want waiting (the batch is not committed yet)", i)
				}
			}
		})
	}
}
