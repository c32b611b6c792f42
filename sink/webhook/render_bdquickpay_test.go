package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect/bdquickpay"
)

// bdquickpayOutcome is sampleOutcome as a bdQuickPay invoice (seed 001's sample values).
func bdquickpayOutcome() *pipeline.Outcome {
	o := sampleOutcome()
	in := *o.Intent
	in.ID, in.CustomerReference, in.Dialect = "GALQYVTGASTRGOISR1FO", "ORDER-001", pipeline.DialectBDQuickPay
	o.Intent = &in
	o.ID = pipeline.IntentOutcomeID(in.ID, 2, pipeline.StatusPaid)
	o.Payment.TrxID = "8HJ2XKPQ91"
	o.DecidedAt = time.Date(2026, 3, 21, 10, 22, 14, 345e6, time.UTC)
	return o
}

func TestRenderBDQuickPay(t *testing.T) {
	o := bdquickpayOutcome()
	r, err := render(o)
	if err != nil {
		t.Fatal(err)
	}
	pid := bdquickpay.PaymentID(o.Intent.ID)
	// The seed's payload, field for field and in its order, then id and trx_id.
	want := `{"event":"payment.completed","invoice_id":"GALQYVTGASTRGOISR1FO","payment_id":` + jsonUint(pid) +
		`,"customer_reference":"ORDER-001","amount":500,"payment_method":"bkash","status":"completed",` +
		`"timestamp":"2026-03-21T10:22:14+00:00","id":"` + o.ID + `","trx_id":"8HJ2XKPQ91"}`
	if string(r.Body) != want {
		t.Fatalf("body\n got %s\nwant %s", r.Body, want)
	}
	if r.Event != "payment.completed" {
		t.Fatalf("event %q", r.Event)
	}
	// The README's example; the derivation must never change, receivers store payment_id.
	if pid != 242396942826538 || pid >= 1<<48 || pid != bdquickpay.PaymentID(o.Intent.ID) || pid == bdquickpay.PaymentID("GALQYVTGASTRGOISR1FP") {
		t.Fatalf("payment_id %d is not a stable positive 48-bit id", pid)
	}
	again, _ := render(o)
	if string(again.Body) != string(r.Body) {
		t.Fatal("rendering is not deterministic")
	}
}

func jsonUint(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func TestRenderBDQuickPayEvents(t *testing.T) {
	tests := []struct {
		name         string
		status       pipeline.Status
		reason       string
		payment      bool
		event, state string
	}{
		{"paid", pipeline.StatusPaid, "", true, "payment.completed", "completed"},
		{"expired (timeout)", pipeline.StatusExpired, "", false, "payment.failed", "failed"},
		{"failed by an operator", pipeline.StatusFailed, "", false, "payment.failed", "failed"},
		{"rejected by an operator", pipeline.StatusRejected, "", false, "payment.failed", "failed"},
		// Issue 13 finding 5: a review is never final, so it never sends payment.failed (this case
		// asserted payment.failed before).
		{"amount mismatch review: nothing until decided", pipeline.StatusReviewRequired, pipeline.ReasonAmountMismatch, true, "", ""},
		{"paid after expiry", pipeline.StatusPaid, "paid_after_expiry", true, "payment.completed", "completed"},
		{"review released to pending", pipeline.StatusPending, "candidate_used", false, "", ""},
		{"ambiguous review: nothing until decided", pipeline.StatusReviewRequired, pipeline.ReasonAmbiguous, true, "", ""},
		{"late payment review: nothing until decided", pipeline.StatusReviewRequired, pipeline.ReasonLatePayment, true, "", ""},
		{"pending", pipeline.StatusPending, "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := bdquickpayOutcome()
			o.Status, o.Reason, o.MatchType = tt.status, tt.reason, ""
			if !tt.payment {
				o.Payment = nil
			}
			o.Intent.Amount = 50050
			r, err := render(o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Event != tt.event {
				t.Fatalf("event %q, want %q", r.Event, tt.event)
			}
			if tt.event == "" {
				if r.Body != nil {
					t.Fatalf("no event but a body %s", r.Body)
				}
				return
			}
			var b map[string]any
			d := json.NewDecoder(bytes.NewReader(r.Body))
			d.UseNumber()
			if err := d.Decode(&b); err != nil {
				t.Fatal(err)
			}
			if b["event"] != tt.event || b["status"] != tt.state || b["amount"] != json.Number("500.5") ||
				b["payment_method"] != "bkash" || b["invoice_id"] != o.Intent.ID || b["id"] != o.ID {
				t.Fatalf("payload %s", r.Body)
			}
			if _, has := b["trx_id"]; has != tt.payment {
				t.Fatalf("trx_id present %v, want %v: %s", has, tt.payment, r.Body)
			}
		})
	}
}

func TestJobForBDQuickPaySkipsUndecidedReview(t *testing.T) {
	o := bdquickpayOutcome()
	o.Status, o.Reason = pipeline.StatusReviewRequired, pipeline.ReasonAmbiguous
	b, err := pipeline.EncodeOutcome(o)
	if err != nil {
		t.Fatal(err)
	}
	if j, err := jobFor(b); j != nil || err != nil {
		t.Fatalf("ambiguous review of a bdquickpay intent: job %v err %v", j, err)
	}
	o.Reason = pipeline.ReasonAmountMismatch
	o.Intent.WebhookURL = "https://shop.example/webhook"
	b, _ = pipeline.EncodeOutcome(o)
	if j, err := jobFor(b); j != nil || err != nil { // issue 13 finding 5: was payment.failed
		t.Fatalf("amount mismatch review of a bdquickpay intent: job %+v err %v", j, err)
	}
}

func TestDialectHeaders(t *testing.T) {
	m := &pipeline.Merchant{Dialect: pipeline.DialectBDQuickPay, AppKeys: map[pipeline.Environment]string{pipeline.Sandbox: "app_sandbox_x"}}
	if h := dialectHeaders(m, pipeline.Sandbox); h.Get("X-App-Key") != "app_sandbox_x" {
		t.Fatalf("SANDBOX headers %v", h)
	}
	if h := dialectHeaders(m, pipeline.Live); h != nil {
		t.Fatalf("no LIVE app key, but headers %v", h)
	}
	if h := dialectHeaders(&pipeline.Merchant{Dialect: pipeline.DialectNative}, pipeline.Sandbox); h != nil {
		t.Fatalf("native headers %v", h)
	}
	if h := dialectHeaders(nil, pipeline.Sandbox); h != nil {
		t.Fatalf("missing merchant headers %v", h)
	}
}

// TestDeliversBDQuickPayWebhookWithAppKey runs the sink end to end: a bdQuickPay merchant's webhook
// goes to the intent's own webhook_url, carries X-App-Key next to both signatures, and a native
// merchant's webhook does not carry it.
func TestDeliversBDQuickPayWebhookWithAppKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	// Nothing listens at the merchant's own endpoint: only the intent's URL can reach the receiver.
	e.merchant("bq1", "http://127.0.0.1:1/merchant-default", rcv.secret)
	var m pipeline.Merchant
	raw, _ := e.rdb.Get(context.Background(), e.keys.Merchant("bq1")).Bytes()
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m.Dialect = pipeline.DialectBDQuickPay
	m.AppKeys = map[pipeline.Environment]string{pipeline.Sandbox: "app_sandbox_abc", pipeline.Live: "app_live_def"}
	raw, _ = json.Marshal(m)
	if err := e.rdb.Set(context.Background(), e.keys.Merchant("bq1"), raw, 0).Err(); err != nil {
		t.Fatal(err)
	}
	e.merchant("n1", rcv.srv.URL+"/native", rcv.secret)
	e.start(e.config())

	o := outcome("bq1")
	o.Intent.Dialect = pipeline.DialectBDQuickPay
	o.Intent.WebhookURL = rcv.srv.URL + "/per-invoice"
	native := outcome("n1")
	e.produce(o, native)

	eventually(t, "both deliveries", func() bool {
		_, a := rcv.counts(o.ID)
		_, b := rcv.counts(native.ID)
		return a == 1 && b == 1
	})
	rcv.mu.Lock()
	h, nh, body := rcv.headers[o.ID], rcv.headers[native.ID], rcv.bodies[o.ID]
	rcv.mu.Unlock()
	if h.Get("X-App-Key") != "app_sandbox_abc" || h.Get("X-Signature") == "" || h.Get("webhook-signature") == "" {
		t.Fatalf("bdquickpay headers %v", h)
	}
	if nh.Get("X-App-Key") != "" {
		t.Fatalf("native webhook got X-App-Key %q", nh.Get("X-App-Key"))
	}
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil || b["event"] != "payment.completed" || b["invoice_id"] != o.Intent.ID {
		t.Fatalf("bdquickpay body %s (%v)", body, err)
	}
	eventually(t, "the attempt record", func() bool { return len(e.attempts.of(o.ID)) == 1 })
	if a := e.attempts.of(o.ID)[0]; a.EventType != "payment.completed" || a.Result != pipeline.WebhookDelivered {
		t.Fatalf("attempt %+v", a)
	}
}
