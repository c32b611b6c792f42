package admin_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// Component tests of the operators' API. The matcher does not run here: the state it would have
// written (intents under review, kept payments) is stored with state.Store.Apply, as it does.

type revFixture struct {
	f     *fixture
	pub   *ingesttest.Recorder
	m     txnMerchant
	admin map[string]string
	bkash pipeline.Wallet
	nagad pipeline.Wallet
}

func revSetup(t *testing.T) *revFixture {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	r := &revFixture{f: f, pub: recordEvents(f), m: f.txnOnboard(t), admin: map[string]string{"Authorization": "Bearer " + f.admin}}
	r.bkash = pipeline.Wallet{Provider: pipeline.BKash, Account: r.m.bkash, Environment: pipeline.Sandbox}
	r.nagad = pipeline.Wallet{Provider: pipeline.Nagad, Account: r.m.nagad, Environment: pipeline.Sandbox}
	return r
}

// revIntent creates a SANDBOX bKash intent of amount BDT and returns its record.
func (r *revFixture) revIntent(t *testing.T, amount int) *pipeline.IntentRecord {
	t.Helper()
	code, out, _ := r.f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": r.m.key},
		fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":"REV-%s","provider":"bkash"}`, amount, randHex(3)))
	if code != 201 {
		t.Fatalf("creating intent: %d %v", code, out)
	}
	rec, err := r.f.s.state.GetIntent(t.Context(), out["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// revPayment stores a payment the matcher kept (unmatched, or under review concerning intents,
// which move to to) and returns its event id.
func (r *revFixture) revPayment(t *testing.T, w pipeline.Wallet, disp pipeline.Disposition, amount int, to pipeline.Status, intents ...*pipeline.IntentRecord) (string, string) {
	t.Helper()
	ev, trx := "ev-"+randHex(6), "T"+strings.ToUpper(randHex(5))
	now := time.Now().UTC()
	ch := &state.Change{Wallet: w, EventID: ev, SeenTrxID: trx, Payment: &pipeline.PaymentRecord{
		EventID: ev, MerchantID: r.m.id, Source: pipeline.SourceSMS, Wallet: w, Disposition: disp, Rule: pipeline.RuleNone,
		Payment:    pipeline.Payment{Provider: w.Provider, TrxID: trx, Amount: pipeline.BDT(int64(amount)), Sender: "01711111111", OccurredAt: now},
		AcceptedAt: now, DecidedAt: now,
	}}
	if disp != pipeline.DispositionUnmatched && disp != pipeline.DispositionReview {
		ch.Payment = nil
	}
	for _, in := range intents {
		if ch.Payment != nil {
			ch.Payment.IntentIDs = append(ch.Payment.IntentIDs, in.ID)
			ch.Payment.Reason, ch.Payment.Rule = pipeline.ReasonAmbiguous, pipeline.RuleAmount
		}
		reason := pipeline.ReasonAmbiguous
		if to != pipeline.StatusReviewRequired {
			reason = ""
		}
		ch.Transitions = append(ch.Transitions, pipeline.Transition{
			IntentID: in.ID, Amount: in.Amount, CreatedAt: in.CreatedAt, From: in.Status, Version: in.Version, To: to,
			TrxID: trx, Reason: reason, At: now,
		})
	}
	if _, _, err := r.f.s.state.Apply(t.Context(), ch); err != nil {
		t.Fatalf("storing the matcher's state: %v", err)
	}
	return ev, trx
}

func (r *revFixture) decide(id, action, body string) (int, map[string]any) {
	code, m, _ := r.f.do("POST", "/admin/v1/intents/"+id+"/"+action, r.admin, body)
	return code, m
}

func TestReviewQueueApproveReject(t *testing.T) {
	r := revSetup(t)
	i1, i2 := r.revIntent(t, 900), r.revIntent(t, 900)
	payEv, trx := r.revPayment(t, r.bkash, pipeline.DispositionReview, 900, pipeline.StatusReviewRequired, i1, i2)

	code, q, _ := r.f.do("GET", "/admin/v1/merchants/"+r.m.id+"/review?env=SANDBOX", r.admin, "")
	if code != 200 || q["total"] != float64(2) || len(q["data"].([]any)) != 2 {
		t.Fatalf("review queue: %d %v", code, q)
	}
	for _, x := range q["data"].([]any) {
		it := x.(map[string]any)
		cands := it["candidates"].([]any)
		if it["reason"] != pipeline.ReasonAmbiguous || it["intent"].(map[string]any)["status"] != "REVIEW_REQUIRED" || len(cands) != 1 {
			t.Fatalf("review item: %v", it)
		}
		c := cands[0].(map[string]any)
		if c["eventId"] != payEv || c["trxId"] != trx || c["amount"] != "900" || c["receiverMsisdn"] != r.m.bkash || c["disposition"] != "review" {
			t.Fatalf("candidate: %v", c)
		}
	}
	if code, q, _ := r.f.do("GET", "/admin/v1/merchants/"+r.m.id+"/review?env=LIVE", r.admin, ""); code != 200 || q["total"] != float64(0) {
		t.Fatalf("LIVE review queue: %d %v", code, q)
	}

	before := len(r.pub.Events())
	body := fmt.Sprintf(`{"trxId":%q,"operator":"rahim@shop","note":"customer sent a screenshot"}`, strings.ToLower(trx))
	code, m := r.decide(i1.ID, "approve", body)
	if code != 202 || m["accepted"] != true || m["intentId"] != i1.ID || m["action"] != "approve" || m["status"] != "REVIEW_REQUIRED" {
		t.Fatalf("approve: %d %v", code, m)
	}
	ev, n := r.pub.Last()
	want := pipeline.ReviewDecision{IntentID: i1.ID, Action: pipeline.ReviewApprove, TrxID: trx, Operator: "rahim@shop", Note: "customer sent a screenshot"}
	if n != before+1 || ev.ID != m["eventId"] || ev.Kind != pipeline.KindReviewDecided || ev.Source != pipeline.SourceOperator ||
		ev.Wallet != r.bkash || ev.MerchantID != r.m.id || ev.Environment != pipeline.Sandbox || ev.Review == nil || *ev.Review != want ||
		string(ev.Raw) != body {
		t.Fatalf("approve event: %+v review %+v", ev, ev.Review)
	}
	// The same decision again (a double click, a retry after a 503) is the same event.
	if code, again := r.decide(i1.ID, "approve", body); code != 202 || again["eventId"] != m["eventId"] {
		t.Fatalf("approve again: %d %v, want event %v", code, again, m["eventId"])
	}

	code, m = r.decide(i2.ID, "reject", "")
	if code != 202 || m["action"] != "reject" {
		t.Fatalf("reject: %d %v", code, m)
	}
	if ev, _ := r.pub.Last(); ev.Review == nil || *ev.Review != (pipeline.ReviewDecision{IntentID: i2.ID, Action: pipeline.ReviewReject}) || ev.Wallet != r.bkash {
		t.Fatalf("reject event: %+v", ev.Review)
	}

	// Only intents under review can be approved or rejected.
	pending := r.revIntent(t, 300)
	for _, action := range []string{"approve", "reject"} {
		code, m := r.decide(pending.ID, action, `{}`)
		if code != 409 || m["statusCode"] != float64(409) || !strings.Contains(fmt.Sprint(m["message"]), "Intent is PENDING") {
			t.Errorf("%s a PENDING intent: %d %v", action, code, m)
		}
	}
	paid := r.revIntent(t, 400)
	r.revPayment(t, r.bkash, pipeline.DispositionMatched, 400, pipeline.StatusPaid, paid)
	if code, m := r.decide(paid.ID, "reject", `{}`); code != 409 || !strings.Contains(fmt.Sprint(m["message"]), "Intent is PAID") {
		t.Errorf("reject a PAID intent: %d %v", code, m)
	}
	n = len(r.pub.Events())

	for _, c := range []struct {
		name, id, action, body string
		want                   int
		msg                    string
	}{
		{"unknown intent", "00000000-0000-0000-0000-000000000000", "approve", `{}`, 404, "Payment intent not found"},
		{"garbage id", "..%2f..", "approve", `{}`, 404, ""},
		{"malformed", i1.ID, "approve", `{"trxId":`, 400, "Malformed JSON"},
		{"not an object", i1.ID, "reject", `[]`, 400, "Request body must be a JSON object"},
		{"bad trxId", i1.ID, "approve", `{"trxId":"<script>"}`, 400, "trxId must be 6 to 32 letters and digits"},
		{"trxId type", i1.ID, "approve", `{"trxId":5}`, 400, "trxId must be a string"},
		{"operator too long", i1.ID, "reject", `{"operator":"` + strings.Repeat("o", 101) + `"}`, 400, "operator must be at most 100"},
		{"note control characters", i1.ID, "reject", `{"note":"a\u0007b"}`, 400, "note must be at most 1000"},
	} {
		code, m := r.decide(c.id, c.action, c.body)
		if code != c.want || m["statusCode"] != float64(c.want) || !strings.HasPrefix(fmt.Sprint(m["message"]), c.msg) {
			t.Errorf("%s: %d %v, want %d %q", c.name, code, m, c.want, c.msg)
		}
	}
	if code, m, _ := r.f.do("POST", "/admin/v1/intents/"+i1.ID+"/approve", nil, `{}`); code != 401 {
		t.Errorf("approve without the admin token: %d %v", code, m)
	}
	if len(r.pub.Events()) != n {
		t.Fatalf("refused decisions produced events")
	}
}

func TestReviewUnmatchedAndAttach(t *testing.T) {
	r := revSetup(t)
	payEv, _ := r.revPayment(t, r.bkash, pipeline.DispositionUnmatched, 750, "")
	nagadEv, _ := r.revPayment(t, r.nagad, pipeline.DispositionUnmatched, 750, "")

	code, list, _ := r.f.do("GET", "/admin/v1/merchants/"+r.m.id+"/payments/unmatched?env=SANDBOX&limit=10", r.admin, "")
	if code != 200 || list["total"] != float64(2) || list["limit"] != float64(10) {
		t.Fatalf("unmatched: %d %v", code, list)
	}
	seen := map[any]bool{}
	for _, x := range list["data"].([]any) {
		p := x.(map[string]any)
		seen[p["eventId"]] = true
		if p["disposition"] != "unmatched" || p["amount"] != "750" || p["senderMsisdn"] != "01711111111" || p["environment"] != "SANDBOX" {
			t.Errorf("unmatched payment: %v", p)
		}
	}
	if !seen[payEv] || !seen[nagadEv] {
		t.Fatalf("unmatched list %v lacks %s or %s", list, payEv, nagadEv)
	}
	for q, want := range map[string]int{"?env=LIVE": 200, "?env=nope": 400, "?limit=101": 400, "?page=0": 400} {
		code, m, _ := r.f.do("GET", "/admin/v1/merchants/"+r.m.id+"/payments/unmatched"+q, r.admin, "")
		if code != want || (want == 200 && m["total"] != float64(0)) {
			t.Errorf("unmatched%s: %d %v", q, code, m)
		}
	}
	if code, _, _ := r.f.do("GET", "/admin/v1/merchants/mch_nope/payments/unmatched", r.admin, ""); code != 404 {
		t.Errorf("unknown merchant: %d", code)
	}

	in := r.revIntent(t, 750)
	code, m := r.decide(in.ID, "attach", fmt.Sprintf(`{"paymentEventId":%q,"operator":"karim"}`, payEv))
	if code != 202 || m["action"] != "attach" || m["status"] != "PENDING" {
		t.Fatalf("attach: %d %v", code, m)
	}
	ev, _ := r.pub.Last()
	if ev.Kind != pipeline.KindReviewDecided || ev.Wallet != r.bkash || ev.Review == nil ||
		*ev.Review != (pipeline.ReviewDecision{IntentID: in.ID, Action: pipeline.ReviewAttach, PaymentEventID: payEv, Operator: "karim"}) {
		t.Fatalf("attach event: %+v %+v", ev, ev.Review)
	}
	if err := ev.Validate(); err != nil {
		t.Fatalf("attach event invalid: %v", err)
	}
	n := len(r.pub.Events())
	for _, c := range []struct {
		name, body string
		want       int
		msg        string
	}{
		{"another wallet's payment", fmt.Sprintf(`{"paymentEventId":%q}`, nagadEv), 409, "Payment " + nagadEv + " was received by nagad wallet " + r.m.nagad},
		{"unknown payment", `{"paymentEventId":"ev-nope"}`, 404, "Payment ev-nope not found"},
		{"no payment", `{}`, 400, "paymentEventId is required"},
		{"empty body", ``, 400, "paymentEventId is required"},
		{"payment type", `{"paymentEventId":7}`, 400, "paymentEventId must be a string"},
	} {
		code, m := r.decide(in.ID, "attach", c.body)
		if code != c.want || m["statusCode"] != float64(c.want) || !strings.HasPrefix(fmt.Sprint(m["message"]), c.msg) {
			t.Errorf("%s: %d %v, want %d %q", c.name, code, m, c.want, c.msg)
		}
	}
	if len(r.pub.Events()) != n {
		t.Fatal("refused attaches produced events")
	}
	paid := r.revIntent(t, 200)
	r.revPayment(t, r.bkash, pipeline.DispositionMatched, 200, pipeline.StatusPaid, paid)
	n = len(r.pub.Events())
	if code, m := r.decide(paid.ID, "attach", fmt.Sprintf(`{"paymentEventId":%q}`, payEv)); code != 409 ||
		!strings.Contains(fmt.Sprint(m["message"]), "only to a PENDING, REVIEW_REQUIRED or EXPIRED intent") {
		t.Errorf("attach to a PAID intent: %d %v", code, m)
	}
	if len(r.pub.Events()) != n {
		t.Fatal("refused attaches produced events")
	}
}
