package matcher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/pipeline/testenv"
)

// pollRoundTrips is the Redis round trips a poll whose events need one run per partition may
// pay, however many partitions it holds: snapshot lookups, intent and payment records, the apply
// pipeline, the followups pipeline.
const pollRoundTrips = 4

// countedStore returns a store on its own Redis client and the counter of that client's round trips.
func countedStore(t testing.TB) (*state.Store, *testenv.RedisOps) {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	return state.New(rdb, keys), testenv.CountRedisOps(rdb)
}

// A poll pays Redis per round, not per partition: a poll of 1, 4 or 16 partitions, each with a
// payment of an open intent and an unmatched payment on its own wallet (one run each), loads,
// applies and runs its followups in pollRoundTrips round trips, and decides every event.
func TestPollRoundTripsDoNotGrowWithPartitions(t *testing.T) {
	for _, parts := range []int{1, 4, 16} {
		t.Run(fmt.Sprintf("partitions=%d", parts), func(t *testing.T) {
			st, trips := countedStore(t)
			reg := prometheus.NewRegistry()
			m, err := New(Config{Bus: bus.Config{Brokers: []string{"127.0.0.1:1"}}, Logger: testLogger()}, st, reg, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var recs []bus.Record
			for p := range parts {
				w := pipeline.Wallet{Provider: pipeline.BKash, Account: fmt.Sprintf("0171%07d", p), Environment: pipeline.Sandbox}
				in := intentEvent(fmt.Sprintf("pi-%d", p), w, 500, "", time.Hour)
				if err := st.CreateIntentWithDeadline(ctx, in.Intent, int32(p)); err != nil {
					t.Fatal(err)
				}
				for i, ev := range []*pipeline.Event{
					paymentEvent(fmt.Sprintf("pay-%d", p), w, 500, "", fmt.Sprintf("TRXA%04d", p)),
					paymentEvent(fmt.Sprintf("pay-x-%d", p), w, 9999, "", fmt.Sprintf("TRXB%04d", p)),
				} {
					v, err := pipeline.EncodeEvent(ev)
					if err != nil {
						t.Fatal(err)
					}
					recs = append(recs, bus.Record{Topic: "inbound", Partition: int32(p), Offset: int64(i), Key: []byte(w.Key()), Value: v})
				}
			}
			before := trips.Trips()
			out, err := m.processPoll(ctx, bus.NewBatch(recs...).Partitions)
			if err != nil {
				t.Fatal(err)
			}
			if got := trips.Trips() - before; got > pollRoundTrips {
				t.Errorf("a poll of %d partitions paid %d Redis round trips, budget %d", parts, got, pollRoundTrips)
			}
			if paid := counterValue(t, reg, "paystream_matcher_decisions_total", map[string]string{"status": "PAID"}); paid != float64(parts) {
				t.Errorf("%v intents paid, want %d", paid, parts)
			}
			if n := counterValue(t, reg, "paystream_matcher_events_total", map[string]string{"result": resultApplied}); n != float64(2*parts) {
				t.Errorf("%v events applied, want %d", n, 2*parts)
			}
			if len(out) < 2*parts {
				t.Errorf("%d outcome records for %d payments", len(out), 2*parts)
			}
			for p := range parts {
				rec, err := st.GetIntent(ctx, fmt.Sprintf("pi-%d", p))
				if err != nil || rec.Status != pipeline.StatusPaid {
					t.Errorf("intent of partition %d = %+v, %v; want PAID", p, rec, err)
				}
			}
		})
	}
}

// BenchmarkPollSmall measures the matcher at a steady low rate, where a poll holds 1–2 events per
// partition (about 1,000 events/s): each poll has, on each of 4 partitions, an intent.created and
// a payment of the intent created on that partition one poll before. It reports Redis round trips
// per poll and per event, with the time and allocations of deciding a poll (decode, load, decide,
// apply, followups; no Kafka).
func BenchmarkPollSmall(b *testing.B) {
	const parts = 4
	st, trips := countedStore(b)
	m, err := New(Config{Bus: bus.Config{Brokers: []string{"127.0.0.1:1"}}, Logger: testLogger()}, st, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	wallets := make([]pipeline.Wallet, parts)
	for p := range wallets {
		wallets[p] = pipeline.Wallet{Provider: pipeline.BKash, Account: fmt.Sprintf("0181%07d", p), Environment: pipeline.Sandbox}
	}
	encode := func(ev *pipeline.Event, p, off int) bus.Record {
		v, err := pipeline.EncodeEvent(ev)
		if err != nil {
			b.Fatal(err)
		}
		return bus.Record{Topic: "inbound", Partition: int32(p), Offset: int64(off), Key: []byte(ev.Wallet.Key()), Value: v}
	}
	polls := make([][]bus.Partition, b.N+1)
	for i := range polls {
		var recs []bus.Record
		for p, w := range wallets {
			amount := int64(100 + i*parts + p)
			recs = append(recs, encode(intentEvent(fmt.Sprintf("sp-%d-%d", i, p), w, amount, "", time.Hour), p, 2*i))
			if i > 0 {
				recs = append(recs, encode(paymentEvent(fmt.Sprintf("spay-%d-%d", i, p), w, amount-parts, "", fmt.Sprintf("TRXS%06d%02d", i, p)), p, 2*i+1))
			}
		}
		polls[i] = bus.NewBatch(recs...).Partitions
	}
	if _, err := m.processPoll(ctx, polls[0]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	before := trips.Trips()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		if _, err := m.processPoll(ctx, polls[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	n := float64(trips.Trips() - before)
	b.ReportMetric(n/float64(b.N), "redis-trips/poll")
	b.ReportMetric(n/float64(b.N*2*parts), "redis-trips/event")
}
