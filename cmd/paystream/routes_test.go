package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
)

// TestOpenAPIMatchesTheMountedRouteTable builds the edge as the ingest role does (ingest.New, then
// mountSurfaces) and checks that its (method, path) set is the one ingest/openapi.json documents:
// a surface that cmd forgets to mount, or one mounted without being documented, fails here (the
// tests of package ingest mount the surfaces themselves).
func TestOpenAPIMatchesTheMountedRouteTable(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(ingest.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "parameters", "summary", "description", "servers":
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	// The edge and the surfaces only keep their clients: nothing is called here.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	st := state.New(rdb, pipeline.Keys{})
	edge, err := ingest.New(ingest.Config{}, ingest.Deps{Redis: rdb, Pub: nopPublisher{}, State: st}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.New(directory.Config{}, rdb)
	if err != nil {
		t.Fatal(err)
	}
	if err := mountSurfaces(edge, surfaceDeps{st: st, dir: dir, rdb: rdb, reg: prometheus.NewRegistry()}, &Config{}, slog.Default()); err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	for method, paths := range edge.RouteList() {
		for _, p := range paths {
			routed[method+" "+p] = true
		}
	}
	for _, k := range sortedRoutes(routed) {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for _, k := range sortedRoutes(documented) {
		if !routed[k] {
			t.Errorf("openapi.json documents %s, which the ingest role does not route", k)
		}
	}
	if len(routed) < 30 {
		t.Fatalf("only %d routes: the route table is not what this test expects", len(routed))
	}
}

func sortedRoutes(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// nopPublisher is a publisher that is never called (the route table is only listed).
type nopPublisher struct{}

func (nopPublisher) Send(context.Context, string, []byte, []byte) error { return nil }
