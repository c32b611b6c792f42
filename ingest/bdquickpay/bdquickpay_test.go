package bdquickpay

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/bdquickpay"
)

// Component tests of seed 001's bdQuickPay-compatible API, on ingesttest's fixture.

const bqpCreatePath = "/api/bkash/v1/payment/create"

// The seed's curl body. Its webhook_url host is replaced by an address, because the test machine
// need not resolve yoursite.com (with a host name, the URL's host must resolve).
const bqpSeedCreateBody = `{ "amount": 500, "customer_reference": "ORDER-001", "success_url": "https://yoursite.com/success", "cancel_url": "https://yoursite.com/cancel", "webhook_url": "https://203.0.113.10/webhook", "metadata": { "order_id": "ORD-1001", "product": "Premium Package" } }`

// The seed's JavaScript/Python body (no webhook_url, no metadata).
const bqpSeedJSBody = `{"amount":500,"customer_reference":"ORDER-001","success_url":"https://yoursite.com/success","cancel_url":"https://yoursite.com/cancel"}`

var bqpInvoiceShape = regexp.MustCompile(`^[A-Z0-9]{20}$`)

// bqpMerchant is ingesttest's BDQuickPayMerchant by the names these tests use.
type bqpMerchant struct {
	id                  string
	appKey, secretKey   string // SANDBOX
	liveApp, liveSecret string
	testKey             string // the native sk_test_ key every merchant also gets
}

func (m bqpMerchant) sandbox() map[string]string {
	return map[string]string{"X-App-Key": m.appKey, "X-Secret-Key": m.secretKey}
}

// onboardBQP onboards a bdquickpay-dialect merchant with one bKash wallet per environment
// (ingesttest.OnboardBDQuickPay).
func (f *fixture) onboardBQP(t testing.TB) bqpMerchant {
	t.Helper()
	m := f.OnboardBDQuickPay(t)
	return bqpMerchant{id: m.ID, appKey: m.AppKey, secretKey: m.SecretKey, liveApp: m.LiveApp, liveSecret: m.LiveSecret, testKey: m.TestKey}
}

func bqpKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// wantFailure checks the dialect's error shape: exactly {"status": false, "message": msg}.
func bqpWantFailure(t *testing.T, what string, code int, m map[string]any, wantCode int, msg string) {
	t.Helper()
	if code != wantCode || m["status"] != false || m["message"] != msg || len(m) != 2 {
		t.Errorf("%s: got %d %v, want %d {status:false, message:%q}", what, code, m, wantCode, msg)
	}
}

// fixture is ingesttest's edge with this surface mounted.
type fixture struct{ *ingesttest.Fixture }

func mountBQP(f *ingesttest.Fixture) []ingest.Surface {
	s, err := New(Config{AllowPrivateWebhooks: true}, Deps{Auth: f.S, Fail: f.S, Intents: f.S, Reader: f.State, Sim: f.S})
	if err != nil {
		panic(err)
	}
	return []ingest.Surface{s, f.Native()} // native intents: the cross-dialect tests
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	return &fixture{ingesttest.New(t, produceTimeout, mountBQP)}
}

func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	return f.Do(method, path, headers, body)
}

func (f *fixture) requireNoPanic(t testing.TB, input string) { f.RequireNoPanic(t, input) }

func (f *fixture) onboard(t testing.TB) (testKey, liveKey string) { return f.Onboard(t) }

func TestBDQuickPayCreateSeedSample(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	bm := f.onboardBQP(t)
	for _, body := range []string{bqpSeedCreateBody, bqpSeedJSBody} {
		before := time.Now().UTC().Truncate(time.Second)
		code, m, resp := f.do("POST", bqpCreatePath, bm.sandbox(), body)
		if code != 200 {
			t.Fatalf("create: %d %v", code, m)
		}
		id, _ := m["invoice_id"].(string)
		if got := bqpKeys(m); !slices.Equal(got, []string{"amount", "customer_reference", "expires_at", "invoice_id", "payment_url", "status"}) {
			t.Fatalf("create answer has fields %v: %s", got, resp.Body())
		}
		if m["status"] != true || !bqpInvoiceShape.MatchString(id) || m["amount"] != float64(500) ||
			m["customer_reference"] != "ORDER-001" || m["payment_url"] != "https://pay.example.test/v1/checkout/"+id {
			t.Fatalf("create answer %s", resp.Body())
		}
		if !strings.Contains(string(resp.Body()), `"amount":500,`) {
			t.Fatalf("amount is not the JSON number 500: %s", resp.Body())
		}
		exp, err := time.Parse("2006-01-02T15:04:05-07:00", m["expires_at"].(string))
		if err != nil || !strings.HasSuffix(m["expires_at"].(string), "+00:00") ||
			exp.Before(before.Add(30*time.Minute)) || exp.After(time.Now().Add(30*time.Minute)) {
			t.Fatalf("expires_at %v (%v), want 30 minutes from now like 2026-03-21T10:30:00+00:00", m["expires_at"], err)
		}

		// The invoice is the intent: readable at once, in the bdquickpay dialect, on a bKash wallet.
		rec, err := f.State.GetIntent(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.ID != id || rec.Dialect != pipeline.DialectBDQuickPay || rec.Status != pipeline.StatusPending ||
			rec.Amount != pipeline.BDT(500) || rec.Currency != "BDT" || rec.Provider != pipeline.BKash || rec.Environment != pipeline.Sandbox ||
			rec.SuccessURL != "https://yoursite.com/success" || rec.CancelURL != "https://yoursite.com/cancel" || !rec.ExpiresAt.Equal(exp) {
			t.Fatalf("stored intent %+v", rec)
		}
		if body == bqpSeedCreateBody && (rec.WebhookURL != "https://203.0.113.10/webhook" || !strings.Contains(string(rec.Metadata), `"ORD-1001"`)) {
			t.Fatalf("webhook_url/metadata not kept: %q %s", rec.WebhookURL, rec.Metadata)
		}

		code, v, resp := f.do("POST", "/api/bkash/v1/payment/verify", bm.sandbox(), fmt.Sprintf(`{"invoice_id": %q}`, id))
		d, _ := v["data"].(map[string]any)
		if code != 200 || v["status"] != true || v["message"] != "Payment retrieved successfully." || d["invoice_id"] != id ||
			d["status"] != "pending" || d["amount"] != float64(500) || d["customer_reference"] != "ORDER-001" ||
			d["expires_at"] != m["expires_at"] || d["created_at"] == nil {
			t.Fatalf("verify: %d %s", code, resp.Body())
		}
		if tx, ok := d["transaction"]; !ok || tx != nil {
			t.Fatalf("pending invoice must have \"transaction\": null: %s", resp.Body())
		}
	}

	// Decimals: up to 2 are kept, answered as a JSON number.
	code, m, resp := f.do("POST", bqpCreatePath, bm.sandbox(), strings.Replace(bqpSeedJSBody, `"amount":500`, `"amount":"1250.50"`, 1))
	if code != 200 || !strings.Contains(string(resp.Body()), `"amount":1250.5,`) {
		t.Fatalf("decimal amount: %d %v", code, m)
	}
}

func TestBDQuickPayVerifyView(t *testing.T) {
	created := time.Date(2026, 3, 21, 10, 0, 0, 0, time.UTC)
	rec := &pipeline.IntentRecord{
		Intent: pipeline.Intent{
			ID: "GALQYVTGASTRGOISR1FO", CustomerReference: "ORDER-001", Amount: pipeline.BDT(500),
			CreatedAt: created, ExpiresAt: created.Add(bqpTTL),
		},
		Status: pipeline.StatusPaid, TrxID: "8HJ2XKPQ91", UpdatedAt: time.Date(2026, 3, 21, 10, 22, 14, 512e6, time.UTC),
	}
	b, _ := json.Marshal(paymentOf(rec))
	// The seed's completed verify data, byte for byte.
	want := `{"invoice_id":"GALQYVTGASTRGOISR1FO","customer_reference":"ORDER-001","amount":500,"status":"completed",` +
		`"created_at":"2026-03-21T10:00:00+00:00","expires_at":"2026-03-21T10:30:00+00:00",` +
		`"transaction":{"trx_id":"8HJ2XKPQ91","payment_method":"bkash","amount":500,"status":"completed","verified_at":"2026-03-21T10:22:14+00:00"}}`
	if string(b) != want {
		t.Fatalf("verify data\n got %s\nwant %s", b, want)
	}
	for st, want := range map[pipeline.Status]string{
		pipeline.StatusPending: "pending", pipeline.StatusReviewRequired: "pending", pipeline.StatusPaid: "completed",
		pipeline.StatusExpired: "expired", pipeline.StatusRejected: "failed", pipeline.StatusFailed: "failed",
	} {
		rec.Status = st
		v := paymentOf(rec)
		if v.Status != want || (v.Transaction != nil) != (st == pipeline.StatusPaid) {
			t.Errorf("%s: %+v", st, v)
		}
	}
}

func TestBDQuickPayAuth(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	bm := f.onboardBQP(t)
	other := f.onboardBQP(t)
	nativeKey, _ := f.onboard(t)
	const unauthorized = "Unauthorized. Invalid App Key or Secret Key."
	for _, tc := range []struct {
		name string
		h    map[string]string
	}{
		{"no headers", nil},
		{"no secret", map[string]string{"X-App-Key": bm.appKey}},
		{"no app key", map[string]string{"X-Secret-Key": bm.secretKey}},
		{"wrong app key", map[string]string{"X-App-Key": bm.appKey + "x", "X-Secret-Key": bm.secretKey}},
		{"wrong secret", map[string]string{"X-App-Key": bm.appKey, "X-Secret-Key": bm.secretKey + "x"}},
		{"another merchant's secret", map[string]string{"X-App-Key": bm.appKey, "X-Secret-Key": other.secretKey}},
		{"the other environment's secret", map[string]string{"X-App-Key": bm.appKey, "X-Secret-Key": bm.liveSecret}},
		{"native key as app key", map[string]string{"X-App-Key": nativeKey, "X-Secret-Key": nativeKey}},
		{"own native key as app key", map[string]string{"X-App-Key": bm.testKey, "X-Secret-Key": bm.secretKey}},
		{"native key header", map[string]string{"X-Api-Key": bm.testKey}},
		{"huge values", map[string]string{"X-App-Key": strings.Repeat("a", 300), "X-Secret-Key": strings.Repeat("b", 300)}},
	} {
		for _, path := range []string{bqpCreatePath, "/api/bkash/v1/payment/verify", "/api/bkash/v1/sandbox/simulate"} {
			code, m, _ := f.do("POST", path, tc.h, bqpSeedJSBody)
			bqpWantFailure(t, tc.name+" "+path, code, m, 401, unauthorized)
		}
	}

	// Auth comes before validation, as the seed's middleware would.
	code, m, _ := f.do("POST", bqpCreatePath, nil, `{"amount":`)
	bqpWantFailure(t, "no keys, bad body", code, m, 401, unauthorized)

	// An inactive merchant is 403.
	ctx := context.Background()
	raw, err := f.RDB.Get(ctx, f.Keys.Merchant(bm.id)).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var mer pipeline.Merchant
	if err := json.Unmarshal(raw, &mer); err != nil {
		t.Fatal(err)
	}
	mer.Status = pipeline.MerchantInactive
	raw, _ = json.Marshal(mer)
	f.RDB.Set(ctx, f.Keys.Merchant(bm.id), raw, 0)
	code, m, _ = f.do("POST", bqpCreatePath, bm.sandbox(), bqpSeedJSBody)
	bqpWantFailure(t, "inactive merchant", code, m, 403, "Forbidden. bKash merchant account is inactive.")
}

func TestBDQuickPayValidation(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	bm := f.onboardBQP(t)
	valid := map[string]any{
		"amount": 500, "customer_reference": "ORDER-001", "success_url": "https://yoursite.com/success", "cancel_url": "https://yoursite.com/cancel",
	}
	with := func(edits map[string]any) string {
		b := map[string]any{}
		for k, v := range valid {
			b[k] = v
		}
		for k, v := range edits {
			if v == "<delete>" {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		raw, _ := json.Marshal(b)
		return string(raw)
	}
	cases := []struct {
		name string
		body string
		want map[string]string // field → first message
	}{
		{"seed sample: no amount, bad success_url", with(map[string]any{"amount": "<delete>", "success_url": "not a url"}), map[string]string{
			"amount": "The amount field is required.", "success_url": "The success url must be a valid URL.",
		}},
		{"empty body", ``, map[string]string{
			"amount": "The amount field is required.", "customer_reference": "The customer reference field is required.",
			"success_url": "The success url field is required.", "cancel_url": "The cancel url field is required.",
		}},
		{"empty object", `{}`, map[string]string{
			"amount": "The amount field is required.", "customer_reference": "The customer reference field is required.",
			"success_url": "The success url field is required.", "cancel_url": "The cancel url field is required.",
		}},
		{"nulls and blanks", with(map[string]any{"amount": nil, "customer_reference": "   ", "cancel_url": ""}), map[string]string{
			"amount": "The amount field is required.", "customer_reference": "The customer reference field is required.",
			"cancel_url": "The cancel url field is required.",
		}},
		{"wrong types", with(map[string]any{"amount": "lots", "customer_reference": 5, "success_url": true, "cancel_url": []int{1}, "metadata": "x"}), map[string]string{
			"amount": "The amount must be a number.", "customer_reference": "The customer reference must be a string.",
			"success_url": "The success url must be a string.", "cancel_url": "The cancel url must be a string.",
			"metadata": "The metadata must be an object.",
		}},
		{"amount array", with(map[string]any{"amount": []int{500}}), map[string]string{"amount": "The amount must be a number."}},
		{"amount zero", with(map[string]any{"amount": 0}), map[string]string{"amount": "The amount must be greater than 0."}},
		{"amount negative", with(map[string]any{"amount": -5}), map[string]string{"amount": "The amount must be greater than 0."}},
		{"amount 3 decimals", with(map[string]any{"amount": 10.505}), map[string]string{"amount": "The amount must have at most 2 decimal places."}},
		{"amount too large", with(map[string]any{"amount": 1e9}), map[string]string{"amount": "The amount must not be greater than 100000000."}},
		{"amount huge exponent", strings.Replace(with(nil), `"amount":500`, `"amount":1e999999999999`, 1), map[string]string{"amount": "The amount must not be greater than 100000000."}},
		{"amount tiny exponent", strings.Replace(with(nil), `"amount":500`, `"amount":5e-999999999999`, 1), map[string]string{"amount": "The amount must have at most 2 decimal places."}},
		{"amount comma string", with(map[string]any{"amount": "1,250"}), map[string]string{"amount": "The amount must be a number."}},
		{"reference too long", with(map[string]any{"customer_reference": strings.Repeat("x", 101)}), map[string]string{
			"customer_reference": "The customer reference must not be greater than 100 characters.",
		}},
		{"reference control characters", with(map[string]any{"customer_reference": "A\x00B"}), map[string]string{
			"customer_reference": "The customer reference format is invalid.",
		}},
		{"bad urls", with(map[string]any{"success_url": "javascript:alert(1)", "cancel_url": "/relative", "webhook_url": "ftp://x.example/hook"}), map[string]string{
			"success_url": "The success url must be a valid URL.", "cancel_url": "The cancel url must be a valid URL.",
			"webhook_url": "The webhook url must be a valid URL.",
		}},
		{"url too long", with(map[string]any{"success_url": "https://x.example/" + strings.Repeat("a", 2048)}), map[string]string{
			"success_url": "The success url must not be greater than 2048 characters.",
		}},
		{"webhook url with credentials", with(map[string]any{"webhook_url": "https://user:pw@203.0.113.10/hook"}), map[string]string{
			"webhook_url": "The webhook url must not contain a user name or password.",
		}},
		{"webhook url that does not resolve", with(map[string]any{"webhook_url": "https://no-such-host.invalid/hook"}), map[string]string{
			"webhook_url": "The webhook url host does not resolve.",
		}},
		{"metadata too large", with(map[string]any{"metadata": map[string]string{"x": strings.Repeat("y", 5000)}}), map[string]string{
			"metadata": "The metadata must not be greater than 4096 bytes.",
		}},
		{"malformed json", `{"amount":`, map[string]string{"body": "The request body must be a JSON object."}},
		{"not an object", `[1,2]`, map[string]string{"body": "The request body must be a JSON object."}},
		{"null", `null`, map[string]string{"body": "The request body must be a JSON object."}},
	}
	for _, c := range cases {
		code, m, resp := f.do("POST", bqpCreatePath, bm.sandbox(), c.body)
		errs, _ := m["errors"].(map[string]any)
		if code != 422 || m["status"] != false || m["message"] != "Validation error" || len(m) != 3 || len(errs) != len(c.want) {
			t.Errorf("%s: got %d %s, want 422 with errors on %v", c.name, code, resp.Body(), bqpKeys(bqpAnyMap(c.want)))
			continue
		}
		for field, msg := range c.want {
			got, _ := errs[field].([]any)
			if len(got) == 0 || got[0] != msg {
				t.Errorf("%s: errors.%s = %v, want [%q]", c.name, field, errs[field], msg)
			}
		}
	}

	// Fields the seed does not know are ignored; exponent and string amounts are numbers too.
	for _, body := range []string{
		with(map[string]any{"currency": "USD", "extra": map[string]int{"a": 1}}),
		strings.Replace(with(nil), `"amount":500`, `"amount":5e2`, 1),
		with(map[string]any{"amount": " 500.00 "}),
	} {
		if code, m, _ := f.do("POST", bqpCreatePath, bm.sandbox(), body); code != 200 || m["amount"] != float64(500) {
			t.Errorf("%s: %d %v", body, code, m)
		}
	}
}

func bqpAnyMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestBDQuickPayVerifyNotFound(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	a, b := f.onboardBQP(t), f.onboardBQP(t)
	_, created, _ := f.do("POST", bqpCreatePath, a.sandbox(), bqpSeedJSBody)
	id := created["invoice_id"].(string)
	const verify = "/api/bkash/v1/payment/verify"
	for _, tc := range []struct {
		name string
		h    map[string]string
		body string
	}{
		{"unknown invoice", a.sandbox(), `{"invoice_id":"AAAAAAAAAAAAAAAAAAAA"}`},
		{"another merchant's invoice", b.sandbox(), fmt.Sprintf(`{"invoice_id":%q}`, id)},
		{"the other environment's invoice", map[string]string{"X-App-Key": a.liveApp, "X-Secret-Key": a.liveSecret}, fmt.Sprintf(`{"invoice_id":%q}`, id)},
		{"lower-case id", a.sandbox(), fmt.Sprintf(`{"invoice_id":%q}`, strings.ToLower(id))},
		{"garbage id", a.sandbox(), `{"invoice_id":"../../etc/passwd"}`},
		{"a native intent id", a.sandbox(), `{"invoice_id":"0196a1b2-0000-7000-8000-000000000000"}`},
	} {
		code, m, _ := f.do("POST", verify, tc.h, tc.body)
		bqpWantFailure(t, tc.name, code, m, 404, "Invoice not found.")
	}
	code, m, _ := f.do("POST", verify, a.sandbox(), `{}`)
	if errs, _ := m["errors"].(map[string]any); code != 422 || errs["invoice_id"] == nil {
		t.Errorf("verify without invoice_id: %d %v", code, m)
	}
	code, m, _ = f.do("POST", verify, a.sandbox(), `{"invoice_id":42}`)
	if errs, _ := m["errors"].(map[string]any); code != 422 || fmt.Sprint(errs["invoice_id"]) != "[The invoice id must be a string.]" {
		t.Errorf("verify with a numeric invoice_id: %d %v", code, m)
	}
	code, m, _ = f.do("GET", verify, a.sandbox(), "")
	bqpWantFailure(t, "GET verify", code, m, 405, "Method GET is not allowed on "+verify)
}

func TestBDQuickPaySimulate(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	a, b := f.onboardBQP(t), f.onboardBQP(t)
	_, created, _ := f.do("POST", bqpCreatePath, a.sandbox(), bqpSeedJSBody)
	id := created["invoice_id"].(string)
	const sim = "/api/bkash/v1/sandbox/simulate"

	code, m, _ := f.do("POST", sim, map[string]string{"X-App-Key": a.liveApp, "X-Secret-Key": a.liveSecret},
		fmt.Sprintf(`{"invoice_id":%q,"amount":500,"trx_id":"8HJ2XKPQ91"}`, id))
	bqpWantFailure(t, "LIVE key", code, m, 403, "Forbidden. The payment simulator is available with SANDBOX App Keys only.")
	code, m, _ = f.do("POST", sim, b.sandbox(), fmt.Sprintf(`{"invoice_id":%q,"amount":500,"trx_id":"8HJ2XKPQ91"}`, id))
	bqpWantFailure(t, "another merchant's invoice", code, m, 404, "Invoice not found.")
	code, m, _ = f.do("POST", sim, a.sandbox(), `{"amount":"x","trx_id":"<script>","sender_msisdn":"12","reference":5}`)
	errs, _ := m["errors"].(map[string]any)
	if code != 422 || !slices.Equal(bqpKeys(errs), []string{"amount", "invoice_id", "reference", "sender_msisdn", "trx_id"}) {
		t.Errorf("simulate validation: %d %v", code, m)
	}

	code, m, _ = f.do("POST", sim, a.sandbox(), fmt.Sprintf(`{"invoice_id":%q,"amount":500,"trx_id":"8hj2xkpq91","sender_msisdn":"+8801711111111"}`, id))
	d, _ := m["data"].(map[string]any)
	if code != 200 || m["status"] != true || d["invoice_id"] != id || d["trx_id"] != "8HJ2XKPQ91" || d["amount"] != float64(500) || d["event_id"] == "" {
		t.Fatalf("simulate: %d %v", code, m)
	}
}

func TestBDQuickPayKafkaDown(t *testing.T) {
	f := newFixture(t, time.Second)
	bm := f.onboardBQP(t)
	f.Broker.Close()
	code, m, resp := f.do("POST", bqpCreatePath, bm.sandbox(), bqpSeedJSBody)
	bqpWantFailure(t, "kafka down", code, m, 503, ingest.ErrUnavailable.Message)
	if string(resp.Header.Peek("Retry-After")) == "" {
		t.Error("503 without Retry-After")
	}
}

// TestBDQuickPayOversizedBody goes through a real socket: fasthttp refuses the body from its
// Content-Length and answers through Server.transportError, which must speak the dialect too.
func TestBDQuickPayOversizedBody(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	addr := f.Serve(t)
	for path, want := range map[string]func(map[string]any) bool{
		bqpCreatePath: func(m map[string]any) bool {
			return m["status"] == false && m["message"] == "Request body exceeds 65536 bytes" && len(m) == 2
		},
		"/v1/payments/intents": func(m map[string]any) bool { return m["statusCode"] == float64(413) },
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nX-App-Key: a\r\nX-Secret-Key: b\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n", path)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		var m map[string]any
		if resp.StatusCode != 413 || json.Unmarshal(b, &m) != nil || !want(m) {
			t.Errorf("%s oversized: %d %s", path, resp.StatusCode, b)
		}
	}
}

func TestInvoiceIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := dialect.NewInvoiceID()
		if !bqpInvoiceShape.MatchString(id) || seen[id] {
			t.Fatalf("invoice id %q (repeated: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

// FuzzBDQuickPayCreate throws arbitrary bodies and credential header values at the create route:
// the answer is always a documented status in the dialect's shape ({"status": bool, ...}), never a
// panic and never a 5xx other than 503.
func FuzzBDQuickPayCreate(f *testing.F) {
	fx := newFixture(f, 2*time.Second)
	bm := fx.onboardBQP(f)
	for _, body := range []string{
		bqpSeedCreateBody, bqpSeedJSBody, ``, `{}`, `null`, `[]`, `"x"`, `{"amount":`,
		`{"amount":500.5,"customer_reference":"A&B<C>","success_url":"http://x.example","cancel_url":"https://y.example/c?q=1"}`,
		`{"amount":"500","customer_reference":"ORDER-1","success_url":"https://a.example","cancel_url":"https://b.example","metadata":null,"webhook_url":null}`,
		`{"amount":1e999,"customer_reference":["x"],"success_url":{},"cancel_url":1,"metadata":[1]}`,
		`{"amount":-0.0,"customer_reference":"\u0000","success_url":"https://[::1]:99999/x","cancel_url":"https://user@x.example"}`,
	} {
		f.Add(body, bm.appKey, bm.secretKey)
	}
	f.Add(bqpSeedJSBody, bm.appKey, bm.liveSecret)
	f.Add(bqpSeedJSBody, bm.testKey, "")
	f.Add(bqpSeedJSBody, "", "")
	f.Add(bqpSeedJSBody, "\x00\xff", "\r\n")
	f.Fuzz(func(t *testing.T, body, appKey, secretKey string) {
		code, m, resp := fx.do("POST", bqpCreatePath, map[string]string{"X-App-Key": appKey, "X-Secret-Key": secretKey}, body)
		ok, isBool := m["status"].(bool)
		if !isBool {
			t.Fatalf("%d without a boolean status: %s", code, resp.Body())
		}
		switch code {
		case 200:
			if !ok || !bqpInvoiceShape.MatchString(fmt.Sprint(m["invoice_id"])) || m["payment_url"] == nil {
				t.Fatalf("200 without an invoice: %s", resp.Body())
			}
		case 401, 403, 503:
			if ok || m["message"] == "" || m["message"] == nil {
				t.Fatalf("%d not in the dialect's error shape: %s", code, resp.Body())
			}
		case 422:
			if errs, _ := m["errors"].(map[string]any); ok || m["message"] != "Validation error" || len(errs) == 0 {
				t.Fatalf("422 not in the validation shape: %s", resp.Body())
			}
		default:
			t.Fatalf("body %q: unexpected status %d %s", body, code, resp.Body())
		}
		if code == 503 && string(resp.Header.Peek("Retry-After")) == "" {
			t.Fatal("503 without Retry-After")
		}
		if !json.Valid(resp.Body()) || !strings.HasPrefix(string(resp.Header.ContentType()), "application/json") {
			t.Fatalf("not a JSON answer: %q", resp.Body())
		}
		// The router turns a handler panic into a 503: the panic counter tells them apart.
		fx.requireNoPanic(t, fmt.Sprintf("body %q, keys %q/%q", body, appKey, secretKey))
	})
}

// TestBDQuickPayErrorBytes pins the error answer byte for byte in seed 001's key order
// ({"status":false,"message":...}), which the dialect's Error struct keeps (a map, before it,
// sorted the keys: "message" first).
func TestBDQuickPayErrorBytes(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	code, _, resp := f.do("POST", bqpCreatePath, nil, bqpSeedJSBody)
	if want := `{"status":false,"message":"Unauthorized. Invalid App Key or Secret Key."}`; code != 401 || string(resp.Body()) != want {
		t.Errorf("unauthorized: %d %s, want 401 %s", code, resp.Body(), want)
	}
	bm := f.onboardBQP(t)
	code, _, resp = f.do("POST", "/api/bkash/v1/payment/verify", bm.sandbox(), `{"invoice_id":"GALQYVTGASTRGOISR1FO"}`)
	if want := `{"status":false,"message":"Invoice not found."}`; code != 404 || string(resp.Body()) != want {
		t.Errorf("not found: %d %s, want 404 %s", code, resp.Body(), want)
	}
}
