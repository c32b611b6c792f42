package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

const waitRows = 20 * time.Second // generous: polls stop as soon as the rows are there

// TestSinkWritesEveryRecordOnceAcrossReplays runs the sink on the real ClickHouse and the embedded
// Kafka: every record lands in its table (bad ones in audit_rejects), offsets are committed, and a
// replay of everything (rewound group + the same records produced again) leaves the FINAL counts
// unchanged.
func TestSinkWritesEveryRecordOnceAcrossReplays(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t)
	k := startKafka(t)
	f := newFixture(time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond))
	recs := f.records(t)
	k.produce(t, recs)

	// A batch smaller than the fixture: several flushes, the size bound exercised.
	s := startSink(t, dsn, k, 7)
	want := f.want()
	eventually(t, waitRows, "every record in clickhouse", func() (bool, string) {
		got := finalCounts(t, conn)
		return maps.Equal(got, want), fmt.Sprintf("got %v, want %v", got, want)
	})
	eventually(t, waitRows, "offsets committed", func() (bool, string) { return k.committed(t) })

	checkRows(t, conn, f)

	if got := metric(t, s.reg, "paystream_audit_rejects_total"); got != float64(len(f.bad)) {
		t.Errorf("paystream_audit_rejects_total = %v, want %d", got, len(f.bad))
	}
	if got := metric(t, s.reg, "paystream_audit_rows_total"); got != float64(len(recs)) {
		t.Errorf("paystream_audit_rows_total = %v, want %d (one row per record)", got, len(recs))
	}
	if got := metric(t, s.reg, "paystream_audit_buffer_capacity_rows"); got != 7 {
		t.Errorf("paystream_audit_buffer_capacity_rows = %v, want 7", got)
	}
	if got := metric(t, s.reg, "paystream_audit_buffered_rows"); got != 0 {
		t.Errorf("paystream_audit_buffered_rows = %v after everything was written, want 0", got)
	}
	if got := metric(t, s.reg, "paystream_audit_insert_failures_total"); got != 0 {
		t.Errorf("paystream_audit_insert_failures_total = %v, want 0", got)
	}
	s.stop()

	// Replay: rewind the group to the start and produce every record a second time.
	k.rewind(t)
	k.produce(t, recs)
	s2 := startSink(t, dsn, k, 5000)
	eventually(t, waitRows, "the replay committed", func() (bool, string) { return k.committed(t) })
	if got := metric(t, s2.reg, "paystream_audit_rows_total"); got != float64(2*len(recs)) {
		t.Errorf("replaying sink wrote %v rows, want %d (the whole topic twice over)", got, 2*len(recs))
	}
	// The bad records produced again are new Kafka records (new offsets): stored once more. Every
	// other table keys rows by the record's own id and must not grow.
	want[tableRejects] *= 2
	if got := finalCounts(t, conn); !maps.Equal(got, want) {
		t.Errorf("FINAL counts after the replay = %v, want %v", got, want)
	}
	// Merging collapses the duplicates for good, not only at read time.
	ctx := context.Background()
	for _, tb := range tableNames {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE "+tb+" FINAL"); err != nil {
			t.Fatalf("optimizing %s: %v", tb, err)
		}
		if got := count(t, conn, tb, false); got != want[tb] {
			t.Errorf("%s holds %d rows after OPTIMIZE FINAL, want %d", tb, got, want[tb])
		}
	}
}

// checkRows spot-checks column values against the fixture.
func checkRows(t *testing.T, conn driver.Conn, f *fixture) {
	t.Helper()
	ctx := context.Background()

	var (
		kind, wallet, raw, reqID string
		amount                   string
		accepted                 time.Time
		acceptedMs               uint64
	)
	ev := f.events[1] // int_2: 1250.50
	err := conn.QueryRow(ctx, `SELECT kind, wallet, toString(amount), raw, request_id, accepted_at, accepted_at_ms
		FROM inbound_events FINAL WHERE event_id = ?`, ev.ID).Scan(&kind, &wallet, &amount, &raw, &reqID, &accepted, &acceptedMs)
	if err != nil {
		t.Fatal(err)
	}
	if kind != "intent.created" || wallet != "bkash:01700000001:LIVE" || amount != "1250.50" ||
		raw != `{"amount":"1250.50"}` || reqID != "req_int_2" || acceptedMs != uint64(ev.AcceptedAt.UnixMilli()) ||
		!accepted.Equal(ev.AcceptedAt.Truncate(time.Second)) {
		t.Errorf("inbound_events row of %s = %q %q %s %q %q %s %d", ev.ID, kind, wallet, amount, raw, reqID, accepted, acceptedMs)
	}
	// A payment event has no Raw: the whole record is kept.
	if err := conn.QueryRow(ctx, `SELECT raw FROM inbound_events FINAL WHERE event_id = 'evt_pay_1'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(raw, `"trxId":"TRX001"`) {
		t.Errorf("raw of a Raw-less event = %q, want the record value", raw)
	}

	var (
		status, rule, trx string
		latency, age      uint64
		payAmount         string
	)
	err = conn.QueryRow(ctx, `SELECT status, rule, trx_id, toString(payment_amount), decision_latency_ms, intent_age_ms
		FROM intent_status_changes FINAL WHERE outcome_id = ?`, pipeline.IntentOutcomeID("int_2", 2, pipeline.StatusPaid)).
		Scan(&status, &rule, &trx, &payAmount, &latency, &age)
	if err != nil {
		t.Fatal(err)
	}
	if status != "PAID" || rule != "amount_window" || trx != "TRX002" || payAmount != "1250.50" || latency != 120 || age != 10120 {
		t.Errorf("int_2 PAID row = %s %s %s %s latency=%d age=%d", status, rule, trx, payAmount, latency, age)
	}

	var disposition string
	err = conn.QueryRow(ctx, `SELECT disposition, toString(amount) FROM payments FINAL WHERE outcome_id = ?`,
		pipeline.PaymentOutcomeID("evt_pay_6")).Scan(&disposition, &amount)
	if err != nil {
		t.Fatal(err)
	}
	if disposition != "unmatched" || amount != "450.75" {
		t.Errorf("pay_6 payments row = %s %s", disposition, amount)
	}

	var (
		intent, refundTrx, total string
		refundLatency            uint64
	)
	err = conn.QueryRow(ctx, `SELECT intent_id, refund_trx_id, toString(amount), toString(refunded_total), decision_latency_ms
		FROM refunds FINAL WHERE outcome_id = ?`, pipeline.RefundOutcomeID("evt_refund_2")).
		Scan(&intent, &refundTrx, &amount, &total, &refundLatency)
	if err != nil {
		t.Fatal(err)
	}
	if intent != "int_1" || refundTrx != "RFD002" || amount != "100.00" || total != "300.00" || refundLatency != 20 {
		t.Errorf("evt_refund_2 refunds row = %s %s %s %s %d", intent, refundTrx, amount, total, refundLatency)
	}

	var (
		fee, expected, difference string
		review                    uint8
		smsAtMs                   uint64
	)
	g := f.gaps[2] // the m2 debit SMS
	err = conn.QueryRow(ctx, `SELECT toString(fee), toString(expected_balance), toString(difference), review, sms_at_ms
		FROM balance_gaps FINAL WHERE outcome_id = ?`, g.ID).Scan(&fee, &expected, &difference, &review, &smsAtMs)
	if err != nil {
		t.Fatal(err)
	}
	if fee != "1.85" || expected != "4898.15" || difference != "-100.00" || review != 0 || smsAtMs != uint64(g.BalanceGap.At.UnixMilli()) {
		t.Errorf("%s balance_gaps row = fee %s expected %s difference %s review %d sms_at_ms %d", g.EventID, fee, expected, difference, review, smsAtMs)
	}

	var (
		result   string
		code     uint16
		duration uint64
	)
	a := f.attempts[0]
	err = conn.QueryRow(ctx, `SELECT result, http_status, duration_ms FROM webhook_attempts FINAL WHERE attempt_id = ?`, a.ID).
		Scan(&result, &code, &duration)
	if err != nil {
		t.Fatal(err)
	}
	if result != "retry" || code != 500 || duration != 35 {
		t.Errorf("attempt %s row = %s %d %d", a.ID, result, code, duration)
	}

	rows, err := conn.Query(ctx, `SELECT kafka_topic, error, raw FROM audit_rejects FINAL ORDER BY kafka_topic, error`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var topic, reason, raw string
		if err := rows.Scan(&topic, &reason, &raw); err != nil {
			t.Fatal(err)
		}
		got = append(got, topic+": "+reason)
		if raw == "" {
			t.Errorf("reject from %s lost its payload", topic)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	wantReasons := []string{"inbound", "inbound", "outcomes: unknown outcome type", "webhook-attempts: malformed webhook attempt"}
	if len(got) != len(wantReasons) {
		t.Fatalf("audit_rejects = %q, want %d rows", got, len(wantReasons))
	}
	for i, w := range wantReasons {
		if !strings.Contains(got[i], w) {
			t.Errorf("audit_rejects[%d] = %q, want it to mention %q", i, got[i], w)
		}
	}
}

// TestSinkPausesWhileClickHouseIsDownAndLosesNothing puts a TCP proxy between the sink and
// ClickHouse and cuts it for a full minute: the sink must not commit anything (not even when it is
// closed while the batch is failing, nor while it keeps retrying for the minute), and once
// ClickHouse answers again every row arrives and is committed.
func TestSinkPausesWhileClickHouseIsDownAndLosesNothing(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t)
	p := startProxy(t, chAddr(t))
	p.setDown(true)
	downSince := time.Now()
	viaProxy := strings.Replace(dsn, chAddr(t), p.addr(), 1)

	k := startKafka(t)
	f := newFixture(time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Millisecond))
	k.produce(t, f.records(t))

	// 1. ClickHouse down, then the sink is stopped: nothing may be committed.
	s := startSink(t, viaProxy, k, 5000)
	eventually(t, waitRows, "an insert failure", func() (bool, string) {
		n := metric(t, s.reg, "paystream_audit_insert_failures_total")
		return n > 0, fmt.Sprintf("%v failures", n)
	})
	if got := metric(t, s.reg, "paystream_audit_buffered_rows"); got == 0 {
		t.Errorf("paystream_audit_buffered_rows = 0 while the batch is failing")
	}
	s.stop()
	if n := k.committedTotal(t); n != 0 {
		t.Fatalf("the group committed %d offsets although ClickHouse never accepted a row", n)
	}

	// 2. A new sink starts while ClickHouse is still down; then ClickHouse comes back.
	s2 := startSink(t, viaProxy, k, 5000)
	eventually(t, waitRows, "an insert failure of the second sink", func() (bool, string) {
		n := metric(t, s2.reg, "paystream_audit_insert_failures_total")
		return n > 0, fmt.Sprintf("%v failures", n)
	})
	// ClickHouse stays down for a full minute (the outage), while the sink keeps retrying.
	failuresBefore := metric(t, s2.reg, "paystream_audit_insert_failures_total")
	time.Sleep(time.Until(downSince.Add(time.Minute)))
	if n := k.committedTotal(t); n != 0 {
		t.Fatalf("the group committed %d offsets while ClickHouse was down", n)
	}
	if after := metric(t, s2.reg, "paystream_audit_insert_failures_total"); after <= failuresBefore {
		t.Fatalf("the sink stopped retrying during the outage (%v failures before, %v after)", failuresBefore, after)
	}
	t.Logf("ClickHouse was down for %s; nothing committed; %v failed inserts retried", time.Since(downSince).Round(time.Second), metric(t, s2.reg, "paystream_audit_insert_failures_total"))
	p.setDown(false)
	want := f.want()
	eventually(t, waitRows, "every record after the outage", func() (bool, string) {
		got := finalCounts(t, conn)
		return maps.Equal(got, want), fmt.Sprintf("got %v, want %v", got, want)
	})
	eventually(t, waitRows, "offsets committed after the outage", func() (bool, string) { return k.committed(t) })
}

func TestRunOnceAndAfterClose(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DSN: "clickhouse://127.0.0.1:9/x", Bus: busCfg()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // idempotent
	if err := s.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestRunReturnsWhenContextEnds(t *testing.T) {
	t.Parallel()
	k := startKafka(t)
	s, err := New(Config{DSN: "clickhouse://127.0.0.1:9/x", Bus: k.cfg, Logger: quietLogger()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	eventually(t, waitRows, "Run to start", func() (bool, string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.consumer != nil, "not started"
	})
	if err := s.Run(ctx); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Run = %v, want ErrStarted", err)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run = %v, want nil after its context ended", err)
		}
	case <-time.After(waitRows):
		t.Fatal("Run did not return after its context ended")
	}
}

func busCfg() bus.Config { return bus.Config{Brokers: []string{"127.0.0.1:9"}} }

// TestRetryKeepsTheBatch drives handle directly with ClickHouse unreachable: the retry of the same
// batch must not convert it again, and a different batch (which bus never hands while one is
// failing) must be buffered as well rather than dropped.
func TestRetryKeepsTheBatch(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DSN: "clickhouse://127.0.0.1:9/x", Bus: busCfg(), Logger: quietLogger()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := newFixture(time.Now())
	recs := f.records(t)
	for i, r := range recs {
		r.Offset = int64(i)
	}
	batch := batchOf
	first, second := batch(recs[:10]), batch(recs[10:])

	// The state after handle(first) failed to flush.
	s.first = firstID(first)
	s.add(first)
	s.failed.Store(true)
	for range 2 {
		if err := s.handle(context.Background(), first); err == nil || !strings.Contains(err.Error(), "inserting audit batch into x.") {
			t.Fatalf("handle = %v, want an insert error", err)
		}
	}
	if n := s.buf.rows(); n != 10 {
		t.Fatalf("%d rows buffered after retries of a 10-record batch", n)
	}
	_ = s.handle(context.Background(), second)
	if n := s.buf.rows(); n != len(recs) {
		t.Fatalf("a new batch during a failure left %d rows buffered, want %d", n, len(recs))
	}
	if !s.failed.Load() {
		t.Fatal("the sink forgot that its batch is unwritten")
	}
}

// TestMigratingWhileTheSinkWaitsIsEnough: a sink started before `paystream migrate` fails its
// insert with ErrSchemaMissing, and the same batch goes through once Migrate ran.
func TestMigratingWhileTheSinkWaitsIsEnough(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t) // only to fail early when ClickHouse is down, and for cleanup
	_, db, _ := parseDSN(dsn)
	fresh := strings.Replace(dsn, db, db+"_late", 1)
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+"_late") })

	s, err := New(Config{DSN: fresh, Bus: busCfg(), Logger: quietLogger()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := newFixture(time.Now())
	recs := f.records(t)
	s.add(batchOf(recs))
	ctx := context.Background()
	if err := s.flush(ctx); !errors.Is(err, ErrSchemaMissing) {
		t.Fatalf("flush before Migrate = %v, want ErrSchemaMissing", err)
	}
	if err := Migrate(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(ctx); err != nil {
		t.Fatalf("flush after Migrate = %v", err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"_late.inbound_events FINAL").Scan(&n); err != nil || n != uint64(len(f.events)) {
		t.Fatalf("inbound_events after the late migration: %d rows (%v), want %d", n, err, len(f.events))
	}
}
