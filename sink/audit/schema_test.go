package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"
)

// docQuery is one analyst query of SCHEMA.md.
type docQuery struct{ section, title, sql string }

// schemaDoc is what the tests read from SCHEMA.md.
type schemaDoc struct {
	queries []docQuery
	columns map[string][][2]string // table -> (column, type) in document order
}

// SCHEMA.md sections that hold sql blocks.
const (
	sectionQueries = "Analyst queries"
	sectionViews   = "Materialized views" // "### `view`" sections: columns, then one query reading it
)

// readSchemaDoc parses SCHEMA.md: "### `table`" sections (under ## Tables and ## Materialized
// views) with "| `column` | `type` | ... |" rows, and "### Title" sections under
// "## Analyst queries" (and the view sections) with one ```sql block each.
func readSchemaDoc(t *testing.T) schemaDoc {
	t.Helper()
	f, err := os.Open("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc := schemaDoc{columns: map[string][][2]string{}}
	var (
		section, heading string
		inSQL            bool
		sql              strings.Builder
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inSQL && line == "```":
			inSQL = false
			doc.queries = append(doc.queries, docQuery{section: section, title: heading, sql: sql.String()})
			sql.Reset()
		case inSQL:
			sql.WriteString(line + "\n")
		case line == "```sql":
			if section != sectionQueries && section != sectionViews {
				t.Fatalf("SCHEMA.md: sql block under %q, outside ## %s and ## %s", heading, sectionQueries, sectionViews)
			}
			inSQL = true
		case strings.HasPrefix(line, "## "):
			section, heading = strings.TrimPrefix(line, "## "), ""
		case strings.HasPrefix(line, "### "):
			heading = strings.TrimPrefix(line, "### ")
		case (section == "Tables" || section == sectionViews) && strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, "|")
			table := strings.Trim(heading, "`")
			col, typ := strings.Trim(strings.TrimSpace(cells[1]), "`"), strings.Trim(strings.TrimSpace(cells[2]), "`")
			doc.columns[table] = append(doc.columns[table], [2]string{col, typ})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestSchemaDocMatchesTables keeps SCHEMA.md's column tables equal to what Migrate creates.
func TestSchemaDocMatchesTables(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t)
	_, db, _ := parseDSN(dsn)
	doc := readSchemaDoc(t)
	live := map[string][][2]string{}
	ctx := context.Background()
	var tables []string
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ?", db)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, ".inner.") { // a materialized view's storage: same columns as the view
			continue
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, table := range tables {
		// DESCRIBE keeps the table's column order (18.16's system.columns has no position).
		for _, r := range runQuery(t, conn, "DESCRIBE TABLE `"+table+"`") {
			live[table] = append(live[table], [2]string{r["name"], r["type"]})
		}
	}
	for table, cols := range live {
		if !slices.Equal(doc.columns[table], cols) {
			t.Errorf("SCHEMA.md documents %s as\n  %v\nbut Migrate creates\n  %v", table, doc.columns[table], cols)
		}
	}
	for table := range doc.columns {
		if _, ok := live[table]; !ok {
			t.Errorf("SCHEMA.md documents table %s, which Migrate does not create", table)
		}
	}
	// The insert column lists must name exactly the table's columns, in the table's order.
	for _, tc := range []struct {
		table string
		cols  []string
	}{
		{tableInbound, inboundColumns}, {tableChanges, changeColumns}, {tablePayments, paymentColumns},
		{tableRefunds, refundColumns}, {tableGaps, gapColumns}, {tableAttempts, attemptColumns}, {tableRejects, rejectColumns},
	} {
		var names []string
		for _, c := range live[tc.table] {
			names = append(names, c[0])
		}
		if !slices.Equal(names, tc.cols) {
			t.Errorf("insert columns of %s = %v, table has %v", tc.table, tc.cols, names)
		}
	}
}

// TestMigrateUpgradesVersion2Database upgrades a database at schema version 2 (what runs before
// this change) while a new sink already writes refunds and balance gaps: the sink's insert into
// the missing tables fails with ErrSchemaMissing and is retried; after Migrate the same batch goes
// through, with no table written twice. Migrate stays idempotent on the upgraded database.
func TestMigrateUpgradesVersion2Database(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t) // only to fail early when ClickHouse is down, and for cleanup
	_, db, _ := parseDSN(dsn)
	old := db + "_v2"
	oldDSN := strings.Replace(dsn, db, old, 1)
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+old) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	opts, _, err := parseDSN(oldDSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := createDatabase(ctx, opts, old); err != nil {
		t.Fatal(err)
	}
	oldConn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer oldConn.Close()
	var v2 []migration
	for _, m := range migrations {
		if m.version <= 2 {
			v2 = append(v2, m)
		}
	}
	if err := applyMigrations(ctx, oldConn, old, v2); err != nil {
		t.Fatalf("migrating %s to version 2: %v", old, err)
	}

	s, err := New(Config{DSN: oldDSN, Bus: busCfg(), Logger: quietLogger()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := newFixture(time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond))
	s.add(batchOf(f.records(t)))
	// intent_status_changes is flushed before refunds and lacks its version-4 column.
	if err := s.flush(ctx); !errors.Is(err, ErrSchemaMissing) || !strings.Contains(err.Error(), "."+tableChanges) {
		t.Fatalf("flush into a version 2 database = %v, want ErrSchemaMissing on %s", err, tableChanges)
	}
	for range 2 {
		if err := Migrate(ctx, oldDSN); err != nil {
			t.Fatalf("Migrate from version 2: %v", err)
		}
	}
	if err := s.flush(ctx); err != nil {
		t.Fatalf("flush after Migrate = %v", err)
	}
	for table, want := range f.want() {
		// Without FINAL: a table written twice by the retried flush would show it.
		if got := count(t, oldConn, table, false); got != want {
			t.Errorf("%s holds %d rows after the retried flush, want %d", table, got, want)
		}
	}
	var version uint32
	if err := oldConn.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if want := migrations[len(migrations)-1].version; version != want {
		t.Errorf("schema version after the upgrade = %d, want %d", version, want)
	}
	if n := count(t, oldConn, "schema_migrations", true); n != uint64(len(migrations)) {
		t.Errorf("schema_migrations holds %d versions, want %d", n, len(migrations))
	}
	for _, table := range []string{tableRefunds, tableGaps} {
		var stmt string
		if err := oldConn.QueryRow(ctx, "SHOW CREATE TABLE "+table).Scan(&stmt); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"ReplacingMergeTree(ingested_at_ms)", "PARTITION BY toYYYYMM(accepted_at)", "ORDER BY (environment, merchant_id, outcome_id)"} {
			if !strings.Contains(stmt, want) {
				t.Errorf("%s is not made with %q:\n%s", table, want, stmt)
			}
		}
	}
}

// queryCheck checks one analyst query's result on the fixture (rows as column name -> value text).
type queryCheck func(t *testing.T, rows []map[string]string)

// TestAnalystQueries runs every query of SCHEMA.md's "Analyst queries" against ClickHouse holding
// the fixture, written through the sink's own conversion and insert path, and checks the answers.
func TestAnalystQueries(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t)
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
	ctx := context.Background()
	// Written twice, as a replay would: the queries must not see the copies.
	for range 2 {
		for _, tb := range s.buf.all {
			if err := tb.insert(ctx, s.conn, unixMs(time.Now())); err != nil {
				t.Fatalf("inserting %s: %v", tb.tableName(), err)
			}
		}
	}

	checks := map[string]queryCheck{
		"Volume per merchant per day": func(t *testing.T, rows []map[string]string) {
			sums := map[string][2]float64{} // merchant -> payments, amount (over days)
			for _, r := range rows {
				s := sums[r["merchant_id"]]
				s[0] += num(t, r["payments"])
				s[1] += num(t, r["amount_bdt"])
				sums[r["merchant_id"]] = s
			}
			want := map[string][2]float64{"m1": {3, 2749.50}, "m2": {3, 1000.75}}
			if !reflect.DeepEqual(sums, want) {
				t.Errorf("volume per merchant = %v, want %v", sums, want)
			}
		},
		"Match rate by rule": func(t *testing.T, rows []map[string]string) {
			got := render(rows, "rule", "paid_intents", "match_rate")
			want := "amount_window 1 0.1667; claim 1 0.1667; reference 1 0.1667"
			if got != want {
				t.Errorf("match rate by rule = %q, want %q", got, want)
			}
		},
		"Time-to-match percentiles": func(t *testing.T, rows []map[string]string) {
			got := render(rows, "rule", "paid", "decision_ms_max")
			if want := "amount_window 1 120; claim 1 80; reference 1 40"; got != want {
				t.Errorf("time to match = %q, want %q", got, want)
			}
			if rows[0]["decision_ms_p50_p90_p99"] != "[120 120 120]" {
				t.Errorf("amount_window quantiles = %s, want [120 120 120]", rows[0]["decision_ms_p50_p90_p99"])
			}
		},
		"Webhook success ratio": func(t *testing.T, rows []map[string]string) {
			got := render(rows, "merchant_id", "webhooks", "delivered", "delivered_ratio", "attempts", "attempt_success_ratio", "dead_letters")
			if want := "m1 3 3 1 4 0.75 0; m2 1 0 0 3 0 1"; got != want {
				t.Errorf("webhook success = %q, want %q", got, want)
			}
		},
		"Unmatched money by wallet": func(t *testing.T, rows []map[string]string) {
			got := render(rows, "wallet", "merchant_id", "payments", "unmatched_bdt")
			if want := "bkash:01700000001:LIVE m1 1 999; nagad:01800000002:LIVE m2 1 450.75"; got != want {
				t.Errorf("unmatched money = %q, want %q (TRX003 was claimed later and must not count)", got, want)
			}
		},
		"Intents waiting for review (current status with argMax)": func(t *testing.T, rows []map[string]string) {
			got := render(rows, "intent_id", "current_status", "reason", "current_version", "intent_bdt", "paid_bdt")
			if want := "int_6 REVIEW_REQUIRED amount_mismatch 2 200.00 250.00"; got != want {
				t.Errorf("review queue = %q, want %q", got, want)
			}
		},
		"Webhook end-to-end latency": func(t *testing.T, rows []map[string]string) {
			if got, want := render(rows, "event_type", "delivered"), "payment.expired 1; payment.paid 2"; got != want {
				t.Errorf("end-to-end latency groups = %q, want %q", got, want)
			}
		},
		"Refunds per merchant per day": func(t *testing.T, rows []map[string]string) {
			sums := map[string][2]float64{} // merchant -> refunds, amount (over days)
			for _, r := range rows {
				s := sums[r["merchant_id"]]
				s[0] += num(t, r["refunds"])
				s[1] += num(t, r["refunded_bdt"])
				sums[r["merchant_id"]] = s
				if r["intents"] != "1" {
					t.Errorf("refunds of %s on %s touched %s intents, want 1 (int_1)", r["merchant_id"], r["day"], r["intents"])
				}
			}
			// int_1 refunded twice (200 + 100); int_5's refund is SANDBOX.
			if want := map[string][2]float64{"m1": {2, 300}}; !reflect.DeepEqual(sums, want) {
				t.Errorf("refunds per merchant = %v, want %v", sums, want)
			}
		},
		"Net paid per merchant per day (paid − refunded)": func(t *testing.T, rows []map[string]string) {
			sums := map[string][3]float64{} // merchant -> paid, refunded, net (over days)
			for _, r := range rows {
				s := sums[r["merchant_id"]]
				s[0] += num(t, r["paid_bdt"])
				s[1] += num(t, r["refunded_bdt"])
				s[2] += num(t, r["net_paid_bdt"])
				sums[r["merchant_id"]] = s
			}
			// m1: int_1 500 + int_2 1250.50 paid, 300 refunded; m2: int_3 300 paid (claim).
			want := map[string][3]float64{"m1": {1750.50, 300, 1450.50}, "m2": {300, 0, 300}}
			if !reflect.DeepEqual(sums, want) {
				t.Errorf("net paid per merchant = %v, want %v", sums, want)
			}
		},
		"Balance gaps by wallet": func(t *testing.T, rows []map[string]string) {
			got := render(rows, "wallet", "merchant_id", "gaps", "sent_to_review", "unreported_in_bdt", "unreported_out_bdt")
			// m2: TRX008's SMS 250 short (sent to review), then a debit SMS 100 short; m1: a credit
			// SMS 500 over; m3's gap is SANDBOX.
			if want := "nagad:01800000002:LIVE m2 2 1 0 350; bkash:01700000001:LIVE m1 1 0 500 0"; got != want {
				t.Errorf("balance gaps by wallet = %q, want %q", got, want)
			}
		},
		"Rejected records": func(t *testing.T, rows []map[string]string) {
			var n float64
			for _, r := range rows {
				n += num(t, r["records"])
			}
			if n != float64(len(f.bad)) {
				t.Errorf("rejected records = %v, want %d", n, len(f.bad))
			}
		},
	}

	ran := runDocQueries(t, conn, sectionQueries, "TestAnalystQueries", checks)
	if len(ran) < 5 {
		t.Fatalf("SCHEMA.md has %d analyst queries, want at least 5", len(ran))
	}
}

// runDocQueries runs every query of one section of SCHEMA.md as a subtest, each through its check
// (by title; a query without one fails, and so does a check matching no query), and returns the
// queries it ran: title -> SQL.
func runDocQueries(t *testing.T, conn driver.Conn, section, testName string, checks map[string]queryCheck) map[string]string {
	t.Helper()
	ran := map[string]string{}
	for _, q := range readSchemaDoc(t).queries {
		if q.section != section {
			continue
		}
		t.Run(q.title, func(t *testing.T) {
			check, ok := checks[q.title]
			if !ok {
				t.Fatalf("SCHEMA.md query %q has no check in %s: add one", q.title, testName)
			}
			rows := runQuery(t, conn, q.sql)
			if len(rows) == 0 {
				t.Fatalf("query returned no rows on the fixture:\n%s", q.sql)
			}
			check(t, rows)
		})
		ran[q.title] = q.sql
	}
	for title := range checks {
		if _, ok := ran[title]; !ok {
			t.Errorf("check %q matches no query of SCHEMA.md", title)
		}
	}
	return ran
}

// runQuery runs sql and returns every row as column name -> fmt.Sprint of the value.
func runQuery(t *testing.T, conn driver.Conn, sql string) []map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatalf("running query: %v\n%s", err, sql)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out []map[string]string
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("scanning: %v", err)
		}
		row := make(map[string]string, len(types))
		for i, ct := range types {
			row[ct.Name()] = fmt.Sprint(reflect.ValueOf(dest[i]).Elem().Interface())
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// render renders the named columns of rows as "a b; c d".
func render(rows []map[string]string, cols ...string) string {
	var lines []string
	for _, r := range rows {
		var vals []string
		for _, c := range cols {
			vals = append(vals, r[c])
		}
		lines = append(lines, strings.Join(vals, " "))
	}
	return strings.Join(lines, "; ")
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return f
}
