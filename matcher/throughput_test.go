package matcher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// histogramCount returns the number of observations of the unlabelled histogram name.
func histogramCount(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var n uint64
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
			return float64(n)
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0
}

// BenchmarkMatcherThroughput measures the matcher draining a backlog on the embedded broker and
// the real Redis: b.N intents (20 wallets, unique amounts), then one payment for each, all
// produced before the matcher starts. It reports events/s (intent.created and payment.reported both count)
// and the allocations per event of the whole matcher (consumer, decoding, deciding, Redis, produce),
// and the matcher's Redis round trips per poll (handled batch) and per event.
func BenchmarkMatcherThroughput(b *testing.B) {
	h := newHarness(b)
	var evs, pays []*pipeline.Event
	wallets := make([]pipeline.Wallet, 20)
	for i := range wallets {
		wallets[i] = pipeline.Wallet{Provider: pipeline.BKash, Account: fmt.Sprintf("017%08d", i), Environment: pipeline.Sandbox}
	}
	for i := range b.N {
		w := wallets[i%len(wallets)]
		in := intentEvent(fmt.Sprintf("bi-%d", i), w, int64(100+i), "", time.Hour)
		evs = append(evs, in)
		pays = append(pays, paymentEvent(fmt.Sprintf("bp-%d", i), w, int64(100+i), "", fmt.Sprintf("TRX%07d", i)))
	}
	evs = append(evs, pays...)
	for i := 0; i < len(evs); i += 5000 {
		h.produce(evs[i:min(i+5000, len(evs))]...)
	}
	reg := prometheus.NewRegistry()
	st, trips := countedStore(b)
	m, err := New(Config{Bus: h.bus, Topics: h.topics, ExpiryInterval: time.Hour, Logger: testLogger()}, st, reg, bus.NewConsumerMetrics(reg))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() { done <- m.Run(ctx) }()
	want := float64(len(evs))
	for {
		n := counterValue(b, reg, "paystream_matcher_events_total", nil)
		if n >= want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	m.Close()
	<-done
	b.ReportMetric(want/elapsed.Seconds(), "events/s")
	polls := histogramCount(b, reg, "paystream_consumer_batch_records")
	b.ReportMetric(float64(trips.Trips())/max(polls, 1), "redis-trips/poll")
	b.ReportMetric(float64(trips.Trips())/want, "redis-trips/event")
	b.ReportMetric(want/max(polls, 1), "events/poll")
	if paid := counterValue(b, reg, "paystream_matcher_decisions_total", map[string]string{"status": "PAID"}); paid != float64(b.N) {
		b.Fatalf("%v intents paid, want %d", paid, b.N)
	}
}
