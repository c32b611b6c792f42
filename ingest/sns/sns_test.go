package sns

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/snsverify"
	"github.com/paystream/paystream/pipeline/snsverify/snstest"
)

// Seed 003's samples, verbatim (their signatures are placeholders: "..." is not base64).
const (
	seedSNSConfirmation = `{
    "Type": "SubscriptionConfirmation",
    "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
    "Token": "2336412f37fb687f...",
    "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
    "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
    "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37fb687f...",
    "Timestamp": "2012-04-26T20:45:04.751Z",
    "SignatureVersion": "1",
    "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2...",
    "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
}`
	seedSNSNotification = `{
    "Type": "Notification",
    "MessageId": "20d48143-6af4-571d-b7cb-d211e6a2ac69",
    "TopicArn": "arn:aws:sns:ap-southeast-1:354285753755:bpt_01823072645",
    "Message": {
        "dateTime": "20180419122246",
        "debitMSISDN": "8801700000001",
        "creditOrganizationName": "Org 01",
        "creditShortCode": "01929918***",
        "trxID": "4J420ANOXC",
        "transactionStatus": "Completed",
        "transactionType": "1003",
        "amount": "100",
        "currency": "BDT",
        "transactionReference": "Test_Payment",
        "merchantInvoiceNumber": "orderId1233"
    },
    "Timestamp": "2018-04-19T12:22:46.236Z",
    "SignatureVersion": "1",
    "Signature": "jZBoouSuStaUqYZY+mruc3r3ST58CPkzjOu8i65dDIReWDcNAvPG...",
    "SigningCertURL": "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-ac565b8b1a6c5d002d285f9598aa1d9b.pem",
    "UnsubscribeURL": "https://sns.ap-southeast-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:ap-southeast-1:354285753755:bpt_01823072645:ddc1093b-2885-4179-ae8f-961577b564bd"
}`
)

// seedSNSTime is the seed notification's dateTime (20180419122246, Asia/Dhaka) in UTC.
var seedSNSTime = time.Date(2018, 4, 19, 6, 22, 46, 0, time.UTC)

// snsFixture is the ingest fixture with one merchant and one SNS integration for its SANDBOX wallet.
type snsFixture struct {
	*fixture
	sns                            ingesttest.SNS // the merchant and integration (ingesttest.OnboardSNS)
	signer                         *snstest.Signer
	shunnoID, appSecret, clientKey string
	merchantID                     string
	wallet                         pipeline.Wallet
}

// fixture is ingesttest's edge with this surface mounted.
type fixture struct{ *ingesttest.Fixture }

// snsConfig names Config where it is embedded beside ingest.Config.
type snsConfig = Config

// fixtureConfig is what newSNSFixture's mod may change: the edge's and the surface's settings.
type fixtureConfig struct {
	ingest.Config
	snsConfig
}

// mountSNS mounts the surface with cfg.
func mountSNS(cfg Config) ingesttest.Mount {
	return func(f *ingesttest.Fixture) []ingest.Surface {
		s, err := New(cfg, Deps{Auth: f.S, Trx: f.S, Pub: f.S, Topics: f.S})
		if err != nil {
			panic(err)
		}
		return []ingest.Surface{s}
	}
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	return &fixture{ingesttest.New(t, produceTimeout, mountSNS(Config{}))}
}

func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	return f.Do(method, path, headers, body)
}

func (f *fixture) requireNoPanic(t testing.TB, input string) { f.RequireNoPanic(t, input) }

func recordEvents(f *fixture) *ingesttest.Recorder { return f.Record() }

func randHex(n int) string { return ingesttest.RandHex(n) }

// newSNSFixture rebuilds the fixture's server with the signer's host trusted (and mod applied).
func newSNSFixture(t testing.TB, mod func(*fixtureConfig)) *snsFixture {
	t.Helper()
	f := &snsFixture{fixture: newFixture(t, 2*time.Second), signer: snstest.NewSigner(t)}
	fc := fixtureConfig{Config: f.Cfg, snsConfig: Config{ExtraHosts: []string{f.signer.Host}}}
	if mod != nil {
		mod(&fc)
	}
	f.Rebuild(func(c *ingest.Config) { *c = fc.Config }, mountSNS(fc.snsConfig))
	f.sns = f.OnboardSNS(t, f.signer)
	f.shunnoID, f.appSecret, f.clientKey = f.sns.ShunnoID, f.sns.AppSecret, f.sns.ClientKey
	f.merchantID, f.wallet = f.sns.MerchantID, f.sns.Wallet
	return f
}

func (f *snsFixture) url(app string) string { return f.sns.URL(app) }

func (f *snsFixture) secrets() map[string]string { return f.sns.Secrets() }

// post sends body with the integration's credentials.
func (f *snsFixture) post(body string) (int, map[string]any, *fasthttp.Response) {
	return f.do("POST", f.url("SHUNNOIT"), f.secrets(), body)
}

// events reads the inbound topic from its start until until matches an event (or fails the test
// after 15 s) and returns every event read, with the record key (ingesttest's Events).
func (f *snsFixture) events(t testing.TB, until func(*pipeline.Event) bool) map[*pipeline.Event]string {
	t.Helper()
	return f.Events(t, until)
}

// eventFor returns the payment.reported event of trx (waiting for it).
func (f *snsFixture) eventFor(t testing.TB, trx string) (*pipeline.Event, string) {
	t.Helper()
	is := func(ev *pipeline.Event) bool { return ev.Payment != nil && ev.Payment.TrxID == trx }
	for ev, key := range f.events(t, is) {
		if is(ev) {
			return ev, key
		}
	}
	panic("unreachable")
}

// seedMessage is the seed notification's Message with trx (and edits) applied.
func seedMessage(trx string, edits map[string]any) map[string]any {
	return ingesttest.SNSMessage(trx, edits)
}

// notification builds a seed-shaped Notification body around msg: Message as the JSON object
// (seed style) or as a JSON string holding it (real SNS), signed with version ("1", "2") or unsigned ("").
func (f *snsFixture) notification(t testing.TB, msg map[string]any, asString bool, version string) string {
	t.Helper()
	return f.sns.Notification(t, msg, asString, version)
}

// snsTestTopic is the topic of newSNSFixture's integration (seed 003's sample topic).
const snsTestTopic = ingesttest.SNSTopic

// snsNow is now as an SNS Timestamp: a signed message must be fresh (snsMaxAge).
func snsNow() string { return ingesttest.SNSNow() }

// envelope renders m as an SNS delivery body (Message as raw JSON when rawMessage), signing it first
// unless version is "".
func (f *snsFixture) envelope(t testing.TB, m *snsverify.Message, rawMessage bool, version string) string {
	t.Helper()
	return f.sns.Envelope(t, m, rawMessage, version)
}

func newTrx() string { return "T" + strings.ToUpper(randHex(5)) }

// wantOK checks a 200 in seed 003's success shape.
func wantOK(t testing.TB, what string, code int, m map[string]any, msg string) {
	t.Helper()
	if code != 200 || m["status"] != float64(200) || m["message"] != msg || len(m) != 2 {
		t.Fatalf("%s: got %d %v, want 200 %q", what, code, m, msg)
	}
}

// wantErr checks an error in seed 003's shape; msg "" accepts any non-empty message, a msg ending
// in "*" any message with that prefix.
func wantErr(t testing.TB, what string, code int, m map[string]any, status int, msg string) {
	t.Helper()
	got, _ := m["message"].(string)
	ok := code == status && m["code"] == float64(status) && got != "" && len(m) == 2
	switch {
	case strings.HasSuffix(msg, "*"):
		ok = ok && strings.HasPrefix(got, strings.TrimSuffix(msg, "*"))
	case msg != "":
		ok = ok && got == msg
	}
	if !ok {
		t.Fatalf("%s: got %d %v, want %d {code, message %q}", what, code, m, status, msg)
	}
}

// stripSignature removes the seed sample's placeholder signature, as a relay that does not pass
// SNS's signature on sends it.
func stripSignature(t testing.TB, body string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "Signature")
	delete(m, "SigningCertURL")
	delete(m, "SignatureVersion")
	b, _ := json.Marshal(m)
	return string(b)
}

func TestSNSNotificationProducesPayment(t *testing.T) {
	f := newSNSFixture(t, nil)
	trx := newTrx()
	seed := stripSignature(t, strings.Replace(seedSNSNotification, "4J420ANOXC", trx, 1))
	code, m, _ := f.post(seed)
	wantOK(t, "seed notification (object Message)", code, m, "Notification processed.")
	ev, key := f.eventFor(t, trx)
	if key != f.wallet.Key() || ev.Kind != pipeline.KindPaymentReported || ev.Source != pipeline.SourceSNS ||
		ev.Wallet != f.wallet || ev.MerchantID != f.merchantID || ev.Environment != pipeline.Sandbox || ev.ID == "" || ev.AcceptedAt.IsZero() {
		t.Fatalf("event: key %q %+v", key, ev)
	}
	want := pipeline.Payment{Provider: pipeline.BKash, TrxID: trx, Amount: pipeline.BDT(100), Sender: "01700000001", Reference: "orderId1233", OccurredAt: seedSNSTime}
	if *ev.Payment != want {
		t.Fatalf("payment %+v, want %+v", *ev.Payment, want)
	}
	if !json.Valid(ev.Raw) || !strings.Contains(string(ev.Raw), trx) {
		t.Fatalf("raw payload: %s", ev.Raw)
	}

	t.Run("Message as a JSON string, as real SNS sends it", func(t *testing.T) {
		trx := newTrx()
		code, m, _ := f.post(f.notification(t, seedMessage(trx, map[string]any{"amount": "100.50"}), true, ""))
		wantOK(t, "string Message", code, m, "Notification processed.")
		ev, _ := f.eventFor(t, trx)
		if ev.Payment.Amount != 10050 || ev.Payment.Reference != "orderId1233" || !ev.Payment.OccurredAt.Equal(seedSNSTime) {
			t.Fatalf("payment %+v", *ev.Payment)
		}
	})

	t.Run("reference falls back to transactionReference; optional fields", func(t *testing.T) {
		trx := newTrx()
		msg := seedMessage(trx, map[string]any{"merchantInvoiceNumber": "", "dateTime": nil, "currency": nil, "debitMSISDN": "01700***01", "amount": 250})
		code, m, _ := f.post(f.notification(t, msg, false, ""))
		wantOK(t, "fallback", code, m, "Notification processed.")
		ev, _ := f.eventFor(t, trx)
		if p := ev.Payment; p.Reference != "Test_Payment" || !p.OccurredAt.IsZero() || p.Sender != "" || p.Amount != pipeline.BDT(250) {
			t.Fatalf("payment %+v", *p)
		}
	})

	t.Run("duplicate TrxID is 409, whatever the form", func(t *testing.T) {
		code, m, _ := f.post(seed)
		wantErr(t, "same body again", code, m, 409, "Duplicate payment")
		code, m, _ = f.post(f.notification(t, seedMessage(strings.ToLower(trx), map[string]any{"amount": "5"}), true, ""))
		wantErr(t, "same TrxID, other amount, lower case, string Message", code, m, 409, "Duplicate payment")
	})

	t.Run("a transaction that is not Completed is acknowledged and produces nothing", func(t *testing.T) {
		failed := newTrx()
		code, m, _ := f.post(f.notification(t, seedMessage(failed, map[string]any{"transactionStatus": "Failed", "amount": nil}), false, ""))
		wantOK(t, "Failed", code, m, "Notification processed.")
		marker := newTrx()
		code, m, _ = f.post(f.notification(t, seedMessage(marker, nil), false, ""))
		wantOK(t, "marker", code, m, "Notification processed.")
		// Same wallet, same partition: everything before the marker has been read.
		for ev := range f.events(t, func(ev *pipeline.Event) bool { return ev.Payment.TrxID == marker }) {
			if ev.Payment.TrxID == failed {
				t.Fatalf("a Failed transaction produced %+v", ev)
			}
		}
		// Its TrxID was not claimed: a later Completed report of it is a payment.
		code, m, _ = f.post(f.notification(t, seedMessage(failed, nil), false, ""))
		wantOK(t, "Completed after Failed", code, m, "Notification processed.")
	})

	t.Run("the seed sample verbatim carries a placeholder signature: refused", func(t *testing.T) {
		code, m, _ := f.post(strings.Replace(seedSNSNotification, "4J420ANOXC", newTrx(), 1))
		wantErr(t, "placeholder signature", code, m, 401, "Invalid SNS signature")
	})
}

func TestSNSAuthentication(t *testing.T) {
	f := newSNSFixture(t, nil)
	body := f.notification(t, seedMessage(newTrx(), nil), false, "")
	other := newSNSFixture(t, nil) // another integration's secrets
	cases := []struct {
		name    string
		path    string
		headers map[string]string
		body    string
		status  int
		msg     string
	}{
		{"no secrets", f.url("SHUNNOIT"), nil, body, 401, "Invalid app or client secret"},
		{"wrong app secret", f.url("SHUNNOIT"), map[string]string{"x-app-secret": f.appSecret + "x", "x-client-secret": f.clientKey}, body, 401, "Invalid app or client secret"},
		{"wrong client secret", f.url("SHUNNOIT"), map[string]string{"x-app-secret": f.appSecret, "x-client-secret": "nope"}, body, 401, "Invalid app or client secret"},
		{"secrets swapped", f.url("SHUNNOIT"), map[string]string{"x-app-secret": f.clientKey, "x-client-secret": f.appSecret}, body, 401, "Invalid app or client secret"},
		{"another integration's secrets", f.url("SHUNNOIT"), other.secrets(), body, 401, "Invalid app or client secret"},
		{"wrong secrets, malformed body: the body is not read", f.url("SHUNNOIT"), nil, `{"Type":`, 401, "Invalid app or client secret"},
		{"unknown shunno_id", Prefix + "?shunno_id=99999999&client_app=SHUNNOIT", f.secrets(), body, 404, "Not Found"},
		{"unknown shunno_id, wrong secrets", Prefix + "?shunno_id=99999999&client_app=SHUNNOIT", nil, body, 404, "Not Found"},
		{"no shunno_id", Prefix + "?client_app=SHUNNOIT", f.secrets(), body, 404, "Not Found"},
		{"client_app in lower case", f.url("shunnoit"), f.secrets(), body, 404, "Not Found"},
		{"unknown client_app", f.url("PAYPAL"), f.secrets(), body, 404, "Not Found"},
		{"no client_app", Prefix + "?shunno_id=" + f.shunnoID, f.secrets(), body, 404, "Not Found"},
		{"unknown client_app, unknown id", Prefix + "?shunno_id=99999999&client_app=X", nil, body, 404, "Not Found"},
		{"GET", f.url("SHUNNOIT"), f.secrets(), "", 405, ""},
	}
	for _, c := range cases {
		method := "POST"
		if c.name == "GET" {
			method = "GET"
		}
		code, m, _ := f.do(method, c.path, c.headers, c.body)
		wantErr(t, c.name, code, m, c.status, c.msg)
	}
	for app := range snsClientApps {
		code, m, _ := f.do("POST", f.url(app), f.secrets(), `{"Type":"Ping"}`)
		wantOK(t, "client_app "+app, code, m, "Message type ignored.")
	}
}

func TestSNSSubscriptionConfirmation(t *testing.T) {
	// gone is trusted and closed just before it is dialled, after every other server of the test
	// has started, so none of them can be given its port.
	var hits atomic.Int32
	counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(counter.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	goneHost := strings.TrimPrefix(gone.URL, "http://")
	f := newSNSFixture(t, func(c *fixtureConfig) { c.ExtraHosts = append(c.ExtraHosts, goneHost) })
	topic := snsTestTopic
	confirmation := func(subscribeURL string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(stripSignature(t, seedSNSConfirmation)), &m)
		m["SubscribeURL"] = subscribeURL
		b, _ := json.Marshal(m)
		return string(b)
	}

	code, m, _ := f.post(confirmation(f.signer.SubscribeURL(topic, "2336412f37fb687f", false)))
	wantOK(t, "seed confirmation", code, m, "Subscription Confirmed")
	if n := f.signer.Confirmations(); n != 1 {
		t.Fatalf("SubscribeURL fetched %d times, want 1", n)
	}

	signed := f.envelope(t, &snsverify.Message{
		Type: "SubscriptionConfirmation", MessageID: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", Token: "2336412f37fb687f",
		TopicArn: topic, Message: "You have chosen to subscribe to the topic " + topic + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: f.signer.SubscribeURL(topic, "2336412f37fb687f", false), Timestamp: snsNow(),
	}, false, "2")
	code, m, _ = f.post(signed)
	wantOK(t, "signed confirmation", code, m, "Subscription Confirmed")
	if n := f.signer.Confirmations(); n != 2 {
		t.Fatalf("SubscribeURL fetched %d times, want 2", n)
	}

	// Foreign hosts are refused and never fetched.
	for _, u := range []string{
		"https://evil.example.com/?Action=ConfirmSubscription&TopicArn=" + topic + "&Token=x",
		counter.URL + "/?Action=ConfirmSubscription&Token=x",
		"https://sns.us-west-2.amazonaws.com.evil.example/?Action=ConfirmSubscription&Token=x",
		"http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=x",
		"https://sns.us-west-2.amazonaws.com:8443/?Action=ConfirmSubscription&Token=x",
		"https://user@sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=x",
		"file:///etc/passwd",
		f.signer.Server.URL + "/?Action=Unsubscribe&Token=x",
	} {
		code, m, _ := f.post(confirmation(u))
		wantErr(t, "SubscribeURL "+u, code, m, 400, "SubscribeURL refused, not fetched: *")
	}
	if hits.Load() != 0 || f.signer.Confirmations() != 2 {
		t.Fatalf("a refused SubscribeURL was fetched (%d, %d)", hits.Load(), f.signer.Confirmations())
	}

	code, m, _ = f.post(confirmation(f.signer.SubscribeURL(topic, "expired", true)))
	wantErr(t, "SNS refuses the token", code, m, 400, "Could not confirm subscription: *")
	gone.Close() // trusted, but nothing listens there any more
	code, m, resp := f.post(confirmation("http://" + goneHost + "/?Action=ConfirmSubscription&Token=x"))
	wantErr(t, "SNS unreachable", code, m, 503, "Could not confirm subscription: *")
	if string(resp.Header.Peek("Retry-After")) == "" {
		t.Fatal("503 without Retry-After")
	}
	code, m, _ = f.post(`{"Type":"SubscriptionConfirmation","MessageId":"x","Message":"hi"}`)
	wantErr(t, "no SubscribeURL", code, m, 400, "SubscribeURL is required")
	code, m, _ = f.post(`{"Type":"UnsubscribeConfirmation","MessageId":"x","Message":"bye","SubscribeURL":"https://evil.example.com/"}`)
	wantOK(t, "unsubscribe confirmation", code, m, "Unsubscribe confirmation received.")
	if f.signer.Confirmations() != 3 || hits.Load() != 0 {
		t.Fatalf("fetches: signer %d, counter %d", f.signer.Confirmations(), hits.Load())
	}
}

func TestSNSSignature(t *testing.T) {
	f := newSNSFixture(t, nil)

	t.Run("v1 and v2, object and string Message, certificate cached", func(t *testing.T) {
		for _, c := range []struct {
			version  string
			asString bool
		}{{"1", false}, {"1", true}, {"2", false}, {"2", true}} {
			trx := newTrx()
			code, m, _ := f.post(f.notification(t, seedMessage(trx, nil), c.asString, c.version))
			wantOK(t, fmt.Sprintf("v%s string=%v", c.version, c.asString), code, m, "Notification processed.")
			f.eventFor(t, trx)
		}
		if n := f.signer.CertFetches(); n != 1 {
			t.Fatalf("certificate fetched %d times, want 1", n)
		}
	})

	t.Run("an object Message verifies as the exact text sent", func(t *testing.T) {
		trx := newTrx()
		text := `{ "trxID": "` + trx + `", "transactionStatus": "Completed", "amount": "100" }`
		sm := &snsverify.Message{Type: "Notification", MessageID: "m-" + trx, Message: text, Timestamp: snsNow(), TopicArn: snsTestTopic}
		f.signer.Sign(t, sm, "2")
		body := fmt.Sprintf(`{"Type":"Notification","MessageId":%q,"Message":%s,"Timestamp":%q,"TopicArn":%q,"SignatureVersion":"2","Signature":%q,"SigningCertURL":%q}`,
			sm.MessageID, text, sm.Timestamp, sm.TopicArn, sm.Signature, sm.SigningCertURL)
		reformatted := strings.Replace(body, `"Message":{ "trxID"`, `"Message":{"trxID"`, 1)
		code, m, _ := f.post(reformatted)
		wantErr(t, "same object, other whitespace", code, m, 401, "Invalid SNS signature")
		code, m, _ = f.post(body)
		wantOK(t, "exact text", code, m, "Notification processed.")
	})

	t.Run("tampered, foreign or unusable signatures are 401 and claim nothing", func(t *testing.T) {
		trx := newTrx()
		good := f.notification(t, seedMessage(trx, nil), false, "1")
		cases := []struct{ name, body, msg string }{
			{"amount changed", strings.Replace(good, `"amount":"100"`, `"amount":"900"`, 1), "Invalid SNS signature"},
			{"TopicArn changed", strings.Replace(good, "bpt_01823072645", "bpt_01800000000", 1), "Invalid SNS signature"},
			{"Subject added", strings.Replace(good, `"Type":`, `"Subject":"x","Type":`, 1), "Invalid SNS signature"},
			{"version 2 claimed", strings.Replace(good, `"SignatureVersion":"1"`, `"SignatureVersion":"2"`, 1), "Invalid SNS signature"},
			{"version 3", strings.Replace(good, `"SignatureVersion":"1"`, `"SignatureVersion":"3"`, 1), "Invalid SNS signature: the SignatureVersion must be 1 or 2"},
			{"certificate on a foreign host", strings.Replace(good, f.signer.CertURL, "https://evil.example.com/cert.pem", 1), "Invalid SNS signature: the URL is not an SNS endpoint*"},
			{"certificate URL not a .pem", strings.Replace(good, f.signer.CertURL, f.signer.Server.URL+"/cert", 1), "Invalid SNS signature: the URL is not an SNS endpoint*"},
			{"certificate missing", strings.Replace(good, f.signer.CertURL, f.signer.Server.URL+"/missing.pem", 1), "Invalid SNS signature: the signing certificate could not be used"},
			{"signature without certificate", strings.Replace(good, `"SigningCertURL"`, `"X"`, 1), "Invalid SNS signature: the message is not signed*"},
		}
		for _, c := range cases {
			if c.body == good {
				t.Fatalf("%s: the edit did not apply", c.name)
			}
			code, m, _ := f.post(c.body)
			wantErr(t, c.name, code, m, 401, c.msg)
		}
		code, m, _ := f.post(good)
		wantOK(t, "the untampered message after the refusals", code, m, "Notification processed.")
	})

	t.Run("required signature", func(t *testing.T) {
		strict := newSNSFixture(t, func(c *fixtureConfig) { c.RequireSignature = true })
		code, m, _ := strict.post(strict.notification(t, seedMessage(newTrx(), nil), false, ""))
		wantErr(t, "unsigned", code, m, 401, "Invalid SNS signature: the message is not signed*")
		code, m, _ = strict.post(`{"Type":"SubscriptionConfirmation","Message":"x","SubscribeURL":"` + strict.signer.SubscribeURL("arn", "t", false) + `"}`)
		wantErr(t, "unsigned confirmation", code, m, 401, "Invalid SNS signature: the message is not signed*")
		if strict.signer.Confirmations() != 0 {
			t.Fatal("an unsigned confirmation was fetched")
		}
		code, m, _ = strict.post(strict.notification(t, seedMessage(newTrx(), nil), true, "2"))
		wantOK(t, "signed", code, m, "Notification processed.")
	})
}

func TestSNSBadInput(t *testing.T) {
	f := newSNSFixture(t, nil)
	note := func(edits map[string]any) string { return f.notification(t, seedMessage(newTrx(), edits), false, "") }
	cases := []struct{ name, body, msg string }{
		{"empty body", ``, "Request body must be a JSON object"},
		{"malformed JSON", `{"Type":"Notification",`, "Malformed JSON*"},
		{"trailing garbage", `{"Type":"Ping"} x`, "Malformed JSON*"},
		{"array", `[1]`, "Request body must be a JSON object"},
		{"string", `"Notification"`, "Request body must be a JSON object"},
		{"null", `null`, "Type is required"},
		{"no Type", `{"Message":{}}`, "Type is required"},
		{"Type wrong type", `{"Type":1}`, "Type must be a string"},
		{"Signature wrong type", `{"Type":"Notification","Signature":[]}`, "Signature must be a string"},
		{"no Message", `{"Type":"Notification","MessageId":"x"}`, "Message is required"},
		{"null Message", `{"Type":"Notification","Message":null}`, "Message is required"},
		{"Message number", `{"Type":"Notification","Message":5}`, "Message must be a JSON object or a string"},
		{"Message array", `{"Type":"Notification","Message":[{}]}`, "Message must be a JSON object or a string"},
		{"Message string, not JSON", `{"Type":"Notification","Message":"paid 100"}`, "Message must be a JSON object, or a string holding one"},
		{"Message string holding an array", `{"Type":"Notification","Message":"[1]"}`, "Message must be a JSON object, or a string holding one"},
		{"no transactionStatus", note(map[string]any{"transactionStatus": nil}), "Message.transactionStatus is required"},
		{"transactionStatus wrong type", note(map[string]any{"transactionStatus": true}), "Message.transactionStatus must be a string"},
		{"no trxID", note(map[string]any{"trxID": nil}), "Message.trxID is required"},
		{"trxID wrong type", note(map[string]any{"trxID": 12345678}), "Message.trxID must be a string"},
		{"trxID malformed", note(map[string]any{"trxID": "<script>"}), "Message.trxID must be 6 to 32 letters and digits"},
		{"no amount", note(map[string]any{"amount": nil}), "Message.amount is required"},
		{"amount words", note(map[string]any{"amount": "lots"}), "Message.amount must be a positive amount*"},
		{"amount zero", note(map[string]any{"amount": "0"}), "Message.amount must be a positive amount*"},
		{"amount three decimals", note(map[string]any{"amount": "1.005"}), "Message.amount must be a positive amount*"},
		{"amount negative", note(map[string]any{"amount": -5}), "Message.amount must be a string*"},
		{"amount object", note(map[string]any{"amount": map[string]any{}}), "Message.amount must be a string*"},
		{"currency", note(map[string]any{"currency": "USD"}), "Message.currency must be BDT"},
		{"dateTime", note(map[string]any{"dateTime": "2018-04-19 12:22:46"}), "Message.dateTime must be yyyyMMddHHmmss*"},
		{"dateTime wrong type", note(map[string]any{"dateTime": 20180419122246}), "Message.dateTime must be a string"},
		{"reference too long", note(map[string]any{"merchantInvoiceNumber": strings.Repeat("x", 101)}), "Message.merchantInvoiceNumber must be at most 100 printable characters"},
		{"reference not printable", note(map[string]any{"merchantInvoiceNumber": "", "transactionReference": "a\x00b"}), "Message.transactionReference must be at most 100 printable characters"},
		{"Message string holding a bad field", f.notification(t, seedMessage(newTrx(), map[string]any{"amount": false}), true, ""), "Message.amount must be a string*"},
	}
	for _, c := range cases {
		code, m, _ := f.post(c.body)
		wantErr(t, c.name, code, m, 400, c.msg)
	}
	for _, c := range []struct{ name, body, msg string }{
		{"unknown Type", `{"Type":"SomethingNew","Message":5}`, "Message type ignored."},
		{"UnsubscribeConfirmation", `{"Type":"UnsubscribeConfirmation","Message":"bye"}`, "Unsubscribe confirmation received."},
	} {
		code, m, _ := f.post(c.body)
		wantOK(t, c.name, code, m, c.msg)
	}
}

func TestSNSOversizedBodyIs413InSeedShape(t *testing.T) {
	f := newSNSFixture(t, func(c *fixtureConfig) { c.Addr = ingesttest.FreeAddr(t); c.MaxBodyBytes = 1024 })
	addr, err := f.S.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.S.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nx-app-secret: %s\r\nx-client-secret: %s\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n",
		f.url("SHUNNOIT"), f.appSecret, f.clientKey)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	wantErr(t, "oversized body", resp.StatusCode, m, 413, "Request body exceeds 1024 bytes")
}

func TestSNSKafkaDownIs503AndTheRetryIsAccepted(t *testing.T) {
	f := newSNSFixture(t, nil)
	body := f.notification(t, seedMessage(newTrx(), nil), true, "")
	f.Broker.Close()
	code, m, resp := f.post(body)
	wantErr(t, "kafka down", code, m, 503, "")
	if string(resp.Header.Peek("Retry-After")) == "" {
		t.Fatal("503 without Retry-After")
	}
	b, err := bus.StartEmbedded(f.Addr, "", 2, f.Topics.All())
	if err != nil {
		t.Fatal(err)
	}
	f.Broker = b
	deadline := time.Now().Add(20 * time.Second)
	for code == 503 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		code, m, _ = f.post(body)
	}
	wantOK(t, "retry after kafka came back (not a duplicate)", code, m, "Notification processed.")
}

// FuzzSNSNotification throws arbitrary bodies, secrets and query strings at the route: the answer
// is always a documented status in seed 003's shapes, never a panic and never a 5xx other than 503.
func FuzzSNSNotification(f *testing.F) {
	fx := newSNSFixture(f, nil)
	good := fx.notification(f, seedMessage("FUZZ0001", nil), false, "")
	q := fx.url("SHUNNOIT")[len(Prefix)+1:]
	for _, s := range []struct{ body, app, client, query string }{
		{good, fx.appSecret, fx.clientKey, q},
		{fx.notification(f, seedMessage("FUZZ0002", nil), true, "1"), fx.appSecret, fx.clientKey, q},
		{seedSNSNotification, fx.appSecret, fx.clientKey, q},
		{stripSignature(f, seedSNSNotification), fx.appSecret, fx.clientKey, q},
		{strings.Replace(stripSignature(f, seedSNSConfirmation), "sns.us-west-2.amazonaws.com", "evil.example.com", 1), fx.appSecret, fx.clientKey, q},
		{good, "x", fx.clientKey, q},
		{good, fx.appSecret, fx.clientKey, "shunno_id=1&client_app=NETFEE"},
		{good, fx.appSecret, fx.clientKey, "client_app=SHUNNOIT&shunno_id=" + fx.shunnoID + "&shunno_id=2"},
		{`{"Type":"Notification","Message":"{\"trxID\":\"ABCDEF12\",\"amount\":\"1e3\",\"transactionStatus\":\"Completed\"}"}`, fx.appSecret, fx.clientKey, q},
		{`{"Type":"Notification","Message":{"trxID":null,"amount":[],"transactionStatus":"Completed"}}`, fx.appSecret, fx.clientKey, q},
		{`{"Type":"UnsubscribeConfirmation"}`, fx.appSecret, fx.clientKey, q},
		{`{"Type":"Notification","Signature":"AAAA","SigningCertURL":"https://evil.example.com/x.pem","SignatureVersion":"2","Message":{}}`, fx.appSecret, fx.clientKey, q},
		{"", "", "", ""},
	} {
		f.Add(s.body, s.app, s.client, s.query)
	}
	f.Fuzz(func(t *testing.T, body, app, client, query string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' || r >= 0x80 }) {
			t.Skip("not a query a client can send in a request line")
		}
		code, m, _ := fx.do("POST", Prefix+"?"+query, map[string]string{"x-app-secret": app, "x-client-secret": client}, body)
		switch code {
		case 200:
			if m["status"] != float64(200) || m["message"] == "" {
				t.Fatalf("200 not in the seed's shape: %v", m)
			}
		case 400, 401, 404, 409, 503:
			if m["code"] != float64(code) || m["message"] == "" {
				t.Fatalf("%d not in the seed's error shape: %v", code, m)
			}
		default:
			t.Fatalf("body %q query %q: unexpected status %d %v", body, query, code, m)
		}
		fx.requireNoPanic(t, fmt.Sprintf("body %q query %q", body, query))
	})
}
