package checkout

// Helpers for the page of a seed 001 invoice (ingest/bdquickpay, mounted beside the checkout by
// mountCheckout); copies of ingest/bdquickpay's test helpers.

import (
	"fmt"
	"testing"
)

const bqpCreatePath = "/api/bkash/v1/payment/create"

// The seed's JavaScript/Python body (no webhook_url, no metadata).
const bqpSeedJSBody = `{"amount":500,"customer_reference":"ORDER-001","success_url":"https://yoursite.com/success","cancel_url":"https://yoursite.com/cancel"}`

type bqpMerchant struct {
	id                  string
	appKey, secretKey   string // SANDBOX
	liveApp, liveSecret string
	testKey             string // the native sk_test_ key every merchant also gets
}

func (m bqpMerchant) sandbox() map[string]string {
	return map[string]string{"X-App-Key": m.appKey, "X-Secret-Key": m.secretKey}
}

// onboardBQP onboards a bdquickpay-dialect merchant with one bKash wallet per environment.
func (f *fixture) onboardBQP(t testing.TB) bqpMerchant {
	t.Helper()
	body := fmt.Sprintf(`{"name":"BQP Shop","dialect":"bdquickpay","wallets":[{"provider":"bkash","account":"017%s","environment":"SANDBOX"},{"provider":"bkash","account":"018%s","environment":"LIVE"}]}`,
		bqpDigits(8), bqpDigits(8))
	code, m, _ := f.do("POST", "/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + f.Admin}, body)
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, m)
	}
	pairs := m["appKeys"].(map[string]any)
	sb, live := pairs["SANDBOX"].(map[string]any), pairs["LIVE"].(map[string]any)
	return bqpMerchant{
		id: m["id"].(string), appKey: sb["appKey"].(string), secretKey: sb["secretKey"].(string),
		liveApp: live["appKey"].(string), liveSecret: live["secretKey"].(string),
		testKey: m["apiKeys"].(map[string]any)["SANDBOX"].(string),
	}
}
