package sms

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// Component tests of the device admin API (ingesttest's fixture, helpers of sms_test.go).

func TestSMSDeviceRegistration(t *testing.T) {
	d := smsSetup(t, "k3y")
	path := "/admin/v1/merchants/" + d.m.id + "/devices"

	// The token is stored as SHA-256 only, and maps to the device.
	if id, err := d.f.RDB.Get(t.Context(), d.f.Keys.DeviceToken(ingest.HashSecret(d.token))).Result(); err != nil || id != d.id {
		t.Fatalf("token mapping: %q %v", id, err)
	}
	raw, _ := d.f.RDB.Get(t.Context(), d.f.Keys.Device(d.id)).Result()
	if strings.Contains(raw, d.token) || !strings.HasPrefix(d.token, deviceTokenPrefix) {
		t.Fatalf("device record holds the token, or the token has another shape: %s", raw)
	}

	// A second device taking any SIM for the LIVE wallet.
	code, out, _ := d.f.do("POST", path, d.adminHdr, fmt.Sprintf(`{"name":"Backup phone","environment":"live","wallets":{"*":{"provider":"BKASH","account":"+880%s"}}}`, d.m.liveBK[1:]))
	if code != 201 || out["environment"] != "LIVE" || out["signed"] != false || out["status"] != pipeline.DeviceActive {
		t.Fatalf("LIVE device: %d %v", code, out)
	}
	if w := out["wallets"].(map[string]any)["*"].(map[string]any); w["account"] != d.m.liveBK || w["provider"] != "bkash" {
		t.Fatalf("normalised wallet: %v", w)
	}

	code, list, _ := d.f.do("GET", path, d.adminHdr, "")
	if code != 200 || list["total"] != float64(2) {
		t.Fatalf("list: %d %v", code, list)
	}
	b, _ := json.Marshal(list)
	if strings.Contains(string(b), d.token) || strings.Contains(string(b), "k3y") || strings.Contains(string(b), "forwardingUrls") {
		t.Fatalf("list shows secrets: %s", b)
	}
	// Newest first; the two may share a createdAt millisecond (then the order is by id), so the
	// first device is found by its id.
	var first map[string]any
	for _, x := range list["data"].([]any) {
		if x.(map[string]any)["id"] == d.id {
			first = x.(map[string]any)
		}
	}
	if first == nil || first["signed"] != true || first["environment"] != "SANDBOX" || first["format"] != smsFormatSMSGateway {
		t.Fatalf("first device in the list: %v", first)
	}

	bk := fmt.Sprintf(`{"provider":"bkash","account":%q}`, d.m.bkash)
	for _, c := range []struct{ name, body, msg string }{
		{"malformed", `{"name":`, "Malformed JSON"},
		{"no name", `{"environment":"SANDBOX","wallets":{"1":` + bk + `}}`, "name is required"},
		{"bad environment", `{"name":"x","environment":"PROD","wallets":{"1":` + bk + `}}`, "environment must be SANDBOX or LIVE"},
		{"no wallets", `{"name":"x","environment":"SANDBOX"}`, "wallets is required"},
		{"wallets not a map", `{"name":"x","environment":"SANDBOX","wallets":[` + bk + `]}`, "wallets must be a"},
		{"bad slot", `{"name":"x","environment":"SANDBOX","wallets":{"0":` + bk + `}}`, `wallets: "0" is not a SIM slot`},
		{"slot null", `{"name":"x","environment":"SANDBOX","wallets":{"1":null}}`, "wallets.1 must be an object"},
		{"another merchant's wallet", `{"name":"x","environment":"SANDBOX","wallets":{"1":{"provider":"bkash","account":"01999999999"}}}`, "wallets.1 must be one of the merchant's SANDBOX wallets"},
		{"wallet of the other environment", `{"name":"x","environment":"LIVE","wallets":{"1":` + bk + `}}`, "wallets.1 must be one of the merchant's LIVE wallets"},
		{"empty signing key", `{"name":"x","environment":"SANDBOX","wallets":{"1":` + bk + `},"signingKey":""}`, "signingKey must be"},
		{"signing key type", `{"name":"x","environment":"SANDBOX","wallets":{"1":` + bk + `},"signingKey":1}`, "signingKey must be a string"},
	} {
		code, m, _ := d.f.do("POST", path, d.adminHdr, c.body)
		if code != 400 || m["statusCode"] != float64(400) || !strings.HasPrefix(fmt.Sprint(m["message"]), c.msg) {
			t.Errorf("%s: %d %v, want 400 %q", c.name, code, m, c.msg)
		}
	}
	for _, c := range []struct {
		method, path string
		h            map[string]string
		want         int
	}{
		{"POST", path, nil, 401},
		{"GET", path, map[string]string{"Authorization": "Bearer nope"}, 401},
		{"DELETE", "/admin/v1/devices/" + d.id, nil, 401},
		{"POST", "/admin/v1/merchants/mch_nope/devices", d.adminHdr, 404},
		{"GET", "/admin/v1/merchants/mch_nope/devices", d.adminHdr, 404},
		{"DELETE", "/admin/v1/devices/dev_nope", d.adminHdr, 404},
	} {
		code, m, _ := d.f.do(c.method, c.path, c.h, `{}`)
		if code != c.want || m["statusCode"] != float64(c.want) {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, m, c.want)
		}
	}
}
