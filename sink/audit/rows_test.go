package audit

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/matcher"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

func TestConverterOneRowPerRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC))
	buf := newBuffer()
	conv := newConverter(pipeline.Topics{})
	var rejects []error
	recs := f.records(t)
	for _, r := range recs {
		if err := conv.add(buf, busRecord(r)); err != nil {
			rejects = append(rejects, err)
		}
	}
	if buf.rows() != len(recs) {
		t.Fatalf("%d rows from %d records", buf.rows(), len(recs))
	}
	got := map[string]uint64{}
	for _, tb := range buf.all {
		got[tb.tableName()] = uint64(tb.pending())
	}
	for table, n := range f.want() {
		if got[table] != n {
			t.Errorf("%s: %d rows, want %d", table, got[table], n)
		}
	}
	wantErrs := []error{pipeline.ErrBadEvent, pipeline.ErrBadEvent, ErrUnknownOutcome, ErrBadAttempt}
	if len(rejects) != len(wantErrs) {
		t.Fatalf("rejects = %v", rejects)
	}
	for i, w := range wantErrs {
		if !errors.Is(rejects[i], w) {
			t.Errorf("reject %d = %v, want %v", i, rejects[i], w)
		}
	}
	r := buf.rejects.rows[0]
	if r.Topic != "paystream.inbound" || r.Raw != string(f.bad[0].Value) || !strings.Contains(r.Error, "malformed event") {
		t.Errorf("reject row = %+v", r)
	}

	// Rows carry what the analysts query.
	var paid changeRow
	for _, c := range buf.changes.rows {
		if c.IntentID == "int_2" && c.Status == "PAID" {
			paid = c
		}
	}
	if paid.Wallet != "bkash:01700000001:LIVE" || paid.TrxID != "TRX002" || paid.PaymentAmount != 125050 || paid.Rule != "amount_window" {
		t.Errorf("int_2 PAID row = %+v", paid)
	}
	vals := paid.values(1)
	if lat := vals[len(vals)-3]; lat != uint64(120) {
		t.Errorf("decision_latency_ms = %v, want 120", lat)
	}
	var expiry changeRow
	for _, c := range buf.changes.rows {
		if c.Status == "EXPIRED" {
			expiry = c
		}
	}
	if v := expiry.values(1); v[len(v)-3] != uint64(0) || v[21] != time.Unix(0, 0).UTC() {
		t.Errorf("expiry without a request: latency %v accepted_at %v, want 0 and 1970", v[len(v)-3], v[21])
	}

	// Refunds and balance gaps get their own tables (they were rejects before schema version 3).
	var second refundRow
	for _, r := range buf.refunds.rows {
		if r.RefundTrxID == "RFD002" {
			second = r
		}
	}
	wantRefund := refundRow{
		OutcomeID: pipeline.RefundOutcomeID("evt_refund_2"), EventID: "evt_refund_2", IntentID: "int_1", MerchantID: "m1",
		Environment: "LIVE", Provider: "bkash", Wallet: "bkash:01700000001:LIVE", PaymentID: "bkpay_int_1",
		TrxID: "TRX001", RefundTrxID: "RFD002", Amount: pipeline.BDT(100), RefundedTotal: pipeline.BDT(300),
		IntentAmount: pipeline.BDT(500), Reason: "customer returned the goods", Operator: "ops@m1",
		CustomerReference: "ORDER-int_1", AcceptedAt: f.event("evt_refund_2").AcceptedAt,
		DecidedAt: f.event("evt_refund_2").AcceptedAt.Add(20 * time.Millisecond),
	}
	if second != wantRefund {
		t.Errorf("refund row =\n  %+v\nwant\n  %+v", second, wantRefund)
	}
	if v := second.values(1); v[10] != "100" || v[11] != "300" || v[len(v)-2] != uint64(20) {
		t.Errorf("refund values: amount %v, refunded_total %v, latency %v", v[10], v[11], v[len(v)-2])
	}
	var review gapRow
	for _, g := range buf.gaps.rows {
		if g.EventID == "evt_pay_8" {
			review = g
		}
	}
	if review.Wallet != "nagad:01800000002:LIVE" || review.Environment != "LIVE" || review.Direction != "credit" ||
		review.Expected != 525_000 || review.Actual != 500_000 || review.Difference != -25_000 || !review.Review ||
		review.PreviousEventID != "evt_pay_6" || review.TrxID != "TRX008" {
		t.Errorf("evt_pay_8 gap row = %+v", review)
	}
	if v := review.values(1); v[18] != "-250" || v[19] != uint8(1) {
		t.Errorf("gap values: difference %v review %v, want -250 and 1", v[18], v[19])
	}
}

// TestBalanceGapRecordMatchesMatcher pins the audit's local decoding of the matcher's balance gap
// outcome to the matcher's own types: every field the balance_gaps table stores survives an
// encoding by matcher.BalanceGapOutcome. The sink does not import the matcher (stages never import
// each other); this test does, so that a renamed field fails here rather than in production.
func TestBalanceGapRecordMatchesMatcher(t *testing.T) {
	t.Parallel()
	if pipeline.OutcomeBalanceGap != matcher.OutcomeBalanceGap {
		t.Fatalf("pipeline.OutcomeBalanceGap = %q, the matcher produces %q", pipeline.OutcomeBalanceGap, matcher.OutcomeBalanceGap)
	}
	at := time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
	w := pipeline.Wallet{Provider: pipeline.Rocket, Account: "01600000006", Environment: pipeline.Live}
	p := &pipeline.Payment{Provider: pipeline.Rocket, TrxID: "R123", Amount: pipeline.BDT(40), OccurredAt: at}
	o := &matcher.BalanceGapOutcome{
		Outcome: pipeline.Outcome{
			ID: matcher.BalanceGapOutcomeID("ev_g"), Type: matcher.OutcomeBalanceGap, EventID: "ev_g", MerchantID: "m9",
			Environment: pipeline.Live, Wallet: w, Rule: matcher.RuleBalanceChain, Payment: p,
			Reason: matcher.ReasonBalanceMismatch, Disposition: pipeline.DispositionReview,
			AcceptedAt: at.Add(time.Second), DecidedAt: at.Add(2 * time.Second),
		},
		BalanceGap: &pipeline.BalanceGap{
			EventID: "ev_g", MerchantID: "m9", Wallet: w, Direction: "credit", Amount: pipeline.BDT(40), FeePaisa: 80,
			TrxID: "R123", At: at, PreviousEventID: "ev_f", PreviousAt: at.Add(-time.Hour), PreviousBalance: 12_345,
			ExpectedPaisa: 16_345, ActualPaisa: 15_265, DifferencePaisa: -1_080, Review: true, DetectedAt: at.Add(2 * time.Second),
		},
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	buf := newBuffer()
	if err := newConverter(pipeline.Topics{}).add(buf, &bus.Record{Topic: pipeline.Topics{}.Outcomes(), Value: b}); err != nil {
		t.Fatalf("add = %v\nrecord: %s", err, b)
	}
	if len(buf.gaps.rows) != 1 {
		t.Fatalf("%d balance_gaps rows", len(buf.gaps.rows))
	}
	want := gapRow{
		OutcomeID: o.ID, EventID: "ev_g", MerchantID: "m9", Environment: "LIVE", Provider: "rocket",
		Wallet: "rocket:01600000006:LIVE", Direction: "credit", Amount: 4000, Fee: 80, TrxID: "R123", SMSAt: at,
		PreviousEventID: "ev_f", PreviousAt: at.Add(-time.Hour), PreviousBalance: 12_345,
		Expected: 16_345, Actual: 15_265, Difference: -1_080, Review: true,
		AcceptedAt: at.Add(time.Second), DecidedAt: at.Add(2 * time.Second),
	}
	if got := buf.gaps.rows[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("balance_gaps row =\n  %+v\nwant\n  %+v\nrecord: %s", got, want, b)
	}
}

func TestBadBalanceGapIsRejected(t *testing.T) {
	t.Parallel()
	tp := pipeline.Topics{}
	for name, value := range map[string]string{
		"no gap":        `{"id":"o_g","type":"wallet.balance_gap","merchantId":"m1"}`,
		"gap not JSON":  `{"id":"o_g","type":"wallet.balance_gap","merchantId":"m1","balanceGap":"x"}`,
		"beyond column": `{"id":"o_g","type":"wallet.balance_gap","merchantId":"m1","balanceGap":{"expectedPaisa":1000000000000000000}}`,
		"below column":  `{"id":"o_g","type":"wallet.balance_gap","merchantId":"m1","balanceGap":{"differencePaisa":-9223372036854775808}}`,
	} {
		buf := newBuffer()
		err := newConverter(tp).add(buf, &bus.Record{Topic: tp.Outcomes(), Value: []byte(value)})
		if !errors.Is(err, ErrBadBalanceGap) || len(buf.rejects.rows) != 1 || len(buf.gaps.rows) != 0 {
			t.Errorf("%s: add = %v, %d rejects, %d gaps; want ErrBadBalanceGap and one reject", name, err, len(buf.rejects.rows), len(buf.gaps.rows))
		}
	}
	// The largest magnitude the column holds is accepted: nothing that decodes can fail the insert.
	buf := newBuffer()
	ok := `{"id":"o_g","type":"wallet.balance_gap","merchantId":"m1","balanceGap":{"expectedPaisa":-999999999999999999}}`
	if err := newConverter(tp).add(buf, &bus.Record{Topic: tp.Outcomes(), Value: []byte(ok)}); err != nil {
		t.Errorf("add(-999999999999999999 paisa) = %v", err)
	}
}

func TestUnknownTopicIsRejected(t *testing.T) {
	t.Parallel()
	buf := newBuffer()
	err := newConverter(pipeline.Topics{}).add(buf, &bus.Record{Topic: "elsewhere", Value: []byte("x")})
	if !errors.Is(err, ErrUnknownTopic) || len(buf.rejects.rows) != 1 {
		t.Fatalf("add = %v, rejects = %d", err, len(buf.rejects.rows))
	}
}

func TestRowValuesMatchColumns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		vals []any
		cols []string
	}{
		{tableInbound, (&inboundRow{}).values(0), inboundColumns},
		{tableChanges, (&changeRow{}).values(0), changeColumns},
		{tablePayments, (&paymentRow{}).values(0), paymentColumns},
		{tableRefunds, (&refundRow{}).values(0), refundColumns},
		{tableGaps, (&gapRow{}).values(0), gapColumns},
		{tableAttempts, (&attemptRow{}).values(0), attemptColumns},
		{tableRejects, (&rejectRow{}).values(0), rejectColumns},
	} {
		if len(tc.vals) != len(tc.cols) {
			t.Errorf("%s: %d values for %d columns", tc.name, len(tc.vals), len(tc.cols))
		}
	}
}

func TestTimeHelpers(t *testing.T) {
	t.Parallel()
	epoch := time.Unix(0, 0).UTC()
	now := time.Date(2026, 5, 5, 10, 5, 0, 123_000_000, time.UTC)
	if got := dateTime(time.Time{}); !got.Equal(epoch) {
		t.Errorf("dateTime(zero) = %v", got)
	}
	if got := dateTime(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)); !got.Equal(maxDateTime) {
		t.Errorf("dateTime(2200) = %v, want clamped", got)
	}
	if got := unixMs(time.Time{}); got != 0 {
		t.Errorf("unixMs(zero) = %d", got)
	}
	if got := unixMs(now); got != uint64(now.UnixMilli()) {
		t.Errorf("unixMs = %d", got)
	}
	if got := msBetween(now, now.Add(-time.Second)); got != 0 {
		t.Errorf("msBetween(backwards) = %d, want 0", got)
	}
	if got := msBetween(time.Time{}, now); got != 0 {
		t.Errorf("msBetween(absent) = %d, want 0", got)
	}
	if got := msBetween(now, now.Add(1500*time.Millisecond)); got != 1500 {
		t.Errorf("msBetween = %d, want 1500", got)
	}
	if got := truncate(strings.Repeat("x", 10), 4); got != "xxxx" {
		t.Errorf("truncate = %q", got)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	good := Config{DSN: "clickhouse://127.0.0.1:9000/paystream", Bus: busCfg()}
	for name, mutate := range map[string]func(*Config){
		"negative batch":    func(c *Config) { c.BatchSize = -1 },
		"huge batch":        func(c *Config) { c.BatchSize = MaxBatchSize + 1 },
		"negative interval": func(c *Config) { c.FlushInterval = -time.Second },
		"no brokers":        func(c *Config) { c.Bus.Brokers = nil },
		"http dsn":          func(c *Config) { c.DSN = "http://127.0.0.1:8123/paystream" },
	} {
		c := good
		mutate(&c)
		if _, err := New(c, nil, nil); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: New = %v, want ErrBadConfig", name, err)
		}
	}
	reg := prometheus.NewRegistry()
	s, err := New(good, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cfg.BatchSize != DefaultBatchSize || s.cfg.FlushInterval != DefaultFlushInterval {
		t.Errorf("defaults = %d, %s", s.cfg.BatchSize, s.cfg.FlushInterval)
	}
	if _, err := New(good, reg, nil); err == nil {
		t.Error("a second sink on the same registry registered its metrics twice without error")
	}
}

// BenchmarkRowConversion measures turning one Kafka record into the values of its insert row
// (decode, map, box), per record kind.
func BenchmarkRowConversion(b *testing.B) {
	f := newFixture(time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC))
	recs := f.records(b)
	tp := pipeline.Topics{}
	pick := func(topic string, contains string) *kgo.Record {
		for _, r := range recs {
			if r.Topic == topic && strings.Contains(string(r.Value), contains) {
				return r
			}
		}
		b.Fatalf("no %s record with %q", topic, contains)
		return nil
	}
	for _, bc := range []struct {
		name string
		rec  *kgo.Record
	}{
		{"inbound_intent", pick(tp.Inbound(), `"intent.created"`)},
		{"inbound_payment", pick(tp.Inbound(), `"payment.reported"`)},
		{"intent_status_change", pick(tp.Outcomes(), `"status":"PAID"`)},
		{"payment_outcome", pick(tp.Outcomes(), `"payment.recorded"`)},
		{"refund_outcome", pick(tp.Outcomes(), `"type":"payment.refunded"`)},
		{"balance_gap_outcome", pick(tp.Outcomes(), `"wallet.balance_gap"`)},
		{"webhook_attempt", pick(tp.WebhookAttempts(), `"delivered"`)},
		{"reject", f.bad[0]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			conv := newConverter(tp)
			buf := newBuffer()
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.rec.Value)))
			for b.Loop() {
				_ = conv.add(buf, busRecord(bc.rec))
				for _, t := range buf.all {
					for i := range t.pending() {
						_ = t.rowValues(i, 1)
					}
				}
				buf.reset()
			}
		})
	}
}
