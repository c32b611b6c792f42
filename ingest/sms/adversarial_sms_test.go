package sms

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// Adversarial tests of the SMS device surface (issue 13, findings 1 and 7): what someone who
// learned a device's forwarding URL, or who sends from a look-alike sender id, can make paystream
// do. Fixture and helpers: sms_test.go.

// smsURLForms are every path that carries a device token: the three routed formats, and other
// spellings that must not reach a format's handler (or that the router refuses).
var smsURLForms = []string{
	"/v1/sms/%s", "/v1/sms/%s/forwarder", "/v1/sms/%s/smsgateway",
	"/v1/sms/%s/", "/v1/sms/%s/forwarder/", "/v1/sms/%s/smsgateway/", "/v1/sms/%s/FORWARDER", "/v1/sms/%s/native",
	"/v1/sms/%s/smsgateway/x", "/v1/sms/%s?format=smsgateway", "/v1/sms/%s/forwarder?signed=1",
}

// smsBodyFor is a well-formed body of the format a URL form names (the native one otherwise) for a
// fresh bKash payment on SIM 1, so that only the device's policy can refuse it.
func smsBodyFor(path string, at time.Time) string {
	text := smsBKash(smsTrx(10), smsAt)
	switch p := strings.ToLower(smsRoute(path)); {
	case strings.Contains(p, "/smsgateway"):
		return smsGatewayBody("bKash", text, at, 1, "sms:received")
	case strings.Contains(p, "/forwarder"):
		return smsForwarderBody("bKash", text, at, "sim1")
	}
	return fmt.Sprintf(`{"from":"bKash","text":%q,"sim":1,"id":%q}`, text, "m-"+randHex(6))
}

// smsRoute is the path a URL is routed by (without its query).
func smsRoute(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}

// TestAdversarialSMSDeviceURLs (finding 1): a device registered with a signing key, or issued for
// one format, produces nothing from any other URL that carries its token, nor from its own URL
// without a valid, fresh signature. Every URL form × {unsigned, bad signature, stale timestamp,
// replay of an accepted signed request, future timestamp, signature over another body} × {device
// with a key, devices issued for another format, a legacy keyed record without a format}: never a
// 2xx that produced an event, and never an event. On the code before the fix, the keyed device's
// /forwarder and native URLs paid unsigned SMS, and a device's format was not enforced.
func TestAdversarialSMSDeviceURLs(t *testing.T) {
	const key = "Ab3xY9kLmN-signing"
	d := smsSetup(t, key) // the keyed device: its format is SMS Gateway's (implied by the key)
	wallets := fmt.Sprintf(`{"1":{"provider":"bkash","account":%q}}`, d.m.bkash)
	registerFormat := func(format, signingKey string) (string, string, map[string]any) {
		t.Helper()
		body := fmt.Sprintf(`{"name":"Phone","environment":"SANDBOX","wallets":%s,"format":%q`, wallets, format)
		if signingKey != "" {
			body += fmt.Sprintf(`,"signingKey":%q`, signingKey)
		}
		code, out, _ := d.f.do("POST", "/admin/v1/merchants/"+d.m.id+"/devices", d.adminHdr, body+"}")
		if code != 201 {
			t.Fatalf("registering a %s device: %d %v", format, code, out)
		}
		return out["id"].(string), out["token"].(string), out["forwardingUrls"].(map[string]any)
	}
	fwdID, fwdToken, fwdURLs := registerFormat(smsFormatForwarder, "")
	natID, natToken, _ := registerFormat(smsFormatNative, "")
	gwID, gwToken, _ := registerFormat(smsFormatSMSGateway, key)
	if len(fwdURLs) != 1 || fwdURLs[smsFormatForwarder] != "https://pay.example.test/v1/sms/"+fwdToken+"/forwarder" {
		t.Errorf("a forwarder device's forwardingUrls = %v, want only its forwarder URL", fwdURLs)
	}
	if len(d.urls) != 1 || d.urls[smsFormatSMSGateway] == nil {
		t.Errorf("a keyed device's forwardingUrls = %v, want only its smsgateway URL", d.urls)
	}
	// A record written before devices had a format, with a signing key: SMS Gateway's URL only.
	legacyID, legacyToken, _ := d.register(t, key, wallets)
	raw, err := d.f.RDB.Get(t.Context(), d.f.Keys.Device(legacyID)).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	delete(rec, "format")
	raw, _ = json.Marshal(rec)
	if err := d.f.RDB.Set(t.Context(), d.f.Keys.Device(legacyID), raw, 0).Err(); err != nil {
		t.Fatal(err)
	}

	type device struct {
		name, id, token, key string
		own                  string // the one URL form that may accept
	}
	devices := []device{
		{"keyed device", d.id, d.token, key, "/v1/sms/%s/smsgateway"},
		{"keyed device issued for smsgateway", gwID, gwToken, key, "/v1/sms/%s/smsgateway"},
		{"legacy keyed record without a format", legacyID, legacyToken, key, "/v1/sms/%s/smsgateway"},
		{"forwarder device", fwdID, fwdToken, "", "/v1/sms/%s/forwarder"},
		{"native device", natID, natToken, "", "/v1/sms/%s"},
	}

	now := time.Now()
	events := func() int { _, n := d.smsEvent(); return n }

	// Positive controls: each device's own URL, signed when it has a key, pays. This proves the
	// refusals below are the policy's, not a broken request.
	accepted := map[string]struct{ path, body string }{}
	for _, dv := range devices {
		path := fmt.Sprintf(dv.own, dv.token)
		body := smsBodyFor(path, now)
		var h map[string]string
		if dv.key != "" {
			h = smsSigned(dv.key, body, now)
		}
		before := events()
		code, m, _ := d.f.do("POST", path, h, body)
		if code != 202 || m["pays"] != true || events() != before+1 {
			t.Fatalf("%s, own URL %s: %d %v (events %d → %d), want 202 paying", dv.name, dv.own, code, m, before, events())
		}
		accepted[dv.name] = struct{ path, body string }{path, body}
	}

	type attempt struct {
		name    string
		headers func(dv device, body string) map[string]string
		body    func(dv device, path string) string
	}
	fresh := func(_ device, path string) string { return smsBodyFor(path, now) }
	attempts := []attempt{
		{"unsigned", func(device, string) map[string]string { return nil }, fresh},
		{"bad signature", func(_ device, body string) map[string]string {
			ts := strconv.FormatInt(now.Unix(), 10)
			return map[string]string{"X-Timestamp": ts, "X-Signature": smsSign("not the key", body, ts)}
		}, fresh},
		{"timestamp only", func(device, string) map[string]string {
			return map[string]string{"X-Timestamp": strconv.FormatInt(now.Unix(), 10)}
		}, fresh},
		{"stale timestamp (6 min)", func(dv device, body string) map[string]string {
			return smsSigned(dv.key, body, now.Add(-6*time.Minute))
		}, fresh},
		{"future timestamp (6 min)", func(dv device, body string) map[string]string {
			return smsSigned(dv.key, body, now.Add(6*time.Minute))
		}, fresh},
		{"signature of another body", func(dv device, _ string) map[string]string {
			return smsSigned(dv.key, smsBodyFor("/smsgateway", now), now)
		}, fresh},
	}
	for _, dv := range devices {
		for _, form := range smsURLForms {
			path := fmt.Sprintf(form, dv.token)
			own := smsRoute(path) == fmt.Sprintf(dv.own, dv.token)
			for _, a := range attempts {
				if own && dv.key == "" {
					break // an unsigned device's own URL takes no signature: nothing to refuse
				}
				body := a.body(dv, path)
				before := events()
				code, m, _ := d.f.do("POST", path, a.headers(dv, body), body)
				if code < 300 || events() != before {
					t.Errorf("%s, %s, %s: %d %v, %d event(s) produced: want a refusal and no event", dv.name, form, a.name, code, m, events()-before)
				}
				if code == 401 && m["message"] == nil {
					t.Errorf("%s, %s, %s: 401 not in the native error shape: %v", dv.name, form, a.name, m)
				}
			}
			// Replay: the request accepted on the device's own URL, headers and all.
			acc := accepted[dv.name]
			var h map[string]string
			if dv.key != "" {
				h = smsSigned(dv.key, acc.body, now)
			}
			before := events()
			code, m, _ := d.f.do("POST", path, h, acc.body)
			switch {
			case events() != before:
				t.Errorf("%s, %s, replay: produced %d event(s): %d %v", dv.name, form, events()-before, code, m)
			case own && (code != 200 || m["duplicate"] != true):
				t.Errorf("%s, %s (its own URL), replay: %d %v, want 200 duplicate", dv.name, form, code, m)
			case !own && code < 300:
				t.Errorf("%s, %s, replay on another URL: %d %v, want a refusal", dv.name, form, code, m)
			}
		}
	}
	// A device issued for one format is refused on the others exactly like an unknown token: the
	// answer tells nothing about the token.
	_, unknown := d.postToken(deviceTokenPrefix+ingest.RandomToken(24), smsFormatNative, smsBodyFor("", now), nil)
	_, wrong := d.postToken(fwdToken, smsFormatNative, smsBodyFor("", now), nil)
	if fmt.Sprint(wrong) != fmt.Sprint(unknown) {
		t.Errorf("wrong format answer %v, want the unknown token's %v", wrong, unknown)
	}
	if n := smsCount(d.f.surface.m.refused.WithLabelValues("format")); n < 1 {
		t.Errorf("paystream_sms_refused_total{reason=format} = %v", n)
	}
}

// TestAdversarialSMSDeviceRegistration (finding 1): a signing key only exists for the format that
// has a signature scheme (SMS Gateway); a device without a format accepts the three URLs only
// while it has no key.
func TestAdversarialSMSDeviceRegistration(t *testing.T) {
	d := smsSetup(t, "")
	path := "/admin/v1/merchants/" + d.m.id + "/devices"
	wallets := fmt.Sprintf(`{"1":{"provider":"bkash","account":%q}}`, d.m.bkash)
	for _, c := range []struct{ name, extra, msg string }{
		{"key for the forwarder", `"format":"forwarder","signingKey":"k"`, "signingKey is only for format smsgateway"},
		{"key for native", `"format":"native","signingKey":"k"`, "signingKey is only for format smsgateway"},
		{"unknown format", `"format":"sms"`, "format must be native, forwarder or smsgateway"},
		{"format type", `"format":1`, "format must be a string"},
	} {
		code, m, _ := d.f.do("POST", path, d.adminHdr, fmt.Sprintf(`{"name":"x","environment":"SANDBOX","wallets":%s,%s}`, wallets, c.extra))
		if code != 400 || m["statusCode"] != float64(400) || !strings.HasPrefix(fmt.Sprint(m["message"]), c.msg) {
			t.Errorf("%s: %d %v, want 400 %q", c.name, code, m, c.msg)
		}
	}
	code, m, _ := d.f.do("POST", path, d.adminHdr, fmt.Sprintf(`{"name":"x","environment":"SANDBOX","wallets":%s,"signingKey":"k"}`, wallets))
	if code != 201 || m["format"] != smsFormatSMSGateway || m["signed"] != true {
		t.Fatalf("a key without a format: %d %v, want format smsgateway", code, m)
	}
	// An unsigned device without a format: the three URLs (the rule for records older than formats).
	if len(d.urls) != 3 {
		t.Errorf("an unsigned device without a format lists %v, want the three URLs", d.urls)
	}
	now := time.Now()
	for _, form := range []string{smsFormatNative, smsFormatForwarder, smsFormatSMSGateway} {
		p := "/v1/sms/" + d.token
		if form != smsFormatNative {
			p += "/" + form
		}
		if code, m := d.post(form, smsBodyFor(p, now), nil); code != 202 || m["pays"] != true {
			t.Errorf("unsigned device without a format, %s: %d %v", form, code, m)
		}
	}
	code, list, _ := d.f.do("GET", path, d.adminHdr, "")
	if code != 200 {
		t.Fatalf("list: %d %v", code, list)
	}
	for _, x := range list["data"].([]any) {
		dv := x.(map[string]any)
		if dv["signed"] == true && dv["format"] != smsFormatSMSGateway {
			t.Errorf("listed keyed device with format %v", dv["format"])
		}
	}
}

// TestAdversarialSMSAppTimes: the times a forwarder app reports are the phone's (or whoever holds
// the URL): one more than a few minutes ahead of paystream's clock is not believed, so it cannot
// become the wallet's balance-chain head and make every later genuine SMS look out of order.
func TestAdversarialSMSAppTimes(t *testing.T) {
	d := smsSetup(t, "")
	now := time.Now()
	for _, ahead := range []time.Duration{10 * time.Minute, 3 * time.Hour, 23 * time.Hour} {
		at := now.Add(ahead)
		body := fmt.Sprintf(`{"from":"bKash","text":%q,"sentStamp":%d,"receivedStamp":%d,"sim":"sim1"}`,
			smsBKash(smsTrx(10), smsAt), at.UnixMilli(), at.UnixMilli())
		code, m := d.post(smsFormatForwarder, body, nil)
		smsWant(t, "future stamps", code, m, 202, smsPayment)
		ev, _ := d.smsEvent()
		if ev.SMS.ReceivedAt.After(time.Now().Add(smsMaxClockSkew)) {
			t.Errorf("stamps %v ahead: SMS.ReceivedAt = %v, later than now + %v", ahead, ev.SMS.ReceivedAt, smsMaxClockSkew)
		}
		if !ev.Payment.OccurredAt.Equal(smsAt) {
			t.Errorf("stamps %v ahead: OccurredAt %v, want the SMS's own time %v", ahead, ev.Payment.OccurredAt, smsAt)
		}
	}
	// The event id still comes from the reported stamp: a retry with the same stamps is a duplicate.
	at := now.Add(time.Hour)
	body := fmt.Sprintf(`{"from":"bKash","text":%q,"sentStamp":%d,"sim":"sim1"}`, smsBKash(smsTrx(10), smsAt), at.UnixMilli())
	_, first := d.post(smsFormatForwarder, body, nil)
	if code, again := d.post(smsFormatForwarder, body, nil); code != 200 || again["eventId"] != first["eventId"] {
		t.Errorf("retry with a future stamp: %d %v, first %v", code, again, first)
	}
}

// smsSenderLookAlikes are spellings of a provider's sender id that are other sender ids on a
// phone: case changes, Unicode spaces and invisible characters around it, full-width letters,
// homoglyphs. None of them contains a control character.
func smsSenderLookAlikes(sender string) []string {
	set := map[string]bool{strings.ToUpper(sender): true, strings.ToLower(sender): true}
	rs := []rune(sender)
	for i, r := range rs {
		for _, f := range []func(rune) rune{unicode.ToUpper, unicode.ToLower} {
			c := slices.Clone(rs)
			c[i] = f(r)
			set[string(c)] = true
		}
		for _, h := range map[rune][]rune{'a': {'а', 'α'}, 'A': {'А', 'Α'}, 'K': {'К', 'Κ', 'K'}, 'N': {'Ν'}, 'k': {'к'}, 's': {'ѕ'}, 'h': {'һ'}, 'u': {'υ'}, '1': {'l', '১'}, '6': {'б', '৬'}}[r] {
			c := slices.Clone(rs)
			c[i] = h
			set[string(c)] = true
		}
	}
	full := make([]rune, len(rs))
	for i, r := range rs {
		full[i] = r - '!' + '！'
	}
	set[string(full)] = true
	for _, p := range []string{" ", "\u00a0", "\u3000", "\u200b", "\u2007", "\u202f", "\ufeff", "\u200e", "\u2060"} {
		set[p+sender], set[sender+p] = true, true
	}
	delete(set, sender)
	return slices.Sorted(maps.Keys(set))
}

// TestAdversarialSMSSenderLookAlikes (finding 7): only a provider's exact sender ids pay a wallet
// of that provider. Every look-alike (another case, Unicode spaces around it, full-width letters,
// homoglyphs) is answered 202 "suspicious", produces an sms.received event with the sender exactly
// as reported, pays nothing, is kept for operators, and does not pick the wallet of an SMS without
// a SIM slot; a sender with a control character is a 400 and produces nothing. Before the fix,
// "BKASH", "bkash", "bKash\u00a0" and "\u3000bKash" paid.
func TestAdversarialSMSSenderLookAlikes(t *testing.T) {
	d := smsSetup(t, "")
	exact := map[pipeline.Provider][]string{pipeline.BKash: {"bKash"}, pipeline.Nagad: {"NAGAD", "Nagad"}}
	wallets := map[pipeline.Provider]struct {
		sim  string
		text func() string
	}{
		pipeline.BKash: {"sim1", func() string { return smsBKash(smsTrx(10), smsAt) }},
		pipeline.Nagad: {"sim2", func() string { return smsNagad(smsTrx(8)) }},
	}
	sent := 0
	for _, p := range []pipeline.Provider{pipeline.BKash, pipeline.Nagad} {
		w := wallets[p]
		for _, s := range exact[p] {
			code, m := d.post(smsFormatForwarder, smsForwarderBody(s, w.text(), smsAt, w.sim), nil)
			smsWant(t, string(p)+" from "+s, code, m, 202, smsPayment)
			for _, v := range smsSenderLookAlikes(s) {
				if slices.Contains(exact[p], v) {
					continue
				}
				for _, sim := range []string{w.sim, "undetected"} {
					code, m := d.post(smsFormatForwarder, smsForwarderBody(v, w.text(), smsAt, sim), nil)
					want := smsSuspicious
					if sim == "undetected" {
						want = smsUnrouted // the device has two wallets and the sender names neither
					}
					if code != 202 || m["pays"] != false || m["result"] != want {
						t.Errorf("%s, sender %+q, sim %s: %d %v, want 202 %s paying nothing", p, v, sim, code, m, want)
						continue
					}
					sent++
					if ev, _ := d.smsEvent(); ev.Kind != pipeline.KindSMSReceived || ev.Payment != nil || ev.SMS.Sender != v || ev.SMS.Trusted {
						t.Errorf("%s, sender %+q: event %+v sms %+v", p, v, ev, ev.SMS)
					}
				}
			}
		}
	}
	code, list, _ := d.f.do("GET", "/admin/v1/merchants/"+d.m.id+"/sms?limit=1", d.adminHdr, "")
	if code != 200 || list["total"] != float64(sent) {
		t.Errorf("operators see %v SMS, want the %d look-alikes: %d", list["total"], sent, code)
	}
	before := len(d.pub.Events())
	for _, v := range []string{"bKash\t", "\tbKash", "bKash\n", "\x00bKash", "bKash\u0085", "b\u007fKash"} {
		if code, m := d.post(smsFormatForwarder, smsForwarderBody(v, smsBKash(smsTrx(10), smsAt), smsAt, "sim1"), nil); code != 400 {
			t.Errorf("sender %+q: %d %v, want 400", v, code, m)
		}
	}
	if len(d.pub.Events()) != before {
		t.Errorf("control-character senders produced %d events", len(d.pub.Events())-before)
	}
	// Routing by sender and the configured lists compare exactly too, for every provider.
	s := &Surface{}
	for p, ids := range map[pipeline.Provider][]string{pipeline.BKash: {"bKash"}, pipeline.Nagad: {"NAGAD", "Nagad"}, pipeline.Rocket: {"16216"}, pipeline.Upay: {"upay", "Upay"}} {
		for _, id := range ids {
			if !s.trustsSender(p, id) {
				t.Errorf("%s does not trust its own %q", p, id)
			}
			for _, v := range smsSenderLookAlikes(id) {
				if !slices.Contains(ids, v) && s.trustsSender(p, v) {
					t.Errorf("%s trusts look-alike %+q of %q", p, v, id)
				}
			}
		}
	}
}

// TestAdversarialSMSForgedRequestsSpendNothing: whoever holds a keyed device's URL cannot make the
// phone's own signed SMS wait behind 429s: requests refused for their signature or their format do
// not spend the device's rate limit (1 request/s, burst 2 here). Before, bad signatures did.
func TestAdversarialSMSForgedRequestsSpendNothing(t *testing.T) {
	const key = "k3y-of-the-phone"
	f := newLimitedFixture(t, 1, 0)
	d := &smsDevice{f: f, pub: recordEvents(f), m: f.txnOnboard(t), adminHdr: map[string]string{"Authorization": "Bearer " + f.Admin}}
	d.id, d.token, _ = d.register(t, key, fmt.Sprintf(`{"1":{"provider":"bkash","account":%q}}`, d.m.bkash))
	now := time.Now()
	for i := range 10 {
		b := smsGatewayBody("bKash", smsBKash(smsTrx(10), smsAt), now, 1, "sms:received")
		h := smsSigned("a guessed key", b, now)
		if i%2 == 1 {
			h = nil
		}
		if code, m := d.post(smsFormatSMSGateway, b, h); code != 401 {
			t.Fatalf("forged request %d: %d %v, want 401", i, code, m)
		}
		if code, m := d.post(smsFormatForwarder, smsForwarderBody("bKash", smsBKash(smsTrx(10), smsAt), now, "sim1"), nil); code != 401 {
			t.Fatalf("forwarder URL %d: %d %v, want 401", i, code, m)
		}
	}
	b := smsGatewayBody("bKash", smsBKash(smsTrx(10), smsAt), now, 1, "sms:received")
	code, m := d.post(smsFormatSMSGateway, b, smsSigned(key, b, now))
	smsWant(t, "the phone's signed SMS after 20 forged ones", code, m, 202, smsPayment)
}
