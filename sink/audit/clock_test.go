package audit

import (
	"context"
	"testing"
	"time"
)

// TestInjectedClockStampsIngestedAt: every row of a flush carries Config.Now's time as
// ingested_at_ms (the version ReplacingMergeTree keeps the latest of), in every table.
func TestInjectedClockStampsIngestedAt(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t)
	at := time.Date(2031, 3, 4, 5, 6, 7, 891_000_000, time.UTC) // far from the real clock on purpose
	s, err := New(Config{DSN: dsn, Bus: busCfg(), Logger: quietLogger(), Now: func() time.Time { return at }}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := newFixture(time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond))
	s.add(batchOf(f.records(t)))
	ctx := context.Background()
	if err := s.flush(ctx); err != nil {
		t.Fatal(err)
	}
	for table, rows := range f.want() {
		var n, lo, hi uint64
		if err := conn.QueryRow(ctx, "SELECT count(), min(ingested_at_ms), max(ingested_at_ms) FROM "+table).Scan(&n, &lo, &hi); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n != rows || n == 0 || lo != uint64(at.UnixMilli()) || hi != lo {
			t.Errorf("%s: %d rows (want %d) stamped %d..%d, want all %d (the injected clock)", table, n, rows, lo, hi, at.UnixMilli())
		}
	}
}
