package ingest_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/paystream/paystream/pipeline"
)

// amountForm is one way a client may write an amount, and what every surface must make of it:
// a value (in paisa) or the reason it is refused. paisa, when set, is the verdict of the surfaces
// that take paisa (payments: the simulators, bdQuickPay create); the others (native create, the
// transaction API) take whole taka.
type amountForm struct {
	lit   string // the JSON text of the amount; "" leaves the field out
	whole amountWant
	paisa *amountWant
}

type amountWant struct {
	value   pipeline.Money
	problem string // "", "missing", "number", "positive", "large", "precise"
}

func ok(m pipeline.Money) amountWant { return amountWant{value: m} }
func bad(p string) amountWant        { return amountWant{problem: p} }
func okP(m pipeline.Money) *amountWant {
	w := ok(m)
	return &w
}

// amountForms is the class of amount spellings of issue 13 finding 14, generated around the
// instances the issue names.
func amountForms() []amountForm {
	forms := []amountForm{
		{lit: `5e2`, whole: ok(50000)},
		{lit: `1e3`, whole: ok(100000)},
		{lit: `5E+2`, whole: ok(50000)},
		{lit: `0.5e3`, whole: ok(50000)},
		{lit: `50000e-2`, whole: ok(50000)},
		{lit: `500`, whole: ok(50000)},
		{lit: `500.0`, whole: ok(50000)},
		{lit: `500.00000`, whole: ok(50000)},
		{lit: `500.5`, whole: bad("precise"), paisa: okP(50050)},
		{lit: `500.05`, whole: bad("precise"), paisa: okP(50005)},
		{lit: `5005e-1`, whole: bad("precise"), paisa: okP(50050)},
		{lit: `500.001`, whole: bad("precise")},
		{lit: `1e-3`, whole: bad("precise")},
		{lit: `"500"`, whole: ok(50000)},
		{lit: `"500.50"`, whole: bad("precise"), paisa: okP(50050)},
		{lit: `"00500"`, whole: ok(50000)},
		{lit: `" 500 "`, whole: ok(50000)},
		{lit: `"\t500\n"`, whole: ok(50000)},
		{lit: `-1`, whole: bad("positive")},
		{lit: `-500.5`, whole: bad("positive")},
		{lit: `"-1"`, whole: bad("positive")},
		{lit: `0`, whole: bad("positive")},
		{lit: `-0`, whole: bad("positive")},
		{lit: `0.0`, whole: bad("positive")},
		{lit: `0e5`, whole: bad("positive")},
		{lit: `"0"`, whole: bad("positive")},
		{lit: `100000000`, whole: ok(pipeline.MaxMoney)},
		{lit: `1e8`, whole: ok(pipeline.MaxMoney)},
		{lit: `100000000.01`, whole: bad("large")},
		{lit: `100000001`, whole: bad("large")},
		{lit: `1e9`, whole: bad("large")},
		{lit: `1000000000`, whole: bad("large")},
		{lit: `1e20`, whole: bad("large")},
		{lit: `99999999999999999999999`, whole: bad("large")},
		{lit: `"1000000000"`, whole: bad("large")},
		{lit: `1e-300`, whole: bad("precise")},
		{lit: `"NaN"`, whole: bad("number")},
		{lit: `"Infinity"`, whole: bad("number")},
		{lit: `"5e2"`, whole: bad("number")},
		{lit: `"0x1F4"`, whole: bad("number")},
		{lit: `"1,250"`, whole: bad("number")},
		{lit: `"৫০০"`, whole: bad("number")}, // Bengali digits
		{lit: `"500 BDT"`, whole: bad("number")},
		{lit: `"+500"`, whole: bad("number")},
		{lit: `true`, whole: bad("number")},
		{lit: `false`, whole: bad("number")},
		{lit: `[500]`, whole: bad("number")},
		{lit: `[]`, whole: bad("number")},
		{lit: `{"amount":500}`, whole: bad("number")},
		{lit: `null`, whole: bad("missing")},
		{lit: `""`, whole: bad("missing")},
		{lit: `"   "`, whole: bad("missing")},
		{lit: ``, whole: bad("missing")},
	}
	// Exponents far beyond any amount, both ways, on both sides of 1.
	for _, e := range []string{"41", "400", "999999", "99999999999999999999"} {
		forms = append(forms, amountForm{lit: "5e" + e, whole: bad("large")}, amountForm{lit: "5e-" + e, whole: bad("precise")})
	}
	return forms
}

// amountSurface sends one amount to one surface and reads the verdict back in that surface's own
// shape: the accepted value, or the refusal's message (after checking the shape).
type amountSurface struct {
	name     string
	paisa    bool
	messages map[string]string // problem → the message this surface must give
	send     func(t *testing.T, lit string) (value pipeline.Money, message string)
	// absent, if set, is what this surface makes of an amount left out or null (an optional
	// amount with a default), instead of "missing".
	absent *amountWant
}

// TestAdversarialAmountRule: every surface that takes an amount from a client (native create, the
// native sandbox simulator, bdQuickPay create and simulate, the transaction API, the admin refund
// of a bKash tokenized payment) gives every form
// of amountForms the same verdict, each refusal with the honest reason in the surface's own shape.
// Before issue 13 native create refused 5e2 and 1e3 (accepted elsewhere), told 1000000000 "must be
// a positive number", and answered wrong-type messages ("amount must be a string" for true).
func TestAdversarialAmountRule(t *testing.T) {
	tf := newTokFixture(t) // the refund needs bKash tokenized payments (the simulator)
	f := tf.fixture
	pub := recordEvents(f)
	nativeKey, _ := f.onboard(t)
	bm := f.onboardBQP(t)
	tm := f.txnOnboard(t)
	txnKey, txnSecret := f.txnIntegration(t, tm.id, pipeline.Sandbox, false)
	n := 0
	uniq := func(p string) string { n++; return fmt.Sprintf("%s%s%04d", p, strings.ToUpper(randHex(3)), n) }
	field := func(lit string) string {
		if lit == "" {
			return ""
		}
		return `"amount":` + lit + `,`
	}
	_, intent, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": nativeKey}, `{"amount":500,"currency":"BDT","customerReference":"AM-0"}`)
	_, invoice, _ := f.do("POST", bqpCreatePath, bm.Sandbox(), bqpSeedJSBody)

	native := func(t *testing.T, code int, m map[string]any, okCode int, amount any) (pipeline.Money, string) {
		t.Helper()
		if code == okCode {
			v, err := pipeline.ParseMoney(fmt.Sprint(amount))
			if err != nil {
				t.Fatalf("%d with amount %v", code, amount)
			}
			return v, ""
		}
		if code != 400 || m["statusCode"] != float64(400) || m["error"] != "Bad Request" || len(m) != 3 {
			t.Fatalf("%d %v: want %d or 400 in the native shape", code, m, okCode)
		}
		return 0, fmt.Sprint(m["message"])
	}
	bqp := func(t *testing.T, code int, m map[string]any, amount any) (pipeline.Money, string) {
		t.Helper()
		if code == 200 && m["status"] == true {
			n, _ := amount.(float64) // seed 001 answers a JSON number
			v, err := pipeline.ParseMoney(strconv.FormatFloat(n, 'f', -1, 64))
			if err != nil {
				t.Fatalf("200 with amount %v", amount)
			}
			return v, ""
		}
		errs, _ := m["errors"].(map[string]any)
		msgs, _ := errs["amount"].([]any)
		if code != 422 || m["status"] != false || m["message"] != "Validation error" || len(errs) != 1 || len(msgs) != 1 {
			t.Fatalf("%d %v: want 200 or 422 on amount alone in seed 001's shape", code, m)
		}
		return 0, fmt.Sprint(msgs[0])
	}
	nativeMsgs := func(precise string) map[string]string {
		return map[string]string{
			"missing": "amount is required", "number": "amount must be a number of BDT, such as 500",
			"positive": "amount must be greater than 0", "large": "amount must not be greater than 100000000 BDT", "precise": precise,
		}
	}
	bqpMsgs := map[string]string{
		"missing": "The amount field is required.", "number": "The amount must be a number.", "positive": "The amount must be greater than 0.",
		"large": "The amount must not be greater than 100000000.", "precise": "The amount must have at most 2 decimal places.",
	}

	surfaces := []amountSurface{
		{name: "native create", messages: nativeMsgs("amount must be a whole number of BDT (no decimals)"),
			send: func(t *testing.T, lit string) (pipeline.Money, string) {
				code, m, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": nativeKey},
					`{`+field(lit)+`"currency":"BDT","customerReference":"`+uniq("AM")+`"}`)
				return native(t, code, m, 201, m["amount"])
			}},
		{name: "native sandbox simulator", paisa: true, messages: nativeMsgs("amount must have at most 2 decimal places"),
			send: func(t *testing.T, lit string) (pipeline.Money, string) {
				code, m, _ := f.do("POST", "/v1/sandbox/sms-events/simulate", map[string]string{"X-Api-Key": nativeKey},
					`{`+field(lit)+`"paymentIntentId":"`+fmt.Sprint(intent["id"])+`","trxId":"`+uniq("SIM")+`"}`)
				return native(t, code, m, 202, m["amount"])
			}},
		{name: "bdQuickPay create", paisa: true, messages: bqpMsgs,
			send: func(t *testing.T, lit string) (pipeline.Money, string) {
				code, m, _ := f.do("POST", bqpCreatePath, bm.Sandbox(),
					`{`+field(lit)+`"customer_reference":"`+uniq("BQ")+`","success_url":"https://yoursite.com/s","cancel_url":"https://yoursite.com/c"}`)
				return bqp(t, code, m, m["amount"])
			}},
		{name: "bdQuickPay simulate", paisa: true, messages: bqpMsgs,
			send: func(t *testing.T, lit string) (pipeline.Money, string) {
				code, m, _ := f.do("POST", "/api/bkash/v1/sandbox/simulate", bm.Sandbox(),
					`{`+field(lit)+`"invoice_id":"`+fmt.Sprint(invoice["invoice_id"])+`","trx_id":"`+uniq("BS")+`"}`)
				d, _ := m["data"].(map[string]any)
				return bqp(t, code, m, d["amount"])
			}},
		{name: "transaction API", messages: map[string]string{
			"missing": "amount is required", "number": "amount is invalid: it must be a number of taka, such as 100",
			"positive": "amount is invalid: it must be greater than 0", "large": "amount is invalid: it must not be greater than 100000000",
			"precise": "amount is invalid: it must be a whole number of taka",
		}, send: func(t *testing.T, lit string) (pipeline.Money, string) {
			body := `{` + field(lit) + `"transaction_id":"` + uniq("TX") + `","from_account":"01711111111","to_account":"` + tm.bkash + `"}`
			code, raw := f.txn(txnCompletePath, txnKey, txnSign(txnSecret, body), body)
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			if code == 202 {
				ev, _ := pub.Last()
				return ev.Payment.Amount, ""
			}
			errs, _ := m["errors"].(map[string]any)
			if msgs, _ := errs["body"].([]any); code == 422 && len(msgs) == 1 && strings.Contains(lit, "e") && !strings.Contains(lit, "e-") {
				// RFC 8785 (JCS, which seed 002 signs) cannot hold a number beyond an IEEE 754
				// double: such a body is refused whole, before any field is read.
				return 0, "large:body"
			}
			msgs, _ := errs["amount"].([]any)
			if code != 422 || m["code"] != float64(422) || m["type"] != "error" || m["message"] != "please fix the given errors" || len(errs) != 1 || len(msgs) != 1 {
				t.Fatalf("%d %s: want 202 or 422 on amount alone in seed 002's shape", code, raw)
			}
			return 0, fmt.Sprint(msgs[0])
		}},
	}
	// The refund (admin API) takes paisa; left out or null it refunds what is left, which is the
	// whole payment here: each form is sent for a fresh payment of the maximum amount, so any amount
	// the rule accepts is really refunded and the answer says how much.
	maxPaid := ok(pipeline.MaxMoney)
	refundMsgs := nativeMsgs("amount must have at most 2 decimal places")
	refundMsgs["missing"] = "amount must be a number of BDT, such as 500; leave it out to refund what is left" // a blank string
	surfaces = append(surfaces, amountSurface{name: "tokenized refund", paisa: true, absent: &maxPaid,
		messages: refundMsgs,
		send: func(t *testing.T, lit string) (pipeline.Money, string) {
			id, pid := tf.intent(t, int(pipeline.MaxMoney/100))
			tf.customer(t, pid, "approve", "01711111111", "https://shop.test/success")
			code, m, _ := f.do("POST", "/admin/v1/intents/"+id+"/refund", f.AdminHeaders(),
				`{`+strings.TrimSuffix(field(lit), ",")+`}`)
			return native(t, code, m, 200, m["amount"])
		}})
	for _, s := range surfaces {
		t.Run(s.name, func(t *testing.T) {
			for _, form := range amountForms() {
				want := form.whole
				if s.paisa && form.paisa != nil {
					want = *form.paisa
				}
				if s.absent != nil && (form.lit == "" || form.lit == "null") {
					want = *s.absent
				}
				got, msg := s.send(t, form.lit)
				switch {
				case msg == "large:body" && want.problem == "large" && s.name == "transaction API":
				case want.problem == "" && (msg != "" || got != want.value):
					t.Errorf("amount %s: got %d %q, want %d accepted", form.lit, got, msg, want.value)
				case want.problem != "" && msg != s.messages[want.problem]:
					t.Errorf("amount %s: got %d %q, want refused: %q", form.lit, got, msg, s.messages[want.problem])
				}
			}
		})
	}
}
