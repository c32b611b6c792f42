package ingest

import (
	"encoding/json"
	"testing"

	"github.com/paystream/paystream/pipeline"
)

func TestParseAmount(t *testing.T) {
	for lit, want := range map[string]pipeline.Money{
		"500": 50000, "500.5": 50050, "500.50": 50050, "500.000": 50000, "0.01": 1, "5e2": 50000, "5.5E+1": 5500,
		"12345e-2": 12345, "0.5e1": 500, "100000000": pipeline.MaxMoney, `"00500"`: 50000, `" 500.5 "`: 50050,
	} {
		if got, p := ParseAmount(json.RawMessage(lit), WithPaisa); got != want || p != AmountOK {
			t.Errorf("%s: %d %d, want %d", lit, got, p, want)
		}
	}
	for _, lit := range []string{"0", "-1", "0.001", "100000000.01", "1e9", "1e-3", "-0", "0e5", "1e41", "1e-41", `"5e2"`, `"1,250"`, "true", "[]", "{}", `"NaN"`} {
		if got, p := ParseAmount(json.RawMessage(lit), WithPaisa); p == AmountOK {
			t.Errorf("%s: accepted as %d", lit, got)
		}
	}
}
