package webhook

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// goldenOutcome is an outcome of dialect d with fixed ids and times, so that the golden bodies
// below are literal bytes. The amount has paisa and the reference HTML characters, so the
// amount's rendering and the encoder's escaping are pinned too.
func goldenOutcome(d pipeline.Dialect, id string, st pipeline.Status) *pipeline.Outcome {
	decided := time.Date(2026, 3, 21, 10, 22, 14, 345e6, time.UTC)
	in := &pipeline.Intent{
		ID: id, MerchantID: "merchant_gold", Environment: pipeline.Sandbox,
		Amount: 50050, Currency: "BDT", CustomerReference: "ORDER-7 <A&B>", Provider: pipeline.BKash,
		ReceiverMsisdn: "01700000001", Dialect: d, CreatedAt: decided.Add(-time.Minute), ExpiresAt: decided.Add(29 * time.Minute),
	}
	return &pipeline.Outcome{
		ID: "5f2c1d0e-0000-5000-8000-00000000c0de", Type: pipeline.OutcomeIntentStatus, EventID: "evt-gold",
		MerchantID: in.MerchantID, Environment: pipeline.Sandbox, Wallet: in.Wallet(), Rule: pipeline.RuleAmount,
		Intent: in, Status: st, PreviousStatus: pipeline.StatusPending, Version: 2,
		AcceptedAt: decided.Add(-time.Second), DecidedAt: decided,
	}
}

// withPayment adds the deciding payment (and its match type) to o.
func withPayment(o *pipeline.Outcome, mt pipeline.MatchType) *pipeline.Outcome {
	o.MatchType = mt
	o.Payment = &pipeline.Payment{Provider: pipeline.BKash, TrxID: "8HJ2XKPQ91", Amount: 50050, OccurredAt: o.DecidedAt}
	return o
}

// withReason sets o's reason.
func withReason(o *pipeline.Outcome, reason string) *pipeline.Outcome {
	o.Reason = reason
	return o
}

// asRefund turns o into an OutcomeRefund of 200.25 of the 500.50 paid, 300.25 refunded in all.
func asRefund(o *pipeline.Outcome) *pipeline.Outcome {
	o.Type, o.Status, o.PreviousStatus, o.Version, o.Rule = pipeline.OutcomeRefund, "", "", 0, pipeline.RuleRefund
	o.Refund = &pipeline.Refund{
		IntentID: o.Intent.ID, PaymentID: "TR0011abc", TrxID: "8HJ2XKPQ91", RefundTrxID: "RF5L9QX2ZT",
		Amount: 20025, RefundedTotal: 30025, Reason: "customer asked",
	}
	return o
}

const (
	goldNativeID = "b5012f33-207e-4999-bf8d-5a1ebb10988e"
	goldBQPID    = "GALQYVTGASTRGOISR1FO"
)

// TestGoldenWebhookBodies pins the exact bytes of every webhook each dialect sends, for every event
// it has, through jobFor (the sink's path from an outcome record to a job). Receivers verify
// signatures over these bytes and dedupe on them: a change here is a change of the public contract
// and must be deliberate (the seeds: 004 for native, 001 for bdQuickPay).
func TestGoldenWebhookBodies(t *testing.T) {
	const nativeHead = `{"id":"5f2c1d0e-0000-5000-8000-00000000c0de","event":`
	const nativeIntent = `"environment":"SANDBOX","timestamp":"2026-03-21T10:22:14.345Z","data":{"payment_intent_id":"b5012f33-207e-4999-bf8d-5a1ebb10988e","amount":"500.50","currency":"BDT","customer_reference":"ORDER-7 <A&B>",`
	const bqpHead = `,"invoice_id":"GALQYVTGASTRGOISR1FO","payment_id":242396942826538,"customer_reference":"ORDER-7 <A&B>",`
	tests := []struct {
		name    string
		outcome *pipeline.Outcome
		event   string // "" = no webhook
		body    string
	}{
		// native (seed 004)
		{"native paid", withPayment(goldenOutcome(pipeline.DialectNative, goldNativeID, pipeline.StatusPaid), pipeline.MatchAuto),
			"payment.paid", nativeHead + `"payment.paid",` + nativeIntent + `"status":"PAID","trx_id":"8HJ2XKPQ91","match_type":"AUTO_MATCH"}}`},
		{"native paid after expiry", withReason(withPayment(goldenOutcome(pipeline.DialectNative, goldNativeID, pipeline.StatusPaid), pipeline.MatchReference), "paid_after_expiry"),
			"payment.paid", nativeHead + `"payment.paid",` + nativeIntent + `"status":"PAID","trx_id":"8HJ2XKPQ91","match_type":"REFERENCE_MATCH","reason":"paid_after_expiry"}}`},
		{"native expired", goldenOutcome(pipeline.DialectNative, goldNativeID, pipeline.StatusExpired),
			"payment.expired", nativeHead + `"payment.expired",` + nativeIntent + `"status":"EXPIRED"}}`},
		{"native review required", withReason(withPayment(goldenOutcome(pipeline.DialectNative, goldNativeID, pipeline.StatusReviewRequired), ""), pipeline.ReasonAmountMismatch),
			"payment.review_required", nativeHead + `"payment.review_required",` + nativeIntent + `"status":"REVIEW_REQUIRED","trx_id":"8HJ2XKPQ91","reason":"amount_mismatch"}}`},
		{"native rejected", withReason(goldenOutcome(pipeline.DialectNative, goldNativeID, pipeline.StatusRejected), "operator: not ours"),
			"payment.rejected", nativeHead + `"payment.rejected",` + nativeIntent + `"status":"REJECTED","reason":"operator: not ours"}}`},
		{"native failed", withReason(goldenOutcome(pipeline.DialectNative, goldNativeID, pipeline.StatusFailed), "bkash_insufficient_balance:2023"),
			"payment.failed", nativeHead + `"payment.failed",` + nativeIntent + `"status":"FAILED","reason":"bkash_insufficient_balance:2023"}}`},
		{"native pending (a review released)", withReason(goldenOutcome(pipeline.DialectNative, goldNativeID, pipeline.StatusPending), "candidate_used"),
			"payment.pending", nativeHead + `"payment.pending",` + nativeIntent + `"status":"PENDING","reason":"candidate_used"}}`},
		{"native empty dialect is native", withPayment(goldenOutcome("", goldNativeID, pipeline.StatusPaid), pipeline.MatchClaim),
			"payment.paid", nativeHead + `"payment.paid",` + nativeIntent + `"status":"PAID","trx_id":"8HJ2XKPQ91","match_type":"CLAIM_MATCH"}}`},
		{"native refunded", asRefund(goldenOutcome(pipeline.DialectNative, goldNativeID, pipeline.StatusPaid)),
			"payment.refunded", nativeHead + `"payment.refunded","environment":"SANDBOX","timestamp":"2026-03-21T10:22:14.345Z","data":{"payment_intent_id":"b5012f33-207e-4999-bf8d-5a1ebb10988e","amount":"200.25","currency":"BDT","customer_reference":"ORDER-7 <A&B>","status":"PAID","trx_id":"8HJ2XKPQ91","refund_trx_id":"RF5L9QX2ZT","refunded_total":"300.25","intent_amount":"500.50","reason":"customer asked"}}`},

		// bdQuickPay (seed 001)
		{"bdquickpay completed", withPayment(goldenOutcome(pipeline.DialectBDQuickPay, goldBQPID, pipeline.StatusPaid), pipeline.MatchAuto),
			"payment.completed", `{"event":"payment.completed"` + bqpHead + `"amount":500.5,"payment_method":"bkash","status":"completed","timestamp":"2026-03-21T10:22:14+00:00","id":"5f2c1d0e-0000-5000-8000-00000000c0de","trx_id":"8HJ2XKPQ91"}`},
		{"bdquickpay failed (expired)", goldenOutcome(pipeline.DialectBDQuickPay, goldBQPID, pipeline.StatusExpired),
			"payment.failed", `{"event":"payment.failed"` + bqpHead + `"amount":500.5,"payment_method":"bkash","status":"failed","timestamp":"2026-03-21T10:22:14+00:00","id":"5f2c1d0e-0000-5000-8000-00000000c0de"}`},
		{"bdquickpay failed (failed)", goldenOutcome(pipeline.DialectBDQuickPay, goldBQPID, pipeline.StatusFailed),
			"payment.failed", `{"event":"payment.failed"` + bqpHead + `"amount":500.5,"payment_method":"bkash","status":"failed","timestamp":"2026-03-21T10:22:14+00:00","id":"5f2c1d0e-0000-5000-8000-00000000c0de"}`},
		{"bdquickpay failed (rejected, with its payment)", withPayment(goldenOutcome(pipeline.DialectBDQuickPay, goldBQPID, pipeline.StatusRejected), ""),
			"payment.failed", `{"event":"payment.failed"` + bqpHead + `"amount":500.5,"payment_method":"bkash","status":"failed","timestamp":"2026-03-21T10:22:14+00:00","id":"5f2c1d0e-0000-5000-8000-00000000c0de","trx_id":"8HJ2XKPQ91"}`},
		{"bdquickpay refund", asRefund(goldenOutcome(pipeline.DialectBDQuickPay, goldBQPID, pipeline.StatusPaid)),
			"payment.refunded", `{"event":"payment.refunded"` + bqpHead + `"amount":200.25,"payment_method":"bkash","status":"refunded","timestamp":"2026-03-21T10:22:14+00:00","id":"5f2c1d0e-0000-5000-8000-00000000c0de","trx_id":"8HJ2XKPQ91","refund_trx_id":"RF5L9QX2ZT","refunded_total":300.25}`},
		{"bdquickpay review: nothing", withReason(withPayment(goldenOutcome(pipeline.DialectBDQuickPay, goldBQPID, pipeline.StatusReviewRequired), ""), pipeline.ReasonAmountMismatch), "", ""},
		{"bdquickpay pending: nothing", goldenOutcome(pipeline.DialectBDQuickPay, goldBQPID, pipeline.StatusPending), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := pipeline.EncodeOutcome(tt.outcome)
			if err != nil {
				t.Fatal(err)
			}
			j, err := jobFor(rec)
			if err != nil {
				t.Fatal(err)
			}
			if tt.event == "" {
				if j != nil {
					t.Fatalf("want no webhook, got %s %s", j.Event, j.Body)
				}
				return
			}
			if j == nil {
				t.Fatal("no webhook")
			}
			if j.Event != tt.event || string(j.Body) != tt.body {
				t.Fatalf("event %q body\n got %s\nwant %s", j.Event, j.Body, tt.body)
			}
			if j.OutcomeID != tt.outcome.ID || j.IntentID != tt.outcome.Intent.ID || j.Env != pipeline.Sandbox {
				t.Fatalf("job %+v", j)
			}
		})
	}
}

// TestGoldenWebhookHeaders pins the headers each dialect adds to its webhooks, beside the
// signatures: bdQuickPay's X-App-Key of the webhook's environment (seed 001), nothing for native.
func TestGoldenWebhookHeaders(t *testing.T) {
	keys := map[pipeline.Environment]string{pipeline.Sandbox: "app_sandbox_abc", pipeline.Live: "app_live_def"}
	tests := []struct {
		name string
		m    *pipeline.Merchant
		env  pipeline.Environment
		want http.Header
	}{
		{"bdquickpay sandbox", &pipeline.Merchant{Dialect: pipeline.DialectBDQuickPay, AppKeys: keys}, pipeline.Sandbox, http.Header{"X-App-Key": {"app_sandbox_abc"}}},
		{"bdquickpay live", &pipeline.Merchant{Dialect: pipeline.DialectBDQuickPay, AppKeys: keys}, pipeline.Live, http.Header{"X-App-Key": {"app_live_def"}}},
		{"bdquickpay without a key for env", &pipeline.Merchant{Dialect: pipeline.DialectBDQuickPay, AppKeys: map[pipeline.Environment]string{pipeline.Sandbox: "k"}}, pipeline.Live, nil},
		{"native", &pipeline.Merchant{Dialect: pipeline.DialectNative, AppKeys: keys}, pipeline.Sandbox, nil},
		{"empty dialect", &pipeline.Merchant{AppKeys: keys}, pipeline.Sandbox, nil},
		{"merchant gone", nil, pipeline.Sandbox, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialectHeaders(tt.m, tt.env); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("headers %v, want %v", got, tt.want)
			}
		})
	}
}
