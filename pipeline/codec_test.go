package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// The record codec (codec.go) must stay encoding/json's, in both directions: records already in
// Kafka were written by encoding/json, and other readers of the topics (the audit's analysts,
// tooling) decode with encoding/json. These tests compare it with encoding/json on every event
// kind and outcome type, on unknown members, nulls, both forms of Money, and malformed input.

func at(h, m, s, ns int) time.Time { return time.Date(2026, 11, 21, h, m, s, ns, time.UTC) }

func codecIntent() *Intent {
	return &Intent{
		ID: "int_1", MerchantID: "mch_1", Environment: Live, Amount: BDT(500) + 50, Currency: "BDT",
		CustomerReference: "order <42> & \"co\"", Provider: Nagad, ReceiverMsisdn: "01711111111", IdempotencyKey: "idem-1",
		SuccessURL: "https://shop.example/ok?a=1&b=2", FailedURL: "https://shop.example/f", CancelURL: "https://shop.example/c",
		ExpiredURL: "https://shop.example/e", WebhookURL: "https://shop.example/hook", Dialect: DialectBDQuickPay,
		Metadata: json.RawMessage(`{"cart":"c-9","items":[1,2.5,true,null],"note":"é\u2028<>"}`), PaymentMethod: PaymentMethodBkashTokenized,
		CheckoutURL: "https://pay.example/x", CreatedAt: at(7, 50, 0, 0), ExpiresAt: at(8, 20, 0, 123456789),
	}
}

func codecPayment() *Payment {
	return &Payment{Provider: BKash, TrxID: "DKL7X2M9QA", Amount: BDT(500), Sender: "01999999999", Reference: "order-42", OccurredAt: at(7, 59, 58, 0)}
}

// codecEvents holds a valid event of every kind; together they set every field.
func codecEvents() []*Event {
	w := Wallet{Provider: BKash, Account: "01711111111", Environment: Sandbox}
	ev := func(id string, k EventKind, src Source) *Event {
		return &Event{ID: id, Kind: k, Source: src, Wallet: w, MerchantID: "mch_1", AcceptedAt: at(8, 0, 0, 0), Environment: Sandbox,
			RequestID: "req-" + id, Raw: []byte("{\"raw\":\"\xff\x00 bytes\"}")}
	}
	amt, bal := BDT(500), BDT(12500)+99
	created := ev("e1", KindIntentCreated, SourceMerchantAPI)
	created.Intent = codecIntent()
	paid := ev("e2", KindPaymentReported, SourceSMS)
	paid.Payment = codecPayment()
	paid.SMS = &SMS{Sender: "bKash", Text: "You have received Tk 500.00 <b>&</b> \u2029 \x01 tab\t bad\xffutf8 ৳", DeviceID: "dev_1", SIM: "sim2",
		ReceivedAt: at(7, 59, 59, 1), Trusted: true, Kind: "received_send_money", Direction: "credit", Balance: &bal, Amount: &amt,
		TrxID: "DKL7X2M9QA", Parsed: json.RawMessage(`{"kind":"received","feePaisa":0}`)}
	claim := ev("e3", KindClaimSubmitted, SourceCheckout)
	claim.Claim = &Claim{IntentID: "int_1", TrxID: "TRX1", SenderMsisdn: "01888888888"}
	review := ev("e4", KindReviewDecided, SourceOperator)
	review.Review = &ReviewDecision{IntentID: "int_1", Action: ReviewAttach, PaymentEventID: "e2", TrxID: "TRX1", Operator: "ops@x", Note: "ok"}
	sms := ev("e5", KindSMSReceived, SourceSMS)
	sms.SMS = &SMS{Sender: "16216", Text: "OTP 1234", DeviceID: "dev_2", Kind: "otp", Direction: "none"} // zero time, no amounts
	sms.Raw, sms.RequestID = nil, ""
	refunded := ev("e6", KindPaymentRefunded, SourceTokenized)
	refunded.Intent = codecIntent()
	refunded.Refund = &Refund{IntentID: "int_1", PaymentID: "pay_1", TrxID: "TRX1", RefundTrxID: "RTRX1", Amount: BDT(100) + 1,
		RefundedTotal: BDT(200), Reason: "customer asked", Operator: "ops@x"}
	failed := ev("e7", KindPaymentFailed, SourceTokenized)
	failed.Intent = codecIntent()
	failed.Failure = &PaymentFailure{IntentID: "int_1", PaymentID: "pay_1", Reason: ReasonBkashInsufficient, Code: "2023", BkashStatus: "Failed", Op: "execute"}
	return []*Event{created, paid, claim, review, sms, refunded, failed, benchEvent()}
}

// codecOutcomes holds an outcome of every type; together they set every field.
func codecOutcomes() []*Outcome {
	w := Wallet{Provider: BKash, Account: "01711111111", Environment: Sandbox}
	status := &Outcome{ID: IntentOutcomeID("int_1", 2, StatusPaid), Type: OutcomeIntentStatus, EventID: "e2", MerchantID: "mch_1",
		Environment: Sandbox, Wallet: w, Rule: RuleReference, Intent: codecIntent(), Status: StatusPaid, PreviousStatus: StatusPending,
		Version: 2, MatchType: MatchReference, Reason: ReasonAmountMismatch, Payment: codecPayment(), AcceptedAt: at(8, 0, 0, 0), DecidedAt: at(8, 0, 0, 1500)}
	payment := &Outcome{ID: PaymentOutcomeID("e2"), Type: OutcomePayment, EventID: "e2", MerchantID: "mch_1", Environment: Sandbox, Wallet: w,
		Rule: RuleNone, Payment: codecPayment(), Disposition: DispositionUnmatched, IntentID: "int_1", AcceptedAt: at(8, 0, 0, 0), DecidedAt: at(8, 0, 1, 0)}
	refund := &Outcome{ID: RefundOutcomeID("e6"), Type: OutcomeRefund, EventID: "e6", MerchantID: "mch_1", Environment: Live, Wallet: w,
		Rule: RuleRefund, Intent: codecIntent(), IntentID: "int_1",
		Refund: &Refund{IntentID: "int_1", PaymentID: "p", TrxID: "T", RefundTrxID: "R", Amount: 1, RefundedTotal: 1}, AcceptedAt: at(8, 0, 0, 0), DecidedAt: at(8, 0, 0, 0)}
	gap := &Outcome{ID: "gap-1", Type: OutcomeBalanceGap, EventID: "e5", MerchantID: "mch_1", Environment: Sandbox, Wallet: w,
		Rule: "balance_chain", Payment: codecPayment(), Reason: "balance_mismatch", Disposition: DispositionReview, AcceptedAt: at(8, 0, 0, 0), DecidedAt: at(8, 0, 0, 0)}
	expired := &Outcome{ID: IntentOutcomeID("int_1", 3, StatusExpired), Type: OutcomeIntentStatus, EventID: "tick", MerchantID: "mch_1",
		Wallet: w, Rule: RuleExpiry, Intent: codecIntent(), Status: StatusExpired, PreviousStatus: StatusPending, Version: 3}
	return []*Outcome{status, payment, refund, gap, expired, benchOutcome()}
}

// TestCodecSamplesSetEveryField keeps the samples complete: a field added to a record type must
// be set by some sample, so that the tests below cover it.
func TestCodecSamplesSetEveryField(t *testing.T) {
	set := map[reflect.Type]map[string]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return
			}
			if set[v.Type()] == nil {
				set[v.Type()] = map[string]bool{}
			}
			for i := range v.NumField() {
				if !v.Field(i).IsZero() {
					set[v.Type()][v.Type().Field(i).Name] = true
				}
				walk(v.Field(i))
			}
		}
	}
	for _, e := range codecEvents() {
		walk(reflect.ValueOf(e))
	}
	for _, o := range codecOutcomes() {
		walk(reflect.ValueOf(o))
	}
	for _, typ := range []reflect.Type{
		reflect.TypeFor[Event](), reflect.TypeFor[Intent](), reflect.TypeFor[Payment](), reflect.TypeFor[Claim](),
		reflect.TypeFor[ReviewDecision](), reflect.TypeFor[SMS](), reflect.TypeFor[Refund](), reflect.TypeFor[PaymentFailure](),
		reflect.TypeFor[Wallet](), reflect.TypeFor[Outcome](),
	} {
		for i := range typ.NumField() {
			if f := typ.Field(i); !set[typ][f.Name] {
				t.Errorf("no sample sets %s.%s: add it to codecEvents or codecOutcomes", typ.Name(), f.Name)
			}
		}
	}
}

// v1RoundTrip is what encoding/json makes of v: encoded and decoded again.
func v1RoundTrip[T any](t *testing.T, v *T) (*T, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out, b
}

func TestCodecEventsMatchEncodingJSON(t *testing.T) {
	for _, e := range codecEvents() {
		t.Run(string(e.Kind), func(t *testing.T) {
			want, v1 := v1RoundTrip(t, e)
			b, err := EncodeEvent(e)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, v1) {
				t.Errorf("EncodeEvent differs from encoding/json:\n got %s\nwant %s", b, v1)
			}
			var got Event // new encode -> encoding/json decode
			if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(&got, want) {
				t.Errorf("encoding/json decodes EncodeEvent's record to %+v, %v; want %+v", got, err, want)
			}
			back, err := DecodeEvent(v1) // encoding/json encode -> new decode
			if err != nil || !reflect.DeepEqual(back, want) {
				t.Errorf("DecodeEvent(encoding/json's record) = %+v, %v; want %+v", back, err, want)
			}
		})
	}
}

func TestCodecOutcomesMatchEncodingJSON(t *testing.T) {
	for _, o := range codecOutcomes() {
		t.Run(string(o.Type), func(t *testing.T) {
			want, v1 := v1RoundTrip(t, o)
			b, err := EncodeOutcome(o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, v1) {
				t.Errorf("EncodeOutcome differs from encoding/json:\n got %s\nwant %s", b, v1)
			}
			var got Outcome
			if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(&got, want) {
				t.Errorf("encoding/json decodes EncodeOutcome's record to %+v, %v; want %+v", got, err, want)
			}
			back, err := DecodeOutcome(v1)
			if err != nil || !reflect.DeepEqual(back, want) {
				t.Errorf("DecodeOutcome(encoding/json's record) = %+v, %v; want %+v", back, err, want)
			}
			// The matcher writes balance gaps as an Outcome plus "balanceGap" (matcher.BalanceGapOutcome):
			// readers of outcomes ignore the member.
			rec, err := json.Marshal(struct {
				*Outcome
				BalanceGap *BalanceGap `json:"balanceGap"`
			}{o, &BalanceGap{EventID: "e5", Amount: 5, FeePaisa: 3, At: at(7, 0, 0, 0), Review: true}})
			if err != nil {
				t.Fatal(err)
			}
			if back, err := DecodeOutcome(rec); err != nil || !reflect.DeepEqual(back, want) {
				t.Errorf("DecodeOutcome(record with balanceGap) = %+v, %v; want %+v", back, err, want)
			}
		})
	}
}

// codecInputs are record values as encoding/json may read them: other member orders, unknown
// members, nulls, Money as a number or a string, escapes, and malformed ones.
var codecInputs = []string{
	` { "zzz": {"a":[1,{"b":null}],"c":"x"}, "kind":"payment.reported", "id":"e\u00e9\/1" , "wallet":{"provider":"bkash","account":"01711111111","environment":"SANDBOX","extra":1},
	   "payment":{"provider":"bkash","trxId":"T1","amount":500.5,"occurredAt":"2026-11-21T07:59:58Z","unknown":[]},
	   "sms":{"sender":"bKash","text":"hi\n\u003c","deviceId":"d","trusted":true,"kind":"k","direction":"credit","balance":"1,250.50","amount":12,"parsed":{"x": [1, 2]},"receivedAt":"2026-11-21T13:59:59+06:00"},
	   "raw":"eyJ4IjoxfQ==", "acceptedAt":"2026-11-21T08:00:00.123456789Z", "environment":"SANDBOX", "future":true } `,
	`{"id":"e2","kind":"sms.received","wallet":{"provider":"bkash","account":"0","environment":"LIVE"},"intent":null,"payment":null,"claim":null,"review":null,"sms":{"balance":null,"amount":null,"parsed":null,"receivedAt":null},"refund":null,"failure":null,"raw":null,"requestId":null,"acceptedAt":null,"merchantId":null}`,
	`{"id":"e3","kind":"intent.created","intent":{"id":"i","amount":"500","createdAt":"2026-11-21T07:50:00Z","expiresAt":"2026-11-21T08:20:00Z","metadata":{"a":"<&>"}}}`,
	`{"id":"e3","kind":"intent.created","intent":{"id":"i","amount":1250.5}}`,
	`{"id":"e3","kind":"intent.created","intent":{"id":"i","amount":" 7 "}}`,
	`{"id":"e3","kind":"payment.refunded","refund":{"amount":"0.01","refundedTotal":"99999999"}}`,
	`{"id":"e3","kind":"payment.refunded","refund":{"amount":"\u0035\u0030"}}`,
	`{"id":"e4","raw":"","intent":{"metadata":""}}`,
	`{}`, `null`, `{"raw":"eyJ4\r\nIjoxfQ=="}`,
	`{"id":"a","id":"b","payment":{"trxId":"x"},"payment":{"amount":"5"}}`, // duplicate names: the last wins
	`{"ID":"x","Kind":"claim.submitted","WALLET":{"Provider":"bkash"}}`,    // names match without regard to case
	`{"id":"o1","type":"intent.status_changed","merchantId":"m","version":2,"intent":{"id":"i","amount":"5"},"status":"PAID","balanceGap":{"amount":"5"}}`,
	`{"id":"o1","version":null,"intent":null,"payment":null,"refund":null,"decidedAt":null,"status":null,"wallet":null}`,
	// malformed
	``, ` `, `{`, `{"id":"e"`, `[]`, `"x"`, `1`, `{"id":1}`, `{"id":"e"} x`, `{"id":"e"}{}`, `{"wallet":"x"}`, `{"raw":"eyJ4IjoxfQ"}`,
	`{"intent":{"amount":"1.234"}}`, `{"intent":{"amount":"-5"}}`, `{"intent":{"amount":1e3}}`, `{"intent":{"amount":true}}`,
	`{"intent":{"amount":null}}`, `{"intent":{"amount":"5\n"}}`, `{"intent":{"amount":"abc"}}`, `{"intent":{"amount":{}}}`,
	`{"acceptedAt":"yesterday"}`, `{"acceptedAt":12}`, `{"raw":"not base64!"}`, `{"raw":12}`, `{"sms":{"trusted":"yes"}}`,
	`{"sms":[]}`, `{"id":"\ud800"}`, "{\"id\":\"bad\xffutf8\"}", "{\"id\":\"ctl\x01\"}", `{"id":"e",}`, `{'id':'e'}`, `{"id":"e" "kind":"k"}`,
	`{"intent":{"metadata":{"a":}}}`, `{"sms":{"parsed":[1,}}`, `{"zzz":[1,2,}`, `{"zzz":tru}`, `{"id":"\x"}`, "{\"\\29\\", `{"id":"\u12`,
	`{"version":2.0}`, `{"version":"2"}`, `{"version":1e2}`, `{"version":99999999999999999999}`, `{"refund":{"refundedTotal":[]}}`,
}

// checkDecodeLikeV1 fails t unless the codec reads in as encoding/json does: an error for the
// same inputs, the same value otherwise.
func checkDecodeLikeV1[T any](t *testing.T, in []byte) {
	var want, got T
	v1err := json.Unmarshal(in, &want)
	err := unmarshalRecord(in, &got)
	switch {
	case (v1err == nil) != (err == nil):
		t.Errorf("decoding %q into %T: encoding/json says %v, the codec %v", in, want, v1err, err)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Errorf("decoding %q into %T:\n  codec %+v\n  encoding/json %+v", in, want, got, want)
	}
}

func TestCodecDecodesLikeEncodingJSON(t *testing.T) {
	for _, in := range codecInputs {
		checkDecodeLikeV1[Event](t, []byte(in))
		checkDecodeLikeV1[Outcome](t, []byte(in))
		// DecodeEvent and DecodeOutcome fail as they did: encoding/json's error or an invalid record.
		var e Event
		if _, err := DecodeEvent([]byte(in)); (err == nil) != (json.Unmarshal([]byte(in), &e) == nil && e.Validate() == nil) {
			t.Errorf("DecodeEvent(%q) = %v", in, err)
		} else if err != nil && !errors.Is(err, ErrBadEvent) {
			t.Errorf("DecodeEvent(%q) = %v, not an ErrBadEvent", in, err)
		}
		var o Outcome
		if _, err := DecodeOutcome([]byte(in)); err != nil && !errors.Is(err, ErrBadOutcome) {
			t.Errorf("DecodeOutcome(%q) = %v, not an ErrBadOutcome", in, err)
		} else if err == nil && json.Unmarshal([]byte(in), &o) != nil {
			t.Errorf("DecodeOutcome(%q) accepts what encoding/json rejects", in)
		}
	}
}

func TestCodecDecodeEventForms(t *testing.T) {
	// Unknown members, null pointers and Money as a number and as a string, through DecodeEvent.
	in := `{"id":"e9","kind":"payment.reported","source":"sms","future":{"x":[1,2]},"wallet":{"provider":"bkash","account":"01711111111","environment":"SANDBOX","v":2},
		"payment":{"provider":"bkash","trxId":"T1","amount":500.5,"occurredAt":"2026-11-21T07:59:58Z","x":null},
		"sms":{"sender":"bKash","text":"t","deviceId":"d","trusted":true,"kind":"k","direction":"credit","balance":"1250.50","amount":null,"parsed":null},
		"intent":null,"claim":null,"review":null,"refund":null,"failure":null,"raw":null,"acceptedAt":"2026-11-21T08:00:00Z","environment":"SANDBOX"}`
	got, err := DecodeEvent([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	bal := Money(125050)
	want := &Event{ID: "e9", Kind: KindPaymentReported, Source: SourceSMS, Wallet: Wallet{Provider: BKash, Account: "01711111111", Environment: Sandbox},
		Payment:    &Payment{Provider: BKash, TrxID: "T1", Amount: 50050, OccurredAt: at(7, 59, 58, 0)},
		SMS:        &SMS{Sender: "bKash", Text: "t", DeviceID: "d", Trusted: true, Kind: "k", Direction: "credit", Balance: &bal, Parsed: json.RawMessage("null")},
		AcceptedAt: at(8, 0, 0, 0), Environment: Sandbox}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeEvent =\n%+v\nwant\n%+v", got, want)
	}
	// Validate still runs.
	if _, err := DecodeEvent([]byte(`{"id":"e","kind":"payment.reported","wallet":{"provider":"bkash","account":"0","environment":"LIVE"}}`)); !errors.Is(err, ErrBadEvent) {
		t.Errorf("DecodeEvent of an invalid event = %v", err)
	}
	if _, err := DecodeOutcome([]byte(`{"id":"o","merchantId":"m","type":"payment.refunded"}`)); !errors.Is(err, ErrBadOutcome) {
		t.Errorf("DecodeOutcome of a refund without intent = %v", err)
	}
}

// FuzzCodecDecode compares the codec with encoding/json on any input; go test runs the seeds.
func FuzzCodecDecode(f *testing.F) {
	for _, in := range codecInputs {
		f.Add([]byte(in))
	}
	for _, e := range codecEvents() {
		b, _ := json.Marshal(e)
		f.Add(b)
	}
	for _, o := range codecOutcomes() {
		b, _ := json.Marshal(o)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecodeLikeV1[Event](t, in)
		checkDecodeLikeV1[Outcome](t, in)
	})
}

func TestMoneyText(t *testing.T) {
	// The formatting String had before it stopped allocating.
	old := func(m Money) string {
		neg := m < 0
		if neg {
			m = -m
		}
		s := strconv.FormatInt(int64(m/100), 10)
		if f := int64(m % 100); f != 0 {
			s += fmt.Sprintf(".%02d", f)
		}
		if neg {
			s = "-" + s
		}
		return s
	}
	vals := []Money{MaxMoney, -MaxMoney, MaxMoney + 1, math.MaxInt64, math.MinInt64 + 1}
	for m := Money(-1234); m <= 1234; m++ {
		vals = append(vals, m, m*1_000_003)
	}
	for _, m := range vals {
		want := old(m)
		if got := m.String(); got != want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(m), got, want)
		}
		if b, _ := m.MarshalJSON(); string(b) != strconv.Quote(want) {
			t.Errorf("Money(%d).MarshalJSON() = %s, want %q", int64(m), b, want)
		}
	}
	if got := Money(math.MinInt64).String(); got != "-92233720368547758.08" {
		t.Errorf("Money(MinInt64).String() = %q", got)
	}
}

// benchOutcome is the commonest outcome record: an intent's status change caused by a payment.
func benchOutcome() *Outcome {
	t0 := time.Date(2026, 11, 21, 7, 50, 0, 0, time.UTC)
	in := &Intent{
		ID: "int_0193a1f27b7c7c1e9d432b7d", MerchantID: "mch_0123456789abcdef0123", Environment: Sandbox,
		Amount: BDT(500), Currency: "BDT", CustomerReference: "order-42", Provider: BKash, ReceiverMsisdn: "01711111111",
		IdempotencyKey: "idem-42", SuccessURL: "https://shop.example/ok", FailedURL: "https://shop.example/failed",
		CancelURL: "https://shop.example/cancel", WebhookURL: "https://shop.example/hook", Dialect: DialectNative,
		Metadata: []byte(`{"cart":"c-9","items":3}`), CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute),
	}
	return &Outcome{
		ID: IntentOutcomeID(in.ID, 2, StatusPaid), Type: OutcomeIntentStatus, EventID: "0193a1f2-7b7c-7c1e-9d43-2b7d7e0c1a55",
		MerchantID: in.MerchantID, Environment: Sandbox, Wallet: in.Wallet(), Rule: RuleReference,
		Intent: in, Status: StatusPaid, PreviousStatus: StatusPending, Version: 2, MatchType: MatchReference,
		Payment: &Payment{Provider: BKash, TrxID: "DKL7X2M9QA", Amount: BDT(500), Sender: "01999999999", Reference: "order-42",
			OccurredAt: time.Date(2026, 11, 21, 7, 59, 58, 0, time.UTC)},
		AcceptedAt: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), DecidedAt: time.Date(2026, 11, 21, 8, 0, 0, 1500, time.UTC),
	}
}

// The outcome codec: the matcher encodes each decision, the webhook and audit sinks decode each.
func BenchmarkEncodeOutcome(b *testing.B) {
	o := benchOutcome()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeOutcome(o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeOutcome(b *testing.B) {
	raw, err := EncodeOutcome(benchOutcome())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeOutcome(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCodecWebhookAttemptMatchesEncodingJSON: the webhook-attempts records, both ways, and the
// ids the audit needs.
func TestCodecWebhookAttemptMatchesEncodingJSON(t *testing.T) {
	a := &WebhookAttempt{
		ID: "out_1/2", OutcomeID: "out_1", MerchantID: "m_1", Environment: Live, IntentID: "int_1", EventType: "payment.paid",
		Attempt: 2, Result: WebhookRetry, HTTPStatus: 503, Error: "HTTP 503 <html> & \u2028", Duration: 1234567 * time.Nanosecond,
		URLHost: "shop.example.com", AcceptedAt: at(1, 2, 3, 4), AttemptedAt: at(1, 2, 4, 5),
	}
	v := reflect.ValueOf(a).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("the sample leaves WebhookAttempt.%s unset", v.Type().Field(i).Name)
		}
	}
	want, v1 := v1RoundTrip(t, a)
	b, err := EncodeWebhookAttempt(a)
	if err != nil || !bytes.Equal(b, v1) {
		t.Errorf("EncodeWebhookAttempt = %s, %v; encoding/json writes %s", b, err, v1)
	}
	if back, err := DecodeWebhookAttempt(v1); err != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("DecodeWebhookAttempt = %+v, %v; want %+v", back, err, want)
	}
	for _, bad := range []string{``, `{`, `[]`, `{"id":"x"}`, `{"outcomeId":"o"}`, `{"id":"x","outcomeId":"o","attempt":"2"}`} {
		if _, err := DecodeWebhookAttempt([]byte(bad)); !errors.Is(err, ErrBadAttempt) {
			t.Errorf("DecodeWebhookAttempt(%q) = %v; want ErrBadAttempt", bad, err)
		}
	}
}

// TestCodecDecoderPanicIsAnError: a panic of the decoder on a record is a malformed record.
func TestCodecDecoderPanicIsAnError(t *testing.T) {
	saved := decodeRecord
	t.Cleanup(func() { decodeRecord = saved })
	decodeRecord = func([]byte, any) error { panic("index out of range") }
	if _, err := DecodeEvent([]byte(`{}`)); !errors.Is(err, ErrBadEvent) {
		t.Errorf("DecodeEvent = %v; want ErrBadEvent", err)
	}
	if _, err := DecodeOutcome([]byte(`{}`)); !errors.Is(err, ErrBadOutcome) {
		t.Errorf("DecodeOutcome = %v; want ErrBadOutcome", err)
	}
	if _, err := DecodeWebhookAttempt([]byte(`{}`)); !errors.Is(err, ErrBadAttempt) {
		t.Errorf("DecodeWebhookAttempt = %v; want ErrBadAttempt", err)
	}
}
