package ingest

// Helpers of the cross-surface tests for seed 003 (ingest/sns, mounted on the test servers by
// surfaces_test.go); the surface's own tests are in ingest/sns.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify"
	"github.com/paystream/paystream/pipeline/snsverify/snstest"
)

// snsFixture is the ingest fixture with one merchant and one SNS integration for its SANDBOX wallet.
type snsFixture struct {
	*fixture
	signer                         *snstest.Signer
	shunnoID, appSecret, clientKey string
	merchantID                     string
	wallet                         pipeline.Wallet
}

// newSNSFixture rebuilds the fixture's server with the signer's host trusted (and mod applied).
func newSNSFixture(t testing.TB, mod func(*Config)) *snsFixture {
	t.Helper()
	f := &snsFixture{fixture: newFixture(t, 2*time.Second), signer: snstest.NewSigner(t)}
	cfg := f.s.cfg
	if mod != nil {
		mod(&cfg)
	}
	f.s = newForTest(cfg, f.s.rdb, f.s.pub, f.s.state, prometheus.NewRegistry(), TestOptions{SNSExtraHosts: []string{f.signer.Host}})

	acct := fmt.Sprintf("017%08d", time.Now().UnixNano()%1e8)
	admin := map[string]string{"Authorization": "Bearer " + f.admin}
	code, m, _ := f.do("POST", "/admin/v1/merchants", admin,
		fmt.Sprintf(`{"name":"SNS shop","wallets":[{"provider":"bkash","account":%q,"environment":"SANDBOX"}]}`, acct))
	if code != 201 {
		t.Fatalf("onboarding: %d %v", code, m)
	}
	f.merchantID = m["id"].(string)
	code, m, _ = f.do("POST", "/admin/v1/merchants/"+f.merchantID+"/integrations", admin,
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q},"topicArn":%q}`, acct, snsTestTopic))
	if code != 201 {
		t.Fatalf("creating the SNS integration: %d %v", code, m)
	}
	f.shunnoID, f.appSecret, f.clientKey = m["shunnoId"].(string), m["appSecret"].(string), m["clientSecret"].(string)
	f.wallet = pipeline.Wallet{Provider: pipeline.BKash, Account: acct, Environment: pipeline.Sandbox}
	return f
}

func (f *snsFixture) url(app string) string {
	return prefixSNS + "?shunno_id=" + url.QueryEscape(f.shunnoID) + "&client_app=" + url.QueryEscape(app)
}

func (f *snsFixture) secrets() map[string]string {
	return map[string]string{"x-app-secret": f.appSecret, "x-client-secret": f.clientKey}
}

// post sends body with the integration's credentials.
func (f *snsFixture) post(body string) (int, map[string]any, *fasthttp.Response) {
	return f.do("POST", f.url("SHUNNOIT"), f.secrets(), body)
}

// events reads the inbound topic from its start until until matches an event (or fails the test
// after 15 s) and returns every event read, with the record key.
func (f *snsFixture) events(t testing.TB, until func(*pipeline.Event) bool) map[*pipeline.Event]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.addr), kgo.ConsumeTopics(f.topics.Inbound()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out := map[*pipeline.Event]string{}
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no matching event on %s within 15s (read %d)", f.topics.Inbound(), len(out))
		}
		found := false
		fs.EachRecord(func(r *kgo.Record) {
			ev, err := pipeline.DecodeEvent(r.Value)
			if err != nil {
				t.Errorf("undecodable event %s: %v", r.Value, err)
				return
			}
			out[ev] = string(r.Key)
			found = found || until(ev)
		})
		if found {
			return out
		}
	}
}

// seedMessage is the seed notification's Message with trx (and edits) applied.
func seedMessage(trx string, edits map[string]any) map[string]any {
	m := map[string]any{
		"dateTime": "20180419122246", "debitMSISDN": "8801700000001", "creditOrganizationName": "Org 01",
		"creditShortCode": "01929918***", "trxID": trx, "transactionStatus": "Completed", "transactionType": "1003",
		"amount": "100", "currency": "BDT", "transactionReference": "Test_Payment", "merchantInvoiceNumber": "orderId1233",
	}
	maps.Copy(m, edits)
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		}
	}
	return m
}

// notification builds a seed-shaped Notification body around msg: Message as the JSON object
// (seed style) or as a JSON string holding it (real SNS), signed with version ("1", "2") or unsigned ("").
func (f *snsFixture) notification(t testing.TB, msg map[string]any, asString bool, version string) string {
	t.Helper()
	text, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return f.envelope(t, &snsverify.Message{
		Type: "Notification", MessageID: "20d48143-6af4-571d-b7cb-" + randHex(6), Message: string(text),
		Timestamp: snsNow(), TopicArn: snsTestTopic,
	}, !asString, version)
}

// snsTestTopic is the topic of newSNSFixture's integration (seed 003's sample topic).
const snsTestTopic = "arn:aws:sns:ap-southeast-1:354285753755:bpt_01823072645"

// snsNow is now as an SNS Timestamp: a signed message must be fresh (snsMaxAge).
func snsNow() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// envelope renders m as an SNS delivery body (Message as raw JSON when rawMessage), signing it first
// unless version is "".
func (f *snsFixture) envelope(t testing.TB, m *snsverify.Message, rawMessage bool, version string) string {
	t.Helper()
	if version != "" {
		f.signer.Sign(t, m, version)
	}
	body := map[string]any{"Type": m.Type, "MessageId": m.MessageID, "TopicArn": m.TopicArn, "Timestamp": m.Timestamp, "Message": m.Message}
	if rawMessage {
		body["Message"] = json.RawMessage(m.Message)
	}
	for k, v := range map[string]string{
		"Token": m.Token, "SubscribeURL": m.SubscribeURL, "SignatureVersion": m.SignatureVersion,
		"Signature": m.Signature, "SigningCertURL": m.SigningCertURL,
	} {
		if v != "" {
			body[k] = v
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newTrx() string { return "T" + strings.ToUpper(randHex(5)) }

// prefixSNS is seed 003's path (ingest/sns.Prefix).
const prefixSNS = "/webhooks/notifications"
