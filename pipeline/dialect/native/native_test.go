package native

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

func TestEveryStatusHasItsOwnEvent(t *testing.T) {
	seen := map[string]pipeline.Status{}
	for _, s := range pipeline.Statuses {
		ev := WebhookEvent(s)
		if ev == "" {
			t.Fatalf("%s has no event", s)
		}
		if prev, dup := seen[ev]; dup {
			t.Fatalf("%s and %s both send %s", prev, s, ev)
		}
		seen[ev] = s
	}
	if WebhookEvent("BOGUS") != "" {
		t.Fatal("an unknown status has an event")
	}
}

func TestErrorShape(t *testing.T) {
	b, _ := json.Marshal(NewError(404, "Payment intent not found"))
	if string(b) != `{"statusCode":404,"message":"Payment intent not found","error":"Not Found"}` {
		t.Fatalf("%s", b)
	}
}

func TestNewIntent(t *testing.T) {
	at := time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
	in := &pipeline.Intent{
		ID: "b5012f33-207e-4999-bf8d-5a1ebb10988e", MerchantID: "m1", Environment: pipeline.Sandbox, Amount: pipeline.BDT(500),
		Currency: "BDT", CustomerReference: "ORDER-1", Provider: pipeline.BKash, ReceiverMsisdn: "01700000001",
		SuccessURL: "https://shop.example/ok", CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute),
	}
	b, _ := json.Marshal(NewIntent(in, IntentState{Status: pipeline.StatusPending}, "https://pay.example/v1/checkout/x"))
	want := `{"id":"b5012f33-207e-4999-bf8d-5a1ebb10988e","merchantId":"m1","environment":"SANDBOX","amount":"500","currency":"BDT",` +
		`"status":"PENDING","customerReference":"ORDER-1","provider":"bkash","receiverMsisdn":"01700000001",` +
		`"checkoutUrl":"https://pay.example/v1/checkout/x","expiresAt":"2026-05-05T10:05:00.000Z","createdAt":"2026-05-05T10:00:00.000Z",` +
		`"successUrl":"https://shop.example/ok"}`
	if string(b) != want {
		t.Fatalf("pending\n got %s\nwant %s", b, want)
	}
	in.CheckoutURL, in.PaymentMethod = "https://bkash.example/pay", pipeline.PaymentMethodBkashTokenized
	v := NewIntent(in, IntentState{Status: pipeline.StatusPaid, UpdatedAt: at.Add(time.Minute), TrxID: "TRX1", MatchType: pipeline.MatchAuto}, "https://pay.example/v1/checkout/x")
	if v.CheckoutURL != in.CheckoutURL || v.PaymentMethod != string(pipeline.PaymentMethodBkashTokenized) ||
		v.UpdatedAt != "2026-05-05T10:01:00.000Z" || v.TrxID != "TRX1" || v.MatchType != "AUTO_MATCH" || v.Status != "PAID" {
		t.Fatalf("paid tokenized %+v", v)
	}
}
