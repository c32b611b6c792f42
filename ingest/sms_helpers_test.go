package ingest

// Helpers of the cross-surface tests for SMS forwarding (ingest/sms, mounted on the test servers
// by surfaces_test.go); the surface's own tests are in ingest/sms.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/paystream/paystream/pipeline"
)

// Component tests of SMS ingest on the fixture of ingest_test.go (real Redis, embedded Kafka,
// handlers in memory) with the recording publisher of txnapi_test.go.

// smsBKash is a real bKash "send money received" SMS (shared/fixtures), with its TrxID and time
// replaceable.
func smsBKash(trx string, at time.Time) string {
	return fmt.Sprintf("You have received Tk 500.00 from 01783110247. Fee Tk 0.00. Balance Tk 9,452.20. TrxID %s at %s",
		trx, at.In(time.FixedZone("Asia/Dhaka", 6*3600)).Format("02/01/2006 15:04"))
}

// smsTrx returns a fresh TrxID of n upper-case letters and digits starting with a letter.
func smsTrx(n int) string { return "D" + strings.ToUpper(randHex(n))[:n-1] }

var smsAt = time.Date(2026, 1, 22, 1, 54, 0, 0, time.FixedZone("Asia/Dhaka", 6*3600))

// smsDevice is a registered device of a merchant with SANDBOX bKash (SIM 1) and Nagad (SIM 2) wallets.
type smsDevice struct {
	f        *fixture
	pub      *recordingPub
	m        txnMerchant
	id       string
	token    string
	urls     map[string]any
	bkash    pipeline.Wallet
	nagad    pipeline.Wallet
	adminHdr map[string]string
}

func smsSetup(t testing.TB, signingKey string) *smsDevice {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	d := &smsDevice{f: f, pub: recordEvents(f), m: f.txnOnboard(t), adminHdr: map[string]string{"Authorization": "Bearer " + f.admin}}
	d.bkash = pipeline.Wallet{Provider: pipeline.BKash, Account: d.m.bkash, Environment: pipeline.Sandbox}
	d.nagad = pipeline.Wallet{Provider: pipeline.Nagad, Account: d.m.nagad, Environment: pipeline.Sandbox}
	d.id, d.token, d.urls = d.register(t, signingKey, fmt.Sprintf(`{"1":{"provider":"bkash","account":%q},"2":{"provider":"nagad","account":%q}}`, d.m.bkash, d.m.nagad))
	return d
}

// register creates another device of the merchant with the given wallets JSON.
func (d *smsDevice) register(t testing.TB, signingKey, wallets string) (id, token string, urls map[string]any) {
	t.Helper()
	key := ""
	if signingKey != "" {
		key = fmt.Sprintf(`,"signingKey":%q`, signingKey)
	}
	code, out, _ := d.f.do("POST", "/admin/v1/merchants/"+d.m.id+"/devices", d.adminHdr,
		fmt.Sprintf(`{"name":"Counter phone","environment":"SANDBOX","wallets":%s%s}`, wallets, key))
	if code != 201 {
		t.Fatalf("registering device: %d %v", code, out)
	}
	return out["id"].(string), out["token"].(string), out["forwardingUrls"].(map[string]any)
}

func smsForwarderBody(from, text string, sent time.Time, sim string) string {
	b, _ := json.Marshal(text)
	f, _ := json.Marshal(from)
	// The app's default template: numbers unquoted, from and sim quoted.
	return fmt.Sprintf("{\n  \"from\":%s,\n  \"text\":%s,\n  \"sentStamp\":%d,\n  \"receivedStamp\":%d,\n  \"sim\":%q\n}",
		f, b, sent.UnixMilli(), sent.Add(3*time.Second).UnixMilli(), sim)
}

func smsGatewayBody(from, text string, received time.Time, sim any, event string) string {
	b, _ := json.Marshal(map[string]any{
		"deviceId": "ffffffffceb0b1db0000018e937c815b", "event": event, "id": "Ey6ECgOkVVFjz3CL48B8C",
		"payload": map[string]any{
			"messageId": "abc123", "message": text, "phoneNumber": from, "simNumber": sim,
			"receivedAt": received.In(time.FixedZone("", 7*3600)).Format("2006-01-02T15:04:05.000-07:00"),
		},
		"webhookId": "LreFUt-Z3sSq0JufY9uWB",
	})
	return string(b)
}

func smsSign(key, body, ts string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(body + ts))
	return hex.EncodeToString(mac.Sum(nil))
}

func smsSigned(key, body string, at time.Time) map[string]string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return map[string]string{"X-Signature": smsSign(key, body, ts), "X-Timestamp": ts}
}

// smsCount reads a counter (prometheus/testutil would add a module dependency).
func smsCount(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// The forwarding formats (ingest/sms): the device URL each format posts to.
const (
	smsFormatNative     = "native"
	smsFormatForwarder  = "forwarder"
	smsFormatSMSGateway = "smsgateway"
)

var smsFormats = []string{smsFormatNative, smsFormatForwarder, smsFormatSMSGateway}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
