package ingesttest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify"
	"github.com/paystream/paystream/pipeline/snsverify/snstest"
)

// Helpers of seed 003's SNS notifications (ingest/sns) that the surface's tests and the
// cross-surface tests share.

// SNSPath is seed 003's path (ingest/sns.Prefix).
const SNSPath = "/webhooks/notifications"

// SNSTopic is the topic of OnboardSNS's integration (seed 003's sample topic).
const SNSTopic = "arn:aws:sns:ap-southeast-1:354285753755:bpt_01823072645"

// SNS is a merchant with one SANDBOX bKash wallet and an SNS integration for it (topic SNSTopic),
// as OnboardSNS created it, with the signer of its messages.
type SNS struct {
	Signer                         *snstest.Signer
	ShunnoID, AppSecret, ClientKey string
	MerchantID                     string
	Wallet                         pipeline.Wallet
}

// OnboardSNS onboards a merchant with one SANDBOX bKash wallet and creates its SNS integration
// through the admin API. The edge must trust signer's host (sns.Config.ExtraHosts) for signed
// messages to verify.
func (f *Fixture) OnboardSNS(t testing.TB, signer *snstest.Signer) SNS {
	t.Helper()
	acct := fmt.Sprintf("017%08d", time.Now().UnixNano()%1e8)
	code, m, _ := f.Do("POST", "/admin/v1/merchants", f.AdminHeaders(),
		fmt.Sprintf(`{"name":"SNS shop","wallets":[{"provider":"bkash","account":%q,"environment":"SANDBOX"}]}`, acct))
	if code != 201 {
		t.Fatalf("onboarding: %d %v", code, m)
	}
	s := SNS{Signer: signer, MerchantID: m["id"].(string)}
	code, m, _ = f.Do("POST", "/admin/v1/merchants/"+s.MerchantID+"/integrations", f.AdminHeaders(),
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q},"topicArn":%q}`, acct, SNSTopic))
	if code != 201 {
		t.Fatalf("creating the SNS integration: %d %v", code, m)
	}
	s.ShunnoID, s.AppSecret, s.ClientKey = m["shunnoId"].(string), m["appSecret"].(string), m["clientSecret"].(string)
	s.Wallet = pipeline.Wallet{Provider: pipeline.BKash, Account: acct, Environment: pipeline.Sandbox}
	return s
}

// URL is the integration's notification URL with client_app app.
func (s SNS) URL(app string) string {
	return SNSPath + "?shunno_id=" + url.QueryEscape(s.ShunnoID) + "&client_app=" + url.QueryEscape(app)
}

// Secrets are the integration's secret headers.
func (s SNS) Secrets() map[string]string {
	return map[string]string{"x-app-secret": s.AppSecret, "x-client-secret": s.ClientKey}
}

// Notification builds a seed-shaped Notification body around msg: Message as the JSON object
// (seed style) or as a JSON string holding it (real SNS), signed with version ("1", "2") or
// unsigned ("").
func (s SNS) Notification(t testing.TB, msg map[string]any, asString bool, version string) string {
	t.Helper()
	text, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return s.Envelope(t, &snsverify.Message{
		Type: "Notification", MessageID: "20d48143-6af4-571d-b7cb-" + RandHex(6), Message: string(text),
		Timestamp: SNSNow(), TopicArn: SNSTopic,
	}, !asString, version)
}

// Envelope renders m as an SNS delivery body (Message as raw JSON when rawMessage), signing it
// first unless version is "".
func (s SNS) Envelope(t testing.TB, m *snsverify.Message, rawMessage bool, version string) string {
	t.Helper()
	if version != "" {
		s.Signer.Sign(t, m, version)
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

// SNSMessage is the seed notification's Message with trx and edits applied (a nil edit removes
// its field).
func SNSMessage(trx string, edits map[string]any) map[string]any {
	m := map[string]any{ //nolint:gosec // G101: seed 003's sample message, no credential
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

// SNSNow is now as an SNS Timestamp: a signed message must be fresh.
func SNSNow() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// Events reads the inbound topic from its start until until matches an event (or fails t after
// 15 s) and returns every event read, with its record key.
func (f *Fixture) Events(t testing.TB, until func(*pipeline.Event) bool) map[*pipeline.Event]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.Addr), kgo.ConsumeTopics(f.Topics.Inbound()),
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
			t.Fatalf("no matching event on %s within 15s (read %d)", f.Topics.Inbound(), len(out))
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
