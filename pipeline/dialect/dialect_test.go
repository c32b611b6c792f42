package dialect_test

import (
	"errors"
	"testing"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect"
	"github.com/paystream/paystream/pipeline/dialect/dialects"
)

func TestEncodeBody(t *testing.T) {
	w, err := dialect.EncodeBody("payment.paid", map[string]string{"ref": "A&B<C>"}, 8, "test")
	if err != nil || w.Event != "payment.paid" || string(w.Body) != `{"ref":"A&B<C>"}` {
		t.Fatalf("%q %s %v", w.Event, w.Body, err)
	}
	if _, err := dialect.EncodeBody("x", func() {}, 8, "test"); err == nil {
		t.Fatal("encoding a func succeeded")
	}
}

// TestEveryDialectAnswersToItsName: For finds each listed dialect by its own name, the empty name is
// native (records older than dialects), and an unknown name is ErrUnknown.
func TestEveryDialectAnswersToItsName(t *testing.T) {
	seen := map[pipeline.Dialect]bool{}
	for _, d := range dialects.All {
		if seen[d.Name()] {
			t.Fatalf("dialect %q listed twice", d.Name())
		}
		seen[d.Name()] = true
		got, err := dialects.For(d.Name())
		if err != nil || got.Name() != d.Name() || !dialects.Known(d.Name()) {
			t.Fatalf("For(%q) = %v, %v", d.Name(), got, err)
		}
	}
	if !seen[pipeline.DialectNative] || !seen[pipeline.DialectBDQuickPay] {
		t.Fatalf("dialects %v", seen)
	}
	if d, err := dialects.For(""); err != nil || d.Name() != pipeline.DialectNative {
		t.Fatalf("For(\"\") = %v, %v", d, err)
	}
	if _, err := dialects.For("martian"); !errors.Is(err, dialect.ErrUnknown) {
		t.Fatalf("For(martian): %v", err)
	}
	if dialects.Known("") || dialects.Known("martian") {
		t.Fatal("Known accepts an empty or unknown name")
	}
}

// TestOtherOutcomesSendNothing: a payment record or a balance gap is never a webhook, in any dialect.
func TestOtherOutcomesSendNothing(t *testing.T) {
	for _, d := range dialects.All {
		for _, typ := range []pipeline.OutcomeType{pipeline.OutcomePayment, pipeline.OutcomeBalanceGap} {
			o := &pipeline.Outcome{ID: "o", Type: typ, MerchantID: "m", Intent: &pipeline.Intent{ID: "i"}, Status: pipeline.StatusPaid}
			if w, err := d.Webhook(o); err != nil || w.Event != "" || w.Body != nil {
				t.Fatalf("%s %s: %q %s %v", d.Name(), typ, w.Event, w.Body, err)
			}
		}
	}
}
