package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
)

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// panickingPub is a Publisher with a bug: every Send panics, so any request that gets as far as
// producing reaches the router's panic handler.
type panickingPub struct{}

func (panickingPub) Send(context.Context, string, []byte, []byte) error {
	panic("injected publisher bug")
}

// TestAdversarialLogsCarryNoDeviceToken: an SMS forwarder's device token is its credential and
// travels in the URL path. A handler panic on an SMS URL of every format logs the route pattern
// (/v1/sms/{token}/forwarder), never the token; a panic gives its in-flight slot back; and
// fasthttp's own error about a malformed request on such a URL (which quotes the raw request line
// and headers) reaches the log without the token and without the header credentials. Before the
// fix the panic line held "path":"/v1/sms/dvt_…" and the slot was kept for good.
func TestAdversarialLogsCarryNoDeviceToken(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	var logs logBuffer
	// As many in-flight slots as panics to come: a slot a panic kept would shed a later request.
	f.Rebuild(func(c *ingest.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.MaxInFlight = len(smsFormats)
	}, nil)
	f.Pub.Swap(panickingPub{})
	m := f.txnOnboard(t)
	admin := f.AdminHeaders()
	const signingKey = "log-test-signing-key"
	now := time.Now()
	var tokens []string
	for _, format := range smsFormats {
		key := ""
		if format == smsFormatSMSGateway {
			key = fmt.Sprintf(`,"signingKey":%q`, signingKey)
		}
		code, out, _ := f.do("POST", "/admin/v1/merchants/"+m.id+"/devices", admin, fmt.Sprintf(
			`{"name":"Log phone","environment":"SANDBOX","format":%q,"wallets":{"1":{"provider":"bkash","account":%q}}%s}`, format, m.bkash, key))
		if code != 201 {
			t.Fatalf("registering a %s device: %d %v", format, code, out)
		}
		token := out["token"].(string)
		tokens = append(tokens, token)
		path := "/v1/sms/" + token
		text := ingesttest.SMSBKash(ingesttest.SMSTrx(10), now)
		body := fmt.Sprintf(`{"from":"bKash","text":%q,"sim":1,"id":%q}`, text, "m-"+randHex(6))
		headers := map[string]string{}
		switch format {
		case smsFormatForwarder:
			path += "/forwarder"
			body = ingesttest.SMSForwarderBody("bKash", text, now, "sim1")
		case smsFormatSMSGateway:
			path += "/smsgateway"
			body = ingesttest.SMSGatewayBody("bKash", text, now, 1, "sms:received")
			headers = ingesttest.SMSSigned(signingKey, body, now)
		}
		before := len(logs.String())
		code, out, _ = f.do("POST", path, headers, body)
		if code != 503 || out["statusCode"] != float64(503) {
			t.Fatalf("%s: %d %v, want the panic handler's 503", path, code, out)
		}
		line := logs.String()[before:]
		if !strings.Contains(line, `"msg":"handler panic"`) {
			t.Fatalf("%s: no panic logged: %s", format, line)
		}
		pattern := strings.Replace(path, token, "{token}", 1)
		if !strings.Contains(line, `"route":"`+pattern+`"`) {
			t.Errorf("%s: the panic line does not name the route %s: %s", format, pattern, line)
		}
	}
	if n := f.Metric(t, "paystream_http_panics_total"); n != float64(len(smsFormats)) {
		t.Errorf("paystream_http_panics_total = %v, want %d", n, len(smsFormats))
	}
	// Every slot was given back: with as many slots as there were panics, the next request is
	// served, not shed (paystream_http_shed_total stays 0).
	code, _, resp := f.do("GET", "/openapi.json", nil, "")
	if v, shed := f.Metric(t, "paystream_http_inflight_requests"), f.Metric(t, "paystream_http_shed_total"); v != 0 || shed != 0 || code != 200 {
		t.Errorf("after the panics: %v requests in flight, %v shed, the next request answered %d %.80s; want 0, 0 and 200", v, shed, code, resp.Body())
	}

	// fasthttp's own error about a malformed request quotes it (request line and headers).
	addr := f.Serve(t)
	const secret = "sk_test_SECRETVALUE0123"
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/sms/%s/forwarder HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\nContent-Length: nope\r\n\r\n", tokens[1], secret)
	_, _ = conn.Read(make([]byte, 4096)) // the 400; then fasthttp closes and logs
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "error when serving connection") {
		if time.Now().After(deadline) {
			t.Fatalf("fasthttp logged nothing about the malformed request: %s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	all := logs.String()
	for _, tok := range tokens {
		if strings.Contains(all, tok) {
			t.Errorf("a device token is in the log:\n%s", all)
		}
	}
	if strings.Contains(all, secret) {
		t.Errorf("a header credential is in the log:\n%s", all)
	}
}
