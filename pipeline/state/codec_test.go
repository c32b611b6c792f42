package state

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// TestRecordsAreEncodingJSONs: every record kind this package stores encodes to exactly the bytes
// encoding/json writes, and what encoding/json wrote decodes to the same value.
func TestRecordsAreEncodingJSONs(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 4, 5, 123456789, time.UTC)
	w := pipeline.Wallet{Provider: pipeline.BKash, Account: "01712345678", Environment: pipeline.Sandbox}
	bal := pipeline.Money(123_45)
	cases := []struct {
		name string
		v    any
		new  func() any
	}{
		{"intent", &pipeline.Intent{
			ID: "int_1", MerchantID: "m_1", Environment: pipeline.Sandbox, Amount: 500_00, Currency: "BDT",
			CustomerReference: "ORD <1> & \"q\"", Provider: pipeline.BKash, ReceiverMsisdn: "01712345678",
			Dialect: pipeline.DialectNative, Metadata: json.RawMessage(`{"a":[1,2],"b":"\u00e9"}`), CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		}, func() any { return &pipeline.Intent{} }},
		{"payment record", &pipeline.PaymentRecord{
			EventID: "ev_1", MerchantID: "m_1", Source: pipeline.SourceSMS, Wallet: w,
			Payment:     pipeline.Payment{Provider: pipeline.BKash, TrxID: "ABC123", Amount: 99_50, Sender: "01811111111", Reference: "r", OccurredAt: at},
			Disposition: pipeline.DispositionReview, Rule: "ambiguous_amount", IntentIDs: []string{"int_1", "int_2"}, AcceptedAt: at, DecidedAt: at,
		}, func() any { return &pipeline.PaymentRecord{} }},
		{"claims", []pipeline.ClaimRecord{{EventID: "ev_2", IntentID: "int_1", At: at}}, func() any { return &[]pipeline.ClaimRecord{} }},
		{"intent trx ids", []string{"ABC123", "DEF456"}, func() any { return &[]string{} }},
		{"balance head", &pipeline.BalanceHead{EventID: "ev_3", At: at, Balance: 1_000_00, DeltaPaisa: -50_00, HasDelta: true, TrxID: "T1"},
			func() any { return &pipeline.BalanceHead{} }},
		{"balance gap", &pipeline.BalanceGap{EventID: "ev_4", MerchantID: "m_1", Wallet: w, Direction: "credit", Amount: 10_00, At: at,
			PreviousEventID: "ev_3", PreviousAt: at, PreviousBalance: bal}, func() any { return &pipeline.BalanceGap{} }},
		{"stored outcomes", []json.RawMessage{json.RawMessage(`{"id":"o1"}`), json.RawMessage(`{"id":"o2","x":[true,null]}`)},
			func() any { return &[]json.RawMessage{} }},
	}
	for _, c := range cases {
		want, err := json.Marshal(c.v)
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", c.name, err)
		}
		got, err := marshal(c.v)
		if err != nil {
			t.Fatalf("%s: marshal: %v", c.name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: marshal wrote\n%s\nencoding/json writes\n%s", c.name, got, want)
		}
		back, std := c.new(), c.new()
		if err := unmarshal(want, back); err != nil {
			t.Fatalf("%s: unmarshal: %v", c.name, err)
		}
		if err := json.Unmarshal(want, std); err != nil {
			t.Fatalf("%s: encoding/json: %v", c.name, err)
		}
		if !reflect.DeepEqual(back, std) {
			t.Errorf("%s: unmarshal read %+v, encoding/json reads %+v", c.name, back, std)
		}
	}
	if err := unmarshal([]byte(`{"eventId":`), &pipeline.BalanceHead{}); err == nil {
		t.Error("truncated record decoded without an error")
	}
}

// TestRecordsKeepTheirStoredBytes pins the JSON the store writes for the records the matcher
// keeps in Redis (kept payments, claims, balance heads with holes, balance gaps): records written
// before a change must read the same after it, and the other way round. The golden bytes were
// written by the store before the record types moved into pipeline (issue 14).
func TestRecordsKeepTheirStoredBytes(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 4, 5, 123456789, time.UTC)
	w := pipeline.Wallet{Provider: pipeline.BKash, Account: "01712345678", Environment: pipeline.Sandbox}
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"payment record", &pipeline.PaymentRecord{
			EventID: "ev_1", MerchantID: "m_1", Source: pipeline.SourceSMS, Wallet: w,
			Payment:     pipeline.Payment{Provider: pipeline.BKash, TrxID: "ABC123", Amount: 99_50, Sender: "01811111111", Reference: "r", OccurredAt: at},
			Disposition: pipeline.DispositionReview, Rule: "ambiguous_amount", Reason: "two intents", IntentIDs: []string{"int_1", "int_2"}, AcceptedAt: at, DecidedAt: at,
		}, `{"eventId":"ev_1","merchantId":"m_1","source":"sms","wallet":{"provider":"bkash","account":"01712345678","environment":"SANDBOX"},"payment":{"provider":"bkash","trxId":"ABC123","amount":"99.50","sender":"01811111111","reference":"r","occurredAt":"2026-11-21T10:04:05.123456789Z"},"disposition":"review","rule":"ambiguous_amount","reason":"two intents","intentIds":["int_1","int_2"],"acceptedAt":"2026-11-21T10:04:05.123456789Z","decidedAt":"2026-11-21T10:04:05.123456789Z"}`},
		{"claims", []pipeline.ClaimRecord{{EventID: "ev_2", IntentID: "int_1", TrxID: "ABC123", Sender: "017", At: at}}, `[{"eventId":"ev_2","intentId":"int_1","trxId":"ABC123","sender":"017","at":"2026-11-21T10:04:05.123456789Z"}]`},
		{"balance head", &pipeline.BalanceHead{EventID: "ev_3", At: at, Balance: 1_000_00, DeltaPaisa: -50_00, HasDelta: true, TrxID: "T1",
			BasePaisa: 5, BaseAt: at, HasBase: true, Holes: []pipeline.BalanceHole{{FromAt: at, FromPaisa: 1, ToAt: at, ToPaisa: 2}}}, `{"eventId":"ev_3","at":"2026-11-21T10:04:05.123456789Z","balance":"1000","deltaPaisa":-5000,"hasDelta":true,"trxId":"T1","basePaisa":5,"baseAt":"2026-11-21T10:04:05.123456789Z","hasBase":true,"holes":[{"fromAt":"2026-11-21T10:04:05.123456789Z","fromPaisa":1,"toAt":"2026-11-21T10:04:05.123456789Z","toPaisa":2}]}`},
		{"balance gap", &pipeline.BalanceGap{EventID: "ev_4", MerchantID: "m_1", Wallet: w, Direction: "credit", Amount: 10_00, At: at,
			PreviousEventID: "ev_3", PreviousAt: at, PreviousBalance: 123_45}, `{"eventId":"ev_4","merchantId":"m_1","wallet":{"provider":"bkash","account":"01712345678","environment":"SANDBOX"},"direction":"credit","amount":"10","at":"2026-11-21T10:04:05.123456789Z","previousEventId":"ev_3","previousAt":"2026-11-21T10:04:05.123456789Z","previousBalance":"123.45","expectedPaisa":0,"actualPaisa":0,"differencePaisa":0,"detectedAt":"0001-01-01T00:00:00Z"}`},
	}
	for _, c := range cases {
		got, err := marshal(c.v)
		if err != nil {
			t.Fatalf("%s: marshal: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s: stored\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}
