package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestEveryRouteRefusesBadInputInItsShape walks the whole route table: every route, called with
// no credentials and a malformed JSON body, answers a 4xx (never a 5xx, never a hang) whose body
// is JSON in the error shape of the surface the path belongs to. A route added later is covered
// without touching this test.
func TestEveryRouteRefusesBadInputInItsShape(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	routes := f.s.rtr.List()
	n := 0
	for method, paths := range routes {
		for _, path := range paths {
			if method == "GET" && path == "/v1/checkout/{id}" {
				continue // the hosted page answers HTML (tested in checkout_test.go)
			}
			if method == "GET" && path == "/openapi.json" {
				continue // public and always 200 (tested in openapi_test.go)
			}
			concrete := path
			for _, p := range []string{"{id}", "{token}", "{outcomeId}", "{env}"} {
				concrete = strings.ReplaceAll(concrete, p, "00000000-0000-0000-0000-000000000000")
			}
			if strings.Contains(concrete, "{") {
				t.Errorf("route %s %s has a parameter this test does not fill", method, path)
				continue
			}
			code, body, _ := f.do(method, concrete, map[string]string{"Content-Type": "application/json"}, `{"amount": [1, {"x": `)
			n++
			if code < 400 || code >= 500 {
				t.Errorf("%s %s: status %d, want a 4xx", method, path, code)
				continue
			}
			if body == nil {
				t.Errorf("%s %s: %d without a JSON body", method, path, code)
				continue
			}
			checkShape(t, method+" "+path, concrete, code, body)
		}
	}
	if n < 30 {
		t.Fatalf("walked only %d routes: the route table is not what this test expects", n)
	}
	t.Logf("walked %d routes", n)
}

// checkShape asserts the error body of a request to path is in its surface's shape.
func checkShape(t *testing.T, what, path string, code int, m map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(m)
	switch surfaceOf([]byte(path)) {
	case surfaceBDQuickPay:
		if m["status"] != false || m["message"] == nil {
			t.Errorf("%s: %d %s, want the bdQuickPay shape {status:false, message}", what, code, raw)
		}
	case surfaceTxnAPI:
		if m["code"] != float64(code) || m["type"] != "error" || m["message"] == nil {
			t.Errorf("%s: %d %s, want the transaction API shape {code, message, type:error}", what, code, raw)
		}
	case surfaceSNS:
		if m["code"] != float64(code) || m["message"] == nil {
			t.Errorf("%s: %d %s, want the SNS shape {code, message}", what, code, raw)
		}
	default:
		if m["statusCode"] != float64(code) || m["message"] == nil || m["error"] == nil {
			t.Errorf("%s: %d %s, want the native shape {statusCode, message, error}", what, code, raw)
		}
	}
}
