package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/webhooksig"
)

// TestE2EBDQuickPay drives seed 001's bdQuickPay-compatible API against `paystream dev`: onboard a
// bdquickpay merchant, create a payment with the seed's curl body (its webhook_url pointing at the
// test receiver), pay it through the dialect's sandbox simulator, verify it, and receive exactly one
// signed payment.completed webhook with X-App-Key.
func TestE2EBDQuickPay(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	admin := map[string]string{"Authorization": "Bearer " + in.admin}

	defaultPath, invoicePath := "/hooks/"+randHex(4), "/bkash-webhook/"+randHex(4)
	body := fmt.Sprintf(`{"name":"bdQuickPay shop","dialect":"bdquickpay","wallets":[{"provider":"bkash","account":%q,"environment":"SANDBOX"},{"provider":"bkash","account":"018%s","environment":"LIVE"}],"webhooks":{"SANDBOX":{"url":%q}}}`,
		wallet(), randDigits(8), rcv.srv.URL+defaultPath)
	code, m, _ := call(t, "POST", in.base+"/admin/v1/merchants", admin, body)
	if code != http.StatusCreated || m["dialect"] != "bdquickpay" {
		t.Fatalf("onboarding: %d %v", code, m)
	}
	pairs := m["appKeys"].(map[string]any)
	sb, live := pairs["SANDBOX"].(map[string]any), pairs["LIVE"].(map[string]any)
	appKey, secretKey := sb["appKey"].(string), sb["secretKey"].(string)
	secret := m["webhooks"].(map[string]any)["SANDBOX"].(map[string]any)["secret"].(string)
	testKey := m["apiKeys"].(map[string]any)["SANDBOX"].(string)
	keys := map[string]string{"X-App-Key": appKey, "X-Secret-Key": secretKey}
	api := in.base + "/api/bkash/v1"

	// The seed's curl body, with webhook_url pointing at the receiver.
	create := fmt.Sprintf(`{ "amount": 500, "customer_reference": "ORDER-001", "success_url": "https://yoursite.com/success", "cancel_url": "https://yoursite.com/cancel", "webhook_url": %q, "metadata": { "order_id": "ORD-1001", "product": "Premium Package" } }`,
		rcv.srv.URL+invoicePath)
	code, c, _ := call(t, "POST", api+"/payment/create", keys, create)
	id, _ := c["invoice_id"].(string)
	if code != 200 || c["status"] != true || !regexp.MustCompile(`^[A-Z0-9]{20}$`).MatchString(id) || c["amount"] != float64(500) ||
		c["customer_reference"] != "ORDER-001" || c["payment_url"] != "https://pay.example.test/v1/checkout/"+id ||
		!strings.HasSuffix(fmt.Sprint(c["expires_at"]), "+00:00") || len(c) != 6 {
		t.Fatalf("create: %d %v", code, c)
	}
	verify := fmt.Sprintf(`{"invoice_id": %q}`, id)
	code, v, _ := call(t, "POST", api+"/payment/verify", keys, verify)
	if d, _ := v["data"].(map[string]any); code != 200 || d["status"] != "pending" || d["transaction"] != nil {
		t.Fatalf("verify before payment: %d %v", code, v)
	}

	t.Run("credentials", func(t *testing.T) {
		simBody := fmt.Sprintf(`{"invoice_id":%q,"amount":500,"trx_id":"LIVE12345"}`, id)
		code, m, _ := call(t, "POST", api+"/sandbox/simulate", map[string]string{"X-App-Key": live["appKey"].(string), "X-Secret-Key": live["secretKey"].(string)}, simBody)
		if code != 403 || m["status"] != false {
			t.Fatalf("LIVE App Key on the simulator: %d %v", code, m)
		}
		for _, h := range []map[string]string{
			{"X-App-Key": appKey, "X-Secret-Key": "wrong"},
			{"X-App-Key": testKey, "X-Secret-Key": secretKey},
			{"X-Api-Key": testKey},
		} {
			code, m, _ := call(t, "POST", api+"/payment/verify", h, verify)
			if code != 401 || m["status"] != false || m["message"] != "Unauthorized. Invalid App Key or Secret Key." {
				t.Fatalf("%v: %d %v", h, code, m)
			}
		}
	})

	trx := "BQP" + strings.ToUpper(randHex(4))
	code, s, _ := call(t, "POST", api+"/sandbox/simulate", keys, fmt.Sprintf(`{"invoice_id":%q,"amount":500,"trx_id":%q}`, id, trx))
	if code != 200 || s["status"] != true {
		t.Fatalf("simulate: %d %v", code, s)
	}

	forInvoice := func(h hook) bool { return h.event["invoice_id"] == id }
	h := rcv.waitHooks(t, 1, 30*time.Second, forInvoice)[0]
	if h.path != invoicePath {
		t.Fatalf("webhook went to %s, want the invoice's webhook_url %s", h.path, invoicePath)
	}
	if got := h.header.Get("X-App-Key"); got != appKey {
		t.Fatalf("X-App-Key %q, want the merchant's SANDBOX App Key", got)
	}
	if err := webhooksig.VerifyXSignature(secret, h.body, h.header.Get("X-Signature")); err != nil {
		t.Fatalf("X-Signature: %v", err)
	}
	if err := webhooksig.VerifyStandard(secret, h.body, h.header); err != nil {
		t.Fatalf("Standard Webhooks signature: %v", err)
	}
	e := h.event
	pid, _ := e["payment_id"].(float64)
	if e["event"] != "payment.completed" || e["status"] != "completed" || e["amount"] != float64(500) || e["payment_method"] != "bkash" ||
		e["customer_reference"] != "ORDER-001" || pid < 1 || pid != float64(int64(pid)) || e["trx_id"] != trx ||
		e["id"] != h.header.Get("webhook-id") || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`).MatchString(fmt.Sprint(e["timestamp"])) {
		t.Fatalf("webhook payload: %s", h.body)
	}

	code, v, _ = call(t, "POST", api+"/payment/verify", keys, verify)
	d, _ := v["data"].(map[string]any)
	tx, _ := d["transaction"].(map[string]any)
	if code != 200 || v["status"] != true || v["message"] != "Payment retrieved successfully." || d["status"] != "completed" ||
		d["invoice_id"] != id || tx["trx_id"] != trx || tx["payment_method"] != "bkash" || tx["amount"] != float64(500) ||
		tx["status"] != "completed" || !strings.HasSuffix(fmt.Sprint(tx["verified_at"]), "+00:00") {
		t.Fatalf("verify after payment: %d %v", code, v)
	}

	// Downstream handles the non-UUID invoice id like any intent id; the webhook was delivered once.
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM intent_status_changes FINAL WHERE intent_id = ? AND status = 'PAID'", id)
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM webhook_attempts FINAL WHERE intent_id = ? AND result = 'delivered'", id)
	if n := len(rcv.waitHooks(t, 0, 0, forInvoice)); n != 1 {
		t.Fatalf("the receiver got %d webhooks for the invoice, want exactly 1", n)
	}
	if n := len(rcv.waitHooks(t, 0, 0, func(h hook) bool { return h.path == defaultPath })); n != 0 {
		t.Fatalf("the merchant's default endpoint got %d webhooks", n)
	}
}
