package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/sink/audit"
)

// inboundColumns are the columns of audit's inbound_events table, in the order the sink appends them.
var inboundColumns = []string{
	"event_id", "kind", "source", "environment", "merchant_id", "provider", "wallet", "wallet_account",
	"intent_id", "trx_id", "amount", "reference", "sender", "occurred_at", "occurred_at_ms",
	"expires_at", "accepted_at", "accepted_at_ms", "raw", "request_id",
	"kafka_partition", "kafka_offset", "ingested_at_ms",
}

// runAudit measures the audit sink draining K inbound events against raw clickhouse-go batch
// inserts of K rows of the same columns and values into a copy of the table, in batches of the
// sink's BatchSize, one insert at a time like the sink.
func runAudit(e *env) ([]Row, error) {
	const stage = "audit"
	batch := max(e.opt.auditBatch, 1)
	k := (max(e.opt.auditRows, 1) + batch - 1) / batch * batch // whole batches: no flush-interval wait at the tail
	db := "paystream_bench_" + e.run
	dsn := "clickhouse://" + e.opt.chAddr + "/" + db
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := audit.Migrate(ctx, dsn); err != nil {
		return nil, fmt.Errorf("migrating scratch database %s: %w", db, err)
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		if err := conn.Exec(dctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			e.log.Warn("dropping scratch database", "db", db, "err", err)
		}
		_ = conn.Close()
	}()
	if err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS bench_inbound AS inbound_events"); err != nil {
		return nil, fmt.Errorf("creating the baseline table: %w", err)
	}

	// The same events both ways: simulator payments over 64 wallets.
	wallets := benchWallets(64, "018")
	now := time.Now().UTC()
	events := make([]*pipeline.Event, k)
	for i := range events {
		events[i] = simulatorEvent(wallets[i%len(wallets)], "m-bench", nextTrx(), pipeline.BDT(int64(100+i%900)), now)
	}
	row := Row{Stage: "audit", Unit: "row", Target: 0.80}

	// Baseline: rows prepared up front (what the sink's buffer holds), inserted batch by batch.
	rows := make([][]any, k)
	for i, ev := range events {
		p := ev.Payment
		rows[i] = []any{
			ev.ID, string(ev.Kind), string(ev.Source), string(ev.Environment), ev.MerchantID, string(ev.Wallet.Provider),
			ev.Wallet.Key(), ev.Wallet.Account, "", p.TrxID, p.Amount.String(), p.Reference, p.Sender,
			p.OccurredAt.Truncate(time.Second), uint64(p.OccurredAt.UnixMilli()), time.Unix(0, 0).UTC(), //nolint:gosec // G115: a present-day time
			ev.AcceptedAt.Truncate(time.Second), uint64(ev.AcceptedAt.UnixMilli()), string(ev.Raw), ev.RequestID, //nolint:gosec // G115: a present-day time
			int32(i % int(e.opt.partitions)), int64(i), uint64(0), //nolint:gosec // G115: small values
		}
	}
	query := "INSERT INTO bench_inbound (" + strings.Join(inboundColumns, ", ") + ")"
	w := e.begin(stage + "-baseline")
	var ops, errs int64
	var firstErr error
	for ops < int64(k) || time.Since(w.start) < e.opt.minBaseline {
		ingested := uint64(time.Now().UnixMilli()) //nolint:gosec // G115: a present-day time
		for start := 0; start < k; start += batch {
			n := min(batch, k-start)
			if err := insertRaw(context.Background(), conn, query, rows[start:start+n], ingested); err != nil {
				errs += int64(n)
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			ops += int64(n)
		}
		if errs > 0 {
			break
		}
	}
	row.Baseline = w.end(fmt.Sprintf("raw clickhouse-go PrepareBatch/Append/Send, %d-row batches of prepared rows, sequential", batch), ops, errs, time.Time{}, time.Time{})
	if firstErr != nil {
		return []Row{row}, fmt.Errorf("raw insert: %w", firstErr)
	}

	// Component.
	brk, bc, topics, err := e.broker(stage)
	if err != nil {
		return []Row{row}, err
	}
	defer brk.Close()
	recs := make([]bus.Record, k)
	for i, ev := range events {
		v, err := pipeline.EncodeEvent(ev)
		if err != nil {
			return []Row{row}, err
		}
		recs[i] = bus.Record{Topic: topics.Inbound(), Key: []byte(ev.Wallet.Key()), Value: v}
	}
	if err := produceAll(bc, recs); err != nil {
		return []Row{row}, err
	}
	valueBytes := len(recs[0].Value)

	reg := prometheus.NewRegistry()
	s, err := audit.New(audit.Config{DSN: dsn, Bus: bc, Topics: topics, BatchSize: batch, Logger: e.log}, reg, bus.NewConsumerMetrics(reg))
	if err != nil {
		return []Row{row}, err
	}
	inserted := func() float64 {
		return sumMetric(reg, "paystream_audit_rows_total", func(l map[string]string) bool { return l["table"] == "inbound_events" })
	}
	w = e.begin(stage + "-component")
	rctx, rcancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(rctx); err != nil {
			e.log.Error("audit sink stopped", "err", err)
		}
	})
	from, to, done, timedOut := track(rctx, progress{started: consumerPolled(reg, pipeline.GroupAudit), count: inserted}, float64(k), e.opt.timeout)
	failures := sumMetric(reg, "paystream_audit_insert_failures_total", nil)
	row.Component = w.end(fmt.Sprintf("audit.Sink.Run draining %d inbound events (BatchSize %d), from first poll to last row accepted", k, batch),
		int64(done), int64(failures), from, to)
	row.Notes = fmt.Sprintf("%d rows, %d-byte event records; baseline table is a copy of inbound_events in scratch database %s (dropped)", k, valueBytes, db)
	if timedOut {
		row.Notes += fmt.Sprintf("; TIMED OUT after %s with %.0f of %d rows", e.opt.timeout, done, k)
	}
	rcancel()
	wg.Wait()
	s.Close()
	return []Row{row}, nil
}

func insertRaw(ctx context.Context, conn clickhouse.Conn, query string, rows [][]any, ingested uint64) error {
	b, err := conn.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	defer func() { _ = b.Abort() }()
	for _, r := range rows {
		r[len(r)-1] = ingested
		if err := b.Append(r...); err != nil {
			return err
		}
	}
	return b.Send()
}
