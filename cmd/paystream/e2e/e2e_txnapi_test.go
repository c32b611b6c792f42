package e2e

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"
)

// txnE2ESign is what a seed 002 sender computes: HMAC-SHA256 of the RFC 8785 form of the body,
// keyed with the signing secret; here as standard base64 (hex works as well).
func txnE2ESign(t *testing.T, secret, body string) string {
	t.Helper()
	c, err := jcs.Transform([]byte(body))
	if err != nil {
		t.Fatalf("canonicalizing %s: %v", body, err)
	}
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(c)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TestE2ETxnAPI drives seed 002's bKash transaction API against `paystream dev`: a merchant's
// integration checks a payer and reports the payment, and the intent it references is paid.
func TestE2ETxnAPI(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	a := onboard(t, in, rcv, wallet())

	code, integ, _ := call(t, "POST", in.base+"/admin/v1/merchants/"+a.id+"/integrations",
		map[string]string{"Authorization": "Bearer " + in.admin}, `{"type":"bkash_txn_api","environment":"SANDBOX","allowAnyAccount":false}`)
	if code != http.StatusCreated {
		t.Fatalf("creating integration: %d %v", code, integ)
	}
	apiKey, secret := integ["apiKey"].(string), integ["signingSecret"].(string)
	send := func(op, body string) (int, map[string]any) {
		t.Helper()
		code, m, _ := call(t, "POST", in.base+"/api/external/v1/bkash/transactions/"+op,
			map[string]string{"API-Key": apiKey, "X-Signature": txnE2ESign(t, secret, body)}, body)
		return code, m
	}
	is := func(m map[string]any, code int, msg, typ string) bool {
		return m["code"] == float64(code) && m["message"] == msg && m["type"] == typ
	}

	payer := "017" + randDigits(8)
	it := createIntent(t, in, a.testKey, fmt.Sprintf(`{"amount":750,"currency":"BDT","customerReference":%q}`, payer))
	id, receiver := it["id"].(string), it["receiverMsisdn"].(string)

	checkBody := fmt.Sprintf(`{"acc_no":%q}`, payer)
	if code, m := send("check", checkBody); code != http.StatusAccepted || !is(m, 200, "transaction allowed", "success") {
		t.Fatalf("check of the intent's customer: %d %v", code, m)
	}
	if code, m := send("check", `{"acc_no":"01300000000"}`); code != http.StatusForbidden || !is(m, 403, "transaction not allowed", "error") {
		t.Fatalf("check of a stranger: %d %v", code, m)
	}
	code, m, _ := call(t, "POST", in.base+"/api/external/v1/bkash/transactions/check",
		map[string]string{"API-Key": apiKey, "X-Signature": txnE2ESign(t, secret, `{"acc_no":"01300000000"}`)}, checkBody)
	if code != http.StatusUnauthorized || m["errors"] != "access denied" || !is(m, 401, "access denied", "error") {
		t.Fatalf("check with another body's signature: %d %v", code, m)
	}

	trx := "e2e" + randHex(4)
	complete := fmt.Sprintf(`{"transaction_id":%q,"amount":750,"from_account":"+8801811111111","to_account":%q,"reference":%q,"transaction_datetime":%d}`,
		trx, receiver, payer, time.Now().Unix())
	if code, m := send("complete", complete); code != http.StatusAccepted || !is(m, 202, "transaction accepted", "success") {
		t.Fatalf("complete: %d %v", code, m)
	}
	// The TrxID is claimed before the 202, so the second report is refused at once.
	if code, m := send("complete", complete); code != http.StatusBadRequest || !is(m, 400, "duplicate transaction id", "error") {
		t.Fatalf("complete again: %d %v", code, m)
	}

	h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
	d := h.event["data"].(map[string]any)
	if h.path != a.path || h.event["event"] != "payment.paid" || d["status"] != "PAID" || d["match_type"] != "REFERENCE_MATCH" ||
		d["trx_id"] != strings.ToUpper(trx) || d["amount"] != "750" || d["customer_reference"] != payer {
		t.Fatalf("webhook: %s", h.body)
	}
	got := waitStatus(t, in, a.testKey, id, "PAID", 10*time.Second)
	if got["matchType"] != "REFERENCE_MATCH" || got["trxId"] != strings.ToUpper(trx) {
		t.Fatalf("paid intent: %v", got)
	}
	waitCount(t, in.dsn, 1, 30*time.Second,
		"SELECT count() FROM inbound_events FINAL WHERE merchant_id = ? AND source = 'bkash_txn_api' AND trx_id = ?", a.id, strings.ToUpper(trx))
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM webhook_attempts FINAL WHERE intent_id = ? AND result = 'delivered'", id)
	if n := len(rcv.waitHooks(t, 0, 0, forIntent(id))); n != 1 {
		t.Fatalf("receiver got %d webhooks for the intent, want exactly one payment.paid", n)
	}
	// The intent is paid: its customer has nothing left to pay.
	if code, m := send("check", checkBody); code != http.StatusForbidden || !is(m, 403, "transaction not allowed", "error") {
		t.Fatalf("check after payment: %d %v", code, m)
	}

	// An oversized body is refused from its Content-Length, in this surface's shape.
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/external/v1/bkash/transactions/complete HTTP/1.1\r\nHost: x\r\nAPI-Key: %s\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n", apiKey)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var big map[string]any
	if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal(rb, &big) != nil || big["code"] != float64(413) || big["type"] != "error" {
		t.Fatalf("oversized body: %d %s", resp.StatusCode, rb)
	}
}
