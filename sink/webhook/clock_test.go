package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/webhooksig"
)

// TestInjectedClockDrivesRetries: the sink decides by Config.Now. A receiver asks for a retry in
// an hour (429, Retry-After: 3600); the retry is scheduled an hour after the injected clock's
// time, the attempt records and the signature carry that clock's time, and moving the clock past
// the hour delivers the webhook at once: a test drives time without waiting for it.
func TestInjectedClockDrivesRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC) // far from the real clock on purpose
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }

	secret := webhooksig.NewSecret()
	var mu sync.Mutex
	var stamps []string // webhook-timestamp of each request, in order
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stamps = append(stamps, r.Header.Get(webhooksig.HeaderWebhookTimestamp))
		n := len(stamps)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	e.merchant("m1", srv.URL, secret)
	cfg := e.config()
	cfg.Now = now
	s := e.start(cfg)
	o := outcome("m1")
	e.produce(o)

	eventually(t, "the first attempt record", func() bool { return len(e.attempts.of(o.ID)) == 1 })
	if a := e.attempts.of(o.ID)[0]; a.Result != pipeline.WebhookRetry || a.HTTPStatus != 429 || !a.AttemptedAt.Equal(t0) {
		t.Fatalf("first attempt %+v, want a 429 retry attempted at the injected %v", a, t0)
	}
	retryAt := t0.Add(time.Hour)
	eventually(t, "the retry to be scheduled by the injected clock", func() bool {
		return e.rdb.HGet(context.Background(), s.store.jobKey(o.ID), fAttempts).Val() == "1" &&
			e.rdb.ZScore(context.Background(), s.store.due, o.ID).Val() == float64(ms(retryAt))
	})

	t1 := retryAt.Add(time.Second)
	clock.Store(t1.UnixNano())
	eventually(t, "the retry delivered once the injected clock passed its time", func() bool { return len(e.attempts.of(o.ID)) == 2 })
	if a := e.attempts.of(o.ID)[1]; a.Result != pipeline.WebhookDelivered || !a.AttemptedAt.Equal(t1) {
		t.Fatalf("second attempt %+v, want delivered at the injected %v", a, t1)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{strconv.FormatInt(t0.Unix(), 10), strconv.FormatInt(t1.Unix(), 10)}; len(stamps) != 2 || stamps[0] != want[0] || stamps[1] != want[1] {
		t.Fatalf("signature timestamps %v, want the injected clock's %v", stamps, want)
	}
}
