package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/snsverify"
	"github.com/paystream/paystream/pipeline/snsverify/snstest"
)

// TestE2ESNS drives seed 003 through the built binary: an SNS integration for a merchant's SANDBOX
// wallet, a signed subscription confirmation, and the seed's payment notification (signed as SNS
// would, with a local certificate trusted through PAYSTREAM_SNS_TEST_HOSTS) paying an intent by its
// customer reference, exactly once.
func TestE2ESNS(t *testing.T) {
	signer := snstest.NewSigner(t)
	in := startDev(t, "PAYSTREAM_SNS_TEST_HOSTS="+signer.Host, "PAYSTREAM_SNS_REQUIRE_SIGNATURE=true")
	rcv := newReceiver(t)
	acct := wallet()
	mc := onboard(t, in, rcv, acct)

	code, integ, _ := call(t, "POST", in.base+"/admin/v1/merchants/"+mc.id+"/integrations",
		map[string]string{"Authorization": "Bearer " + in.admin},
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q}}`, acct))
	if code != http.StatusCreated {
		t.Fatalf("creating the SNS integration: %d %v", code, integ)
	}
	shunnoID := integ["shunnoId"].(string)
	if want := "/webhooks/notifications?shunno_id=" + shunnoID + "&client_app=SHUNNOIT"; !strings.HasSuffix(integ["notificationUrl"].(string), want) {
		t.Fatalf("notificationUrl %v, want …%s", integ["notificationUrl"], want)
	}
	notify := in.base + "/webhooks/notifications?shunno_id=" + shunnoID + "&client_app=SHUNNOIT"
	secrets := map[string]string{"x-app-secret": integ["appSecret"].(string), "x-client-secret": integ["clientSecret"].(string)}
	post := func(m *snsverify.Message, rawMessage bool) (int, map[string]any) {
		t.Helper()
		body := map[string]any{
			"Type": m.Type, "MessageId": m.MessageID, "TopicArn": m.TopicArn, "Message": m.Message, "Timestamp": m.Timestamp,
			"SignatureVersion": m.SignatureVersion, "Signature": m.Signature, "SigningCertURL": m.SigningCertURL,
		}
		if m.Token != "" {
			body["Token"], body["SubscribeURL"] = m.Token, m.SubscribeURL
		}
		if rawMessage { // seed style: the object itself, signed as the exact text sent
			body["Message"] = json.RawMessage(m.Message)
		}
		b, _ := json.Marshal(body)
		code, out, _ := call(t, "POST", notify, secrets, string(b))
		return code, out
	}

	// The integration has no topicArn: the confirmed subscription pins this topic (issue 13), and
	// a signed message must be fresh.
	topic := "arn:aws:sns:ap-southeast-1:354285753755:bpt_01823072645"
	conf := &snsverify.Message{
		Type: "SubscriptionConfirmation", MessageID: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", Token: "2336412f37fb687f",
		TopicArn: topic, Message: "You have chosen to subscribe to the topic " + topic + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: signer.SubscribeURL(topic, "2336412f37fb687f", false), Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	signer.Sign(t, conf, "2")
	if code, m := post(conf, false); code != 200 || m["status"] != float64(200) || m["message"] != "Subscription Confirmed" {
		t.Fatalf("subscription confirmation: %d %v", code, m)
	}
	if n := signer.Confirmations(); n != 1 {
		t.Fatalf("SubscribeURL fetched %d times, want 1", n)
	}

	it := createIntent(t, in, mc.testKey, `{"amount":100,"currency":"BDT","customerReference":"orderId1233"}`)
	id := it["id"].(string)
	trx := "SNS" + strings.ToUpper(randHex(4))
	msg, _ := json.Marshal(map[string]any{
		"dateTime": time.Now().In(time.FixedZone("Asia/Dhaka", 6*3600)).Format("20060102150405"), "debitMSISDN": "8801700000001",
		"creditOrganizationName": "Org 01", "creditShortCode": "01929918***", "trxID": trx, "transactionStatus": "Completed",
		"transactionType": "1003", "amount": it["amount"], "currency": "BDT", "transactionReference": "Test_Payment",
		"merchantInvoiceNumber": "orderId1233",
	})
	note := &snsverify.Message{
		Type: "Notification", MessageID: "20d48143-6af4-571d-b7cb-" + randHex(6), Message: string(msg),
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), TopicArn: topic,
	}
	signer.Sign(t, note, "1")
	if code, m := post(note, true); code != 200 || m["status"] != float64(200) || m["message"] != "Notification processed." {
		t.Fatalf("notification: %d %v", code, m)
	}

	got := waitStatus(t, in, mc.testKey, id, "PAID", 30*time.Second)
	if got["matchType"] != "REFERENCE_MATCH" || got["trxId"] != trx {
		t.Fatalf("paid intent: %v", got)
	}
	h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
	d := h.event["data"].(map[string]any)
	if h.event["event"] != "payment.paid" || d["trx_id"] != trx || d["match_type"] != "REFERENCE_MATCH" || d["customer_reference"] != "orderId1233" {
		t.Fatalf("webhook: %s", h.body)
	}

	if code, m := post(note, true); code != 409 || m["code"] != float64(409) || m["message"] != "Duplicate payment" {
		t.Fatalf("the same notification again: %d %v", code, m)
	}
	unsigned := *note
	unsigned.Signature, unsigned.SigningCertURL, unsigned.SignatureVersion = "", "", ""
	if code, m := post(&unsigned, true); code != 401 || m["code"] != float64(401) {
		t.Fatalf("unsigned with PAYSTREAM_SNS_REQUIRE_SIGNATURE=true: %d %v", code, m)
	}
	// Nothing was produced for the repeat: the intent's audit shows one SNS event, and one webhook.
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM inbound_events FINAL WHERE trx_id = ?", trx)
	if n := len(rcv.waitHooks(t, 0, 0, forIntent(id))); n != 1 {
		t.Fatalf("%d webhooks for the intent, want exactly 1", n)
	}
}
