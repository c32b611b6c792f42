package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline/testenv"
)

// TestIngestStageMeasuresAcceptedRequests runs the ingest stage briefly: its onboarding (admin
// API, native intents, SMS devices) must reach mounted routes, and both measured routes must be
// answered 2xx, with no errors. Before ingest/surfaces the stage mounted only the admin API, so
// its onboarding's POST /v1/payments/intents answered 404 and the stage failed.
func TestIngestStageMeasuresAcceptedRequests(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	e := &env{
		opt: options{duration: 300 * time.Millisecond, partitions: 2, concurrency: 4},
		rdb: rdb, log: slog.New(slog.DiscardHandler), run: randHex(3),
	}
	rows, err := runIngest(e)
	if err != nil {
		t.Fatalf("ingest stage: %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want simulator and sms", len(rows))
	}
	for _, r := range rows {
		if r.Component.Ops == 0 || r.Component.Errors != 0 {
			t.Errorf("%s: %d requests answered 2xx, %d errors (%s); want some and none", r.Stage, r.Component.Ops, r.Component.Errors, r.Notes)
		}
	}
}
