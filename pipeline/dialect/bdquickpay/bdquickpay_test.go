package bdquickpay

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// TestStatusMappings pins both of the dialect's status mappings side by side: the payment status
// create and verify show, and the webhook event and status (which say failed for an expiry, as the
// seed's payment.failed covers timeouts, and nothing while an operator has not decided).
func TestStatusMappings(t *testing.T) {
	tests := []struct {
		st                   pipeline.Status
		status, event, hooks string
	}{
		{pipeline.StatusPending, "pending", "", ""},
		{pipeline.StatusReviewRequired, "pending", "", ""},
		{pipeline.StatusPaid, "completed", "payment.completed", "completed"},
		{pipeline.StatusExpired, "expired", "payment.failed", "failed"},
		{pipeline.StatusRejected, "failed", "payment.failed", "failed"},
		{pipeline.StatusFailed, "failed", "payment.failed", "failed"},
	}
	if len(tests) != len(pipeline.Statuses) {
		t.Fatalf("%d statuses, %d cases", len(pipeline.Statuses), len(tests))
	}
	for _, tt := range tests {
		ev, hs := WebhookEvent(tt.st)
		if got := Status(tt.st); got != tt.status || ev != tt.event || hs != tt.hooks {
			t.Errorf("%s: status %q webhook %q/%q", tt.st, got, ev, hs)
		}
	}
}

func TestWireFormats(t *testing.T) {
	if got := FormatTime(time.Date(2026, 3, 21, 16, 30, 0, 999e6, time.FixedZone("BST", 6*3600))); got != "2026-03-21T10:30:00+00:00" {
		t.Errorf("time %q", got)
	}
	for m, want := range map[pipeline.Money]string{50000: "500", 50050: "500.5", 50005: "500.05", 1: "0.01"} {
		if got := Amount(m); string(got) != want {
			t.Errorf("amount %d: %q, want %q", m, got, want)
		}
	}
	if pid := PaymentID("GALQYVTGASTRGOISR1FO"); pid != 242396942826538 { // the README's example; receivers store it
		t.Errorf("payment_id %d", pid)
	}
	for range 100 {
		if id := NewInvoiceID(); !ValidInvoiceID(id) {
			t.Fatalf("invoice id %q", id)
		}
	}
	if ValidInvoiceID("galqyvtgastrgoisr1fo") || ValidInvoiceID("GALQYVTGASTRGOISR1F") {
		t.Error("malformed invoice ids accepted")
	}
}

// TestErrorShapes are seed 001's error answers, in its field order.
func TestErrorShapes(t *testing.T) {
	b, _ := json.Marshal(NewError(MessageUnauthorized))
	if string(b) != `{"status":false,"message":"Unauthorized. Invalid App Key or Secret Key."}` {
		t.Errorf("%s", b)
	}
	fe := FieldErrors{}
	fe.Add("amount", "The %s field is required.", "amount")
	fe.Add("amount", "The amount must be a number.")
	b, _ = json.Marshal(NewValidationError(fe))
	if string(b) != `{"status":false,"message":"Validation error","errors":{"amount":["The amount field is required.","The amount must be a number."]}}` {
		t.Errorf("%s", b)
	}
}

func TestNewPayment(t *testing.T) {
	at := time.Date(2026, 3, 21, 10, 0, 0, 0, time.UTC)
	in := &pipeline.Intent{ID: "GALQYVTGASTRGOISR1FO", CustomerReference: "ORDER-001", Amount: 50050, CreatedAt: at, ExpiresAt: at.Add(30 * time.Minute)}
	b, _ := json.Marshal(NewPayment(in, pipeline.StatusReviewRequired, "", time.Time{}))
	want := `{"invoice_id":"GALQYVTGASTRGOISR1FO","customer_reference":"ORDER-001","amount":500.5,"status":"pending",` +
		`"created_at":"2026-03-21T10:00:00+00:00","expires_at":"2026-03-21T10:30:00+00:00","transaction":null}`
	if string(b) != want {
		t.Fatalf("pending\n got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(NewPayment(in, pipeline.StatusPaid, "8HJ2XKPQ91", at.Add(2*time.Minute)))
	want = `{"invoice_id":"GALQYVTGASTRGOISR1FO","customer_reference":"ORDER-001","amount":500.5,"status":"completed",` +
		`"created_at":"2026-03-21T10:00:00+00:00","expires_at":"2026-03-21T10:30:00+00:00","transaction":` +
		`{"trx_id":"8HJ2XKPQ91","payment_method":"bkash","amount":500.5,"status":"completed","verified_at":"2026-03-21T10:02:00+00:00"}}`
	if string(b) != want {
		t.Fatalf("paid\n got %s\nwant %s", b, want)
	}
}
