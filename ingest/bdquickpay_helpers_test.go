package ingest

// Helpers of the cross-surface tests for seed 001 (ingest/bdquickpay, mounted on the test servers
// by surfaces_test.go); the surface's own tests are in ingest/bdquickpay.

import (
	"fmt"
	"strings"
	"testing"
)

// Component tests of seed 001's bdQuickPay-compatible API, on the fixture of ingest_test.go.

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
	code, m, _ := f.do("POST", "/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + f.admin}, body)
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

func bqpDigits(n int) string {
	var b strings.Builder
	for _, c := range randHex(n) {
		b.WriteByte('0' + byte(c)%10)
	}
	return b.String()[:n]
}

// prefixBDQuickPay is seed 001's path prefix (ingest/bdquickpay.Prefix).
const prefixBDQuickPay = "/api/bkash/v1/"
