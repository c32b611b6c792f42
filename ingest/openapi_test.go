package ingest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
)

// TestOpenAPIMatchesEveryRoute checks ingest/openapi.json against the route table: the same
// (method, path) set, a unique operationId and a documented 4xx for every operation.
func TestOpenAPIMatchesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(ingest.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Fatalf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	ids := map[string]string{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" || method == "summary" || method == "description" || method == "servers" {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			var o struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			if o.OperationID == "" {
				t.Errorf("%s has no operationId", key)
			} else if prev, dup := ids[o.OperationID]; dup {
				t.Errorf("operationId %q is used by %s and %s", o.OperationID, prev, key)
			}
			ids[o.OperationID] = key
			has4xx := false
			for code := range o.Responses {
				if len(code) == 3 && code[0] == '4' {
					has4xx = true
				}
			}
			if !has4xx {
				t.Errorf("%s documents no 4xx response", key)
			}
		}
	}

	f := newFixture(t, 2*time.Second)
	routed := map[string]bool{}
	for method, paths := range f.S.RouteList() {
		for _, p := range paths {
			routed[method+" "+p] = true
		}
	}
	for _, k := range sortedKeys(routed) {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for _, k := range sortedKeys(documented) {
		if !routed[k] {
			t.Errorf("openapi.json documents %s, which is not routed", k)
		}
	}
	if len(routed) < 30 {
		t.Fatalf("only %d routes: the route table is not what this test expects", len(routed))
	}

	// GET /openapi.json serves exactly the embedded document.
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(http.MethodGet)
	ctx.Request.SetRequestURI("/openapi.json")
	f.S.Handler()(&ctx)
	if code := ctx.Response.StatusCode(); code != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", code)
	}
	if ct := string(ctx.Response.Header.ContentType()); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := string(ctx.Response.Header.Peek("Cache-Control")); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	if !bytes.Equal(ctx.Response.Body(), ingest.OpenAPI()) {
		t.Errorf("GET /openapi.json does not serve ingest/openapi.json")
	}
	t.Logf("%d routes documented", len(routed))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
