package bus

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchesOf builds a poll's result: one fetch per element of runs, each run the records of one
// topic partition with consecutive offsets from its start.
func fetchesOf(runs ...[]*kgo.Record) kgo.Fetches {
	var fs kgo.Fetches
	for _, run := range runs {
		r := run[0]
		fs = append(fs, kgo.Fetch{Topics: []kgo.FetchTopic{{Topic: r.Topic,
			Partitions: []kgo.FetchPartition{{Partition: r.Partition, Records: run}}}}})
	}
	return fs
}

func run(topic string, partition int32, from int64, n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		off := from + int64(i)
		out[i] = &kgo.Record{Topic: topic, Partition: partition, Offset: off,
			Key: fmt.Appendf(nil, "k%d", off), Value: fmt.Appendf(nil, "%s/%d@%d", topic, partition, off), Timestamp: time.Unix(off, 0)}
	}
	return out
}

// check asserts that b holds want (topic/partition -> offsets), partitions in the given order,
// each in offset order, with every field of every record as fetched.
func check(t *testing.T, b *Batch, order []string, want map[string][]int64) {
	t.Helper()
	var got []string
	total := 0
	for _, p := range b.Partitions {
		tp := fmt.Sprintf("%s/%d", p.Topic, p.Partition)
		got = append(got, tp)
		if len(p.Records) != len(want[tp]) {
			t.Fatalf("%s holds %d records, want %d", tp, len(p.Records), len(want[tp]))
		}
		for i, r := range p.Records {
			total++
			if r.Topic != p.Topic || r.Partition != p.Partition || r.Offset != want[tp][i] ||
				string(r.Key) != fmt.Sprintf("k%d", r.Offset) || string(r.Value) != fmt.Sprintf("%s@%d", tp, r.Offset) || !r.Timestamp.Equal(time.Unix(r.Offset, 0)) {
				t.Fatalf("%s record %d = %+v, want offset %d", tp, i, r, want[tp][i])
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(order) {
		t.Fatalf("partitions %v, want %v", got, order)
	}
	if b.Len() != total {
		t.Fatalf("Len = %d, records = %d", b.Len(), total)
	}
	n := 0
	for r := range b.Records() {
		if n == 0 && r != b.First() {
			t.Fatal("First is not the first record of Records")
		}
		n++
	}
	if n != total {
		t.Fatalf("Records yielded %d, want %d", n, total)
	}
}

// TestBatchGroupsByPartition: a batch made of several polls (a filled batch) whose partitions
// come in several runs hands each partition's records together, in offset order, partitions in
// the order first fetched; a reused batch holds nothing of the previous one.
func TestBatchGroupsByPartition(t *testing.T) {
	var b Batch
	b.add(fetchesOf(run("a", 0, 0, 3), run("a", 1, 10, 2), run("b", 0, 5, 1)))
	b.add(fetchesOf(run("a", 1, 12, 2), run("a", 0, 3, 1), run("c", 7, 0, 2)))
	b.group()
	check(t, &b, []string{"a/0", "a/1", "b/0", "c/7"}, map[string][]int64{
		"a/0": {0, 1, 2, 3}, "a/1": {10, 11, 12, 13}, "b/0": {5}, "c/7": {0, 1},
	})

	// Reused: a single poll, each partition once (the partitions alias the fetch-order records).
	b.reset()
	if b.Len() != 0 || len(b.Partitions) != 0 || b.First() != nil {
		t.Fatalf("reset batch: Len %d, %d partitions", b.Len(), len(b.Partitions))
	}
	b.add(fetchesOf(run("a", 1, 14, 2), run("a", 0, 4, 1)))
	b.group()
	check(t, &b, []string{"a/1", "a/0"}, map[string][]int64{"a/1": {14, 15}, "a/0": {4}})

	// NewBatch groups the same way.
	nb := NewBatch(Record{Topic: "a", Partition: 2, Offset: 1, Key: []byte("k1"), Value: []byte("a/2@1"), Timestamp: time.Unix(1, 0)},
		Record{Topic: "a", Partition: 3, Offset: 9, Key: []byte("k9"), Value: []byte("a/3@9"), Timestamp: time.Unix(9, 0)},
		Record{Topic: "a", Partition: 2, Offset: 2, Key: []byte("k2"), Value: []byte("a/2@2"), Timestamp: time.Unix(2, 0)})
	check(t, nb, []string{"a/2", "a/3"}, map[string][]int64{"a/2": {1, 2}, "a/3": {9}})
}

// BenchmarkBatch measures turning one poll (2000 records over 12 partitions, the matcher's
// default poll) into a Batch, as the consumer does for every poll: no allocation per record.
func BenchmarkBatch(b *testing.B) {
	var runs [][]*kgo.Record
	for p := range int32(12) {
		runs = append(runs, run("in", p, 0, 2000/12))
	}
	fs := fetchesOf(runs...)
	var batch Batch
	b.ReportAllocs()
	for b.Loop() {
		batch.reset()
		batch.add(fs)
		batch.group()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(batch.Len()), "ns/record")
}
