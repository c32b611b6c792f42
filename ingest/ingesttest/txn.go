package ingesttest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/gowebpki/jcs"

	"github.com/paystream/paystream/pipeline"
)

// Helpers of seed 002's bKash transaction API (ingest/txnapi) that the surface's tests and the
// cross-surface tests share.

// TxnMAC is the HMAC-SHA256 a sender computes: over the RFC 8785 (JCS) form of body, or over body
// as is when it is not JSON JCS accepts.
func TxnMAC(secret, body string) []byte {
	signed, err := jcs.Transform([]byte(body))
	if err != nil {
		signed = []byte(body)
	}
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(signed)
	return h.Sum(nil)
}

// TxnSign is TxnMAC in hex, the X-Signature header's value.
func TxnSign(secret, body string) string { return hex.EncodeToString(TxnMAC(secret, body)) }

// TxnIntegration creates a transaction-API integration of merchantID in env through the admin API
// and returns its API key and signing secret.
func (f *Fixture) TxnIntegration(t testing.TB, merchantID string, env pipeline.Environment, allowAny bool) (apiKey, secret string) {
	t.Helper()
	body := fmt.Sprintf(`{"type":"bkash_txn_api","environment":%q,"allowAnyAccount":%t}`, env, allowAny)
	code, out, _ := f.Do("POST", "/admin/v1/merchants/"+merchantID+"/integrations", f.AdminHeaders(), body)
	if code != 201 {
		t.Fatalf("creating integration: %d %v", code, out)
	}
	return out["apiKey"].(string), out["signingSecret"].(string)
}

// Txn sends one transaction-API request with the given API key and X-Signature ("" leaves a header
// out) and returns the status and raw answer.
func (f *Fixture) Txn(path, apiKey, sig, body string) (int, []byte) {
	h := map[string]string{}
	if apiKey != "" {
		h["API-Key"] = apiKey
	}
	if sig != "" {
		h["X-Signature"] = sig
	}
	code, _, resp := f.Do("POST", path, h, body)
	return code, resp.Body()
}

// SameJSON fails t unless got and want are the same JSON value.
func SameJSON(t testing.TB, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: answer is not JSON: %q", what, got)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: answer %s, want %s", what, got, want)
	}
}
