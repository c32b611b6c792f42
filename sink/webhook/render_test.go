package webhook

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

func sampleOutcome() *pipeline.Outcome {
	decided := time.Date(2026, 5, 5, 10, 1, 0, 0, time.UTC)
	in := &pipeline.Intent{
		ID: "b5012f33-207e-4999-bf8d-5a1ebb10988e", MerchantID: "merchant_abc", Environment: pipeline.Sandbox,
		Amount: pipeline.BDT(500), Currency: "BDT", CustomerReference: "ORDER-10045", Provider: pipeline.BKash,
		ReceiverMsisdn: "01700000001", Dialect: pipeline.DialectNative,
		CreatedAt: decided.Add(-time.Minute), ExpiresAt: decided.Add(4 * time.Minute),
	}
	return &pipeline.Outcome{
		ID: pipeline.IntentOutcomeID(in.ID, 2, pipeline.StatusPaid), Type: pipeline.OutcomeIntentStatus,
		EventID: "evt-1", MerchantID: in.MerchantID, Environment: pipeline.Sandbox, Wallet: in.Wallet(),
		Rule: pipeline.RuleAmount, Intent: in, Status: pipeline.StatusPaid, PreviousStatus: pipeline.StatusPending,
		Version: 2, MatchType: pipeline.MatchAuto,
		Payment:    &pipeline.Payment{Provider: pipeline.BKash, TrxID: "DDN1G2WL8W", Amount: pipeline.BDT(500), OccurredAt: decided},
		AcceptedAt: decided.Add(-time.Second), DecidedAt: decided,
	}
}

func TestRenderNative(t *testing.T) {
	o := sampleOutcome()
	r, err := render(o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + o.ID + `","event":"payment.paid","environment":"SANDBOX","timestamp":"2026-05-05T10:01:00.000Z",` +
		`"data":{"payment_intent_id":"b5012f33-207e-4999-bf8d-5a1ebb10988e","amount":"500","currency":"BDT",` +
		`"customer_reference":"ORDER-10045","status":"PAID","trx_id":"DDN1G2WL8W","match_type":"AUTO_MATCH"}}`
	if string(r.Body) != want {
		t.Fatalf("body\n got %s\nwant %s", r.Body, want)
	}
	if r.Event != "payment.paid" {
		t.Fatalf("event %q", r.Event)
	}
	again, _ := render(o)
	if string(again.Body) != string(r.Body) {
		t.Fatal("rendering is not deterministic")
	}
}

func TestRenderNativeVariants(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(o *pipeline.Outcome)
		event string
		check func(t *testing.T, d map[string]any)
	}{
		{"review with reason and fraction amount", func(o *pipeline.Outcome) {
			o.Status, o.MatchType, o.Reason = pipeline.StatusReviewRequired, "", pipeline.ReasonAmountMismatch
			o.Intent.Amount = 50050
		}, "payment.review_required", func(t *testing.T, d map[string]any) {
			if d["reason"] != "amount_mismatch" || d["amount"] != "500.50" || d["match_type"] != nil {
				t.Errorf("data %v", d)
			}
		}},
		{"paid after expiry (issue 13 finding 3)", func(o *pipeline.Outcome) {
			o.Status, o.PreviousStatus, o.Reason = pipeline.StatusPaid, pipeline.StatusExpired, "paid_after_expiry"
		}, "payment.paid", func(t *testing.T, d map[string]any) {
			if d["status"] != "PAID" || d["reason"] != "paid_after_expiry" || d["trx_id"] == nil {
				t.Errorf("data %v", d)
			}
		}},
		{"review released to pending (issue 13 finding 8)", func(o *pipeline.Outcome) {
			o.Status, o.PreviousStatus, o.MatchType, o.Reason, o.Payment = pipeline.StatusPending, pipeline.StatusReviewRequired, "", "candidate_used", nil
		}, "payment.pending", func(t *testing.T, d map[string]any) {
			if _, ok := d["trx_id"]; ok || d["status"] != "PENDING" || d["reason"] != "candidate_used" {
				t.Errorf("data %v", d)
			}
		}},
		{"expired without payment", func(o *pipeline.Outcome) {
			o.Status, o.MatchType, o.Payment = pipeline.StatusExpired, "", nil
		}, "payment.expired", func(t *testing.T, d map[string]any) {
			if _, ok := d["trx_id"]; ok || d["status"] != "EXPIRED" {
				t.Errorf("data %v", d)
			}
		}},
		{"bKash tokenized payment failed (insufficient balance)", func(o *pipeline.Outcome) {
			o.Status, o.MatchType, o.Payment = pipeline.StatusFailed, "", nil
			o.Rule, o.Reason = pipeline.RulePaymentFailed, "bkash_insufficient_balance:2023"
		}, "payment.failed", func(t *testing.T, d map[string]any) {
			if _, ok := d["trx_id"]; ok || d["status"] != "FAILED" || d["reason"] != "bkash_insufficient_balance:2023" {
				t.Errorf("data %v", d)
			}
		}},
		{"empty dialect and currency default to native BDT", func(o *pipeline.Outcome) {
			o.Intent.Dialect, o.Intent.Currency = "", ""
		}, "payment.paid", func(t *testing.T, d map[string]any) {
			if d["currency"] != "BDT" {
				t.Errorf("data %v", d)
			}
		}},
		{"HTML characters are not escaped", func(o *pipeline.Outcome) {
			o.Intent.CustomerReference = "A&B<C>"
		}, "payment.paid", func(t *testing.T, d map[string]any) {
			if d["customer_reference"] != "A&B<C>" {
				t.Errorf("data %v", d)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := sampleOutcome()
			tt.edit(o)
			r, err := render(o)
			if err != nil {
				t.Fatal(err)
			}
			var b struct {
				ID    string         `json:"id"`
				Event string         `json:"event"`
				Data  map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.Body, &b); err != nil {
				t.Fatal(err)
			}
			if b.Event != tt.event || r.Event != tt.event || b.ID != o.ID {
				t.Fatalf("event %q/%q id %q", b.Event, r.Event, b.ID)
			}
			tt.check(t, b.Data)
		})
	}
}

func TestRenderUnsupportedDialect(t *testing.T) {
	o := sampleOutcome()
	o.Intent.Dialect = pipeline.Dialect("martian")
	if _, err := render(o); !errors.Is(err, ErrUnsupportedDialect) {
		t.Fatalf("got %v", err)
	}
}

func TestJobFor(t *testing.T) {
	enc := func(o *pipeline.Outcome) []byte {
		b, err := pipeline.EncodeOutcome(o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	o := sampleOutcome()
	o.Intent.WebhookURL = "https://override.example/hook"
	j, err := jobFor(enc(o))
	if err != nil || j == nil {
		t.Fatalf("job %v err %v", j, err)
	}
	if j.OutcomeID != o.ID || j.MerchantID != "merchant_abc" || j.Env != pipeline.Sandbox || j.Event != "payment.paid" ||
		j.IntentID != o.Intent.ID || j.URL != o.Intent.WebhookURL || !j.AcceptedAt.Equal(o.AcceptedAt) {
		t.Fatalf("job %+v", j)
	}

	pay := sampleOutcome()
	pay.Type, pay.Intent, pay.Status = pipeline.OutcomePayment, nil, ""
	if j, err := jobFor(enc(pay)); j != nil || err != nil {
		t.Fatalf("payment outcome: %v %v", j, err)
	}
	// A change to PENDING is a review's return to it (issue 13 finding 8): the native merchant, told
	// payment.review_required before, is told payment.pending (this asserted no job before).
	pending := sampleOutcome()
	pending.Status, pending.PreviousStatus, pending.Reason = pipeline.StatusPending, pipeline.StatusReviewRequired, "candidate_used"
	if j, err := jobFor(enc(pending)); j == nil || err != nil || j.Event != "payment.pending" {
		t.Fatalf("pending outcome: %v %v", j, err)
	}
	if _, err := jobFor([]byte("{not json")); !errors.Is(err, pipeline.ErrBadOutcome) {
		t.Fatalf("garbage: %v", err)
	}
	noEnv := sampleOutcome()
	noEnv.Environment, noEnv.Intent.Environment = "", ""
	if _, err := jobFor(enc(noEnv)); !errors.Is(err, pipeline.ErrBadOutcome) {
		t.Fatalf("no environment: %v", err)
	}
}

func BenchmarkRenderNative(b *testing.B) {
	o := sampleOutcome()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render(o); err != nil {
			b.Fatal(err)
		}
	}
}
