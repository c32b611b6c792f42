package audit

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestViewQueries runs the query of every materialized view in SCHEMA.md against ClickHouse
// holding the fixture written ONCE (the views count inserted rows, so a replay would change the
// answers), checks the exact answers, then shows that a replay does over-count the views while the
// base tables read with FINAL do not.
func TestViewQueries(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t)
	ctx := context.Background()
	if err := Migrate(ctx, dsn); err != nil { // idempotent over existing views
		t.Fatalf("Migrate again: %v", err)
	}
	f := newFixture(time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond))
	s, err := New(Config{DSN: dsn, Bus: busCfg(), Logger: quietLogger()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	offsets := map[string]int64{}
	for _, r := range f.records(t) {
		rec := &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Offset: offsets[r.Topic], Timestamp: time.Now()}
		offsets[r.Topic]++
		_ = s.conv.add(s.buf, busRecord(rec))
	}
	insertAll := func() {
		t.Helper()
		for _, tb := range s.buf.all {
			if err := tb.insert(ctx, s.conn, unixMs(time.Now())); err != nil {
				t.Fatalf("inserting %s: %v", tb.tableName(), err)
			}
		}
	}
	insertAll()

	// The fixture's LIVE traffic: m1 matched TRX001 (500) and TRX002 (1250.50) on arrival by
	// reference and amount_window; m2 got TRX003 (300, claimed later) and TRX006 (450.75)
	// unmatched, TRX008 (250) in review; m1 got TRX004 (999) unmatched.
	checks := map[string]queryCheck{
		"`mv_daily_volume`": func(t *testing.T, rows []map[string]string) {
			if got, want := render(rows, "merchant_id", "provider", "payments", "amount_bdt"), "m1 bkash 2 1750.50"; got != want {
				t.Errorf("daily volume = %q, want %q", got, want)
			}
		},
		"`mv_match_rate`": func(t *testing.T, rows []map[string]string) {
			// 6 LIVE payments received (2 matched, 3 unmatched, 1 review); 3 PAID by rule.
			if got, want := render(rows, "rule", "paid_intents", "match_rate"), "amount_window 1 0.1667; claim 1 0.1667; reference 1 0.1667"; got != want {
				t.Errorf("match rate = %q, want %q", got, want)
			}
		},
		"`mv_time_to_match`": func(t *testing.T, rows []map[string]string) {
			if got, want := render(rows, "merchant_id", "paid", "decision_ms_p50_p90_p99"), "m1 2 [80 112 119]; m2 1 [80 80 80]"; got != want {
				t.Errorf("time to match = %q, want %q", got, want)
			}
		},
		"`mv_time_to_deliver`": func(t *testing.T, rows []map[string]string) {
			if got, want := render(rows, "merchant_id", "delivered", "end_to_end_ms_p50_p90_p99"), "m1 3 [1200 716240 877124]"; got != want {
				t.Errorf("time to deliver = %q, want %q", got, want)
			}
		},
		"`mv_open_money`": func(t *testing.T, rows []map[string]string) {
			if got, want := render(rows, "merchant_id", "disposition", "payments", "amount_bdt"), "m1 unmatched 1 999.00; m2 review 1 250.00; m2 unmatched 2 750.75"; got != want {
				t.Errorf("open money = %q, want %q", got, want)
			}
		},
	}

	volume := runDocQueries(t, conn, sectionViews, "TestViewQueries", checks)["`mv_daily_volume`"]
	if volume == "" {
		t.Fatal("SCHEMA.md has no mv_daily_volume query")
	}

	// The documented caveat: a replay reaches the views (they count inserted rows), while the base
	// tables read with FINAL still answer exactly.
	insertAll()
	if got, want := render(runQuery(t, conn, volume), "merchant_id", "provider", "payments", "amount_bdt"), "m1 bkash 4 3501.00"; got != want {
		t.Errorf("daily volume after a replay = %q, want the over-count %q", got, want)
	}
	if got := count(t, conn, tablePayments, true); got != f.want()[tablePayments] {
		t.Errorf("payments FINAL after a replay = %d, want %d", got, f.want()[tablePayments])
	}
}
