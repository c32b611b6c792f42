package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAdminCLI drives `paystream admin` against a running dev: it onboards a merchant whose
// webhook endpoint fails, sees the webhook dead-lettered in `admin webhooks dead-letters`, fixes
// the endpoint and replays the dead letters with `admin webhooks replay-dead`.
func TestAdminCLI(t *testing.T) {
	in := startDev(t, "PAYSTREAM_WEBHOOK_MAX_ATTEMPTS=1")
	rcv := newReceiver(t)
	path := "/hooks/" + randHex(4)
	rcv.mu.Lock()
	rcv.failFirst[path] = 1 << 30
	rcv.mu.Unlock()

	run := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(binary(t), append([]string{"admin"}, append(args, "--url", in.base)...)...)
		cmd.Env = append(os.Environ(), "PAYSTREAM_ADMIN_TOKEN="+in.admin, "PAYSTREAM_CLICKHOUSE_DSN="+in.dsn)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out) + stderr.String(), err
		}
		return string(out), nil
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("paystream admin %v: %v\n%s", args, err, out)
		}
		return out
	}

	name := "CLI Shop " + randHex(3)
	out := mustRun("merchants", "create", "--name", name, "--wallet", "bkash:"+wallet()+":SANDBOX",
		"--webhook", "SANDBOX="+rcv.srv.URL+path, "--json")
	var m struct {
		ID      string            `json:"id"`
		APIKeys map[string]string `json:"apiKeys"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.ID == "" || !strings.HasPrefix(m.APIKeys["SANDBOX"], "sk_test_") {
		t.Fatalf("merchants create --json: %v\n%s", err, out)
	}
	if out := mustRun("merchants", "get", m.ID); !strings.Contains(out, name) || !strings.Contains(out, m.ID) {
		t.Fatalf("merchants get table lacks the name:\n%s", out)
	}
	if out, err := run("merchants", "get", "m_nope"); err == nil || !strings.Contains(out, "404") {
		t.Fatalf("merchants get of an unknown id: err %v\n%s", err, out)
	}
	var ml struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Total int `json:"total"`
	}
	if out := mustRun("merchants", "list", "--limit", "100", "--json"); json.Unmarshal([]byte(out), &ml) != nil || ml.Total < 1 {
		t.Fatalf("merchants list --json:\n%s", out)
	}

	// The merchant's own bKash account: secrets only as references, never shown; a LIVE account at
	// bKash's sandbox is refused.
	out = mustRun("merchants", "bkash", "set", m.ID, "--env", "SANDBOX", "--base-url", "https://tokenized.sandbox.bka.sh/v1.2.0-beta",
		"--username", "shop-user", "--app-key", "cli-app-key-123456", "--password-ref", "env:HOME", "--app-secret-ref", "env:PATH")
	if !strings.Contains(out, "merchant") || !strings.Contains(out, "env:HOME") || strings.Contains(out, "cli-app-key-123456") {
		t.Fatalf("merchants bkash set:\n%s", out)
	}
	if out, err := run("merchants", "bkash", "set", m.ID, "--env", "LIVE", "--base-url", "https://tokenized.sandbox.bka.sh/v1.2.0-beta",
		"--username", "u", "--app-key", "k", "--password-ref", "env:HOME", "--app-secret-ref", "env:PATH"); err == nil || !strings.Contains(out, "422") {
		t.Fatalf("a LIVE bKash account at the sandbox: err %v\n%s", err, out)
	}
	if out := mustRun("merchants", "bkash", "delete", m.ID, "--env", "sandbox"); strings.Contains(out, "shop-user") {
		t.Fatalf("merchants bkash delete:\n%s", out)
	}

	id := createIntent(t, in, m.APIKeys["SANDBOX"], `{"amount":510,"currency":"BDT","customerReference":"CLI-1"}`)["id"].(string)
	simulate(t, in, m.APIKeys["SANDBOX"], id, 510, "CLI"+randDigits(7))

	var outcomeID string
	waitFor(t, 30*time.Second, "the dead letter in `admin webhooks dead-letters`", func() bool {
		out, err := run("webhooks", "dead-letters", "--merchant", m.ID, "--json")
		if err != nil {
			return false
		}
		var dl struct {
			Data []struct {
				OutcomeID string `json:"outcomeId"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(out), &dl) == nil && len(dl.Data) == 1 {
			outcomeID = dl.Data[0].OutcomeID
		}
		return outcomeID != ""
	})
	if out := mustRun("webhooks", "dead-letters", "--merchant", m.ID); !strings.Contains(out, outcomeID) || !strings.Contains(out, "OUTCOME") {
		t.Fatalf("dead-letters table:\n%s", out)
	}

	rcv.mu.Lock()
	rcv.failFirst[path] = 0 // the merchant fixed its endpoint
	rcv.mu.Unlock()
	if out := mustRun("webhooks", "replay-dead", "--merchant", m.ID); !strings.Contains(out, outcomeID) || !strings.Contains(out, "scheduled") {
		t.Fatalf("replay-dead:\n%s", out)
	}
	h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
	if h.header.Get("webhook-id") != outcomeID {
		t.Fatalf("replayed webhook id %s, want %s", h.header.Get("webhook-id"), outcomeID)
	}
	// The attempts, read from the ClickHouse audit: the dead-lettered one and the delivery.
	waitFor(t, 30*time.Second, "the attempts in ClickHouse", func() bool {
		out, err := run("webhooks", "attempts", "--intent", id)
		return err == nil && strings.Contains(out, "dead_letter") && strings.Contains(out, "delivered")
	})
	if out := mustRun("webhooks", "attempts", "--merchant", m.ID, "--json"); !strings.Contains(out, outcomeID) {
		t.Fatalf("attempts --json:\n%s", out)
	}
	// Redelivering it again is refused, reported per id, and exits non-zero.
	if out, err := run("webhooks", "redeliver", outcomeID); err == nil || !strings.Contains(out, "failed") {
		t.Fatalf("redelivering a delivered webhook: err %v\n%s", err, out)
	}
}
