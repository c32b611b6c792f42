package pipeline

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseMoney(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Money
		ok   bool
	}{
		{"500", 50000, true}, {"1250.50", 125050, true}, {"0.01", 1, true},
		{" 7 ", 700, true}, {"", 0, false}, {"-5", 0, false}, {"1e3", 0, false}, {"1.234", 0, false},
		{"1.", 0, false}, {".5", 0, false}, {"abc", 0, false}, {"100000001", 0, false}, {"99999999999999999999", 0, false},
		// No commas on the JSON surfaces, well placed or not (issue 13, finding 10).
		{"100,50", 0, false}, {"1,250.5", 0, false}, {"1,00,000", 0, false}, {",500", 0, false}, {"500,", 0, false},
	} {
		got, err := ParseMoney(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParseGroupedMoney(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Money
		ok   bool
	}{
		{"500", 50000, true}, {"1,250.5", 125050, true}, {"121,710.33", 12171033, true}, {"1,000,000", 100000000, true},
		{"1,00,000", 10000000, true}, {"1,21,710.33", 12171033, true}, {"10,00,00,000", 10000000000, true}, {"12,345", 1234500, true},
		// Misplaced commas.
		{"100,50", 0, false}, {"1,2", 0, false}, {"1,0000", 0, false}, {"1,000,00,000", 0, false}, {"1,00,00", 0, false},
		{"1234,567", 0, false}, {"123,45,678", 0, false}, {",500", 0, false}, {"500,", 0, false}, {"1,,000", 0, false},
		{"0,500", 0, false}, {"1,000.5,0", 0, false}, {"1,000.505", 0, false}, {"1,000,000,001", 0, false},
	} {
		got, err := ParseGroupedMoney(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseGroupedMoney(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestMoneyJSON(t *testing.T) {
	var m struct{ A, B, C Money }
	if err := json.Unmarshal([]byte(`{"A":500,"B":"12.5","C":"1000"}`), &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"C":"1,000"}`), &m); err == nil {
		t.Fatal("a comma accepted in JSON")
	}
	b, _ := json.Marshal(m)
	if string(b) != `{"A":"500","B":"12.50","C":"1000"}` {
		t.Fatalf("round trip: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"A":1.234}`), &m); err == nil {
		t.Fatal("three decimals accepted")
	}
}

func TestWallet(t *testing.T) {
	for in, want := range map[string]string{
		"01700000001": "01700000001", "+8801700000001": "01700000001", "8801700000001": "01700000001",
		"00880 1700-000001": "01700000001", "0170000000": "", "01200000001": "", "abc": "",
	} {
		got, ok := NormalizeMSISDN(in)
		if (want == "") == ok || (ok && got != want) {
			t.Errorf("NormalizeMSISDN(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	w := Wallet{Provider: "BKash", Account: "+8801700000001", Environment: "sandbox"}
	if err := w.Validate(); err != nil || w.Key() != "bkash:01700000001:SANDBOX" {
		t.Fatalf("validate: %v %s", err, w.Key())
	}
	back, err := ParseWalletKey(w.Key())
	if err != nil || back != w {
		t.Fatalf("ParseWalletKey: %v %+v", err, back)
	}
	if _, err := ParseWalletKey("bkash:017:LIVE"); err == nil {
		t.Fatal("bad key parsed")
	}
}

func TestOutcomeIDsAreDeterministic(t *testing.T) {
	a, b := IntentOutcomeID("i1", 2, StatusPaid), IntentOutcomeID("i1", 2, StatusPaid)
	if a != b || a == IntentOutcomeID("i1", 3, StatusPaid) || a == IntentOutcomeID("i1", 2, StatusExpired) {
		t.Fatal("intent outcome ids are not a function of (intent, version, status)")
	}
	p1, p1again, p2 := PaymentOutcomeID("e1"), PaymentOutcomeID("e1"), PaymentOutcomeID("e2")
	if p1 != p1again || p1 == p2 {
		t.Fatal("payment outcome ids are not a function of the event id")
	}
}

func TestMasking(t *testing.T) {
	w := Wallet{Provider: BKash, Account: "01700000001", Environment: Sandbox}
	if got := w.Masked(); got != "bkash:017*****001:SANDBOX" {
		t.Fatalf("Masked() = %q", got)
	}
	if MaskMSISDN("123") != "***" {
		t.Fatal("short values must be masked whole")
	}
}

func benchEvent() *Event {
	amount, bal := BDT(500), BDT(12500)
	return &Event{
		ID: "0193a1f2-7b7c-7c1e-9d43-2b7d7e0c1a55", Kind: KindPaymentReported, Source: SourceSMS,
		Wallet:     Wallet{Provider: BKash, Account: "01711111111", Environment: Sandbox},
		MerchantID: "mch_0123456789abcdef0123", Environment: Sandbox, AcceptedAt: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC),
		Payment: &Payment{Provider: BKash, TrxID: "DKL7X2M9QA", Amount: amount, Sender: "01999999999", Reference: "order-42",
			OccurredAt: time.Date(2026, 11, 21, 7, 59, 58, 0, time.UTC)},
		SMS: &SMS{Sender: "bKash", Text: "You have received Tk 500.00 from 01999999999. Ref order-42. Fee Tk 0.00. Balance Tk 12,500.00. TrxID DKL7X2M9QA at 21/11/2026 13:59",
			DeviceID: "dev_1", ReceivedAt: time.Date(2026, 11, 21, 7, 59, 59, 0, time.UTC), Trusted: true, Kind: "received_send_money",
			Direction: "credit", Amount: &amount, Balance: &bal, TrxID: "DKL7X2M9QA"},
		Raw: []byte(`{"from":"bKash","text":"You have received Tk 500.00 ..."}`),
	}
}

// The inbound event codec: ingest encodes one per request, the matcher and the audit decode each.
func BenchmarkEncodeEvent(b *testing.B) {
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeEvent(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	raw, err := EncodeEvent(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(raw); err != nil {
			b.Fatal(err)
		}
	}
}
