package ingesttest

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
)

// Helpers of SMS forwarding (ingest/sms) that the surface's tests and the cross-surface tests
// share: device registration, the forwarding apps' bodies and SMS Gateway's signature.

// The forwarding formats: the device URL each format posts to (/v1/sms/{token}[/format]).
const (
	SMSFormatNative     = "native"
	SMSFormatForwarder  = "forwarder"
	SMSFormatSMSGateway = "smsgateway"
)

// SMSFormats are the forwarding formats, native first.
var SMSFormats = []string{SMSFormatNative, SMSFormatForwarder, SMSFormatSMSGateway}

// SMSAt is a fixed time of a forwarded SMS (Asia/Dhaka).
var SMSAt = time.Date(2026, 1, 22, 1, 54, 0, 0, time.FixedZone("Asia/Dhaka", 6*3600))

// SMSBKash is a real bKash "send money received" SMS (pipeline/smsparse/testdata), with its TrxID
// and time replaceable.
func SMSBKash(trx string, at time.Time) string {
	return fmt.Sprintf("You have received Tk 500.00 from 01783110247. Fee Tk 0.00. Balance Tk 9,452.20. TrxID %s at %s",
		trx, at.In(time.FixedZone("Asia/Dhaka", 6*3600)).Format("02/01/2006 15:04"))
}

// SMSTrx returns a fresh TrxID of n upper-case letters and digits starting with a letter.
func SMSTrx(n int) string { return "D" + strings.ToUpper(RandHex(n))[:n-1] }

// RegisterDevice registers an SMS forwarding device of merchantID (SANDBOX, the native format)
// with the given wallets JSON (SIM slot → wallet) and SMS Gateway signing key ("" none) through the
// admin API, and returns its id, token and forwarding URLs.
func (f *Fixture) RegisterDevice(t testing.TB, merchantID, signingKey, wallets string) (id, token string, urls map[string]any) {
	t.Helper()
	key := ""
	if signingKey != "" {
		key = fmt.Sprintf(`,"signingKey":%q`, signingKey)
	}
	code, out, _ := f.Do("POST", "/admin/v1/merchants/"+merchantID+"/devices", f.AdminHeaders(),
		fmt.Sprintf(`{"name":"Counter phone","environment":"SANDBOX","wallets":%s%s}`, wallets, key))
	if code != 201 {
		t.Fatalf("registering device: %d %v", code, out)
	}
	return out["id"].(string), out["token"].(string), out["forwardingUrls"].(map[string]any)
}

// SMSForwarderBody is the body of the "SMS Forwarder" app's default template (numbers unquoted,
// from and sim quoted).
func SMSForwarderBody(from, text string, sent time.Time, sim string) string {
	b, _ := json.Marshal(text)
	f, _ := json.Marshal(from)
	return fmt.Sprintf("{\n  \"from\":%s,\n  \"text\":%s,\n  \"sentStamp\":%d,\n  \"receivedStamp\":%d,\n  \"sim\":%q\n}",
		f, b, sent.UnixMilli(), sent.Add(3*time.Second).UnixMilli(), sim)
}

// SMSGatewayBody is an "SMS Gateway for Android" webhook body of event (sms:received).
func SMSGatewayBody(from, text string, received time.Time, sim any, event string) string {
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

// SMSSign is SMS Gateway's X-Signature: HMAC-SHA256 of body and the timestamp, in hex.
func SMSSign(key, body, ts string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(body + ts))
	return hex.EncodeToString(mac.Sum(nil))
}

// SMSSigned are SMS Gateway's signature headers of body sent at at.
func SMSSigned(key, body string, at time.Time) map[string]string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return map[string]string{"X-Signature": SMSSign(key, body, ts), "X-Timestamp": ts}
}
