package sns

import (
	"encoding/json"
	"testing"

	"github.com/paystream/paystream/pipeline"
)

// TestAdversarialSNSAmountCommas (issue 13, finding 10): the SNS Message.amount is JSON from bKash,
// "100.50": a comma is refused with the surface's 400, never read as a thousands separator ("100,50"
// was 10050 BDT), whether it is misplaced or well placed.
func TestAdversarialSNSAmountCommas(t *testing.T) {
	for _, raw := range []string{`"100,50"`, `"1,00"`, `"1,000.00"`, `"1,00,000"`, `",5"`, `"5,"`, `"1,,0"`} {
		if m, ae := snsAmount(json.RawMessage(raw)); ae == nil || ae.Status != 400 {
			t.Errorf("snsAmount(%s) = %v, %v; want a 400", raw, m, ae)
		}
	}
	for raw, want := range map[string]pipeline.Money{`"100.50"`: 10050, `100.5`: 10050, `"1000"`: 100000} {
		if m, ae := snsAmount(json.RawMessage(raw)); ae != nil || m != want {
			t.Errorf("snsAmount(%s) = %v, %v; want %v", raw, m, ae, want)
		}
	}
}
