package bkashsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
)

func post(t *testing.T, h http.Handler, path string, hdr map[string]string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req := httptest.NewRequest(http.MethodPost, bkashsim.BasePath+"/tokenized/checkout/"+path, bytes.NewReader(b))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func TestSimShapesAndPage(t *testing.T) {
	s := bkashsim.New(bkashsim.Config{PublicURL: "http://sim.test", MaxPayments: 2})
	grantHdr := map[string]string{"username": bkashsim.DefaultUsername, "password": bkashsim.DefaultPassword}
	code, tok := post(t, s, "token/grant", grantHdr, map[string]string{"app_key": bkashsim.DefaultAppKey, "app_secret": bkashsim.DefaultAppSecret})
	if code != 200 || tok["statusCode"] != "0000" || tok["id_token"] == "" || tok["expires_in"] != float64(3600) || tok["refresh_token"] == "" {
		t.Fatalf("grant: %d %v", code, tok)
	}
	if _, bad := post(t, s, "token/grant", grantHdr, map[string]string{"app_key": bkashsim.DefaultAppKey, "app_secret": "x"}); bad["statusCode"] != "2079" {
		t.Fatalf("bad grant: %v", bad)
	}
	auth := map[string]string{"Authorization": tok["id_token"].(string), "X-APP-Key": bkashsim.DefaultAppKey}
	if code, body := post(t, s, "create", map[string]string{"Authorization": "nope", "X-APP-Key": bkashsim.DefaultAppKey}, map[string]string{}); code != 401 || body["message"] != "Unauthorized" {
		t.Fatalf("unknown token: %d %v", code, body)
	}
	create := map[string]string{"mode": "0011", "payerReference": "017", "callbackURL": "http://m.test/cb?x=1", "amount": "500", "currency": "BDT", "intent": "sale", "merchantInvoiceNumber": "inv1"}
	_, p := post(t, s, "create", auth, create)
	if p["statusCode"] != "0000" || p["transactionStatus"] != "Initiated" || !strings.HasPrefix(p["bkashURL"].(string), "http://sim.test/pay?paymentId=") {
		t.Fatalf("create: %v", p)
	}
	id := p["paymentID"].(string)
	for field, code := range map[string]string{"mode": "2063", "amount": "2006", "currency": "2007", "intent": "2008", "merchantInvoiceNumber": "2031", "callbackURL": "2049"} {
		bad := map[string]string{}
		for k, v := range create {
			bad[k] = v
		}
		bad[field] = ""
		if _, out := post(t, s, "create", auth, bad); out["statusCode"] != code {
			t.Errorf("create without %s: %v, want %s", field, out, code)
		}
	}
	// The page works without JavaScript: a form that posts and redirects to the callback.
	req := httptest.NewRequest(http.MethodGet, "/pay?paymentId="+url.QueryEscape(id), nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	page, _ := io.ReadAll(w.Body)
	if w.Code != 200 || !bytes.Contains(page, []byte(`<form method="post" action="/pay">`)) || !bytes.Contains(page, []byte(`value="approve"`)) || bytes.Contains(page, []byte("<script")) {
		t.Fatalf("page: %d %s", w.Code, page)
	}
	form := url.Values{"paymentId": {id}, "action": {"cancel"}}
	req = httptest.NewRequest(http.MethodPost, "/pay", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "http://m.test/cb?x=1&paymentID="+id+"&status=cancel" {
		t.Fatalf("cancel redirect: %d %q", w.Code, w.Header().Get("Location"))
	}
	// Twice is refused on the page.
	req = httptest.NewRequest(http.MethodPost, "/pay", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusConflict {
		t.Fatalf("second decision: %d", w.Code)
	}
	// Bounded memory: the third payment evicts the first.
	post(t, s, "create", auth, create)
	post(t, s, "create", auth, create)
	if _, ok := s.Payment(id); ok {
		t.Fatal("oldest payment kept beyond MaxPayments")
	}
	if _, out := post(t, s, "payment/status", auth, map[string]string{"paymentID": id}); out["statusCode"] != "2002" {
		t.Fatalf("evicted payment status: %v", out)
	}
	// Garbage bodies get bKash's shape, not a 500.
	req = httptest.NewRequest(http.MethodPost, bkashsim.BasePath+"/tokenized/checkout/token/grant", strings.NewReader("{"))
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"2025"`) {
		t.Fatalf("garbage: %d %s", w.Code, w.Body)
	}
}
