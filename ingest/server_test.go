package ingest_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// TestNewRefusesMissingDeps: a kernel without its Redis client, publisher or state store is a
// configuration error from New (ErrConfig), not a nil-pointer panic on the first request.
func TestNewRefusesMissingDeps(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	st := state.New(rdb, pipeline.Keys{})
	full := ingest.Deps{Redis: rdb, Pub: ingesttest.NopPublisher{}, State: st}
	for name, d := range map[string]ingest.Deps{
		"no redis":     {Pub: full.Pub, State: st},
		"no publisher": {Redis: rdb, State: st},
		"no state":     {Redis: rdb, Pub: full.Pub},
	} {
		if s, err := ingest.New(ingest.Config{}, d, prometheus.NewRegistry()); !errors.Is(err, ingest.ErrConfig) || s != nil {
			t.Errorf("%s: New = %v, %v; want ErrConfig", name, s, err)
		}
	}
	if s, err := ingest.New(ingest.Config{}, full, nil); err != nil || s == nil {
		t.Fatalf("complete deps: %v", err)
	}
}
