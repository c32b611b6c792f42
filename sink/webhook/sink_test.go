package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

func TestNewValidatesConfig(t *testing.T) {
	rdb, _ := testRedis(t)
	if _, err := New(Config{}, rdb, nil, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("no brokers: %v", err)
	}
	if _, err := New(Config{Bus: bus.Config{Brokers: []string{"127.0.0.1:1"}}}, nil, nil, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("no redis: %v", err)
	}
	reg := prometheus.NewRegistry()
	s, err := New(Config{Bus: bus.Config{Brokers: []string{"127.0.0.1:1"}}}, rdb, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Bus: bus.Config{Brokers: []string{"127.0.0.1:1"}}}, rdb, reg, nil); err == nil {
		t.Fatal("a second sink on one registry must fail to register its metrics")
	}
	if s.cfg.Timeout != DefaultTimeout || s.cfg.MaxAttempts != DefaultMaxAttempts || s.cfg.BackoffBase != DefaultBackoffBase ||
		s.cfg.PerMerchantConcurrency != DefaultPerMerchantConcurrency || s.cfg.MaxInFlight != DefaultMaxInFlight {
		t.Fatalf("defaults not applied: %+v", s.cfg)
	}
	s.Close()
	s.Close() // idempotent
	if err := s.Run(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
}

func TestDeliversSignedWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	e.merchant("m1", rcv.srv.URL+"/hooks?token=s3cret", rcv.secret)
	s := e.start(e.config())

	// A payment record and a balance gap come first on the same partition: neither is a webhook.
	// (A PENDING change was the second one before issue 13: it is now a review's return to PENDING,
	// which is payment.pending; TestJobFor covers it.)
	pay := outcome("m1")
	pay.Type, pay.Status, pay.Intent = pipeline.OutcomePayment, "", nil
	gap := outcome("m1")
	gap.Type, gap.Status, gap.Intent = pipeline.OutcomeBalanceGap, "", nil
	o := outcome("m1")
	e.produce(pay, gap, o)

	eventually(t, "the delivery", func() bool { _, d := rcv.counts(o.ID); return d == 1 })
	want, _ := render(o)
	rcv.mu.Lock()
	body := string(rcv.bodies[o.ID])
	rcv.mu.Unlock()
	if body != string(want.Body) {
		t.Fatalf("body %s, want %s", body, want.Body)
	}
	eventually(t, "the attempt record", func() bool { return len(e.attempts.of(o.ID)) == 1 })
	a := e.attempts.of(o.ID)[0]
	if a.ID != o.ID+"/1" || a.Result != pipeline.WebhookDelivered || a.HTTPStatus != 200 || a.Attempt != 1 || a.URLHost != "127.0.0.1" ||
		a.MerchantID != "m1" || a.Environment != pipeline.Sandbox || a.IntentID != o.Intent.ID || a.EventType != "payment.paid" ||
		!a.AcceptedAt.Equal(o.AcceptedAt) || a.AttemptedAt.IsZero() || a.Duration <= 0 || a.Error != "" {
		t.Fatalf("attempt %+v", a)
	}
	eventually(t, "the done marker", func() bool { return e.rdb.Exists(context.Background(), s.store.doneKey(o.ID)).Val() == 1 })
	if e.rdb.Exists(context.Background(), s.store.jobKey(o.ID)).Val() != 0 {
		t.Fatal("delivered job still stored")
	}
	if rcv.total != 1 || rcv.deliveredIDs() != 1 {
		t.Fatalf("receiver got %d requests", rcv.total)
	}
	if got := counterValue(t, s.m.enqueued); got != 1 {
		t.Fatalf("enqueued_total = %v, want 1", got)
	}
	if got := counterValue(t, s.m.attempts.WithLabelValues("delivered", "SANDBOX")); got != 1 {
		t.Fatalf("attempts_total{delivered} = %v", got)
	}
}

func TestRetriesUntilDelivered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	rcv.status = func(_ string, n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	e.merchant("m1", rcv.srv.URL, rcv.secret)
	e.start(e.config())
	o := outcome("m1")
	e.produce(o)

	eventually(t, "three attempt records", func() bool { return len(e.attempts.of(o.ID)) == 3 })
	req, del := rcv.counts(o.ID)
	if req != 3 || del != 1 || rcv.deliveredIDs() != 1 {
		t.Fatalf("requests %d, delivered %d, ids %d", req, del, rcv.deliveredIDs())
	}
	as := e.attempts.of(o.ID)
	wantResults := []pipeline.WebhookResult{pipeline.WebhookRetry, pipeline.WebhookRetry, pipeline.WebhookDelivered}
	wantStatus := []int{500, 500, 200}
	for i, a := range as {
		if a.Attempt != i+1 || a.ID != o.ID+"/"+string(rune('1'+i)) || a.Result != wantResults[i] || a.HTTPStatus != wantStatus[i] {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	if !strings.Contains(as[0].Error, "HTTP 500") || !strings.Contains(as[0].Error, "answer 500") {
		t.Errorf("error text %q", as[0].Error)
	}
}

func TestReplayedOutcomeDeliveredOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	e.merchant("m1", rcv.srv.URL, rcv.secret)
	s := e.start(e.config())
	o := outcome("m1")
	e.produce(o, o) // a matcher replay re-emits the same outcome
	eventually(t, "the delivery", func() bool { _, d := rcv.counts(o.ID); return d == 1 })
	eventually(t, "the done marker", func() bool { return e.rdb.Exists(context.Background(), s.store.doneKey(o.ID)).Val() == 1 })

	// A replay after delivery, then a sentinel on the same partition: once the sentinel is delivered,
	// the replay before it was processed.
	sentinel := outcome("m1")
	e.produce(o, sentinel)
	eventually(t, "the sentinel", func() bool { _, d := rcv.counts(sentinel.ID); return d == 1 })
	if req, _ := rcv.counts(o.ID); req != 1 {
		t.Fatalf("replayed outcome requested %d times", req)
	}
	if e.rdb.Exists(context.Background(), s.store.jobKey(o.ID)).Val() != 0 {
		t.Fatal("replay re-created the job")
	}
	if got := counterValue(t, s.m.enqueued); got != 2 {
		t.Fatalf("enqueued_total = %v, want 2", got)
	}
	if n := len(e.attempts.of(o.ID)); n != 1 {
		t.Fatalf("%d attempt records for the replayed outcome", n)
	}
}

func TestDeadLetterAndRedeliver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	var healthy atomic.Bool
	rcv.status = func(string, int) int {
		if healthy.Load() {
			return http.StatusOK
		}
		return http.StatusBadGateway
	}
	// The endpoint's MaxAttempts (3) overrides the sink's (5).
	e.merchant("m1", rcv.srv.URL, rcv.secret, func(ep *pipeline.WebhookEndpoint) { ep.MaxAttempts = 3 })
	s := e.start(e.config())
	o := outcome("m1")
	e.produce(o)

	var dl []DeadLetter
	eventually(t, "the dead letter", func() bool {
		var err error
		dl, err = DeadLetters(context.Background(), e.rdb, e.keys, 10)
		return err == nil && len(dl) == 1
	})
	if d := dl[0]; d.OutcomeID != o.ID || d.Attempts != 3 || d.TotalAttempts != 3 || d.LastHTTPStatus != 502 || d.MerchantID != "m1" {
		t.Fatalf("dead letter %+v", d)
	}
	eventually(t, "three attempt records", func() bool { return len(e.attempts.of(o.ID)) == 3 })
	if as := e.attempts.of(o.ID); as[2].Result != pipeline.WebhookDeadLetter || as[1].Result != pipeline.WebhookRetry {
		t.Fatalf("attempts %+v", as)
	}
	if req, _ := rcv.counts(o.ID); req != 3 {
		t.Fatalf("%d requests before redelivery", req)
	}

	healthy.Store(true)
	if err := Redeliver(context.Background(), e.rdb, e.keys, o.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the redelivery", func() bool { _, d := rcv.counts(o.ID); return d == 1 })
	eventually(t, "the fourth attempt record", func() bool { return len(e.attempts.of(o.ID)) == 4 })
	if a := e.attempts.of(o.ID)[3]; a.ID != o.ID+"/4" || a.Result != pipeline.WebhookDelivered {
		t.Fatalf("redelivery attempt %+v", a)
	}
	eventually(t, "the done marker", func() bool { return e.rdb.Exists(context.Background(), s.store.doneKey(o.ID)).Val() == 1 })
	if err := Redeliver(context.Background(), e.rdb, e.keys, o.ID); !errors.Is(err, ErrAlreadyDelivered) {
		t.Fatalf("second redeliver: %v", err)
	}
	if dl, _ := DeadLetters(context.Background(), e.rdb, e.keys, 10); len(dl) != 0 {
		t.Fatalf("dead letters after redelivery: %+v", dl)
	}
}

func TestSlowMerchantDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	slow, fast := newReceiver(t), newReceiver(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	slow.hold = func(string) { <-release }
	e.merchant("slow", slow.srv.URL, slow.secret)
	e.merchant("fast", fast.srv.URL, fast.secret)
	cfg := e.config()
	cfg.PerMerchantConcurrency = 1
	s := e.start(cfg)

	// The slow lane (one slot) holds 8 claimed jobs in memory; the rest go back to Redis.
	var slowOnes, fastOnes []*pipeline.Outcome
	for range 12 {
		slowOnes = append(slowOnes, outcome("slow"))
	}
	for range 5 {
		fastOnes = append(fastOnes, outcome("fast"))
	}
	e.produce(slowOnes...)
	eventually(t, "the slow merchant's first request", func() bool {
		slow.mu.Lock()
		defer slow.mu.Unlock()
		return slow.total == 1
	})
	e.produce(fastOnes...)
	eventually(t, "every fast delivery", func() bool { return fast.deliveredIDs() == len(fastOnes) })

	slow.mu.Lock()
	slowTotal := slow.total
	slow.mu.Unlock()
	if slowTotal != 1 {
		t.Fatalf("the slow merchant received %d concurrent requests; its lane allows 1", slowTotal)
	}
	if counterValue(t, s.m.laneFull) == 0 {
		t.Fatal("no job was put back for a full lane")
	}
	if q := counterValue(t, s.m.laneQueued); q != laneQueuePerSlot {
		t.Fatalf("%v jobs wait in the slow lane, want its bound %d", q, laneQueuePerSlot)
	}

	releaseOnce.Do(func() { close(release) })
	eventually(t, "every slow delivery", func() bool { return slow.deliveredIDs() == len(slowOnes) })
	for _, o := range slowOnes {
		if req, del := slow.counts(o.ID); req != 1 || del != 1 {
			t.Fatalf("slow outcome %s: %d requests, %d delivered", o.ID, req, del)
		}
	}
}

func TestPrivateURLRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	e.merchant("m1", rcv.srv.URL+"/hook?token=s3cret", rcv.secret)
	cfg := e.config()
	cfg.AllowPrivate = false
	cfg.MaxAttempts = 1
	e.start(cfg)
	o := outcome("m1")
	e.produce(o)

	eventually(t, "the attempt record", func() bool { return len(e.attempts.of(o.ID)) == 1 })
	a := e.attempts.of(o.ID)[0]
	if a.Result != pipeline.WebhookDeadLetter || a.HTTPStatus != 0 || a.URLHost != "127.0.0.1" ||
		!containsAll(a.Error, "internal address", "loopback") || strings.Contains(a.Error, "s3cret") {
		t.Fatalf("attempt %+v", a)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.total != 0 {
		t.Fatalf("the private receiver got %d requests", rcv.total)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	rcv.status = func(string, int) int { return http.StatusTooManyRequests } // with Retry-After: 3600
	e.merchant("m1", rcv.srv.URL, rcv.secret)
	s := e.start(e.config())
	o := outcome("m1")
	e.produce(o)

	eventually(t, "the attempt record", func() bool { return len(e.attempts.of(o.ID)) == 1 })
	a := e.attempts.of(o.ID)[0]
	var due float64
	// attempts first, then the score: the reschedule writes both in one script, so a score read
	// after attempts is 1 is the retry's (read before, it may still be the first attempt's lease).
	eventually(t, "the retry to be scheduled", func() bool {
		if e.rdb.HGet(context.Background(), s.store.jobKey(o.ID), fAttempts).Val() != "1" {
			return false
		}
		due = e.rdb.ZScore(context.Background(), s.store.due, o.ID).Val()
		return true
	})
	if next := time.UnixMilli(int64(due)); next.Before(a.AttemptedAt.Add(59 * time.Minute)) {
		t.Fatalf("retry scheduled at %v, attempt at %v: Retry-After 3600 ignored", next, a.AttemptedAt)
	}
	if a.Result != pipeline.WebhookRetry || a.HTTPStatus != 429 {
		t.Fatalf("attempt %+v", a)
	}
}

func TestShutdownFinishesInFlightAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	arrived := make(chan struct{})
	release := make(chan struct{})
	var arrivedOnce sync.Once
	rcv.hold = func(string) {
		arrivedOnce.Do(func() { close(arrived) })
		<-release
	}
	e.merchant("m1", rcv.srv.URL, rcv.secret)
	s := e.start(e.config())
	o := outcome("m1")
	e.produce(o)
	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("no request arrived")
	}
	stopped := make(chan struct{})
	go func() { e.stopSink(); close(stopped) }()
	close(release)
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("sink did not stop")
	}
	if e.rdb.Exists(context.Background(), s.store.doneKey(o.ID)).Val() != 1 {
		t.Fatal("the in-flight attempt was not recorded as delivered during shutdown")
	}
	eventually(t, "the attempt record", func() bool { return len(e.attempts.of(o.ID)) == 1 })
}

func TestEndpointResolution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	endpoint, override := newReceiver(t), newReceiver(t)
	override.secret = endpoint.secret // the merchant's secret signs wherever the webhook goes
	e.merchant("m1", endpoint.srv.URL, endpoint.secret)
	cfg := e.config()
	cfg.MaxAttempts = 1
	e.start(cfg)

	ghost := outcome("ghost") // no merchant record: counts as no URL configured
	o := outcome("m1")
	o.Intent.WebhookURL = override.srv.URL + "/per-intent"
	e.produce(ghost, o)

	eventually(t, "the override delivery", func() bool { _, d := override.counts(o.ID); return d == 1 })
	if req, _ := endpoint.counts(o.ID); req != 0 {
		t.Fatal("the intent's webhook URL did not override the endpoint's")
	}
	eventually(t, "the ghost's attempt record", func() bool { return len(e.attempts.of(ghost.ID)) == 1 })
	if a := e.attempts.of(ghost.ID)[0]; a.Result != pipeline.WebhookDeadLetter || !strings.Contains(a.Error, "no webhook URL configured for SANDBOX") || a.URLHost != "" {
		t.Fatalf("ghost attempt %+v", a)
	}
}
