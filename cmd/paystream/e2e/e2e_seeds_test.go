package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestE2EOneTrxIDManySurfaces reports one payment through three surfaces in turn (SNS
// notification, bKash transaction API, sandbox SMS simulator): it pays the intent once and the
// merchant gets exactly one webhook; the later reports are duplicates (synchronously where the
// seed says so, in the matcher otherwise) and audited as such.
func TestE2EOneTrxIDManySurfaces(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	w := wallet()
	m := onboard(t, in, rcv, w)
	admin := map[string]string{"Authorization": "Bearer " + in.admin}

	code, sns, _ := call(t, "POST", in.base+"/admin/v1/merchants/"+m.id+"/integrations", admin,
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q}}`, w))
	if code != http.StatusCreated {
		t.Fatalf("creating SNS integration: %d %v", code, sns)
	}
	code, txn, _ := call(t, "POST", in.base+"/admin/v1/merchants/"+m.id+"/integrations", admin, `{"type":"bkash_txn_api","environment":"SANDBOX"}`)
	if code != http.StatusCreated {
		t.Fatalf("creating transaction API integration: %d %v", code, txn)
	}

	ref := "orderId" + randDigits(6)
	id := createIntent(t, in, m.testKey, fmt.Sprintf(`{"amount":100,"currency":"BDT","customerReference":%q}`, ref))["id"].(string)
	trx := "4J" + strings.ToUpper(randHex(4))

	// 1. SNS reports it first: 200, and it pays the intent by reference.
	note := fmt.Sprintf(`{"Type":"Notification","MessageId":"20d48143-6af4-571d-b7cb-d211e6a2ac69","TopicArn":"arn:aws:sns:ap-southeast-1:354285753755:bpt_%s","Message":{"dateTime":"%s","debitMSISDN":"8801700000001","creditOrganizationName":"Org 01","creditShortCode":"01929918***","trxID":%q,"transactionStatus":"Completed","transactionType":"1003","amount":"100","currency":"BDT","transactionReference":"Test_Payment","merchantInvoiceNumber":%q},"Timestamp":"2018-04-19T12:22:46.236Z"}`,
		w, time.Now().In(time.FixedZone("Asia/Dhaka", 6*3600)).Format("20060102150405"), trx, ref)
	code, got, _ := call(t, "POST", in.base+"/webhooks/notifications?shunno_id="+sns["shunnoId"].(string)+"&client_app=SHUNNOIT",
		map[string]string{"x-app-secret": sns["appSecret"].(string), "x-client-secret": sns["clientSecret"].(string)}, note)
	if code != http.StatusOK || got["message"] != "Notification processed." {
		t.Fatalf("SNS notification: %d %v", code, got)
	}

	// 2. The transaction API reports the same TrxID: the seed's synchronous duplicate answer.
	body := fmt.Sprintf(`{"amount":100,"from_account":"01700000001","reference":%q,"to_account":%q,"transaction_datetime":%d,"transaction_id":%q}`,
		ref, w, time.Now().Unix(), trx)
	code, got, _ = call(t, "POST", in.base+"/api/external/v1/bkash/transactions/complete",
		map[string]string{"API-Key": txn["apiKey"].(string), "X-Signature": txnE2ESign(t, txn["signingSecret"].(string), body)}, body)
	if code != http.StatusBadRequest || got["message"] != "duplicate transaction id" {
		t.Fatalf("transaction API with a TrxID SNS reported: %d %v", code, got)
	}

	// 3. The sandbox SMS simulator reports it too: accepted, then dropped by the matcher's dedupe.
	simulate(t, in, m.testKey, id, 100, trx)

	h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
	if h.event["event"] != "payment.paid" || h.event["data"].(map[string]any)["match_type"] != "REFERENCE_MATCH" {
		t.Fatalf("webhook: %s", h.body)
	}
	waitStatus(t, in, m.testKey, id, "PAID", 10*time.Second)
	// Both reports the matcher saw are audited: one matched, one duplicate.
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM payments FINAL WHERE trx_id = ? AND disposition = 'matched'", trx)
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM payments FINAL WHERE trx_id = ? AND disposition = 'duplicate'", trx)
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM intent_status_changes FINAL WHERE intent_id = ?", id)
	// The audit keeps each upstream's body exactly as it was sent.
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM inbound_events FINAL WHERE trx_id = ? AND source = 'sns' AND raw = ?", trx, note)
	if n := len(rcv.waitHooks(t, 0, 0, func(x hook) bool { return x.path == m.path })); n != 1 {
		t.Fatalf("the merchant got %d webhooks for one payment, want 1", n)
	}
}
