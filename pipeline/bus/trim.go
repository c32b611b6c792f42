package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TrimConsumed keeps the embedded broker's log bounded by what is still unconsumed: every
// interval until ctx is done, it deletes (DeleteRecords) the records of each partition of the
// topics in consumers that every consumer group listed for the topic has committed past. A
// partition some listed group has not committed on is left alone, so nothing a consumer still
// needs is ever deleted; the lag of the slowest group is what the broker keeps. Without it the
// broker keeps every record it was ever given (and an index entry per batch in memory), and a
// long-running `paystream dev` grows without bound. A real cluster uses its own retention instead.
// It blocks; failures are logged and retried at the next interval.
func (e *Embedded) TrimConsumed(ctx context.Context, interval time.Duration, consumers map[string][]string, log *slog.Logger) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addrs()...), kgo.ClientID("paystream-embedded-trim"))
	if err != nil {
		log.Error("embedded kafka: cannot trim consumed records", "err", err)
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tctx, cancel := context.WithTimeout(ctx, interval)
		n, err := trimConsumed(tctx, adm, consumers)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("embedded kafka: trimming consumed records failed; retrying", "err", err)
		case n > 0:
			log.Debug("embedded kafka: trimmed consumed records", "records", n)
		}
	}
}

// trimConsumed does one pass of TrimConsumed and returns how many records it deleted.
func trimConsumed(ctx context.Context, adm *kadm.Client, consumers map[string][]string) (int64, error) {
	committed := map[string]kadm.OffsetResponses{}
	topics := make([]string, 0, len(consumers))
	for topic, groups := range consumers {
		topics = append(topics, topic)
		for _, g := range groups {
			if _, ok := committed[g]; ok {
				continue
			}
			r, err := adm.FetchOffsets(ctx, g)
			if errors.Is(err, kerr.GroupIDNotFound) {
				r, err = nil, nil // no commits yet: its topics are kept whole
			}
			if err != nil {
				return 0, fmt.Errorf("fetching the offsets of group %s: %w", g, err)
			}
			committed[g] = r
		}
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return 0, fmt.Errorf("listing start offsets: %w", err)
	}
	var del kadm.Offsets
	var n int64
	starts.Each(func(lo kadm.ListedOffset) {
		groups := consumers[lo.Topic]
		if lo.Err != nil || len(groups) == 0 {
			return
		}
		to := int64(-1)
		for _, g := range groups {
			r, ok := committed[g].Lookup(lo.Topic, lo.Partition)
			if !ok || r.Err != nil || r.At < 0 {
				return // this group has not consumed the partition: keep everything
			}
			if to < 0 || r.At < to {
				to = r.At
			}
		}
		if to > lo.Offset {
			del.Add(kadm.Offset{Topic: lo.Topic, Partition: lo.Partition, At: to})
			n += to - lo.Offset
		}
	})
	if len(del) == 0 {
		return 0, nil
	}
	resp, err := adm.DeleteRecords(ctx, del)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("deleting consumed records: %w", err)
	}
	return n, nil
}
