package ingesttest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// AdminHeaders are the headers of an admin API request with the fixture's token.
func (f *Fixture) AdminHeaders() map[string]string {
	return map[string]string{"Authorization": "Bearer " + f.Admin}
}

// Onboard creates a native merchant with a SANDBOX and a LIVE bKash wallet through the admin API
// and returns its API keys.
func (f *Fixture) Onboard(t testing.TB) (testKey, liveKey string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":"Shop","wallets":[{"provider":"bkash","account":"017%08d","environment":"SANDBOX"},{"provider":"bkash","account":"+880 18%08d","environment":"LIVE"}]}`,
		time.Now().UnixNano()%1e8, time.Now().UnixNano()%1e8)
	code, m, _ := f.Do("POST", "/admin/v1/merchants", f.AdminHeaders(), body)
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, m)
	}
	k := m["apiKeys"].(map[string]any)
	return k["SANDBOX"].(string), k["LIVE"].(string)
}

// BDQuickPayMerchant is a merchant of the bdquickpay dialect (seed 001) as OnboardBDQuickPay
// created it.
type BDQuickPayMerchant struct {
	ID                  string
	AppKey, SecretKey   string // SANDBOX
	LiveApp, LiveSecret string
	TestKey             string // the native sk_test_ key every merchant also gets
	LiveKey             string // its native sk_live_ key
}

// Sandbox are the seed's headers of a SANDBOX request of m.
func (m BDQuickPayMerchant) Sandbox() map[string]string {
	return map[string]string{"X-App-Key": m.AppKey, "X-Secret-Key": m.SecretKey}
}

// OnboardBDQuickPay onboards a bdquickpay-dialect merchant with one bKash wallet per environment
// through the admin API.
func (f *Fixture) OnboardBDQuickPay(t testing.TB) BDQuickPayMerchant {
	t.Helper()
	body := fmt.Sprintf(`{"name":"BQP Shop","dialect":"bdquickpay","wallets":[{"provider":"bkash","account":"017%s","environment":"SANDBOX"},{"provider":"bkash","account":"018%s","environment":"LIVE"}]}`,
		Digits(8), Digits(8))
	code, m, _ := f.Do("POST", "/admin/v1/merchants", f.AdminHeaders(), body)
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, m)
	}
	pairs := m["appKeys"].(map[string]any)
	sb, live := pairs["SANDBOX"].(map[string]any), pairs["LIVE"].(map[string]any)
	return BDQuickPayMerchant{
		ID: m["id"].(string), AppKey: sb["appKey"].(string), SecretKey: sb["secretKey"].(string),
		LiveApp: live["appKey"].(string), LiveSecret: live["secretKey"].(string),
		TestKey: m["apiKeys"].(map[string]any)["SANDBOX"].(string),
		LiveKey: m["apiKeys"].(map[string]any)["LIVE"].(string),
	}
}

// Digits returns n random decimal digits.
func Digits(n int) string {
	var b strings.Builder
	h := RandHex(n)
	for i := range len(h) {
		b.WriteByte('0' + h[i]%10)
	}
	return b.String()[:n]
}

// WalletsMerchant is a native merchant with SANDBOX bKash and Nagad wallets and a LIVE bKash
// wallet, as OnboardWallets created it.
type WalletsMerchant struct {
	ID, Key                 string // Key: the SANDBOX merchant API key
	BKash, Nagad, LiveBKash string // the wallets' accounts
}

// OnboardWallets onboards a native merchant with SANDBOX bKash and Nagad wallets and a LIVE bKash
// wallet through the admin API.
func (f *Fixture) OnboardWallets(t testing.TB) WalletsMerchant {
	t.Helper()
	m := WalletsMerchant{BKash: "017" + Digits(8), Nagad: "018" + Digits(8), LiveBKash: "019" + Digits(8)}
	body := fmt.Sprintf(`{"name":"Txn shop","wallets":[{"provider":"bkash","account":%q,"environment":"SANDBOX"},`+
		`{"provider":"nagad","account":%q,"environment":"SANDBOX"},{"provider":"bkash","account":%q,"environment":"LIVE"}]}`,
		m.BKash, m.Nagad, m.LiveBKash)
	code, out, _ := f.Do("POST", "/admin/v1/merchants", f.AdminHeaders(), body)
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, out)
	}
	m.ID, m.Key = out["id"].(string), out["apiKeys"].(map[string]any)["SANDBOX"].(string)
	return m
}
