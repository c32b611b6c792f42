package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestSMSParseCommand runs `paystream sms parse` as operators do: the SMS on standard input, one
// JSON object out, with the field names outside checks rely on.
func TestSMSParseCommand(t *testing.T) {
	run := func(text string, args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(binary(t), append([]string{"sms", "parse"}, args...)...)
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("paystream sms parse %v: %v", args, err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("output is not one JSON object: %v\n%s", err, out)
		}
		for _, k := range []string{"provider", "kind", "direction", "pays", "amount_paisa", "trx_id", "counterparty", "reference", "balance_paisa", "fee_paisa", "timestamp"} {
			if _, ok := m[k]; !ok {
				t.Errorf("output lacks %q: %s", k, out)
			}
		}
		return m
	}
	sms := "You have received Tk 1,250.50 from 01815474012.Ref ORDER 77. Fee Tk 0.00. Balance Tk 20,329.00. TrxID CAK845MSGS at 20/01/2025 10:53"
	m := run(sms, "--from", "bKash")
	if m["pays"] != true || m["amount_paisa"] != float64(125050) || m["trx_id"] != "CAK845MSGS" || m["reference"] != "ORDER 77" ||
		m["direction"] != "credit" || m["timestamp"] != "2025-01-20T10:53:00+06:00" || m["counterparty"] != "01815474012" {
		t.Fatalf("parsed: %v", m)
	}
	if m := run(sms, "--from", "+8801999999999"); m["pays"] != false {
		t.Fatalf("a spoofed sender pays: %v", m)
	}
	if m := run("Your bKash verification code is 840223."); m["pays"] != false || m["kind"] != "otp" || m["amount_paisa"] != nil {
		t.Fatalf("otp: %v", m)
	}
}
