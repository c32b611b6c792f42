package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gowebpki/jcs"

	"github.com/paystream/paystream/pipeline"
)

// Helpers of the cross-surface tests for seed 002's bKash transaction API (ingest/txnapi, mounted on
// the test servers by surfaces_test.go); the surface's own tests are in ingest/txnapi.

// prefixTxnAPI is seed 002's path prefix (ingest/txnapi.Prefix).
const prefixTxnAPI = "/api/external/v1/bkash/"

const (
	txnCheckPath    = "/api/external/v1/bkash/transactions/check"
	txnCompletePath = "/api/external/v1/bkash/transactions/complete"
)

// The seed's answers, verbatim.
const (
	seedAllowed   = `{"code": 200, "message": "transaction allowed", "type": "success"}`
	seedAccepted  = `{"code": 202, "message": "transaction accepted", "type": "success"}`
	seedDenied    = `{"message": "access denied", "type": "error", "code": 401, "errors": "access denied"}`
	seedDuplicate = `{"code": 400, "message": "duplicate transaction id", "type": "error"}`
	seedInvalid   = `{"code": 422, "message": "please fix the given errors", "type": "error", "errors": {"amount": ["amount is invalid"], "transaction_id": ["transaction_id is required"]}}`
	refused       = `{"code": 403, "message": "transaction not allowed", "type": "error"}`
)

func txnDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteString(d.String())
	}
	return b.String()
}

// txnMAC is the HMAC-SHA256 a sender computes: over the JCS form of body, or over body as is
// when it is not JSON JCS accepts.
func txnMAC(secret, body string) []byte {
	signed, err := jcs.Transform([]byte(body))
	if err != nil {
		signed = []byte(body)
	}
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(signed)
	return h.Sum(nil)
}

func txnSign(secret, body string) string { return hex.EncodeToString(txnMAC(secret, body)) }

// txnMerchant is a merchant with a SANDBOX bKash wallet, a SANDBOX Nagad wallet and a LIVE bKash
// wallet.
type txnMerchant struct {
	id, key              string // key: the SANDBOX merchant API key
	bkash, nagad, liveBK string
}

func (f *fixture) txnOnboard(t testing.TB) txnMerchant {
	t.Helper()
	m := txnMerchant{bkash: "017" + txnDigits(8), nagad: "018" + txnDigits(8), liveBK: "019" + txnDigits(8)}
	body := fmt.Sprintf(`{"name":"Txn shop","wallets":[{"provider":"bkash","account":%q,"environment":"SANDBOX"},`+
		`{"provider":"nagad","account":%q,"environment":"SANDBOX"},{"provider":"bkash","account":%q,"environment":"LIVE"}]}`,
		m.bkash, m.nagad, m.liveBK)
	code, out, _ := f.do("POST", "/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + f.admin}, body)
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, out)
	}
	m.id, m.key = out["id"].(string), out["apiKeys"].(map[string]any)["SANDBOX"].(string)
	return m
}

// txnIntegration creates a transaction-API integration and returns its API key and signing secret.
func (f *fixture) txnIntegration(t testing.TB, merchantID string, env pipeline.Environment, allowAny bool) (apiKey, secret string) {
	t.Helper()
	body := fmt.Sprintf(`{"type":"bkash_txn_api","environment":%q,"allowAnyAccount":%t}`, env, allowAny)
	code, out, _ := f.do("POST", "/admin/v1/merchants/"+merchantID+"/integrations", map[string]string{"Authorization": "Bearer " + f.admin}, body)
	if code != 201 {
		t.Fatalf("creating integration: %d %v", code, out)
	}
	return out["apiKey"].(string), out["signingSecret"].(string)
}

// txn sends one transaction-API request with the given API key and X-Signature ("" leaves a
// header out) and returns the status and raw answer.
func (f *fixture) txn(path, apiKey, sig, body string) (int, []byte) {
	h := map[string]string{}
	if apiKey != "" {
		h["API-Key"] = apiKey
	}
	if sig != "" {
		h["X-Signature"] = sig
	}
	code, _, resp := f.do("POST", path, h, body)
	return code, resp.Body()
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t testing.TB, what string, got []byte, want string) {
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

// recordingPub passes records on and keeps the events Kafka acknowledged.
type recordingPub struct {
	next   Publisher
	mu     sync.Mutex
	events []*pipeline.Event
}

func (p *recordingPub) Send(ctx context.Context, topic string, key, value []byte) error {
	if err := p.next.Send(ctx, topic, key, value); err != nil {
		return err
	}
	ev, err := pipeline.DecodeEvent(value)
	if err != nil {
		return fmt.Errorf("decoding produced event: %w", err)
	}
	if string(key) != ev.Wallet.Key() {
		return fmt.Errorf("record key %q is not the event's wallet %q", key, ev.Wallet.Key())
	}
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.mu.Unlock()
	return nil
}

func (p *recordingPub) last() (*pipeline.Event, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == 0 {
		return nil, 0
	}
	return p.events[len(p.events)-1], len(p.events)
}

func recordEvents(f *fixture) *recordingPub {
	p := &recordingPub{next: f.s.pub}
	f.s.pub = p
	return p
}
