package bus

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTrimConsumedDeletesOnlyWhatEveryGroupCommitted: records are deleted up to the lowest
// commit of the groups listed for a topic, and not at all while a listed group has not committed.
func TestTrimConsumedDeletesOnlyWhatEveryGroupCommitted(t *testing.T) {
	e, err := StartEmbedded("127.0.0.1:0", "", 1, []string{"in", "out"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 10 {
		for _, topic := range []string{"in", "out"} {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	adm := kadm.NewClient(cl)
	commit := func(group, topic string, at int64) {
		t.Helper()
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: topic, Partition: 0, At: at})
		if err := adm.CommitAllOffsets(ctx, group, os); err != nil {
			t.Fatal(err)
		}
	}
	start := func(topic string) int64 {
		t.Helper()
		l, err := adm.ListStartOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := l.Lookup(topic, 0)
		return o.Offset
	}
	consumers := map[string][]string{"in": {"matcher", "audit"}, "out": {"webhooks", "audit"}}

	// "in": both groups committed, the slower one at 4. "out": webhooks has not committed.
	commit("matcher", "in", 7)
	commit("audit", "in", 4)
	commit("audit", "out", 9)
	n, err := trimConsumed(ctx, adm, consumers)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || start("in") != 4 || start("out") != 0 {
		t.Fatalf("deleted %d; start offsets in=%d out=%d; want 4, 4, 0", n, start("in"), start("out"))
	}
	// The remaining records are still there for the slow group.
	fc, err := kgo.NewClient(kgo.SeedBrokers(e.Addrs()...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"in": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	fs := fc.PollFetches(ctx)
	if recs := fs.Records(); len(recs) == 0 || recs[0].Offset != 4 || string(recs[0].Value) != "4" {
		t.Fatalf("first record after the trim: %+v (errors %v)", recs, fs.Errors())
	}

	// webhooks catches up to 6: "out" is trimmed to 6, "in" unchanged; a second pass deletes nothing.
	commit("webhooks", "out", 6)
	if n, err := trimConsumed(ctx, adm, consumers); err != nil || n != 6 || start("out") != 6 || start("in") != 4 {
		t.Fatalf("second pass: %d, %v; start offsets in=%d out=%d", n, err, start("in"), start("out"))
	}
	if n, err := trimConsumed(ctx, adm, consumers); err != nil || n != 0 {
		t.Fatalf("third pass: %d, %v; want nothing to delete", n, err)
	}
}
