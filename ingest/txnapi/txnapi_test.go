package txnapi

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/state"
)

// Component tests of seed 002's bKash transaction API, on ingesttest's fixture (the real Redis, an
// embedded Kafka-protocol broker, handlers run in memory through the edge's route table).

const (
	txnCheckPath    = "/api/external/v1/bkash/transactions/check"
	txnCompletePath = "/api/external/v1/bkash/transactions/complete"
)

// The seed's answers, verbatim.
const (
	seedAllowed   = `{"code": 200, "message": "transaction allowed", "type": "success"}`
	seedAccepted  = `{"code": 202, "message": "transaction accepted", "type": "success"}`
	seedDenied    = `{"message": "access denied", "type": "error", "code": 401, "errors": "access denied"}`
	seedDuplicate = `{"code": 400, "message": "duplicate transaction id", "type": "error"}`
	seedInvalid   = `{"code": 422, "message": "please fix the given errors", "type": "error", "errors": {"amount": ["amount is invalid"], "transaction_id": ["transaction_id is required"]}}`
	refused       = `{"code": 403, "message": "transaction not allowed", "type": "error"}`
)

func txnDigits(n int) string { return ingesttest.Digits(n) }

// txnMAC is the HMAC-SHA256 a sender computes: over the JCS form of body, or over body as is
// when it is not JSON JCS accepts (ingesttest.TxnMAC).
func txnMAC(secret, body string) []byte { return ingesttest.TxnMAC(secret, body) }

func txnSign(secret, body string) string { return ingesttest.TxnSign(secret, body) }

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

// txnIntegration creates a transaction-API integration and returns its API key and signing secret.
func (f *fixture) txnIntegration(t testing.TB, merchantID string, env pipeline.Environment, allowAny bool) (apiKey, secret string) {
	return f.TxnIntegration(t, merchantID, env, allowAny)
}

// txn sends one transaction-API request with the given API key and X-Signature ("" leaves a
// header out) and returns the status and raw answer.
func (f *fixture) txn(path, apiKey, sig, body string) (int, []byte) {
	return f.Txn(path, apiKey, sig, body)
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t testing.TB, what string, got []byte, want string) {
	t.Helper()
	ingesttest.SameJSON(t, what, got, want)
}

func expect(t testing.TB, what string, code int, body []byte, wantCode int, want string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: HTTP %d %s, want %d", what, code, body, wantCode)
		return
	}
	sameJSON(t, what, body, want)
}

// fixture is ingesttest's edge with this surface mounted.
type fixture struct{ *ingesttest.Fixture }

func mountTxnAPI(f *ingesttest.Fixture) []ingest.Surface {
	txn, err := New(Deps{Auth: f.S, Trx: f.S, Pub: f.S, Intents: f.State})
	if err != nil {
		panic(err)
	}
	return []ingest.Surface{txn, f.Native()} // native intents: the intents the API pays
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	return &fixture{ingesttest.New(t, produceTimeout, mountTxnAPI)}
}

func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	return f.Do(method, path, headers, body)
}

func (f *fixture) requireNoPanic(t testing.TB, input string) { f.RequireNoPanic(t, input) }

func recordEvents(f *fixture) *ingesttest.Recorder { return f.Record() }

func randHex(n int) string { return ingesttest.RandHex(n) }

func TestTxnAPISeedSamples(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	pub := recordEvents(f)
	m := f.txnOnboard(t)
	key, secret := f.txnIntegration(t, m.id, pipeline.Sandbox, false)
	anyKey, anySecret := f.txnIntegration(t, m.id, pipeline.Sandbox, true)

	// check: the seed's sample request.
	check := "{\n  \"acc_no\": \"01710000000\"\n}"
	code, body := f.txn(txnCheckPath, anyKey, txnSign(anySecret, check), check)
	expect(t, "seed check, allowAnyAccount", code, body, 202, seedAllowed)
	code, body = f.txn(txnCheckPath, key, txnSign(secret, check), check)
	expect(t, "seed check, no intent", code, body, 403, refused)
	code, out, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": m.key}, `{"amount":100,"currency":"BDT","customerReference":"01710000000"}`)
	if code != 201 {
		t.Fatalf("creating intent: %d %v", code, out)
	}
	code, body = f.txn(txnCheckPath, key, txnSign(secret, check), check)
	expect(t, "seed check, open intent", code, body, 202, seedAllowed)
	code, body = f.txn(txnCheckPath, key, txnSign(secret, check)[1:]+"0", check)
	expect(t, "seed check, bad signature", code, body, 401, seedDenied)

	// complete: the seed's sample verbatim names accounts that are nobody's wallet.
	sample := `{ "transaction_id": "txn10001011011", "amount": 100, "from_account": "from_acount_number", "to_account": "to_acount_number", "reference": "reference", "transaction_datetime": 1764052011 }`
	code, body = f.txn(txnCompletePath, key, txnSign(secret, sample), sample)
	expect(t, "seed complete verbatim", code, body, 422,
		`{"code":422,"message":"please fix the given errors","type":"error","errors":{"to_account":["to_account is not a wallet of this merchant"]}}`)
	if _, n := pub.Last(); n != 1 {
		t.Fatalf("%d events produced, want only the intent", n)
	}
	// The sample with the merchant's wallet as to_account.
	sample = strings.Replace(sample, "to_acount_number", m.bkash, 1)
	code, body = f.txn(txnCompletePath, key, txnSign(secret, sample), sample)
	expect(t, "seed complete", code, body, 202, seedAccepted)
	ev, n := pub.Last()
	if n != 2 {
		t.Fatalf("%d events produced, want 2", n)
	}
	want := pipeline.Payment{
		Provider: pipeline.BKash, TrxID: "TXN10001011011", Amount: pipeline.BDT(100), Sender: "from_acount_number",
		Reference: "reference", OccurredAt: time.Unix(1764052011, 0).UTC(),
	}
	if ev.Kind != pipeline.KindPaymentReported || ev.Source != pipeline.SourceTxnAPI || ev.MerchantID != m.id ||
		ev.Environment != pipeline.Sandbox || ev.Wallet != (pipeline.Wallet{Provider: pipeline.BKash, Account: m.bkash, Environment: pipeline.Sandbox}) ||
		ev.Payment == nil || *ev.Payment != want || string(ev.Raw) != sample || ev.RequestID == "" {
		t.Errorf("event: %+v payment %+v", ev, ev.Payment)
	}
	code, body = f.txn(txnCompletePath, key, txnSign(secret, sample), sample)
	expect(t, "seed complete again", code, body, 400, seedDuplicate)

	// The seed's 422 example: an invalid amount and no transaction_id. The seed's "amount is
	// invalid" is followed by the reason (ParseAmount's rule accepts "100", a string holding a
	// number, as every surface does since issue 13).
	bad := fmt.Sprintf(`{"amount":"100 taka","from_account":"01711111111","to_account":%q}`, m.bkash)
	code, body = f.txn(txnCompletePath, key, txnSign(secret, bad), bad)
	expect(t, "seed validation example", code, body, 422, strings.Replace(seedInvalid, `"amount is invalid"`, `"amount is invalid: it must be a number of taka, such as 100"`, 1))

	// The seed's 401: a key nobody issued.
	code, body = f.txn(txnCompletePath, "bkt_nobody_issued_this_key", txnSign(secret, sample), sample)
	expect(t, "seed unauthorized", code, body, 401, seedDenied)
	if _, n := pub.Last(); n != 2 {
		t.Fatalf("%d events produced, want 2", n)
	}
}

// TestTxnAPIJCSVectors checks the canonical form signatures cover against RFC 8785's own examples.
func TestTxnAPIJCSVectors(t *testing.T) {
	canon := func(in string) string {
		t.Helper()
		out, ok := txnSignedForm([]byte(in))
		if !ok {
			t.Fatalf("JCS refused %q", in)
		}
		return string(out)
	}
	// RFC 8785 §3.2.2: primitives (numbers, escapes, literals) and sorting.
	in := `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`
	want := `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	if got := canon(in); got != want {
		t.Errorf("RFC 8785 §3.2.2:\n got %s\nwant %s", got, want)
	}
	// RFC 8785 §3.2.4: the same output as UTF-8 bytes.
	wantHex := strings.Join(strings.Fields(`7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`), "")
	if got := hex.EncodeToString([]byte(canon(in))); got != wantHex {
		t.Errorf("RFC 8785 §3.2.4 UTF-8 bytes:\n got %s\nwant %s", got, wantHex)
	}
	// RFC 8785 §3.2.3: properties sorted by their UTF-16 code units, not by code points: the emoji
	// (surrogates D83D DE00) sorts before U+FB33.
	in = `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`
	want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\"," +
		"\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"
	if got := canon(in); got != want {
		t.Errorf("RFC 8785 §3.2.3:\n got %s\nwant %s", got, want)
	}
	// Unicode is not normalised (RFC 8785 §3.1), and nesting and arrays keep their order.
	for in, want := range map[string]string{
		`{"Unnormalized Unicode":"A\u030a"}`:                         "{\"Unnormalized Unicode\":\"A\u030a\"}",
		`[56, {"d": true, "10": null, "1": [ ]}]`:                    `[56,{"1":[],"10":null,"d":true}]`,
		`{"b": {"z": 1, "a": [3, 2, 1]}, "a": "x", "B": -0}`:         `{"B":0,"a":"x","b":{"a":[3,2,1],"z":1}}`,
		`{"big": 9007199254740993, "bigger": 295147905179352825856}`: `{"big":9007199254740992,"bigger":295147905179352830000}`,
		`{"n": [-0, 0.0, 1e2, 100.0, 1E21, 1e-7, 0.000001]}`:         `{"n":[0,0,100,100,1e+21,1e-7,0.000001]}`,
	} {
		if got := canon(in); got != want {
			t.Errorf("canonical form of %s:\n got %s\nwant %s", in, got, want)
		}
	}
	// RFC 8785 Appendix B: IEEE 754 doubles (as bits) and their canonical text.
	for bits, want := range map[uint64]string{
		0x0000000000000000: "0", 0x8000000000000000: "0",
		0x0000000000000001: "5e-324", 0x8000000000000001: "-5e-324",
		0x7fefffffffffffff: "1.7976931348623157e+308", 0xffefffffffffffff: "-1.7976931348623157e+308",
		0x4340000000000000: "9007199254740992", 0xc340000000000000: "-9007199254740992",
		0x4430000000000000: "295147905179352830000",
		0x44b52d02c7e14af5: "9.999999999999997e+22", 0x44b52d02c7e14af6: "1e+23", 0x44b52d02c7e14af7: "1.0000000000000001e+23",
		0x444b1ae4d6e2ef4e: "999999999999999700000", 0x444b1ae4d6e2ef4f: "999999999999999900000", 0x444b1ae4d6e2ef50: "1e+21",
		0x3eb0c6f7a0b5ed8c: "9.999999999999997e-7", 0x3eb0c6f7a0b5ed8d: "0.000001",
		0x41b3de4355555553: "333333333.3333332", 0x41b3de4355555554: "333333333.33333325", 0x41b3de4355555555: "333333333.3333333",
		0x41b3de4355555556: "333333333.3333334", 0x41b3de4355555557: "333333333.33333343",
		0xbecbf647612f3696: "-0.0000033333333333333333", 0x43143ff3c1cb0959: "1424953923781206.2",
	} {
		f := math.Float64frombits(bits)
		if got, err := jcs.NumberToJSON(f); err != nil || got != want {
			t.Errorf("NumberToJSON(%016x) = %q, %v; want %q", bits, got, err, want)
		}
		// The same through a JSON text: the shortest Go spelling of the double, canonicalised.
		text := strconv.FormatFloat(f, 'g', -1, 64)
		if got := canon(`[` + text + `]`); got != `[`+want+`]` {
			t.Errorf("canonical form of %s (%016x) = %s, want [%s]", text, bits, got, want)
		}
	}
	for _, bits := range []uint64{0x7fffffffffffffff, 0x7ff0000000000000, 0xfff0000000000000} { // NaN, ±Infinity
		if got, err := jcs.NumberToJSON(math.Float64frombits(bits)); err == nil {
			t.Errorf("NumberToJSON(%016x) = %q, want an error", bits, got)
		}
	}
	// What JCS refuses is signed as received.
	for _, in := range []string{``, `{"a":`, `{"a":1,"a":2}`, "{\"a\":\"\xff\"}", `{"a":1e400}`, `{"a":01}`, `{"a":NaN}`, `{} x`} {
		if out, ok := txnSignedForm([]byte(in)); ok || string(out) != in {
			t.Errorf("txnSignedForm(%q) = %q, %v; want the body as is, false", in, out, ok)
		}
	}
}

func TestTxnAPISignatures(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	m := f.txnOnboard(t)
	key, secret := f.txnIntegration(t, m.id, pipeline.Sandbox, true)
	otherKey, otherSecret := f.txnIntegration(t, f.txnOnboard(t).id, pipeline.Sandbox, true)

	// Find a body whose MAC's standard base64 differs from its URL-safe base64.
	var body string
	var mac []byte
	var i int
	for ; ; i++ {
		body = fmt.Sprintf(`{"acc_no":"01710000000","n":%d}`, i)
		mac = txnMAC(secret, body)
		if s := base64.StdEncoding.EncodeToString(mac); strings.ContainsAny(s, "+/") {
			break
		}
	}
	for name, sig := range map[string]string{
		"lowercase hex":      hex.EncodeToString(mac),
		"uppercase hex":      strings.ToUpper(hex.EncodeToString(mac)),
		"base64":             base64.StdEncoding.EncodeToString(mac),
		"base64 url":         base64.URLEncoding.EncodeToString(mac),
		"base64 unpadded":    base64.RawStdEncoding.EncodeToString(mac),
		"base64 url no pad":  base64.RawURLEncoding.EncodeToString(mac),
		"surrounding spaces": " " + hex.EncodeToString(mac) + " ",
	} {
		code, b := f.txn(txnCheckPath, key, sig, body)
		expect(t, name, code, b, 202, seedAllowed)
	}
	// The same value, spelled differently, has the same canonical form and so the same signature.
	same := fmt.Sprintf("{ \"n\" : %d ,\n\"acc_no\":\"\\u0030\\u00317\\u00310000000\" }", i)
	code, b := f.txn(txnCheckPath, key, hex.EncodeToString(mac), same)
	expect(t, "reformatted body", code, b, 202, seedAllowed)
	// Replays are fine for check (it changes nothing).
	code, b = f.txn(txnCheckPath, key, hex.EncodeToString(mac), body)
	expect(t, "check replayed", code, b, 202, seedAllowed)

	other := `{"acc_no":"01799999999"}`
	bad := map[string]struct{ key, sig, body string }{
		"no api key":                   {"", hex.EncodeToString(mac), body},
		"unknown api key":              {"bkt_" + randHex(16), hex.EncodeToString(mac), body},
		"another integration's key":    {otherKey, hex.EncodeToString(mac), body},
		"signed with another secret":   {key, txnSign(otherSecret, body), body},
		"no signature":                 {key, "", body},
		"replayed body, other sig":     {key, txnSign(secret, other), body},
		"signature of the raw bytes":   {key, hex.EncodeToString(hmacOf(secret, same)), same},
		"truncated hex":                {key, hex.EncodeToString(mac)[:63], body},
		"one bit off":                  {key, hex.EncodeToString(append(append([]byte{}, mac[:31]...), mac[31]^1)), body},
		"sha256= prefix":               {key, "sha256=" + hex.EncodeToString(mac), body},
		"hex of a SHA-256 of the body": {key, hex.EncodeToString(sha256Of(body)), body},
		"key as the signature":         {key, key, body},
		"empty body, no signature":     {key, "x", ""},
		"malformed json, wrong sig":    {key, txnSign(secret, `{"acc_no":"1"}`), `{"acc_no":`},
		"duplicate key, first signed":  {key, txnSign(secret, `{"acc_no":"01710000000"}`), `{"acc_no":"01710000000","acc_no":"01799999999"}`},
	}
	for name, c := range bad {
		code, b := f.txn(txnCheckPath, c.key, c.sig, c.body)
		expect(t, name, code, b, 401, seedDenied)
	}
}

func hmacOf(secret, body string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(body))
	return h.Sum(nil)
}

func sha256Of(body string) []byte {
	h := sha256.Sum256([]byte(body))
	return h[:]
}

func TestTxnAPIValidation(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	pub := recordEvents(f)
	m := f.txnOnboard(t)
	key, secret := f.txnIntegration(t, m.id, pipeline.Sandbox, true)
	send := func(path, body string) (int, []byte) { return f.txn(path, key, txnSign(secret, body), body) }
	invalid := func(errs string) string {
		return `{"code":422,"message":"please fix the given errors","type":"error","errors":` + errs + `}`
	}
	valid := func(mut func(map[string]any)) string {
		v := map[string]any{
			"transaction_id": "T" + strings.ToUpper(randHex(6)), "amount": 100, "from_account": "01711111111",
			"to_account": m.bkash, "reference": "ref", "transaction_datetime": time.Now().Unix(),
		}
		if mut != nil {
			mut(v)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	long := func(n int) string { return strings.Repeat("A", n) }
	cases := []struct {
		name, path, body string
		code             int
		want             string
	}{
		// Bodies that are not a JSON object.
		{"malformed json", txnCheckPath, `{"acc_no":`, 422, invalid(`{"body":["body must be a JSON object"]}`)},
		{"empty body", txnCompletePath, ``, 422, invalid(`{"body":["body must be a JSON object"]}`)},
		{"array", txnCheckPath, `[{"acc_no":"01710000000"}]`, 422, invalid(`{"body":["body must be a JSON object"]}`)},
		{"null", txnCompletePath, `null`, 422, invalid(`{"body":["body must be a JSON object"]}`)},
		{"string", txnCompletePath, `"x"`, 422, invalid(`{"body":["body must be a JSON object"]}`)},
		{"duplicate keys", txnCheckPath, `{"acc_no":"01710000000","acc_no":"01710000000"}`, 422, invalid(`{"body":["body must be a JSON object"]}`)},
		// check.
		{"check missing acc_no", txnCheckPath, `{}`, 422, invalid(`{"acc_no":["acc_no is required"]}`)},
		{"check null acc_no", txnCheckPath, `{"acc_no":null}`, 422, invalid(`{"acc_no":["acc_no is required"]}`)},
		{"check blank acc_no", txnCheckPath, `{"acc_no":"  "}`, 422, invalid(`{"acc_no":["acc_no is required"]}`)},
		{"check numeric acc_no", txnCheckPath, `{"acc_no":1710000000}`, 422, invalid(`{"acc_no":["acc_no is invalid"]}`)},
		{"check acc_no too long", txnCheckPath, `{"acc_no":"017100000001"}`, 422, invalid(`{"acc_no":["acc_no must be at most 11 characters"]}`)},
		{"check acc_no control char", txnCheckPath, `{"acc_no":"0171\u0000"}`, 422, invalid(`{"acc_no":["acc_no is invalid"]}`)},
		{"check unknown fields ignored", txnCheckPath, `{"acc_no":"01710000000","extra":{"a":[1]}}`, 202, seedAllowed},
		// complete: missing and null fields.
		{"complete empty object", txnCompletePath, `{}`, 422, invalid(`{"amount":["amount is required"],"from_account":["from_account is required"],` +
			`"to_account":["to_account is required"],"transaction_id":["transaction_id is required"]}`)},
		{"complete nulls", txnCompletePath, `{"transaction_id":null,"amount":null,"from_account":null,"to_account":null,"reference":null,"transaction_datetime":null}`, 422,
			invalid(`{"amount":["amount is required"],"from_account":["from_account is required"],"to_account":["to_account is required"],"transaction_id":["transaction_id is required"]}`)},
		// complete: wrong types.
		{"amount string", txnCompletePath, valid(func(v map[string]any) { v["amount"] = "100 taka" }), 422, invalid(`{"amount":["amount is invalid: it must be a number of taka, such as 100"]}`)},
		{"amount float", txnCompletePath, valid(func(v map[string]any) { v["amount"] = 100.5 }), 422, invalid(`{"amount":["amount is invalid: it must be a whole number of taka"]}`)},
		{"amount zero", txnCompletePath, valid(func(v map[string]any) { v["amount"] = 0 }), 422, invalid(`{"amount":["amount is invalid: it must be greater than 0"]}`)},
		{"amount negative", txnCompletePath, valid(func(v map[string]any) { v["amount"] = -100 }), 422, invalid(`{"amount":["amount is invalid: it must be greater than 0"]}`)},
		{"amount bool", txnCompletePath, valid(func(v map[string]any) { v["amount"] = true }), 422, invalid(`{"amount":["amount is invalid: it must be a number of taka, such as 100"]}`)},
		{"amount huge", txnCompletePath, valid(func(v map[string]any) { v["amount"] = 1e20 }), 422, invalid(`{"amount":["amount is invalid: it must not be greater than 100000000"]}`)},
		{"amount above the bound", txnCompletePath, valid(func(v map[string]any) { v["amount"] = int64(pipeline.MaxMoney/100) + 1 }), 422, invalid(`{"amount":["amount is invalid: it must not be greater than 100000000"]}`)},
		{"transaction_id number", txnCompletePath, valid(func(v map[string]any) { v["transaction_id"] = 12345 }), 422, invalid(`{"transaction_id":["transaction_id is invalid"]}`)},
		{"transaction_id spaces inside", txnCompletePath, valid(func(v map[string]any) { v["transaction_id"] = "AB CD" }), 422, invalid(`{"transaction_id":["transaction_id is invalid"]}`)},
		{"from_account object", txnCompletePath, valid(func(v map[string]any) { v["from_account"] = map[string]any{} }), 422, invalid(`{"from_account":["from_account is invalid"]}`)},
		{"to_account array", txnCompletePath, valid(func(v map[string]any) { v["to_account"] = []string{m.bkash} }), 422, invalid(`{"to_account":["to_account is invalid"]}`)},
		{"reference number", txnCompletePath, valid(func(v map[string]any) { v["reference"] = 5 }), 422, invalid(`{"reference":["reference is invalid"]}`)},
		{"datetime string", txnCompletePath, valid(func(v map[string]any) { v["transaction_datetime"] = "2025-11-25T06:26:51Z" }), 422, invalid(`{"transaction_datetime":["transaction_datetime is invalid"]}`)},
		{"datetime float", txnCompletePath, valid(func(v map[string]any) { v["transaction_datetime"] = 1764052011.5 }), 422, invalid(`{"transaction_datetime":["transaction_datetime is invalid"]}`)},
		{"datetime milliseconds", txnCompletePath, valid(func(v map[string]any) { v["transaction_datetime"] = time.Now().UnixMilli() }), 422, invalid(`{"transaction_datetime":["transaction_datetime is invalid"]}`)},
		{"datetime before 2000", txnCompletePath, valid(func(v map[string]any) { v["transaction_datetime"] = 5 }), 422, invalid(`{"transaction_datetime":["transaction_datetime is invalid"]}`)},
		// complete: over-long fields.
		{"transaction_id too long", txnCompletePath, valid(func(v map[string]any) { v["transaction_id"] = long(33) }), 422, invalid(`{"transaction_id":["transaction_id must be at most 32 characters"]}`)},
		{"from_account too long", txnCompletePath, valid(func(v map[string]any) { v["from_account"] = long(33) }), 422, invalid(`{"from_account":["from_account must be at most 32 characters"]}`)},
		{"to_account too long", txnCompletePath, valid(func(v map[string]any) { v["to_account"] = long(33) }), 422, invalid(`{"to_account":["to_account must be at most 32 characters"]}`)},
		{"reference too long", txnCompletePath, valid(func(v map[string]any) { v["reference"] = long(256) }), 422, invalid(`{"reference":["reference must be at most 255 characters"]}`)},
		{"several at once", txnCompletePath, valid(func(v map[string]any) { v["amount"] = "x"; v["reference"] = long(256); delete(v, "from_account") }), 422,
			invalid(`{"amount":["amount is invalid: it must be a number of taka, such as 100"],"from_account":["from_account is required"],"reference":["reference must be at most 255 characters"]}`)},
		// complete: to_account must be one of the merchant's bKash wallets of the integration's environment.
		{"to_account nobody's", txnCompletePath, valid(func(v map[string]any) { v["to_account"] = "01300000000" }), 422, invalid(`{"to_account":["to_account is not a wallet of this merchant"]}`)},
		{"to_account the nagad wallet", txnCompletePath, valid(func(v map[string]any) { v["to_account"] = m.nagad }), 422, invalid(`{"to_account":["to_account is not a wallet of this merchant"]}`)},
		{"to_account the LIVE wallet", txnCompletePath, valid(func(v map[string]any) { v["to_account"] = m.liveBK }), 422, invalid(`{"to_account":["to_account is not a wallet of this merchant"]}`)},
		// Limits are inclusive, counted in characters; optional fields may be left out.
		{"at the limits", txnCompletePath, valid(func(v map[string]any) {
			v["transaction_id"] = "L" + strings.ToUpper(randHex(8)) + strings.Repeat("9", 15)
			v["reference"] = strings.Repeat("৳", 255)
			v["from_account"] = long(32)
			v["to_account"] = "+880" + m.bkash[1:]
		}), 202, seedAccepted},
		{"amount written 1e2", txnCompletePath, strings.Replace(valid(nil), `"amount":100`, `"amount":1e2`, 1), 202, seedAccepted},
		{"no datetime, no reference", txnCompletePath, valid(func(v map[string]any) { delete(v, "transaction_datetime"); delete(v, "reference") }), 202, seedAccepted},
	}
	for _, c := range cases {
		code, b := send(c.path, c.body)
		expect(t, c.name, code, b, c.code, c.want)
	}
	ev, n := pub.Last()
	if n != 3 {
		t.Fatalf("%d events produced, want 3", n)
	}
	if ev.Payment.Reference != "" || time.Since(ev.Payment.OccurredAt) > time.Minute || ev.Payment.Sender != "01711111111" {
		t.Errorf("last event: defaults not applied: %+v", ev.Payment)
	}
}

func TestTxnAPIDuplicates(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	m := f.txnOnboard(t)
	key, secret := f.txnIntegration(t, m.id, pipeline.Sandbox, false)
	body := func(trx string, amount int) string {
		return fmt.Sprintf(`{"transaction_id":%q,"amount":%d,"from_account":"+880 1711-111111","to_account":%q}`, trx, amount, m.bkash)
	}
	trx := "dup" + randHex(4)
	code, b := f.txn(txnCompletePath, key, txnSign(secret, body(trx, 100)), body(trx, 100))
	expect(t, "first", code, b, 202, seedAccepted)
	for name, bd := range map[string]string{
		"same body":          body(trx, 100),
		"another amount":     body(trx, 200),
		"other letter cases": body(strings.ToUpper(trx), 100),
	} {
		code, b := f.txn(txnCompletePath, key, txnSign(secret, bd), bd)
		expect(t, name, code, b, 400, seedDuplicate)
	}
	// A TrxID the matcher already decided is a duplicate too.
	w := pipeline.Wallet{Provider: pipeline.BKash, Account: m.bkash, Environment: pipeline.Sandbox}
	f.RDB.Set(context.Background(), f.Keys.Trx(w, "DECIDED1"), "ev-x", 0)
	code, b = f.txn(txnCompletePath, key, txnSign(secret, body("decided1", 100)), body("decided1", 100))
	expect(t, "decided by the matcher", code, b, 400, seedDuplicate)
}

func TestTxnAPICheck(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	m := f.txnOnboard(t)
	other := f.txnOnboard(t)
	key, secret := f.txnIntegration(t, m.id, pipeline.Sandbox, false)
	liveKey, liveSecret := f.txnIntegration(t, m.id, pipeline.Live, false)
	otherKey, otherSecret := f.txnIntegration(t, other.id, pipeline.Sandbox, false)
	anyKey, anySecret := f.txnIntegration(t, other.id, pipeline.Live, true)
	check := func(key, secret, acc string) (int, []byte) {
		b := fmt.Sprintf(`{"acc_no":%q}`, acc)
		return f.txn(txnCheckPath, key, txnSign(secret, b), b)
	}
	payer := "017" + txnDigits(8)
	code, out, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": m.key}, fmt.Sprintf(`{"amount":100,"currency":"BDT","customerReference":%q,"provider":"bkash"}`, payer))
	if code != 201 {
		t.Fatalf("creating intent: %d %v", code, out)
	}
	// An intent on the Nagad wallet is not payable by a bKash transaction.
	nagadPayer := "017" + txnDigits(8)
	code, out, _ = f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": m.key}, fmt.Sprintf(`{"amount":100,"currency":"BDT","customerReference":%q,"provider":"nagad"}`, nagadPayer))
	if code != 201 {
		t.Fatalf("creating intent: %d %v", code, out)
	}
	// An intent past its expiry that the matcher has not expired yet.
	expiredPayer := "017" + txnDigits(8)
	past := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	if err := f.State.CreateIntent(context.Background(), &pipeline.Intent{
		ID: "00000000-0000-0000-0000-" + randHex(6), MerchantID: m.id, Environment: pipeline.Sandbox, Amount: pipeline.BDT(5),
		Currency: "BDT", CustomerReference: expiredPayer, Provider: pipeline.BKash, ReceiverMsisdn: m.bkash,
		Dialect: pipeline.DialectNative, CreatedAt: past, ExpiresAt: past.Add(time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, key, secret, acc string
		code                   int
		want                   string
	}{
		{"open intent with that reference", key, secret, payer, 202, seedAllowed},
		{"no intent with that reference", key, secret, "01300000000", 403, refused},
		{"not a mobile number, no intent", key, secret, "ACC-1", 403, refused},
		{"intent on the nagad wallet", key, secret, nagadPayer, 403, refused},
		{"intent past its expiry", key, secret, expiredPayer, 403, refused},
		{"LIVE integration, SANDBOX intent", liveKey, liveSecret, payer, 403, refused},
		{"another merchant's integration", otherKey, otherSecret, payer, 403, refused},
		{"allowAnyAccount", anyKey, anySecret, "01300000000", 202, seedAllowed},
		{"allowAnyAccount still validates", anyKey, anySecret, "013000000001", 422,
			`{"code":422,"message":"please fix the given errors","type":"error","errors":{"acc_no":["acc_no must be at most 11 characters"]}}`},
	}
	for _, c := range cases {
		code, b := check(c.key, c.secret, c.acc)
		expect(t, c.name, code, b, c.code, c.want)
	}
}

func TestTxnAPIKafkaDownAnswers503AndTheRetryIsAccepted(t *testing.T) {
	f := newFixture(t, time.Second)
	m := f.txnOnboard(t)
	key, secret := f.txnIntegration(t, m.id, pipeline.Sandbox, true)
	body := fmt.Sprintf(`{"transaction_id":"K%s","amount":100,"from_account":"01711111111","to_account":%q}`, strings.ToUpper(randHex(5)), m.bkash)
	sig := txnSign(secret, body)

	f.Broker.Close()
	code, _, resp := f.do("POST", txnCompletePath, map[string]string{"API-Key": key, "X-Signature": sig}, body)
	var out map[string]any
	_ = json.Unmarshal(resp.Body(), &out)
	if code != 503 || string(resp.Header.Peek("Retry-After")) == "" || out["code"] != float64(503) || out["type"] != "error" || out["message"] == "" || len(out) != 3 {
		t.Fatalf("with kafka down: %d %s (Retry-After %q)", code, resp.Body(), resp.Header.Peek("Retry-After"))
	}
	b, err := bus.StartEmbedded(f.Addr, "", 2, f.Topics.All())
	if err != nil {
		t.Fatal(err)
	}
	f.Broker = b
	deadline := time.Now().Add(20 * time.Second)
	var got []byte
	for {
		code, got = f.txn(txnCompletePath, key, sig, body)
		if code != 503 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	expect(t, "retry after kafka came back", code, got, 202, seedAccepted)
	code, got = f.txn(txnCompletePath, key, sig, body)
	expect(t, "then a duplicate", code, got, 400, seedDuplicate)
}

func TestTxnAPIRedisDownAnswers503(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: ingesttest.FreeAddr(t), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	st := state.New(rdb, pipeline.Keys{})
	s, err := ingest.New(ingest.Config{Keys: pipeline.Keys{Prefix: "t" + randHex(4)}}, ingest.Deps{Redis: rdb, Pub: ingesttest.NopPublisher{}, State: st}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	txn, err := New(Deps{Auth: s, Trx: s, Pub: s, Intents: st})
	if err != nil {
		t.Fatal(err)
	}
	s.Mount(txn)
	f := &fixture{&ingesttest.Fixture{S: s}}
	code, _, resp := f.do("POST", txnCheckPath, map[string]string{"API-Key": "bkt_whatever_key", "X-Signature": "00"}, `{"acc_no":"01710000000"}`)
	sameJSON(t, "redis down", resp.Body(), `{"code":503,"message":"Service temporarily unavailable, retry later","type":"error"}`)
	if code != 503 || string(resp.Header.Peek("Retry-After")) == "" {
		t.Fatalf("redis down: %d %s", code, resp.Body())
	}
}

// TestTxnAPITransportErrors checks answers that the router or fasthttp give on these paths.
func TestTxnAPITransportErrors(t *testing.T) {
	f := newFixture(t, time.Second)
	code, _, resp := f.do("GET", txnCheckPath, nil, "")
	sameJSON(t, "GET check", resp.Body(), `{"code":405,"message":"Method GET is not allowed on `+txnCheckPath+`","type":"error"}`)
	if code != 405 {
		t.Errorf("GET check: %d", code)
	}
	code, _, resp = f.do("POST", "/api/external/v1/bkash/transactions/refund", nil, "{}")
	if out := resp.Body(); code != 404 || !strings.Contains(string(out), `"type":"error"`) {
		t.Errorf("unknown route: %d %s", code, out)
	}

	// An oversized body is refused from its Content-Length by fasthttp itself: serve on a socket.
	conn, err := net.Dial("tcp", f.Serve(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAPI-Key: k\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", txnCompletePath, 70000)
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 413 {
		t.Fatalf("oversized body: %d %s", r.StatusCode, b)
	}
	sameJSON(t, "oversized body", b, `{"code":413,"message":"Request body exceeds 65536 bytes","type":"error"}`)
}

// FuzzTxnAPI throws arbitrary bodies and X-Signature values at both routes; op's bit 0 picks the
// route and bit 1 replaces the signature with the right one, so that validation is reached. The
// answer is always a documented status in the seed's shape, never a panic and never a 5xx other
// than 503.
func FuzzTxnAPI(f *testing.F) {
	fx := newFixture(f, 2*time.Second)
	m := fx.txnOnboard(f)
	key, secret := fx.txnIntegration(f, m.id, pipeline.Sandbox, false)
	for _, s := range []string{
		`{ "acc_no": "01710000000" }`,
		`{ "transaction_id": "txn10001011011", "amount": 100, "from_account": "from_acount_number", "to_account": "to_acount_number", "reference": "reference", "transaction_datetime": 1764052011 }`,
		fmt.Sprintf(`{"transaction_id":"FZ1","amount":100,"from_account":"01711111111","to_account":%q}`, m.bkash),
		`{"amount":"100"}`, `{"amount":100.5}`, `{"amount":1e400}`, `{"a":1,"a":2}`, `[]`, `null`, `"x"`, ``, `{`,
		`{"acc_no":"\ud800"}`, `{"acc_no":"` + strings.Repeat("9", 40) + `"}`, `{"transaction_datetime":-1}`,
	} {
		f.Add(s, txnSign(secret, s), uint8(2))
		f.Add(s, txnSign(secret, s), uint8(3))
		f.Add(s, "", uint8(0))
		f.Add(s, base64.StdEncoding.EncodeToString(txnMAC(secret, s)), uint8(1))
	}
	f.Fuzz(func(t *testing.T, body, sig string, op uint8) {
		path := txnCheckPath
		if op&1 == 1 {
			path = txnCompletePath
		}
		if op&2 == 2 {
			sig = txnSign(secret, body)
		}
		code, _, resp := fx.do("POST", path, map[string]string{"API-Key": key, "X-Signature": sig}, body)
		raw := resp.Body()
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%d answer is not a JSON object: %q", code, raw)
		}
		msg, _ := out["message"].(string)
		switch {
		case code == 202 && path == txnCheckPath:
			sameJSON(t, "allowed", raw, seedAllowed)
		case code == 202:
			sameJSON(t, "accepted", raw, seedAccepted)
		case code == 401:
			sameJSON(t, "denied", raw, seedDenied)
		case code == 400:
			sameJSON(t, "duplicate", raw, seedDuplicate)
		case code == 403 && path == txnCheckPath:
			sameJSON(t, "refused", raw, refused)
		case code == 422:
			errs, ok := out["errors"].(map[string]any)
			if out["code"] != float64(422) || msg != "please fix the given errors" || out["type"] != "error" || !ok || len(errs) == 0 {
				t.Fatalf("422 not in the seed's shape: %s", raw)
			}
			for field, v := range errs {
				list, ok := v.([]any)
				if !ok || len(list) == 0 {
					t.Fatalf("422 errors.%s is not a list of messages: %s", field, raw)
				}
				for _, x := range list {
					if s, ok := x.(string); !ok || !strings.HasPrefix(s, field+" ") {
						t.Fatalf("422 errors.%s has message %v: %s", field, x, raw)
					}
				}
			}
		case code == 503:
			if out["code"] != float64(503) || out["type"] != "error" || msg == "" || string(resp.Header.Peek("Retry-After")) == "" {
				t.Fatalf("503 not in the seed's shape: %s", raw)
			}
		default:
			t.Fatalf("%s %q (sig %q): unexpected status %d %s", path, body, sig, code, raw)
		}
		fx.requireNoPanic(t, fmt.Sprintf("%s %q (sig %q)", path, body, sig))
	})
}
