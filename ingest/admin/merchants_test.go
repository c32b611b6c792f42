package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

func TestAdminMerchantsListRotateAndSetWebhook(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	adm := map[string]string{"Authorization": "Bearer " + f.admin}
	testKey, liveKey := f.onboard(t)

	// The merchant's id, from its key.
	m, _, err := f.s.dir.MerchantByAPIKey(t.Context(), testKey)
	if err != nil || m == nil {
		t.Fatalf("authenticate: %v %v", m, err)
	}
	id := m.ID

	// Admin token required everywhere.
	for _, r := range [][3]string{
		{"GET", "/admin/v1/merchants", ""},
		{"POST", "/admin/v1/merchants/" + id + "/keys/rotate", `{"environment":"SANDBOX"}`},
		{"PUT", "/admin/v1/merchants/" + id + "/webhooks/SANDBOX", `{"url":"http://127.0.0.1:1/h"}`},
	} {
		if code, _, _ := f.do(r[0], r[1], map[string]string{"Authorization": "Bearer wrong"}, r[2]); code != http.StatusUnauthorized {
			t.Fatalf("%s %s with a wrong token: %d, want 401", r[0], r[1], code)
		}
	}

	// List shows the merchant, without secrets.
	code, out, _ := f.do("GET", "/admin/v1/merchants?page=1&limit=10", adm, "")
	data, _ := out["data"].([]any)
	if code != 200 || out["total"] != float64(1) || len(data) != 1 || data[0].(map[string]any)["id"] != id {
		t.Fatalf("list: %d %v", code, out)
	}
	if _, leaked := data[0].(map[string]any)["apiKeys"]; leaked {
		t.Fatalf("list leaks api keys: %v", data[0])
	}
	if code, out, _ = f.do("GET", "/admin/v1/merchants?page=2&limit=10", adm, ""); code != 200 || len(out["data"].([]any)) != 0 {
		t.Fatalf("list page 2: %d %v", code, out)
	}

	// Rotate: the old key stops at once, the new one works; the LIVE key is untouched.
	if code, _, _ := f.do("POST", "/admin/v1/merchants/"+id+"/keys/rotate", adm, `{"environment":"STAGING"}`); code != 400 {
		t.Fatalf("rotate with a bad environment: %d", code)
	}
	if code, _, _ := f.do("GET", "/v1/payments/intents", map[string]string{"X-Api-Key": testKey}, ""); code != 200 {
		t.Fatalf("old key before rotation: %d", code) // also fills the authenticate cache
	}
	code, out, _ = f.do("POST", "/admin/v1/merchants/"+id+"/keys/rotate", adm, `{"environment":"SANDBOX"}`)
	newKey, _ := out["apiKey"].(string)
	if code != 200 || len(newKey) < 20 || newKey[:8] != "sk_test_" || out["oldKeyRevoked"] != true {
		t.Fatalf("rotate: %d %v", code, out)
	}
	if code, _, _ := f.do("GET", "/v1/payments/intents", map[string]string{"X-Api-Key": testKey}, ""); code != 401 {
		t.Fatalf("old key after rotation: %d, want 401", code)
	}
	if code, _, _ := f.do("GET", "/v1/payments/intents", map[string]string{"X-Api-Key": newKey}, ""); code != 200 {
		t.Fatalf("new key: %d, want 200", code)
	}
	if code, _, _ := f.do("GET", "/v1/payments/intents", map[string]string{"X-Api-Key": liveKey}, ""); code != 200 {
		t.Fatalf("live key after a SANDBOX rotation: %d, want 200", code)
	}

	// Set webhook: a bad URL is refused, a good one is stored and shown.
	if code, _, _ := f.do("PUT", "/admin/v1/merchants/"+id+"/webhooks/SANDBOX", adm, `{"url":"ftp://nope"}`); code != 400 {
		t.Fatalf("set-webhook with a bad url: %d, want 400", code)
	}
	if code, _, _ := f.do("PUT", "/admin/v1/merchants/"+id+"/webhooks/MOON", adm, `{"url":"http://127.0.0.1:9/h"}`); code != 400 {
		t.Fatalf("set-webhook with a bad env: %d, want 400", code)
	}
	before, _ := f.s.dir.CurrentMerchant(t.Context(), id)
	code, out, _ = f.do("PUT", "/admin/v1/merchants/"+id+"/webhooks/sandbox", adm, `{"url":"http://127.0.0.1:9/hooks","maxAttempts":3}`)
	if code != 200 || out["webhooks"].(map[string]any)["SANDBOX"].(map[string]any)["url"] != "http://127.0.0.1:9/hooks" {
		t.Fatalf("set-webhook: %d %v", code, out)
	}
	code, out, _ = f.do("GET", "/admin/v1/merchants/"+id, adm, "")
	wh := out["webhooks"].(map[string]any)["SANDBOX"].(map[string]any)
	if code != 200 || wh["url"] != "http://127.0.0.1:9/hooks" || wh["maxAttempts"] != float64(3) {
		t.Fatalf("get after set-webhook: %d %v", code, out)
	}
	after, _ := f.s.dir.CurrentMerchant(t.Context(), id)
	if after.Webhooks["SANDBOX"].Secret == "" || after.Webhooks["SANDBOX"].Secret != before.Webhooks["SANDBOX"].Secret {
		t.Fatal("set-webhook changed the signing secret")
	}
	if after.APIKeyHashes["SANDBOX"] != ingest.HashSecret(newKey) {
		t.Fatal("set-webhook lost the rotated key hash")
	}
	if code, _, _ := f.do("PUT", "/admin/v1/merchants/mch_nope/webhooks/SANDBOX", adm, `{"url":"http://127.0.0.1:9/h"}`); code != 404 {
		t.Fatalf("set-webhook of an unknown merchant: %d", code)
	}
}

// A merchant stored before APIKeyHashes existed: rotation issues a key and says the old one lives on.
func TestRotateKeyWithoutKnownHash(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	adm := map[string]string{"Authorization": "Bearer " + f.admin}
	testKey, _ := f.onboard(t)
	m, _, _ := f.s.dir.MerchantByAPIKey(t.Context(), testKey)
	if _, err := f.s.dir.Update(t.Context(), m.ID, func(m *pipeline.Merchant) error { m.APIKeyHashes = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	code, out, _ := f.do("POST", "/admin/v1/merchants/"+m.ID+"/keys/rotate", adm, `{"environment":"SANDBOX"}`)
	if code != 200 || out["oldKeyRevoked"] != false || out["note"] == nil || out["apiKey"] == nil {
		t.Fatalf("rotate without a known hash: %d %v", code, out)
	}
	if code, _, _ := f.do("GET", "/v1/payments/intents", map[string]string{"X-Api-Key": out["apiKey"].(string)}, ""); code != 200 {
		t.Fatalf("new key: %d", code)
	}
}
