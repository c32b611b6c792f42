package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestE2ESMSFirstThenClaim: the SMS arrives first and is ambiguous (two open 800 BDT intents on the
// wallet, both go to review); the customer then claims its TrxID on intent A's checkout page, and
// the claim settles it: A is PAID (CLAIM_MATCH) exactly once, B returns to PENDING and its own
// payment pays it.
func TestE2ESMSFirstThenClaim(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	acct := wallet()
	mc := onboard(t, in, rcv, acct)
	fwd := smsE2EDevice(t, in, mc.id, acct)
	a := createIntent(t, in, mc.testKey, `{"amount":800,"currency":"BDT","customerReference":"FIRST-A"}`)["id"].(string)
	b := createIntent(t, in, mc.testKey, `{"amount":800,"currency":"BDT","customerReference":"FIRST-B"}`)["id"].(string)

	trx := smsE2ETrx()
	if code, out, _ := call(t, "POST", fwd, nil, smsE2EForwarder("bKash", smsE2EText(800, trx, time.Now()))); code != http.StatusAccepted || out["pays"] != true {
		t.Fatalf("forwarding the SMS: %d %v", code, out)
	}
	waitStatus(t, in, mc.testKey, a, "REVIEW_REQUIRED", 30*time.Second)
	waitStatus(t, in, mc.testKey, b, "REVIEW_REQUIRED", 30*time.Second)

	code, out, _ := call(t, "POST", in.base+"/v1/checkout/"+a+"/claim", nil, fmt.Sprintf(`{"trxId":%q}`, trx))
	if code != http.StatusAccepted {
		t.Fatalf("claiming: %d %v", code, out)
	}
	paid := rcv.waitHooks(t, 1, 30*time.Second, func(h hook) bool {
		return forIntent(a)(h) && h.event["event"] == "payment.paid"
	})
	if d := paid[0].event["data"].(map[string]any); d["match_type"] != "CLAIM_MATCH" || d["trx_id"] != trx {
		t.Fatalf("paid webhook: %s", paid[0].body)
	}
	waitStatus(t, in, mc.testKey, a, "PAID", 10*time.Second)
	// The same TrxID claimed on B is refused: it already paid A.
	code, out, _ = call(t, "POST", in.base+"/v1/checkout/"+b+"/claim", nil, fmt.Sprintf(`{"trxId":%q}`, trx))
	if code != http.StatusConflict {
		t.Fatalf("claiming A's TrxID on B: %d %v", code, out)
	}
	// Issue 13 finding 8: B was waiting only on that payment, so it returns to PENDING (the merchant
	// is told payment.pending, reason candidate_used) and customer B's own payment pays it. This
	// test required B to stay REVIEW_REQUIRED before, which stranded B's own payment as unmatched.
	pending := rcv.waitHooks(t, 1, 30*time.Second, func(h hook) bool {
		return forIntent(b)(h) && h.event["event"] == "payment.pending"
	})
	if d := pending[0].event["data"].(map[string]any); d["status"] != "PENDING" || d["reason"] != "candidate_used" {
		t.Fatalf("pending webhook: %s", pending[0].body)
	}
	waitStatus(t, in, mc.testKey, b, "PENDING", 10*time.Second)
	trxB := smsE2ETrx()
	textB := fmt.Sprintf("You have received Tk 800.00 from 01783110247. Fee Tk 0.00. Balance Tk 10,252.20. TrxID %s at %s",
		trxB, time.Now().In(time.FixedZone("Asia/Dhaka", 6*3600)).Format("02/01/2006 15:04")) // the chain: 9,452.20 + 800
	if code, out, _ := call(t, "POST", fwd, nil, smsE2EForwarder("bKash", textB)); code != http.StatusAccepted || out["pays"] != true {
		t.Fatalf("forwarding B's SMS: %d %v", code, out)
	}
	paidB := rcv.waitHooks(t, 1, 30*time.Second, func(h hook) bool {
		return forIntent(b)(h) && h.event["event"] == "payment.paid"
	})
	if d := paidB[0].event["data"].(map[string]any); d["match_type"] != "AUTO_MATCH" || d["trx_id"] != trxB {
		t.Fatalf("B's paid webhook: %s", paidB[0].body)
	}
	if n := len(rcv.waitHooks(t, 0, 0, func(h hook) bool { return h.event["event"] == "payment.paid" && h.path == mc.path })); n != 2 {
		t.Fatalf("%d payment.paid webhooks, want 2 (A by its claim, B by its own payment)", n)
	}
}

// TestE2EBalanceGap: two forwarded credits whose balances do not chain (a credit SMS was missed in
// between) raise the "possible missed SMS" signal, visible to operators; the payment itself is
// still processed.
func TestE2EBalanceGap(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	acct := wallet()
	mc := onboard(t, in, rcv, acct)
	fwd := smsE2EDevice(t, in, mc.id, acct)
	at := time.Now().Add(-5 * time.Minute)
	sms := func(amount, balance string, trx string, when time.Time) string {
		return fmt.Sprintf("You have received Tk %s from 01783110247. Fee Tk 0.00. Balance Tk %s. TrxID %s at %s",
			amount, balance, trx, when.In(time.FixedZone("Asia/Dhaka", 6*3600)).Format("02/01/2006 15:04"))
	}
	for i, s := range []string{
		sms("500.00", "1,500.00", smsE2ETrx(), at),
		sms("300.00", "1,800.00", smsE2ETrx(), at.Add(time.Minute)),   // chains: 1500 + 300
		sms("200.00", "2,500.00", smsE2ETrx(), at.Add(2*time.Minute)), // expected 2000: a credit was missed
	} {
		if code, out, _ := call(t, "POST", fwd, nil, smsE2EForwarder("bKash", s)); code != http.StatusAccepted {
			t.Fatalf("SMS %d: %d %v", i, code, out)
		}
	}
	admin := map[string]string{"Authorization": "Bearer " + in.admin}
	var gaps map[string]any
	waitFor(t, 30*time.Second, "the balance gap", func() bool {
		_, gaps, _ = call(t, "GET", in.base+"/admin/v1/merchants/"+mc.id+"/balance-gaps?env=SANDBOX", admin, "")
		return gaps["total"] == float64(1)
	})
	g := gaps["data"].([]any)[0].(map[string]any)
	if g["wallet"].(map[string]any)["account"] != acct {
		t.Fatalf("gap: %v", g)
	}
	resp, err := http.Get(in.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !slices.Contains(strings.Split(string(b), "\n"), `paystream_matcher_balance_gaps_total{environment="SANDBOX"} 1`) {
		t.Fatal("paystream_matcher_balance_gaps_total{environment=\"SANDBOX\"} is not 1")
	}
}

// TestE2EAdversarialReferenceGriefing (issue 13 finding 5): a stranger pays 1 Tk with
// Ref = a customer's order number. The payment is held for review, the customer's intent stays
// PENDING and no webhook is sent for it; the customer's own payment then pays it (REFERENCE_MATCH),
// and the merchant only ever hears payment.paid. The grief SMS is forwarded first on the same
// wallet (one partition, decided in order), so the paid webhook is the sentinel that it was decided.
func TestE2EAdversarialReferenceGriefing(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	acct := wallet()
	mc := onboard(t, in, rcv, acct)
	fwd := smsE2EDevice(t, in, mc.id, acct)
	order := "ORD-" + strings.ToUpper(randHex(3))
	victim := createIntent(t, in, mc.testKey, fmt.Sprintf(`{"amount":500,"currency":"BDT","customerReference":%q}`, order))["id"].(string)

	dhaka := time.FixedZone("Asia/Dhaka", 6*3600)
	sms := func(amount, balance, trx string) string {
		return fmt.Sprintf("You have received Tk %s from 01783110247. Ref %s. Fee Tk 0.00. Balance Tk %s. TrxID %s at %s",
			amount, order, balance, trx, time.Now().In(dhaka).Format("02/01/2006 15:04"))
	}
	grief, own := smsE2ETrx(), smsE2ETrx()
	for _, s := range []string{sms("1.00", "1,001.00", grief), sms("500.00", "1,501.00", own)} {
		if code, out, _ := call(t, "POST", fwd, nil, smsE2EForwarder("bKash", s)); code != http.StatusAccepted || out["pays"] != true {
			t.Fatalf("forwarding %q: %d %v", s, code, out)
		}
	}
	paid := rcv.waitHooks(t, 1, 30*time.Second, func(h hook) bool { return forIntent(victim)(h) && h.event["event"] == "payment.paid" })
	if d := paid[0].event["data"].(map[string]any); d["match_type"] != "REFERENCE_MATCH" || d["trx_id"] != own {
		t.Fatalf("paid webhook: %s", paid[0].body)
	}
	if hooks := rcv.waitHooks(t, 0, 0, forIntent(victim)); len(hooks) != 1 {
		var evs []any
		for _, h := range hooks {
			evs = append(evs, h.event["event"])
		}
		t.Fatalf("webhooks for the victim's intent: %v, want only payment.paid", evs)
	}
	waitStatus(t, in, mc.testKey, victim, "PAID", 10*time.Second)
}
