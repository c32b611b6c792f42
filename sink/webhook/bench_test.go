package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/webhooksig"
)

// BenchmarkDelivery runs b.N outcomes of 16 merchants through a sink on the local Redis and an
// embedded broker to one local receiver that answers 200, from the consumer to the done marks. The
// outcomes are produced before the timer starts; the op is one delivery, timed from the sink's
// start until every job is done. cpu-µs/delivery is the whole test process's CPU (sink, embedded
// broker and receiver; not Redis) per delivery. Needs PAYSTREAM_TEST_SERVICES=1:
//
//	PAYSTREAM_TEST_SERVICES=1 go test -run '^$' -bench Delivery -benchtime 5000x -count 3 ./sink/webhook/
func BenchmarkDelivery(b *testing.B) {
	b.ReportAllocs()
	_, cpu := runDeliveries(b, b.N, b.ResetTimer, b.StopTimer)
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
}

// runDeliveries delivers n webhooks as BenchmarkDelivery describes and returns the heap
// allocations and the process CPU time between the sink's start (begin is called just before) and
// the last done mark (end is called just after).
func runDeliveries(b testing.TB, n int, begin, end func()) (mallocs uint64, cpu time.Duration) {
	rdb, keys := testRedis(b)
	bc, topics := testKafka(b)
	p, err := bus.NewProducer(bc, 10*time.Second, 10000)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	var delivered atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		delivered.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	secret := webhooksig.NewSecret()
	const merchants = 16
	for i := range merchants {
		id := "m" + strconv.Itoa(i)
		m := pipeline.Merchant{ID: id, Name: id, Status: pipeline.MerchantActive, Dialect: pipeline.DialectNative,
			Webhooks:  map[pipeline.Environment]pipeline.WebhookEndpoint{pipeline.Sandbox: {URL: srv.URL, Secret: secret}},
			CreatedAt: time.Now()}
		raw, _ := json.Marshal(m)
		if err := rdb.Set(context.Background(), keys.Merchant(id), raw, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	var recs []*kgo.Record
	for i := range n {
		o := outcome("m" + strconv.Itoa(i%merchants))
		raw, err := pipeline.EncodeOutcome(o)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topics.Outcomes(), Key: []byte(o.MerchantID), Value: raw})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{
		Bus: bc, Topics: topics, Keys: keys, AllowPrivate: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, rdb, prometheus.NewRegistry(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)

	var ms0, ms1 runtime.MemStats
	begin()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	rctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(rctx) }()
	deadline := time.Now().Add(5 * time.Minute)
	for delivered.Load() < int64(n) || rdb.ZCard(context.Background(), s.store.due).Val() != 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d delivered before the deadline", delivered.Load(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	cpu = cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	end()
	stop()
	if err := <-ran; err != nil {
		b.Fatal(err)
	}
	if got := delivered.Load(); got != int64(n) {
		b.Fatalf("%d requests for %d webhooks", got, n)
	}
	return ms1.Mallocs - ms0.Mallocs, cpu
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestDeliveryAllocationBudget fails when delivering a webhook, from the outcome record to the
// done mark, allocates more than deliveryAllocBudget times in this process (the sink, plus the
// embedded broker and the receiver, which do the same work on every run). Allocation counts do not
// depend on the machine's speed, unlike a timing. Measured: 321-327 with a goroutine per attempt
// and per bookkeeping, a produce and a Redis script per attempt and a map per claimed job;
// 239-247 with the worker pool, the batching bookkeeper and HMGET claims (without -race).
func TestDeliveryAllocationBudget(t *testing.T) {
	const n, deliveryAllocBudget = 3000, 290 + raceAllocs
	mallocs, _ := runDeliveries(t, n, func() {}, func() {})
	per := float64(mallocs) / n
	t.Logf("%.0f allocations per delivery (budget %d)", per, deliveryAllocBudget)
	if per > deliveryAllocBudget {
		t.Fatalf("%.0f allocations per delivery, over the budget of %d", per, deliveryAllocBudget)
	}
}
