package ingest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
)

// The route walk: every route of the route table, called by a caller who holds its credential
// with bad input, and by one who does not. The error shapes and statuses expected are written here
// from the seeds and the README, per route family, never asked of the code under test:
//
//	native (seed 004, the admin API, SMS, checkout JSON, bKash callback): {"statusCode","message","error"}
//	bdquickpay (seed 001): {"status": false, "message"} (+ "errors" on 422 "Validation error")
//	txnapi (seed 002): 401 {"message":"access denied","type":"error","code":401,"errors":"access denied"};
//	                   422 {"code":422,"message":"please fix the given errors","type":"error","errors":{…}};
//	                   else {"code","message","type":"error"}
//	sns (seed 003): {"code","message"}
type family string

const (
	famNative family = "native"
	famBQP    family = "bdquickpay"
	famTxn    family = "txnapi"
	famSNS    family = "sns"
	famHTML   family = "html" // the hosted checkout page
)

// Bad bodies every body-taking route gets, with their credential.
const (
	walkMalformed = `{"amount": [1, {"x": `
	// walkWrongTypes gives every field any route reads a value of the wrong JSON type.
	walkWrongTypes = `{"Message":1,"MessageId":1,"Type":1,"acc_no":1,"amount":{"x":1},"baseUrl":1,"cancel_url":1,` +
		`"currency":1,"customerReference":1,"customer_reference":1,"dialect":1,"environment":1,"event":1,"format":1,` +
		`"from":1,"from_account":1,"invoice_id":1,"name":1,"note":1,"operator":1,"payload":1,"paymentEventId":1,` +
		`"paymentIntentId":1,"reason":1,"senderMsisdn":1,"signingKey":1,"success_url":1,"text":1,"to_account":1,` +
		`"transaction_id":1,"trxId":1,"trx_id":1,"type":1,"url":1,"username":1,"wallet":1,"wallets":1}`
	walkNotObject = `[1,2,3]`
	walkMissing   = `{}`
	walkEmpty     = ``
)

// walkDeep nests 40 levels, beyond the 32 the README allows.
var walkDeep = `{"a":` + strings.Repeat("[", 39) + strings.Repeat("]", 39) + `}`

// walkRoute is one route of the table, filled in with real ids and credentials.
type walkRoute struct {
	method, pattern string
	fam             family
	path            string                              // concrete, with real ids
	auth            func(body string) map[string]string // its credential (nil: a public route)
	// Statuses for the bad bodies (body-taking routes; 0: the route takes no body): malformed,
	// wrong types, not an object, {} and empty.
	bodies [5]int
	// bad is bad input for routes without a body (or more of it): a path+query and its status.
	bad []walkBad
	// noauth is the status without a credential (default 401), and the path to use for it.
	noauth     int
	noauthPath string
}

type walkBad struct {
	path string
	want int
}

type walkEnv struct {
	f        *tokFixture
	admin    map[string]string
	merchant txnMerchant
	bqp      ingesttest.BDQuickPayMerchant
	txnKey   string
	txnSec   string
	snsQuery string
	snsApp   string
	snsCli   string
	tokens   map[string]string // format → device token
	gwKey    string
	intent   string // a PENDING native intent
	tokID    string // a PENDING bKash tokenized intent
	tokPID   string
	coIntent string // a PENDING intent for checkout claims
}

func newWalkEnv(t *testing.T) *walkEnv {
	f := newTokFixture(t)
	e := &walkEnv{f: f, admin: f.AdminHeaders(), tokens: map[string]string{}, gwKey: "walk-signing-key"}
	e.merchant = f.txnOnboard(t)
	e.bqp = f.onboardBQP(t)
	e.txnKey, e.txnSec = f.txnIntegration(t, e.merchant.id, pipeline.Sandbox, false)
	code, m, _ := f.do("POST", "/admin/v1/merchants/"+e.merchant.id+"/integrations", e.admin,
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q}}`, e.merchant.bkash))
	if code != 201 {
		t.Fatalf("SNS integration: %d %v", code, m)
	}
	e.snsQuery = prefixSNS + "?shunno_id=" + url.QueryEscape(m["shunnoId"].(string)) + "&client_app=SHUNNOIT"
	e.snsApp, e.snsCli = m["appSecret"].(string), m["clientSecret"].(string)
	for _, format := range smsFormats {
		key := ""
		if format == smsFormatSMSGateway {
			key = fmt.Sprintf(`,"signingKey":%q`, e.gwKey)
		}
		code, m, _ := f.do("POST", "/admin/v1/merchants/"+e.merchant.id+"/devices", e.admin, fmt.Sprintf(
			`{"name":"Walk phone","environment":"SANDBOX","format":%q,"wallets":{"1":{"provider":"bkash","account":%q}}%s}`, format, e.merchant.bkash, key))
		if code != 201 {
			t.Fatalf("device %s: %d %v", format, code, m)
		}
		e.tokens[format] = m["token"].(string)
	}
	newIntent := func(ref string) string {
		code, m, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": e.merchant.key},
			fmt.Sprintf(`{"amount":500,"currency":"BDT","customerReference":%q}`, ref))
		if code != 201 {
			t.Fatalf("intent: %d %v", code, m)
		}
		return m["id"].(string)
	}
	e.intent, e.coIntent = newIntent("WALK-1"), newIntent("WALK-2")
	e.tokID, e.tokPID = f.intent(t, 700)
	return e
}

// routes is the whole table. A route added to the server without a row here fails the walk.
func (e *walkEnv) routes() []walkRoute {
	const unknownUUID = "00000000-0000-4000-8000-000000000000"
	adm := func(string) map[string]string { return e.admin }
	key := func(string) map[string]string { return map[string]string{"X-Api-Key": e.merchant.key} }
	bqp := func(string) map[string]string { return e.bqp.Sandbox() }
	txn := func(body string) map[string]string {
		// The signature a sender computes: HMAC-SHA256 of the body's RFC 8785 form, or of its raw
		// bytes when it is not JSON JCS accepts (README, seed 002).
		return map[string]string{"API-Key": e.txnKey, "X-Signature": txnSign(e.txnSec, body)}
	}
	sns := func(string) map[string]string {
		return map[string]string{"x-app-secret": e.snsApp, "x-client-secret": e.snsCli}
	}
	none := func(string) map[string]string { return nil }
	gw := func(body string) map[string]string { return ingesttest.SMSSigned(e.gwKey, body, time.Now()) }
	mid := "/admin/v1/merchants/" + e.merchant.id
	all400 := [5]int{400, 400, 400, 400, 400}
	all422 := [5]int{422, 422, 422, 422, 422}
	rs := []walkRoute{
		{method: "POST", pattern: "/admin/v1/merchants", fam: famNative, auth: adm, bodies: all400},
		{method: "GET", pattern: "/admin/v1/merchants", fam: famNative, auth: adm, bad: []walkBad{{"?page=0", 400}, {"?limit=abc", 400}}},
		{method: "GET", pattern: "/admin/v1/merchants/{id}", fam: famNative, auth: adm, path: mid, bad: []walkBad{{"/admin/v1/merchants/mch_nope", 404}}},
		{method: "POST", pattern: "/admin/v1/merchants/{id}/keys/rotate", fam: famNative, auth: adm, path: mid + "/keys/rotate", bodies: all400},
		{method: "PUT", pattern: "/admin/v1/merchants/{id}/webhooks/{env}", fam: famNative, auth: adm, path: mid + "/webhooks/SANDBOX", bodies: all400,
			bad: []walkBad{{mid + "/webhooks/MARS", 400}}},
		{method: "POST", pattern: "/admin/v1/merchants/{id}/integrations", fam: famNative, auth: adm, path: mid + "/integrations", bodies: all400},
		{method: "GET", pattern: "/admin/v1/merchants/{id}/bkash", fam: famNative, auth: adm, path: mid + "/bkash", bad: []walkBad{{"/admin/v1/merchants/mch_nope/bkash", 404}}},
		{method: "PUT", pattern: "/admin/v1/merchants/{id}/bkash/{env}", fam: famNative, auth: adm, path: mid + "/bkash/SANDBOX", bodies: all400,
			bad: []walkBad{{mid + "/bkash/MARS", 400}}},
		{method: "DELETE", pattern: "/admin/v1/merchants/{id}/bkash/{env}", fam: famNative, auth: adm, path: mid + "/bkash/SANDBOX",
			bad: []walkBad{{mid + "/bkash/MARS", 400}, {"/admin/v1/merchants/mch_nope/bkash/LIVE", 404}}},
		{method: "POST", pattern: "/admin/v1/merchants/{id}/devices", fam: famNative, auth: adm, path: mid + "/devices", bodies: all400},
		{method: "GET", pattern: "/admin/v1/merchants/{id}/devices", fam: famNative, auth: adm, path: mid + "/devices", bad: []walkBad{{"/admin/v1/merchants/mch_nope/devices", 404}}},
		{method: "DELETE", pattern: "/admin/v1/devices/{id}", fam: famNative, auth: adm, path: "/admin/v1/devices/dev_nope", bad: []walkBad{{"/admin/v1/devices/dev_nope", 404}}},
		{method: "GET", pattern: "/admin/v1/merchants/{id}/sms", fam: famNative, auth: adm, path: mid + "/sms", bad: []walkBad{{mid + "/sms?filter=bogus", 400}, {mid + "/sms?env=MARS", 400}}},
		{method: "GET", pattern: "/admin/v1/merchants/{id}/review", fam: famNative, auth: adm, path: mid + "/review", bad: []walkBad{{mid + "/review?env=MARS", 400}, {mid + "/review?limit=-1", 400}}},
		{method: "GET", pattern: "/admin/v1/merchants/{id}/payments/unmatched", fam: famNative, auth: adm, path: mid + "/payments/unmatched", bad: []walkBad{{mid + "/payments/unmatched?page=x", 400}}},
		{method: "GET", pattern: "/admin/v1/merchants/{id}/balance-gaps", fam: famNative, auth: adm, path: mid + "/balance-gaps", bad: []walkBad{{mid + "/balance-gaps?env=MARS", 400}}},
		// approve and reject take an optional body: {} and no body are read fine, and the PENDING
		// intent is then refused for its status (409).
		{method: "POST", pattern: "/admin/v1/intents/{id}/approve", fam: famNative, auth: adm, path: "/admin/v1/intents/" + e.intent + "/approve", bodies: [5]int{400, 400, 400, 409, 409},
			bad: []walkBad{{"/admin/v1/intents/" + unknownUUID + "/approve", 404}}},
		{method: "POST", pattern: "/admin/v1/intents/{id}/reject", fam: famNative, auth: adm, path: "/admin/v1/intents/" + e.intent + "/reject", bodies: [5]int{400, 400, 400, 409, 409}},
		{method: "POST", pattern: "/admin/v1/intents/{id}/attach", fam: famNative, auth: adm, path: "/admin/v1/intents/" + e.intent + "/attach", bodies: all400},
		// refund's body is optional too; the tokenized intent is not paid: 409.
		{method: "POST", pattern: "/admin/v1/intents/{id}/refund", fam: famNative, auth: adm, path: "/admin/v1/intents/" + e.tokID + "/refund", bodies: [5]int{400, 400, 400, 409, 409},
			bad: []walkBad{{"/admin/v1/intents/nope/refund", 404}}},
		{method: "GET", pattern: "/admin/v1/webhooks/dead-letters", fam: famNative, auth: adm, bad: []walkBad{{"/admin/v1/webhooks/dead-letters?limit=abc", 400}}},
		{method: "POST", pattern: "/admin/v1/webhooks/{outcomeId}/redeliver", fam: famNative, auth: adm, path: "/admin/v1/webhooks/" + unknownUUID + "/redeliver",
			bad: []walkBad{{"/admin/v1/webhooks/nope/redeliver", 404}, {"/admin/v1/webhooks/" + unknownUUID + "/redeliver", 404}}},

		{method: "POST", pattern: "/v1/payments/intents", fam: famNative, auth: key, bodies: all400},
		{method: "GET", pattern: "/v1/payments/intents", fam: famNative, auth: key, bad: []walkBad{{"/v1/payments/intents?status=NOPE", 400}, {"/v1/payments/intents?limit=1000", 400}}},
		{method: "GET", pattern: "/v1/payments/intents/{id}", fam: famNative, auth: key, path: "/v1/payments/intents/" + e.intent, bad: []walkBad{{"/v1/payments/intents/" + unknownUUID, 404}}},
		{method: "POST", pattern: "/v1/sandbox/sms-events/simulate", fam: famNative, auth: key, bodies: all400},

		{method: "POST", pattern: prefixBDQuickPay + "payment/create", fam: famBQP, auth: bqp, bodies: all422},
		{method: "POST", pattern: prefixBDQuickPay + "payment/verify", fam: famBQP, auth: bqp, bodies: all422},
		{method: "POST", pattern: prefixBDQuickPay + "sandbox/simulate", fam: famBQP, auth: bqp, bodies: all422},

		{method: "POST", pattern: prefixTxnAPI + "transactions/check", fam: famTxn, auth: txn, bodies: all422},
		{method: "POST", pattern: prefixTxnAPI + "transactions/complete", fam: famTxn, auth: txn, bodies: all422},

		{method: "POST", pattern: prefixSNS, fam: famSNS, auth: sns, path: e.snsQuery, bodies: all400,
			noauthPath: e.snsQuery, bad: []walkBad{{prefixSNS + "?shunno_id=nope&client_app=SHUNNOIT", 404}}},

		{method: "POST", pattern: "/v1/sms/{token}", fam: famNative, auth: none, path: "/v1/sms/" + e.tokens[smsFormatNative], bodies: all400,
			noauthPath: "/v1/sms/" + e.tokens[smsFormatForwarder]}, // another format's token: refused as unknown
		{method: "POST", pattern: "/v1/sms/{token}/forwarder", fam: famNative, auth: none, path: "/v1/sms/" + e.tokens[smsFormatForwarder] + "/forwarder", bodies: all400,
			noauthPath: "/v1/sms/dvt_unknown/forwarder"},
		{method: "POST", pattern: "/v1/sms/{token}/smsgateway", fam: famNative, auth: gw, path: "/v1/sms/" + e.tokens[smsFormatSMSGateway] + "/smsgateway", bodies: all400,
			noauthPath: "/v1/sms/" + e.tokens[smsFormatSMSGateway] + "/smsgateway"}, // unsigned

		// Public routes: the id in the URL is the only credential.
		{method: "GET", pattern: "/v1/checkout/{id}", fam: famHTML, path: "/v1/checkout/" + e.coIntent, bad: []walkBad{{"/v1/checkout/" + unknownUUID, 404}}},
		{method: "GET", pattern: "/v1/checkout/{id}/status", fam: famNative, path: "/v1/checkout/" + e.coIntent + "/status", bad: []walkBad{{"/v1/checkout/" + unknownUUID + "/status", 404}}},
		{method: "POST", pattern: "/v1/checkout/{id}/claim", fam: famNative, path: "/v1/checkout/" + e.coIntent + "/claim", bodies: all400},
		{method: "GET", pattern: "/v1/bkash/callback/{id}", fam: famNative, path: "/v1/bkash/callback/" + e.tokID, bad: []walkBad{
			{"/v1/bkash/callback/" + e.tokID + "?status=success", 400},
			{"/v1/bkash/callback/" + e.tokID + "?paymentID=" + e.tokPID + "&status=maybe", 400},
			{"/v1/bkash/callback/" + e.tokID + "?paymentID=TR0011nope0000000&status=success", 404},
			{"/v1/bkash/callback/" + unknownUUID + "?paymentID=" + e.tokPID + "&status=success", 404},
		}},
		{method: "GET", pattern: "/openapi.json", fam: famNative}, // public and always 200 (openapi_test.go)
	}
	for i := range rs {
		if rs[i].path == "" {
			rs[i].path = rs[i].pattern
		}
	}
	return rs
}

// walkCall sends one request in memory and checks the answer: want's status, in fam's shape, and
// no handler panicked.
func (e *walkEnv) walkCall(t *testing.T, what string, fam family, method, path string, headers map[string]string, body string, want int) {
	t.Helper()
	code, _, resp := e.f.do(method, path, headers, body)
	e.f.requireNoPanic(t, what)
	if code != want {
		t.Errorf("%s: %d %s, want %d", what, code, clip(string(resp.Body()), 300), want)
		return
	}
	checkWalkShape(t, what, fam, code, resp.Body(), string(resp.Header.ContentType()))
}

// checkWalkShape asserts body is an error of code in the shape of fam, as the seeds write it.
func checkWalkShape(t *testing.T, what string, fam family, code int, raw []byte, contentType string) {
	t.Helper()
	if code < 400 || code >= 500 {
		t.Errorf("%s: status %d, want a 4xx", what, code)
		return
	}
	if fam == famHTML {
		if !strings.HasPrefix(contentType, "text/html") {
			t.Errorf("%s: %d as %q, want the HTML page", what, code, contentType)
		}
		return
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Errorf("%s: %d %q is not a JSON object", what, code, raw)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msg, _ := m["message"].(string)
	bad := msg == ""
	switch fam {
	case famNative:
		bad = bad || !reflect.DeepEqual(keys, []string{"error", "message", "statusCode"}) ||
			m["statusCode"] != float64(code) || m["error"] != http.StatusText(code)
	case famBQP:
		errs, hasErrs := m["errors"].(map[string]any)
		bad = bad || m["status"] != false
		if code == 422 && msg == "Validation error" {
			bad = bad || !hasErrs || len(errs) == 0 || len(keys) != 3
		} else {
			bad = bad || len(keys) != 2
		}
	case famTxn:
		switch code {
		case 401:
			bad = !reflect.DeepEqual(m, map[string]any{"message": "access denied", "type": "error", "code": float64(401), "errors": "access denied"})
		case 422:
			errs, _ := m["errors"].(map[string]any)
			bad = bad || msg != "please fix the given errors" || m["code"] != float64(422) || m["type"] != "error" || len(errs) == 0 || len(keys) != 4
		default:
			bad = bad || !reflect.DeepEqual(keys, []string{"code", "message", "type"}) || m["code"] != float64(code) || m["type"] != "error"
		}
	case famSNS:
		bad = bad || !reflect.DeepEqual(keys, []string{"code", "message"}) || m["code"] != float64(code)
	}
	if bad {
		t.Errorf("%s: %d %s is not in the %s error shape", what, code, raw, fam)
	}
}

// TestEveryRouteRefusesBadInputInItsShape walks the whole route table. With its credential (admin
// bearer, X-Api-Key, bdQuickPay's X-App-Key + X-Secret-Key, the transaction API's API-Key with a
// valid X-Signature over the very bytes sent, SNS's shunno_id/client_app + secrets, each SMS
// device's token on its own format's URL (signed for SMS Gateway), a real checkout or tokenized
// intent id), each body-taking route gets malformed JSON, wrong types, a non-object, {} , an
// empty body, JSON nested too deep and (on a socket) an oversized body; routes without a body get
// bad ids and query values. Every answer is the status written in the table, a 4xx in the route
// family's shape, and no handler panics. Without a credential every non-public route answers 401
// in its shape (SNS: 404 for an unknown shunno_id, as seed 003 orders it).
func TestEveryRouteRefusesBadInputInItsShape(t *testing.T) {
	e := newWalkEnv(t)
	rs := e.routes()
	table := map[string]walkRoute{}
	for _, r := range rs {
		table[r.method+" "+r.pattern] = r
	}
	for method, paths := range e.f.S.RouteList() {
		for _, p := range paths {
			if _, ok := table[method+" "+p]; !ok {
				t.Errorf("route %s %s has no row in the walk's table: add its credential and bad inputs", method, p)
			}
		}
	}

	addr := e.f.Serve(t)

	bodies := []struct{ name, body string }{
		{"malformed JSON", walkMalformed}, {"wrong types", walkWrongTypes}, {"not an object", walkNotObject},
		{"missing fields", walkMissing}, {"empty body", walkEmpty},
	}
	n := 0
	for _, r := range rs {
		if r.pattern == "/openapi.json" {
			continue
		}
		n++
		route := r.method + " " + r.pattern
		headers := func(body string) map[string]string {
			if r.auth == nil {
				return nil
			}
			return r.auth(body)
		}
		if r.bodies[0] != 0 {
			for i, b := range bodies {
				e.walkCall(t, route+" with "+b.name, r.fam, r.method, r.path, headers(b.body), b.body, r.bodies[i])
			}
			e.walkCall(t, route+" with JSON nested 40 deep", r.fam, r.method, r.path, headers(walkDeep), walkDeep, 400)
			e.walkOversized(t, route, r, addr, headers)
		}
		for _, b := range r.bad {
			path := b.path
			if strings.HasPrefix(path, "?") {
				path = r.path + path
			}
			e.walkCall(t, route+" as "+path, r.fam, r.method, path, headers(""), "", b.want)
		}
		if r.bodies[0] == 0 && len(r.bad) == 0 {
			t.Errorf("%s: the table gives it no bad input", route)
		}
		// Without a credential.
		if r.auth != nil || r.noauthPath != "" {
			path := r.path
			if r.noauthPath != "" {
				path = r.noauthPath
			}
			want := 401
			if r.noauth != 0 {
				want = r.noauth
			}
			e.walkCall(t, route+" without credential", r.fam, r.method, path, nil, walkMalformed, want)
		}
	}
	// The transaction API refuses a signature over other bytes; SNS an unknown integration first.
	for _, p := range []string{prefixTxnAPI + "transactions/check", prefixTxnAPI + "transactions/complete"} {
		e.walkCall(t, p+" signed over another body", famTxn, "POST", p,
			map[string]string{"API-Key": e.txnKey, "X-Signature": txnSign(e.txnSec, walkMissing)}, walkMalformed, 401)
	}
	e.walkCall(t, "SNS without shunno_id", famSNS, "POST", prefixSNS, nil, walkMalformed, 404)
	registered := 0
	for _, paths := range e.f.S.RouteList() {
		registered += len(paths)
	}
	if registered != len(table) || n != len(table)-1 { // openapi.json is public and always 200
		t.Fatalf("walked %d routes of a table of %d; the router has %d", n, len(table), registered)
	}
	t.Logf("walked %d routes", n)
}

// walkOversized sends r a Content-Length beyond the 64 KiB limit, with its credential, through a
// socket (fasthttp refuses it before any handler): 413 in the family's shape.
func (e *walkEnv) walkOversized(t *testing.T, route string, r walkRoute, addr string, headers func(string) map[string]string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var hdr strings.Builder
	for k, v := range headers(strings.Repeat(" ", 70000)) {
		fmt.Fprintf(&hdr, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n", r.method, r.path, hdr.String())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("%s oversized: %v", route, err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	e.f.requireNoPanic(t, route+" oversized")
	if resp.StatusCode != 413 {
		t.Errorf("%s oversized: %d %s, want 413", route, resp.StatusCode, b)
		return
	}
	checkWalkShape(t, route+" oversized", r.fam, resp.StatusCode, b, resp.Header.Get("Content-Type"))
}
