package sms

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/smsparse"
)

// Component tests of SMS ingest on ingesttest's fixture (real Redis, embedded Kafka, handlers in
// memory) with its recording publisher; the device, SMS-body and signature helpers are
// ingesttest's (sms.go).

// smsBKash is a real bKash "send money received" SMS (pipeline/smsparse/testdata), with its TrxID
// and time replaceable (ingesttest.SMSBKash).
func smsBKash(trx string, at time.Time) string { return ingesttest.SMSBKash(trx, at) }

// smsNagad is a real Nagad "Money Received" SMS (pipeline/smsparse/testdata).
func smsNagad(trx string) string {
	return "Money Received.\nAmount: Tk 646.00\nSender: 01700000002\nRef: office\nTxnID: " + trx + "\nBalance: Tk 913.70\n29/01/2024 17:29"
}

// smsTrx returns a fresh TrxID of n upper-case letters and digits starting with a letter.
func smsTrx(n int) string { return ingesttest.SMSTrx(n) }

var smsAt = ingesttest.SMSAt

// fixture is ingesttest's edge with this surface mounted; surface is the mounted Surface (the
// latest, after a Rebuild).
type fixture struct {
	*ingesttest.Fixture
	surface *Surface
}

func (f *fixture) mount(cfg Config) ingesttest.Mount {
	return func(fx *ingesttest.Fixture) []ingest.Surface {
		cfg.Keys = fx.Keys
		s, err := New(cfg, Deps{Redis: fx.RDB, Pub: fx.S, Limit: fx.S, Admin: fx.AdminAPI})
		if err != nil {
			panic(err)
		}
		f.surface = s
		return []ingest.Surface{s}
	}
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	f := &fixture{}
	f.Fixture = ingesttest.New(t, produceTimeout, f.mount(Config{}))
	return f
}

// newLimitedFixture rebuilds the fixture's server with the given rate limits (requests per second,
// burst twice that; 0 off).
func newLimitedFixture(t testing.TB, keyRate, ipRate int) *fixture {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	f.Rebuild(func(c *ingest.Config) { c.RateLimitKey, c.RateLimitIP = keyRate, ipRate }, nil)
	return f
}

func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	return f.Do(method, path, headers, body)
}

func (f *fixture) requireNoPanic(t testing.TB, input string) { f.RequireNoPanic(t, input) }

func recordEvents(f *fixture) *ingesttest.Recorder { return f.Record() }

func randHex(n int) string { return ingesttest.RandHex(n) }

// txnMerchant is a merchant with a SANDBOX bKash wallet, a SANDBOX Nagad wallet and a LIVE bKash
// wallet (ingesttest.OnboardWallets).
type txnMerchant struct {
	id, key              string // key: the SANDBOX merchant API key
	bkash, nagad, liveBK string
}

func (f *fixture) txnOnboard(t testing.TB) txnMerchant {
	t.Helper()
	m := f.OnboardWallets(t)
	return txnMerchant{id: m.ID, key: m.Key, bkash: m.BKash, nagad: m.Nagad, liveBK: m.LiveBKash}
}

// smsDevice is a registered device of a merchant with SANDBOX bKash (SIM 1) and Nagad (SIM 2) wallets.
type smsDevice struct {
	f        *fixture
	pub      *ingesttest.Recorder
	m        txnMerchant
	id       string
	token    string
	urls     map[string]any
	bkash    pipeline.Wallet
	nagad    pipeline.Wallet
	adminHdr map[string]string
}

func smsSetup(t testing.TB, signingKey string) *smsDevice {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	d := &smsDevice{f: f, pub: recordEvents(f), m: f.txnOnboard(t), adminHdr: map[string]string{"Authorization": "Bearer " + f.Admin}}
	d.bkash = pipeline.Wallet{Provider: pipeline.BKash, Account: d.m.bkash, Environment: pipeline.Sandbox}
	d.nagad = pipeline.Wallet{Provider: pipeline.Nagad, Account: d.m.nagad, Environment: pipeline.Sandbox}
	d.id, d.token, d.urls = d.register(t, signingKey, fmt.Sprintf(`{"1":{"provider":"bkash","account":%q},"2":{"provider":"nagad","account":%q}}`, d.m.bkash, d.m.nagad))
	return d
}

// register creates another device of the merchant with the given wallets JSON
// (ingesttest.RegisterDevice).
func (d *smsDevice) register(t testing.TB, signingKey, wallets string) (id, token string, urls map[string]any) {
	t.Helper()
	return d.f.RegisterDevice(t, d.m.id, signingKey, wallets)
}

// post sends body to the device's URL of format ("" = native) and returns status and answer.
func (d *smsDevice) post(format, body string, headers map[string]string) (int, map[string]any) {
	return d.postToken(d.token, format, body, headers)
}

func (d *smsDevice) postToken(token, format, body string, headers map[string]string) (int, map[string]any) {
	path := "/v1/sms/" + url.PathEscape(token)
	if format != "" && format != smsFormatNative {
		path += "/" + format
	}
	code, m, _ := d.f.do("POST", path, headers, body)
	return code, m
}

func smsForwarderBody(from, text string, sent time.Time, sim string) string {
	return ingesttest.SMSForwarderBody(from, text, sent, sim)
}

func smsGatewayBody(from, text string, received time.Time, sim any, event string) string {
	return ingesttest.SMSGatewayBody(from, text, received, sim, event)
}

func smsSign(key, body, ts string) string { return ingesttest.SMSSign(key, body, ts) }

func smsSigned(key, body string, at time.Time) map[string]string {
	return ingesttest.SMSSigned(key, body, at)
}

// smsCount reads a counter (prometheus/testutil would add a module dependency).
func smsCount(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// smsEvent returns the last produced event and how many were produced.
func (d *smsDevice) smsEvent() (*pipeline.Event, int) { return d.pub.Last() }

func smsWant(t testing.TB, what string, code int, m map[string]any, wantCode int, result string) {
	t.Helper()
	if code != wantCode || m["accepted"] != true || m["eventId"] == nil || (result != "" && m["result"] != result) {
		t.Fatalf("%s: %d %v, want %d result %q", what, code, m, wantCode, result)
	}
}

func TestSMSFormatsReportPayments(t *testing.T) {
	d := smsSetup(t, "")
	for name, want := range map[string]string{
		smsFormatNative: "/v1/sms/" + d.token, smsFormatForwarder: "/v1/sms/" + d.token + "/forwarder",
		smsFormatSMSGateway: "/v1/sms/" + d.token + "/smsgateway",
	} {
		if d.urls[name] != "https://pay.example.test"+want {
			t.Errorf("forwardingUrls.%s = %v, want …%s", name, d.urls[name], want)
		}
	}
	sent := time.Now().Add(-30 * time.Second).Truncate(time.Second)
	type smsCase struct {
		name, format string
		wallet       pipeline.Wallet
		trx          string
		amount       pipeline.Money
		sim          string
		occurred     time.Time
		body         string
	}
	var cases []smsCase
	add := func(c smsCase) { cases = append(cases, c) }
	// The SMS's own minute (22/01/2026 01:54) is kept when the app's time is another minute.
	trx := smsTrx(10)
	add(smsCase{"native", smsFormatNative, d.bkash, trx, pipeline.BDT(500), "1", smsAt,
		fmt.Sprintf(`{"from":"bKash","text":%q,"receivedAt":%q,"sim":1,"id":"msg-1"}`, smsBKash(trx, smsAt), sent.Format(time.RFC3339))})
	// Within the SMS's minute, the app's more precise time wins.
	trx = smsTrx(10)
	at := sent.Truncate(time.Minute)
	add(smsCase{"forwarder default template", smsFormatForwarder, d.bkash, trx, pipeline.BDT(500), "1", sent,
		smsForwarderBody("bKash", smsBKash(trx, at), sent, "sim1")})
	trx = smsTrx(10)
	add(smsCase{"sms gateway", smsFormatSMSGateway, d.bkash, trx, pipeline.BDT(500), "1", sent,
		smsGatewayBody("bKash", smsBKash(trx, at), sent, 1, "sms:received")})
	trx = smsTrx(8)
	add(smsCase{"forwarder, nagad on SIM 2", smsFormatForwarder, d.nagad, trx, pipeline.Money(64600), "2",
		time.Date(2024, 1, 29, 17, 29, 0, 0, time.FixedZone("", 6*3600)), smsForwarderBody("NAGAD", smsNagad(trx), sent, "sim2")})

	for _, c := range cases {
		code, m := d.post(c.format, c.body, nil)
		smsWant(t, c.name, code, m, 202, smsPayment)
		if m["pays"] != true || m["kind"] != string(pipeline.KindPaymentReported) {
			t.Fatalf("%s: answer %v", c.name, m)
		}
		ev, _ := d.smsEvent()
		if ev.ID != m["eventId"] || ev.Kind != pipeline.KindPaymentReported || ev.Source != pipeline.SourceSMS ||
			ev.Wallet != c.wallet || ev.MerchantID != d.m.id || ev.Environment != pipeline.Sandbox || string(ev.Raw) != c.body ||
			ev.RequestID == "" || ev.Payment == nil {
			t.Fatalf("%s: event %+v", c.name, ev)
		}
		p := ev.Payment
		if p.Provider != c.wallet.Provider || p.TrxID != c.trx || p.Amount != c.amount || !p.OccurredAt.Equal(c.occurred) {
			t.Errorf("%s: payment %+v, want trx %s amount %s at %v", c.name, p, c.trx, c.amount, c.occurred)
		}
		s := ev.SMS
		if s == nil || !s.Trusted || s.DeviceID != d.id || s.SIM != c.sim || s.TrxID != c.trx || s.Amount == nil || *s.Amount != c.amount ||
			s.Balance == nil || s.Direction != "credit" || len(s.Parsed) == 0 {
			t.Fatalf("%s: sms %+v", c.name, s)
		}
		var parsed smsparse.Result
		if err := json.Unmarshal(s.Parsed, &parsed); err != nil || !parsed.Pays || *parsed.TrxID != c.trx {
			t.Errorf("%s: parsed %s (%v)", c.name, s.Parsed, err)
		}
	}
	if p := d.pub.Events()[0].Payment; p.Sender != "01783110247" || *d.pub.Events()[0].SMS.Balance != pipeline.Money(945220) {
		t.Errorf("bKash sender/balance: %+v %v", p, d.pub.Events()[0].SMS.Balance)
	}
	if n := smsCount(d.f.surface.m.received.WithLabelValues(smsPayment)); n != 4 {
		t.Errorf("paystream_sms_received_total{result=payment} = %v, want 4", n)
	}
}

func TestSMSResults(t *testing.T) {
	d := smsSetup(t, "")
	trx := smsTrx(10)
	cases := []struct {
		name, body string
		result     string
		wallet     pipeline.Wallet
		trusted    bool
	}{
		{"spoofed sender", smsForwarderBody("01712345678", smsBKash(trx, smsAt), smsAt, "sim1"), smsSuspicious, d.bkash, false},
		{"look-alike sender", smsForwarderBody("bΚash", smsBKash(smsTrx(10), smsAt), smsAt, "sim1"), smsSuspicious, d.bkash, false},
		{"nagad sender on the bKash SIM", smsForwarderBody("NAGAD", smsNagad(smsTrx(8)), smsAt, "sim1"), smsSuspicious, d.bkash, false},
		{"masked TrxID", smsForwarderBody("bKash", smsBKash("XXXXXXXXXX", smsAt), smsAt, "sim1"), smsUnparsed, d.bkash, true},
		{"not understood", smsForwarderBody("bKash", "Dear customer, your account is under maintenance.", smsAt, "sim1"), smsUnparsed, d.bkash, true},
		{"OTP", smsForwarderBody("bKash", "Your bKash verification code is 482913. It expires in 2 minutes.", smsAt, "sim1"), smsIgnored, d.bkash, true},
		{"SIM the device does not map", smsForwarderBody("bKash", smsBKash(smsTrx(10), smsAt), smsAt, "sim3"), smsUnrouted, d.bkash, true},
	}
	for _, c := range cases {
		code, m := d.post(smsFormatForwarder, c.body, nil)
		smsWant(t, c.name, code, m, 202, c.result)
		if m["pays"] != false || m["kind"] != string(pipeline.KindSMSReceived) {
			t.Fatalf("%s: answer %v", c.name, m)
		}
		ev, _ := d.smsEvent()
		if ev.Kind != pipeline.KindSMSReceived || ev.Payment != nil || ev.SMS == nil || ev.Wallet != c.wallet || ev.SMS.Trusted != c.trusted {
			t.Fatalf("%s: event %+v sms %+v", c.name, ev, ev.SMS)
		}
		if c.result == smsUnrouted && ev.SMS.Balance != nil {
			t.Errorf("%s: an unrouted SMS carries a balance", c.name)
		}
		if n := smsCount(d.f.surface.m.received.WithLabelValues(c.result)); n < 1 {
			t.Errorf("%s: paystream_sms_received_total{result=%s} = %v", c.name, c.result, n)
		}
	}
	// The operators see the suspicious, unparsed and unrouted ones, newest first, not the ignored one.
	list := func(q string) map[string]any {
		t.Helper()
		code, m, _ := d.f.do("GET", "/admin/v1/merchants/"+d.m.id+"/sms"+q, d.adminHdr, "")
		if code != 200 {
			t.Fatalf("listing sms %s: %d %v", q, code, m)
		}
		return m
	}
	for q, want := range map[string]float64{"": 6, "?filter=suspicious": 3, "?filter=unparsed&env=SANDBOX": 2, "?filter=unrouted": 1, "?env=LIVE": 0} {
		if m := list(q); m["total"] != want {
			t.Errorf("sms%s: total %v, want %v", q, m["total"], want)
		}
	}
	first := list("?filter=suspicious&limit=1")["data"].([]any)
	if len(first) != 1 || first[0].(map[string]any)["sender"] != "NAGAD" || first[0].(map[string]any)["deviceId"] != d.id {
		t.Errorf("newest suspicious sms: %v", first)
	}
	for _, q := range []string{"?filter=ignored", "?env=PROD", "?limit=0"} {
		if code, m, _ := d.f.do("GET", "/admin/v1/merchants/"+d.m.id+"/sms"+q, d.adminHdr, ""); code != 400 || m["statusCode"] != float64(400) {
			t.Errorf("sms%s: %d %v", q, code, m)
		}
	}
}

func TestSMSRouting(t *testing.T) {
	bk := pipeline.Wallet{Provider: pipeline.BKash, Account: "01700000001", Environment: pipeline.Sandbox}
	bk2 := pipeline.Wallet{Provider: pipeline.BKash, Account: "01700000002", Environment: pipeline.Sandbox}
	ng := pipeline.Wallet{Provider: pipeline.Nagad, Account: "01800000001", Environment: pipeline.Sandbox}
	for _, c := range []struct {
		name    string
		wallets map[string]pipeline.Wallet
		slot    string
		from    string
		want    pipeline.Wallet
		routed  bool
	}{
		{"slot", map[string]pipeline.Wallet{"1": bk, "2": ng}, "2", "NAGAD", ng, true},
		{"any slot", map[string]pipeline.Wallet{"*": bk}, "2", "bKash", bk, true},
		{"slot before any", map[string]pipeline.Wallet{"*": bk, "2": ng}, "2", "bKash", ng, true},
		{"unmapped slot", map[string]pipeline.Wallet{"1": bk}, "2", "bKash", bk, false},
		{"unknown slot, one wallet", map[string]pipeline.Wallet{"2": bk}, "", "01711111111", bk, true},
		{"unknown slot, sender tells", map[string]pipeline.Wallet{"1": bk, "2": ng}, "", "Nagad", ng, true},
		{"unknown slot, sender another case", map[string]pipeline.Wallet{"1": bk, "2": ng}, "", "nagad", bk, false},
		{"unknown slot, sender does not tell", map[string]pipeline.Wallet{"1": bk, "2": ng}, "", "01711111111", bk, false},
		{"unknown slot, two bKash wallets", map[string]pipeline.Wallet{"1": bk, "2": bk2}, "", "bKash", bk, false},
	} {
		w, routed := (&Surface{}).routeSMS(&pipeline.Device{Wallets: c.wallets}, &forwardedSMS{Slot: c.slot, From: c.from})
		if w != c.want || routed != c.routed {
			t.Errorf("%s: %v %v, want %v %v", c.name, w, routed, c.want, c.routed)
		}
	}
}

func TestSMSTimesAndSlots(t *testing.T) {
	ms := time.Date(2026, 1, 16, 9, 44, 58, 0, time.UTC)
	for _, c := range []struct {
		raw      string
		want     time.Time
		identity string
	}{
		{`1768556698000`, ms, "1768556698"},
		{`"1768556698000"`, ms, "1768556698"},
		{`1768556698`, ms, "1768556698"},
		{`"2026-01-16T15:44:58.000+06:00"`, ms, "1768556698"},
		{`"2026-01-16T09:44:58Z"`, ms, "1768556698"},
		{`"16/01/2026"`, time.Time{}, "raw:16/01/2026"},
		{`0`, time.Time{}, "0"},
		{`null`, time.Time{}, ""},
		{`""`, time.Time{}, ""},
	} {
		got, id, ae := smsTime("t", json.RawMessage(c.raw))
		if ae != nil || !got.Equal(c.want) || id != c.identity {
			t.Errorf("smsTime(%s) = %v %q %v, want %v %q", c.raw, got, id, ae, c.want, c.identity)
		}
	}
	for _, raw := range []string{`true`, `{}`, `[1]`} {
		if _, _, ae := smsTime("t", json.RawMessage(raw)); ae == nil || ae.Status != 400 {
			t.Errorf("smsTime(%s) accepted", raw)
		}
	}
	for raw, want := range map[string]string{`1`: "1", `"2"`: "2", `"sim1"`: "1", `"SIM 2"`: "2", `"undetected"`: "",
		`"notification"`: "", `0`: "", `null`: "", `9`: "", `1.5`: ""} {
		if got, ae := simSlot("sim", json.RawMessage(raw)); ae != nil || got != want {
			t.Errorf("simSlot(%s) = %q %v, want %q", raw, got, ae, want)
		}
	}
	sms := time.Date(2026, 1, 22, 1, 54, 0, 0, time.FixedZone("", 6*3600))
	for _, c := range []struct{ app, want time.Time }{
		{time.Time{}, sms},
		{sms.Add(42 * time.Second), sms.Add(42 * time.Second)},
		{sms.Add(61 * time.Second), sms},
		{sms.Add(-time.Second), sms},
	} {
		if got := occurredAt(sms, c.app); !got.Equal(c.want) {
			t.Errorf("occurredAt(sms, %v) = %v, want %v", c.app, got, c.want)
		}
	}
	if got := occurredAt(time.Time{}, ms); !got.Equal(ms) {
		t.Errorf("occurredAt without SMS time = %v", got)
	}
}

func TestSMSDuplicateIsOneEvent(t *testing.T) {
	d := smsSetup(t, "")
	trx := smsTrx(10)
	body := smsForwarderBody("bKash", smsBKash(trx, smsAt), smsAt, "sim1")
	code, first := d.post(smsFormatForwarder, body, nil)
	smsWant(t, "first", code, first, 202, smsPayment)
	code, again := d.post(smsFormatForwarder, body, nil)
	smsWant(t, "retry", code, again, 200, smsPayment)
	if again["duplicate"] != true || again["eventId"] != first["eventId"] || again["pays"] != true {
		t.Fatalf("retry answer %v, first %v", again, first)
	}
	if _, n := d.smsEvent(); n != 1 {
		t.Fatalf("%d events produced, want 1", n)
	}
	if n := smsCount(d.f.surface.m.duplicates); n != 1 {
		t.Errorf("paystream_sms_duplicates_total = %v", n)
	}
	// A retry while the first attempt is unacknowledged ("pending") produces the same event again.
	body2 := smsForwarderBody("bKash", smsBKash(smsTrx(10), smsAt), smsAt.Add(time.Minute), "sim1")
	sms, _ := parseForwarderSMS([]byte(body2))
	id := smsEventID(d.id, sms)
	d.f.RDB.Set(t.Context(), smsSeenKey(d.f.Keys, d.id, id), "pending", time.Minute)
	code, m := d.post(smsFormatForwarder, body2, nil)
	smsWant(t, "pending retry", code, m, 202, smsPayment)
	if ev, n := d.smsEvent(); n != 2 || ev.ID != id || m["eventId"] != id {
		t.Fatalf("pending retry: %d events, last %s, want id %s", n, ev.ID, id)
	}
	if code, m = d.post(smsFormatForwarder, body2, nil); code != 200 || m["duplicate"] != true {
		t.Fatalf("after the pending retry: %d %v", code, m)
	}
}

func TestSMSGatewaySignature(t *testing.T) {
	const key = "Ab3xY9kLmN"
	d := smsSetup(t, key)
	now := time.Now()
	body := func() string { return smsGatewayBody("bKash", smsBKash(smsTrx(10), smsAt), now, 1, "sms:received") }
	b := body()
	code, m := d.post(smsFormatSMSGateway, b, smsSigned(key, b, now))
	smsWant(t, "signed", code, m, 202, smsPayment)
	b = body()
	h := smsSigned(key, b, now.Add(-4*time.Minute))
	h["X-Signature"] = strings.ToUpper(h["X-Signature"])
	code, m = d.post(smsFormatSMSGateway, b, h)
	smsWant(t, "signed 4 minutes ago, upper-case hex", code, m, 202, smsPayment)

	b = body()
	bad := smsSigned(key, b, now)
	bad["X-Signature"] = smsSign("another key", b, bad["X-Timestamp"])
	tampered := smsSigned(key, b, now)
	for name, c := range map[string]struct {
		h    map[string]string
		body string
		msg  string
	}{
		"no headers":        {nil, b, errSMSTimestamp.Message},
		"no signature":      {map[string]string{"X-Timestamp": strconv.FormatInt(now.Unix(), 10)}, b, errSMSSignature.Message},
		"wrong key":         {bad, b, errSMSSignature.Message},
		"body changed":      {tampered, strings.Replace(b, "500.00", "900.00", 1), errSMSSignature.Message},
		"stale (6 min)":     {smsSigned(key, b, now.Add(-6*time.Minute)), b, errSMSTimestamp.Message},
		"future (6 min)":    {smsSigned(key, b, now.Add(6*time.Minute)), b, errSMSTimestamp.Message},
		"timestamp in ms":   {map[string]string{"X-Timestamp": strconv.FormatInt(now.UnixMilli(), 10), "X-Signature": smsSign(key, b, strconv.FormatInt(now.UnixMilli(), 10))}, b, errSMSTimestamp.Message},
		"signature not hex": {map[string]string{"X-Timestamp": strconv.FormatInt(now.Unix(), 10), "X-Signature": "zz"}, b, errSMSSignature.Message},
	} {
		code, m := d.post(smsFormatSMSGateway, c.body, c.h)
		if code != 401 || m["statusCode"] != float64(401) || m["error"] != "Unauthorized" || m["message"] != c.msg {
			t.Errorf("%s: %d %v", name, code, m)
		}
	}
	if _, n := d.smsEvent(); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
	// Other events sent to the URL are acknowledged and do nothing.
	ping := `{"deviceId":"x","event":"system:ping","id":"y","payload":{"health":{"status":"pass"}},"webhookId":"z"}`
	code, m = d.post(smsFormatSMSGateway, ping, smsSigned(key, ping, now))
	if code != 200 || m["ignored"] != true || m["event"] != "system:ping" {
		t.Errorf("system:ping: %d %v", code, m)
	}
	// A keyed device is SMS Gateway's: its token is refused on the other URLs, unsigned or not,
	// exactly as an unknown token (issue 13, finding 1; TestAdversarialSMSDeviceURLs covers every
	// URL form).
	for _, format := range []string{smsFormatForwarder, smsFormatNative} {
		fb := smsForwarderBody("bKash", smsBKash(smsTrx(10), smsAt), smsAt, "sim1")
		code, m = d.post(format, fb, smsSigned(key, fb, now))
		if code != 401 || m["message"] != errDeviceToken.Message {
			t.Errorf("%s URL of a signed device: %d %v, want 401 %q", format, code, m, errDeviceToken.Message)
		}
	}
	if _, n := d.smsEvent(); n != 2 {
		t.Fatalf("%d events after the other URLs, want 2", n)
	}
}

func TestSMSRevokedAndUnknownTokens(t *testing.T) {
	d := smsSetup(t, "")
	body := smsForwarderBody("bKash", smsBKash(smsTrx(10), smsAt), smsAt, "sim1")
	code, unknown := d.postToken(deviceTokenPrefix+ingest.RandomToken(24), smsFormatForwarder, body, nil)
	if code != 401 || unknown["statusCode"] != float64(401) || unknown["message"] != errDeviceToken.Message {
		t.Fatalf("unknown token: %d %v", code, unknown)
	}
	for _, tok := range []string{"", "x", strings.Repeat("a", 300), d.token + "x", strings.ToUpper(d.token)} {
		if code, m := d.postToken(tok, smsFormatNative, `{"from":"bKash","text":"x"}`, nil); code != 401 && code != 404 {
			t.Errorf("token %q: %d %v", tok, code, m)
		}
	}
	code, m, _ := d.f.do("DELETE", "/admin/v1/devices/"+d.id, d.adminHdr, "")
	if code != 200 || m["status"] != pipeline.DeviceRevoked || m["token"] != nil {
		t.Fatalf("revoke: %d %v", code, m)
	}
	code, revoked := d.post(smsFormatForwarder, body, nil)
	if code != 401 || fmt.Sprint(revoked) != fmt.Sprint(unknown) {
		t.Fatalf("revoked token: %d %v, want the unknown token's answer %v", code, revoked, unknown)
	}
	if code, m, _ := d.f.do("DELETE", "/admin/v1/devices/"+d.id, d.adminHdr, ""); code != 200 || m["status"] != pipeline.DeviceRevoked {
		t.Fatalf("revoke again: %d %v", code, m)
	}
	if _, n := d.smsEvent(); n != 0 {
		t.Fatalf("%d events produced", n)
	}
	if n := smsCount(d.f.surface.m.refused.WithLabelValues("token")); n < 2 {
		t.Errorf("paystream_sms_refused_total{reason=token} = %v", n)
	}
}

func TestSMSBadInput(t *testing.T) {
	d := smsSetup(t, "")
	long := strings.Repeat("a", smsparse.MaxTextBytes+1)
	for _, c := range []struct {
		name, format, body, msg string
	}{
		{"malformed", "", `{"from":`, "Malformed JSON"},
		{"empty body", "", ``, "Request body must be a JSON object"},
		{"not an object", smsFormatForwarder, `[1]`, "Request body must be a JSON object"},
		{"from wrong type", "", `{"from":5,"text":"x"}`, "from must be a string"},
		{"text wrong type", smsFormatForwarder, `{"from":"bKash","text":["x"]}`, "text must be a string"},
		{"missing from", "", `{"text":"x"}`, "from is required"},
		{"blank text", smsFormatForwarder, `{"from":"bKash","text":"  "}`, "text is required"},
		{"text too long", "", `{"from":"bKash","text":"` + long + `"}`, "text must be at most 8192 bytes"},
		{"sender too long", "", `{"from":"` + strings.Repeat("b", 65) + `","text":"x"}`, "from must be at most 64 characters, none of them a control character"},
		{"control character in the sender", "", `{"from":"bKash\t","text":"x"}`, "from must be at most 64 characters, none of them a control character"},
		{"sim wrong type", smsFormatForwarder, `{"from":"bKash","text":"x","sim":{}}`, "sim must be a string or a number"},
		{"stamp wrong type", smsFormatForwarder, `{"from":"bKash","text":"x","sentStamp":true}`, "sentStamp must be a number or a string"},
		{"receivedAt wrong type", "", `{"from":"bKash","text":"x","receivedAt":[]}`, "receivedAt must be a number or a string"},
		{"id wrong type", "", `{"from":"bKash","text":"x","id":1}`, "id must be a string"},
		{"gateway: no event", smsFormatSMSGateway, `{"payload":{}}`, "event is required"},
		{"gateway: no payload", smsFormatSMSGateway, `{"event":"sms:received"}`, "payload is required"},
		{"gateway: no message", smsFormatSMSGateway, `{"event":"sms:received","payload":{"phoneNumber":"bKash"}}`, "payload.message is required"},
		{"gateway: no sender", smsFormatSMSGateway, `{"event":"sms:received","payload":{"message":"x"}}`, "payload.phoneNumber is required"},
		{"gateway: simNumber type", smsFormatSMSGateway, `{"event":"sms:received","payload":{"message":"x","phoneNumber":"bKash","simNumber":[1]}}`, "payload.simNumber must be a string or a number"},
	} {
		code, m := d.post(c.format, c.body, nil)
		if code != 400 || m["statusCode"] != float64(400) || m["error"] != "Bad Request" || !strings.HasPrefix(fmt.Sprint(m["message"]), c.msg) {
			t.Errorf("%s: %d %v, want 400 %q", c.name, code, m, c.msg)
		}
	}
	if code, m, _ := d.f.do("GET", "/v1/sms/"+d.token, nil, ""); code != 405 || m["statusCode"] != float64(405) {
		t.Errorf("GET: %d %v", code, m)
	}
	if _, n := d.smsEvent(); n != 0 {
		t.Fatalf("%d events produced by bad input", n)
	}
}

// TestSMSOversizedBody goes through a real socket: fasthttp refuses the body from its
// Content-Length and answers in the native shape.
func TestSMSOversizedBody(t *testing.T) {
	d := smsSetup(t, "")
	conn, err := net.Dial("tcp", d.f.Serve(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/sms/%s/forwarder HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n", d.token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if resp.StatusCode != 413 || json.Unmarshal(b, &m) != nil || m["statusCode"] != float64(413) || m["error"] != "Request Entity Too Large" {
		t.Errorf("oversized: %d %s", resp.StatusCode, b)
	}
}

func TestSMSKafkaDownAnswers503AndReleasesTheMarker(t *testing.T) {
	d := smsSetup(t, "")
	body := smsForwarderBody("bKash", smsBKash(smsTrx(10), smsAt), smsAt, "sim1")
	sms, _ := parseForwarderSMS([]byte(body))
	seen := smsSeenKey(d.f.Keys, d.id, smsEventID(d.id, sms))
	d.f.Broker.Close()
	code, m, resp := d.f.do("POST", "/v1/sms/"+d.token+"/forwarder", nil, body)
	if code != 503 || m["statusCode"] != float64(503) || string(resp.Header.Peek("Retry-After")) == "" {
		t.Fatalf("kafka down: %d %v", code, m)
	}
	if n, _ := d.f.RDB.Exists(t.Context(), seen).Result(); n != 0 {
		t.Fatal("the duplicate marker survived a 503: the app's retry would be answered duplicate")
	}
}

// FuzzSMSIngest throws arbitrary bodies and path tokens at the three formats: the answer is one of
// the documented statuses in the native error shape, never another 5xx and never a panic.
func FuzzSMSIngest(f *testing.F) {
	d := smsSetup(f, "")
	sent := time.Date(2026, 1, 22, 1, 54, 10, 0, time.UTC)
	for _, s := range []string{
		smsForwarderBody("bKash", smsBKash("DAM6CTT7RW", smsAt), sent, "sim1"),
		smsForwarderBody("01712345678", smsBKash("DAM6CTT7RX", smsAt), sent, "undetected"),
		smsGatewayBody("bKash", smsBKash("DAM6CTT7RY", smsAt), sent, nil, "sms:received"),
		smsGatewayBody("NAGAD", smsNagad("75K92M3Z"), sent, 2, "sms:received"),
		`{"from":"bKash","text":"You have received payment Tk 1,200.50 from 01911111111. Ref 123. Fee Tk 0.00. Balance Tk 5,000.00. TrxID BFA0XYZ123 at 01/02/2026 10:00","sim":"2","id":"7"}`,
		`{"from":"16216","text":"Tk280.00 received from A/C:***033 Fee:Tk0.00, Your A/C Balance: Tk1,234.56 TxnId:1234567890 Date:29-MAY-26 10:26:24 pm","receivedAt":1768556698000}`,
		`{"event":"sms:sent"}`, `{"from":null,"text":null}`, `[]`, `"x"`, `{"sentStamp":1e400}`, `{"from":"a","text":"b","sentStamp":-1}`,
	} {
		for i := range 3 {
			f.Add(s, d.token, uint8(i))
		}
	}
	f.Add(`{"from":"bKash","text":"x"}`, "dvt_unknown_token_123456789", uint8(0))
	f.Add(`{"from":"bKash","text":"x"}`, "../../admin", uint8(1))
	formats := []string{smsFormatNative, smsFormatForwarder, smsFormatSMSGateway}
	f.Fuzz(func(t *testing.T, body, token string, format uint8) {
		if strings.ContainsAny(token, "/\\") || strings.Contains(token, "..") {
			t.Skip("a token with path separators is another path, not a token")
		}
		code, m := d.postToken(token, formats[int(format)%3], body, nil)
		switch code {
		case 200:
			if m["duplicate"] != true && m["ignored"] != true {
				t.Fatalf("200 without duplicate or ignored: %v", m)
			}
		case 202:
			if m["accepted"] != true || m["eventId"] == nil || m["result"] == nil {
				t.Fatalf("202 without an event: %v", m)
			}
		case 400, 401, 404, 413, 503:
			if m["statusCode"] != float64(code) || m["message"] == "" || m["error"] == "" {
				t.Fatalf("%d not in the native error shape: %v", code, m)
			}
		default:
			t.Fatalf("body %q token %q: unexpected status %d %v", body, token, code, m)
		}
		d.f.requireNoPanic(t, fmt.Sprintf("body %q token %q format %d", body, token, format))
	})
}
