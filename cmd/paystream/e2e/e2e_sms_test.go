package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of SMS forwarding and operator review through the built binary.

// smsE2EText is a real bKash "send money received" SMS with the amount, TrxID and time replaced.
func smsE2EText(amount int, trx string, at time.Time) string {
	return fmt.Sprintf("You have received Tk %d.00 from 01783110247. Fee Tk 0.00. Balance Tk 9,452.20. TrxID %s at %s",
		amount, trx, at.In(time.FixedZone("Asia/Dhaka", 6*3600)).Format("02/01/2006 15:04"))
}

// smsE2ETrx is a fresh bKash-shaped TrxID (10 upper-case letters and digits).
func smsE2ETrx() string { return "D" + strings.ToUpper(randHex(5))[:9] }

// smsE2EForwarder is "SMS to URL Forwarder"'s default payload for one SMS received now on SIM 1.
func smsE2EForwarder(from, text string) string {
	f, _ := json.Marshal(from)
	b, _ := json.Marshal(text)
	now := time.Now()
	return fmt.Sprintf("{\n  \"from\":%s,\n  \"text\":%s,\n  \"sentStamp\":%d,\n  \"receivedStamp\":%d,\n  \"sim\":\"sim1\"\n}",
		f, b, now.Add(-2*time.Second).UnixMilli(), now.UnixMilli())
}

// smsE2EDevice registers a device forwarding SIM 1 to the SANDBOX bKash wallet acct and returns its
// forwarder URL on the instance.
func smsE2EDevice(t *testing.T, in *instance, merchantID, acct string) string {
	t.Helper()
	code, dev, _ := call(t, "POST", in.base+"/admin/v1/merchants/"+merchantID+"/devices", map[string]string{"Authorization": "Bearer " + in.admin},
		fmt.Sprintf(`{"name":"Counter phone","environment":"SANDBOX","wallets":{"1":{"provider":"bkash","account":%q}}}`, acct))
	if code != http.StatusCreated {
		t.Fatalf("registering device: %d %v", code, dev)
	}
	token := dev["token"].(string)
	path := "/v1/sms/" + token + "/forwarder"
	if got := dev["forwardingUrls"].(map[string]any)["forwarder"]; got != "https://pay.example.test"+path {
		t.Fatalf("forwarder URL %v, want https://pay.example.test%s", got, path)
	}
	return in.base + path
}

// TestE2ESMS: the forwarder app's payload of a real bKash SMS pays the intent of its amount exactly
// once (the app's retry is a duplicate); the same SMS from a spoofed sender pays nothing and is
// kept for operators.
func TestE2ESMS(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	acct := wallet()
	mc := onboard(t, in, rcv, acct)
	fwd := smsE2EDevice(t, in, mc.id, acct)

	id := createIntent(t, in, mc.testKey, `{"amount":500,"currency":"BDT","customerReference":"SMS-1"}`)["id"].(string)
	trx := smsE2ETrx()
	body := smsE2EForwarder("bKash", smsE2EText(500, trx, time.Now()))
	code, out, _ := call(t, "POST", fwd, nil, body)
	if code != http.StatusAccepted || out["pays"] != true || out["kind"] != "payment.reported" || out["result"] != "payment" {
		t.Fatalf("forwarding the SMS: %d %v", code, out)
	}
	code, again, _ := call(t, "POST", fwd, nil, body)
	if code != http.StatusOK || again["duplicate"] != true || again["eventId"] != out["eventId"] {
		t.Fatalf("the app's retry: %d %v", code, again)
	}
	h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
	d := h.event["data"].(map[string]any)
	if h.event["event"] != "payment.paid" || d["status"] != "PAID" || d["trx_id"] != trx || d["match_type"] != "AUTO_MATCH" || d["amount"] != "500" {
		t.Fatalf("webhook: %s", h.body)
	}
	if got := waitStatus(t, in, mc.testKey, id, "PAID", 10*time.Second); got["trxId"] != trx {
		t.Fatalf("paid intent: %v", got)
	}
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM inbound_events FINAL WHERE kind = 'payment.reported' AND source = 'sms' AND merchant_id = ? AND trx_id = ?", mc.id, trx)

	// The same SMS from a phone number: a spoof. Another open 500 BDT intent stays PENDING.
	id2 := createIntent(t, in, mc.testKey, `{"amount":500,"currency":"BDT","customerReference":"SMS-2"}`)["id"].(string)
	code, out, _ = call(t, "POST", fwd, nil, smsE2EForwarder("01712345678", smsE2EText(500, smsE2ETrx(), time.Now())))
	if code != http.StatusAccepted || out["pays"] != false || out["kind"] != "sms.received" || out["result"] != "suspicious" {
		t.Fatalf("forwarding the spoofed SMS: %d %v", code, out)
	}
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM inbound_events FINAL WHERE kind = 'sms.received' AND merchant_id = ?", mc.id)
	if code, m := getIntent(t, in, mc.testKey, id2); code != 200 || m["status"] != "PENDING" {
		t.Fatalf("intent after the spoofed SMS: %d %v", code, m)
	}
	if n := len(rcv.waitHooks(t, 0, 0, func(h hook) bool { return h.path == mc.path })); n != 1 {
		t.Fatalf("merchant got %d webhooks, want exactly 1", n)
	}
	code, list, _ := call(t, "GET", in.base+"/admin/v1/merchants/"+mc.id+"/sms?filter=suspicious", map[string]string{"Authorization": "Bearer " + in.admin}, "")
	if code != 200 || list["total"] != float64(1) || list["data"].([]any)[0].(map[string]any)["sender"] != "01712345678" {
		t.Fatalf("suspicious SMS for operators: %d %v", code, list)
	}
}

// TestE2EReview: one 900 BDT SMS for two open 900 BDT intents of one wallet puts both under review;
// an operator approves one (payment.paid, MANUAL) and rejects the other (payment.rejected).
func TestE2EReview(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	acct := wallet()
	mc := onboard(t, in, rcv, acct)
	admin := map[string]string{"Authorization": "Bearer " + in.admin}
	fwd := smsE2EDevice(t, in, mc.id, acct)

	i1 := createIntent(t, in, mc.testKey, `{"amount":900,"currency":"BDT","customerReference":"REV-1"}`)["id"].(string)
	i2 := createIntent(t, in, mc.testKey, `{"amount":900,"currency":"BDT","customerReference":"REV-2"}`)["id"].(string)
	trx := smsE2ETrx()
	if code, out, _ := call(t, "POST", fwd, nil, smsE2EForwarder("bKash", smsE2EText(900, trx, time.Now()))); code != http.StatusAccepted || out["pays"] != true {
		t.Fatalf("forwarding the SMS: %d %v", code, out)
	}
	for _, id := range []string{i1, i2} {
		h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
		if h.event["event"] != "payment.review_required" || h.event["data"].(map[string]any)["reason"] != "ambiguous" {
			t.Fatalf("review webhook: %s", h.body)
		}
		waitStatus(t, in, mc.testKey, id, "REVIEW_REQUIRED", 10*time.Second)
	}
	code, q, _ := call(t, "GET", in.base+"/admin/v1/merchants/"+mc.id+"/review?env=SANDBOX", admin, "")
	if code != 200 || q["total"] != float64(2) {
		t.Fatalf("review queue: %d %v", code, q)
	}
	for _, x := range q["data"].([]any) {
		it := x.(map[string]any)
		cands := it["candidates"].([]any)
		if it["reason"] != "ambiguous" || len(cands) != 1 || cands[0].(map[string]any)["trxId"] != trx {
			t.Fatalf("review item: %v", it)
		}
	}

	code, out, _ := call(t, "POST", in.base+"/admin/v1/intents/"+i1+"/approve", admin, fmt.Sprintf(`{"trxId":%q,"operator":"e2e"}`, trx))
	if code != http.StatusAccepted {
		t.Fatalf("approve: %d %v", code, out)
	}
	paid := rcv.waitHooks(t, 2, 30*time.Second, forIntent(i1))[1]
	if d := paid.event["data"].(map[string]any); paid.event["event"] != "payment.paid" || d["status"] != "PAID" || d["match_type"] != "MANUAL" || d["trx_id"] != trx {
		t.Fatalf("approval webhook: %s", paid.body)
	}
	waitStatus(t, in, mc.testKey, i1, "PAID", 10*time.Second)

	// The payment is used: i2, left without a candidate, returns to PENDING (issue 13, finding 8;
	// this test used to assert that i2 stayed under review), and its own payment can still pay it.
	pending := rcv.waitHooks(t, 2, 30*time.Second, forIntent(i2))[1]
	if d := pending.event["data"].(map[string]any); pending.event["event"] != "payment.pending" || d["status"] != "PENDING" || d["reason"] != "candidate_used" {
		t.Fatalf("release webhook: %s", pending.body)
	}
	waitStatus(t, in, mc.testKey, i2, "PENDING", 10*time.Second)
	if code, m, _ := call(t, "POST", in.base+"/admin/v1/intents/"+i2+"/reject", admin, `{}`); code != http.StatusConflict {
		t.Fatalf("rejecting a PENDING intent: %d %v", code, m)
	}

	// A second ambiguity: one intent is rejected by the operator, the other approved.
	i3 := createIntent(t, in, mc.testKey, `{"amount":800,"currency":"BDT","customerReference":"REV-3"}`)["id"].(string)
	i4 := createIntent(t, in, mc.testKey, `{"amount":800,"currency":"BDT","customerReference":"REV-4"}`)["id"].(string)
	trx2 := smsE2ETrx()
	if code, out, _ := call(t, "POST", fwd, nil, smsE2EForwarder("bKash", smsE2EText(800, trx2, time.Now()))); code != http.StatusAccepted || out["pays"] != true {
		t.Fatalf("forwarding the second SMS: %d %v", code, out)
	}
	for _, id := range []string{i3, i4} {
		waitStatus(t, in, mc.testKey, id, "REVIEW_REQUIRED", 30*time.Second)
	}
	code, out, _ = call(t, "POST", in.base+"/admin/v1/intents/"+i3+"/reject", admin, `{"operator":"e2e","note":"not this order"}`)
	if code != http.StatusAccepted {
		t.Fatalf("reject: %d %v", code, out)
	}
	rejected := rcv.waitHooks(t, 2, 30*time.Second, forIntent(i3))[1]
	if rejected.event["event"] != "payment.rejected" || rejected.event["data"].(map[string]any)["status"] != "REJECTED" {
		t.Fatalf("rejection webhook: %s", rejected.body)
	}
	waitStatus(t, in, mc.testKey, i3, "REJECTED", 10*time.Second)
	if code, out, _ := call(t, "POST", in.base+"/admin/v1/intents/"+i4+"/approve", admin, fmt.Sprintf(`{"trxId":%q,"operator":"e2e"}`, trx2)); code != http.StatusAccepted {
		t.Fatalf("approve i4: %d %v", code, out)
	}
	waitStatus(t, in, mc.testKey, i4, "PAID", 10*time.Second)

	// Decided intents are no longer under review, and cannot be decided again.
	if code, m, _ := call(t, "POST", in.base+"/admin/v1/intents/"+i3+"/approve", admin, `{}`); code != http.StatusConflict {
		t.Fatalf("approving a REJECTED intent: %d %v", code, m)
	}
	if code, q, _ := call(t, "GET", in.base+"/admin/v1/merchants/"+mc.id+"/review", admin, ""); code != 200 || q["total"] != float64(0) {
		t.Fatalf("review queue after the decisions: %d %v", code, q)
	}
}
