package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t) // migrated once already
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 2 {
		if err := Migrate(ctx, dsn); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	_, db, _ := parseDSN(dsn)
	var tables uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND has(?, name)", db, tableNames).Scan(&tables)
	if err != nil {
		t.Fatal(err)
	}
	if tables != uint64(len(tableNames)) {
		t.Errorf("%d audit tables exist, want %d", tables, len(tableNames))
	}
	var version uint32
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if want := migrations[len(migrations)-1].version; version != want {
		t.Errorf("schema version = %d, want %d", version, want)
	}

	// A later version adding a column: applied once, idempotent when re-run, also when its
	// version was not recorded (a Migrate that died between the ALTER and the bookkeeping).
	next := migrations[len(migrations)-1].version + 1
	v2 := append(migrations[:len(migrations):len(migrations)], migration{
		version: next, name: "test column",
		addColumns: []columnAdd{{table: tablePayments, column: "test_note", typ: "String DEFAULT ''"}},
	})
	for range 2 {
		if err := applyMigrations(ctx, conn, db, v2); err != nil {
			t.Fatalf("applying a column migration: %v", err)
		}
	}
	if err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE schema_migrations DELETE WHERE version = %d", next)); err != nil {
		t.Fatalf("forgetting version %d: %v", next, err)
	}
	eventually(t, 10*time.Second, "test version forgotten", func() (bool, string) {
		return count(t, conn, "schema_migrations", true) == uint64(len(migrations)), "mutation pending"
	})
	if err := applyMigrations(ctx, conn, db, v2); err != nil {
		t.Fatalf("re-applying a column migration whose column exists: %v", err)
	}
	var cols uint64
	err = conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = 'test_note'",
		db, tablePayments).Scan(&cols)
	if err != nil || cols != 1 {
		t.Fatalf("test_note columns = %d (%v), want 1", cols, err)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Ping(ctx, dsn); err != nil {
		t.Fatalf("Ping(migrated database) = %v", err)
	}
	missing := "clickhouse://" + chAddr(t) + "/paystream_test_never_migrated"
	err := Ping(ctx, missing)
	if !errors.Is(err, ErrSchemaMissing) {
		t.Errorf("Ping(unmigrated database) = %v, want ErrSchemaMissing", err)
	}
	if err := Ping(ctx, "http://"+chAddr(t)+"/x"); !errors.Is(err, ErrBadConfig) {
		t.Errorf("Ping(http DSN) = %v, want ErrBadConfig", err)
	}
}

func TestPingUnreachableSaysHowToFix(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Ping(ctx, "clickhouse://127.0.0.1:9/paystream") // discard port: nothing listens
	if err == nil || !strings.Contains(err.Error(), "services.sh") {
		t.Fatalf("Ping(nothing listening) = %v, want a hint to start clickhouse", err)
	}
}

func TestParseDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dsn, db string
		ok      bool
	}{
		{"clickhouse://127.0.0.1:9000/paystream", "paystream", true},
		{"clickhouse://user:pw@127.0.0.1:9000/ps_2?dial_timeout=1s", "ps_2", true},
		{"clickhouse://127.0.0.1:9000", "default", true},
		{"clickhouse://127.0.0.1:9000/pay-stream", "", false},     // spliced into DDL: identifiers only
		{"clickhouse://127.0.0.1:9000/x;DROP%20TABLE", "", false}, // likewise
		{"http://127.0.0.1:8123/paystream", "", false},            // HTTP does not work with 18.16
		{"::not a dsn", "", false},
	} {
		opts, db, err := parseDSN(tc.dsn)
		if (err == nil) != tc.ok {
			t.Errorf("parseDSN(%q) error = %v, want ok=%v", tc.dsn, err, tc.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadConfig) {
				t.Errorf("parseDSN(%q) = %v, want ErrBadConfig", tc.dsn, err)
			}
			continue
		}
		if db != tc.db || opts.DialTimeout == 0 || opts.ReadTimeout == 0 {
			t.Errorf("parseDSN(%q) = db %q, timeouts %s/%s", tc.dsn, db, opts.DialTimeout, opts.ReadTimeout)
		}
	}
}
