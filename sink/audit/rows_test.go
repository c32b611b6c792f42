package audit

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
)

func TestConverterOneRowPerRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC))
	buf := newBuffer()
	conv := newConverter(pipeline.Topics{})
	var rejects []error
	recs := f.records(t)
	for _, r := range recs {
		if err := conv.add(buf, r); err != nil {
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
}

func TestUnknownTopicIsRejected(t *testing.T) {
	t.Parallel()
	buf := newBuffer()
	err := newConverter(pipeline.Topics{}).add(buf, &kgo.Record{Topic: "elsewhere", Value: []byte("x")})
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
		{"webhook_attempt", pick(tp.WebhookAttempts(), `"delivered"`)},
		{"reject", f.bad[0]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			conv := newConverter(tp)
			buf := newBuffer()
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.rec.Value)))
			for b.Loop() {
				_ = conv.add(buf, bc.rec)
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
