package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestE2EDeadLetterAndRedeliver: a merchant whose endpoint keeps failing gets its webhook
// dead-lettered after the configured attempts while another merchant's webhooks flow; once the
// endpoint is fixed an operator lists the dead letter and redelivers it through the admin API,
// and the same event (same webhook-id) arrives.
func TestE2EDeadLetterAndRedeliver(t *testing.T) {
	in := startDev(t, "PAYSTREAM_WEBHOOK_MAX_ATTEMPTS=2")
	rcv := newReceiver(t)
	down := onboard(t, in, rcv, wallet())
	up := onboard(t, in, rcv, wallet())
	rcv.mu.Lock()
	rcv.failFirst[down.path] = 1 << 30
	rcv.mu.Unlock()
	admin := map[string]string{"Authorization": "Bearer " + in.admin}

	idDown := createIntent(t, in, down.testKey, `{"amount":410,"currency":"BDT","customerReference":"DL-1"}`)["id"].(string)
	simulate(t, in, down.testKey, idDown, 410, "DLQ"+randDigits(7))
	idUp := createIntent(t, in, up.testKey, `{"amount":420,"currency":"BDT","customerReference":"UP-1"}`)["id"].(string)
	simulate(t, in, up.testKey, idUp, 420, "UPQ"+randDigits(7))
	rcv.waitHooks(t, 1, 30*time.Second, forIntent(idUp)) // the healthy merchant is not held up

	var outcomeID string
	waitFor(t, 30*time.Second, "the dead letter", func() bool {
		_, list, _ := call(t, "GET", in.base+"/admin/v1/webhooks/dead-letters?merchant="+down.id, admin, "")
		data, _ := list["data"].([]any)
		if len(data) == 1 {
			outcomeID, _ = data[0].(map[string]any)["outcomeId"].(string)
		}
		return outcomeID != ""
	})
	waitCount(t, in.dsn, 2, 30*time.Second, "SELECT count() FROM webhook_attempts FINAL WHERE intent_id = ?", idDown)
	waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM webhook_attempts FINAL WHERE intent_id = ? AND result = 'dead_letter'", idDown)

	if code, m, _ := call(t, "POST", in.base+"/admin/v1/webhooks/"+outcomeID+"/redeliver", nil, ""); code != http.StatusUnauthorized {
		t.Fatalf("redeliver without the admin token: %d %v", code, m)
	}
	rcv.mu.Lock()
	rcv.failFirst[down.path] = 0 // the merchant fixed its endpoint
	rcv.mu.Unlock()
	if code, m, _ := call(t, "POST", in.base+"/admin/v1/webhooks/"+outcomeID+"/redeliver", admin, ""); code != http.StatusAccepted {
		t.Fatalf("redeliver: %d %v", code, m)
	}
	h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(idDown))[0]
	if h.header.Get("webhook-id") != outcomeID || h.event["event"] != "payment.paid" {
		t.Fatalf("redelivered webhook: id %s, %s", h.header.Get("webhook-id"), h.body)
	}
	if code, m, _ := call(t, "POST", in.base+"/admin/v1/webhooks/"+outcomeID+"/redeliver", admin, ""); code != http.StatusConflict && code != http.StatusNotFound {
		t.Fatalf("redelivering a delivered webhook: %d %v", code, m)
	}
	if code, _, _ := call(t, "POST", in.base+"/admin/v1/webhooks/00000000-0000-0000-0000-000000000000/redeliver", admin, ""); code != http.StatusNotFound {
		t.Fatalf("redelivering an unknown webhook: %d", code)
	}
}
