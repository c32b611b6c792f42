package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

func TestRenderRefundTokenized(t *testing.T) {
	o := &pipeline.Outcome{
		ID: "o1", Type: pipeline.OutcomeRefund, MerchantID: "m1", Environment: pipeline.Sandbox,
		Intent:    &pipeline.Intent{ID: "i1", Amount: pipeline.BDT(1000), CustomerReference: "ORD-1", Environment: pipeline.Sandbox},
		Refund:    &pipeline.Refund{IntentID: "i1", TrxID: "TRX1", RefundTrxID: "RTRX1", Amount: pipeline.BDT(300), RefundedTotal: pipeline.BDT(300)},
		DecidedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	b, _ := json.Marshal(o)
	j, err := jobFor(b)
	if err != nil || j == nil || j.Event != "payment.refunded" {
		t.Fatalf("job: %+v %v", j, err)
	}
	want := `{"id":"o1","event":"payment.refunded","environment":"SANDBOX","timestamp":"2026-01-02T03:04:05.000Z","data":{"payment_intent_id":"i1","amount":"300","currency":"BDT","customer_reference":"ORD-1","status":"PAID","trx_id":"TRX1","refund_trx_id":"RTRX1","refunded_total":"300","intent_amount":"1000"}}`
	if string(j.Body) != want {
		t.Fatalf("body\n%s\nwant\n%s", j.Body, want)
	}
	o.Intent.Dialect = pipeline.DialectBDQuickPay
	r, err := render(o)
	if err != nil || r.Event != "payment.refunded" {
		t.Fatal(r, err)
	}
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	if m["invoice_id"] != "i1" || m["amount"] != float64(300) || m["refund_trx_id"] != "RTRX1" || m["status"] != "refunded" {
		t.Fatalf("bdquickpay body %s", r.Body)
	}
}
