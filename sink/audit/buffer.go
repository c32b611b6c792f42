package audit

import (
	"context"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// rowValues is implemented by the pointer of every row type.
type rowValues[R any] interface {
	*R
	values(ingestedMs uint64) []any
}

// tableBuf holds the buffered rows of one table and whether this batch's insert already succeeded
// (a retried flush skips tables ClickHouse has accepted).
type tableBuf[R any, P rowValues[R]] struct {
	name  string
	query string
	rows  []R
	sent  bool
}

func newTableBuf[R any, P rowValues[R]](name string, columns []string) tableBuf[R, P] {
	return tableBuf[R, P]{name: name, query: "INSERT INTO " + name + " (" + strings.Join(columns, ", ") + ")"}
}

// table is the type-erased view flush works with.
type table interface {
	tableName() string
	len() int     // rows buffered, sent or not
	pending() int // rows not yet accepted by ClickHouse
	rowValues(i int, ingestedMs uint64) []any
	insert(ctx context.Context, conn driver.Conn, ingestedMs uint64) error
	reset()
}

func (t *tableBuf[R, P]) tableName() string { return t.name }

func (t *tableBuf[R, P]) rowValues(i int, ingestedMs uint64) []any {
	return P(&t.rows[i]).values(ingestedMs)
}

func (t *tableBuf[R, P]) len() int { return len(t.rows) }

func (t *tableBuf[R, P]) pending() int {
	if t.sent {
		return 0
	}
	return len(t.rows)
}

// insert sends every row in one PrepareBatch/Append/Send (the only insert path that works against
// ClickHouse 18.16) and marks the table sent on success. It blocks until ClickHouse answered or ctx
// ends.
func (t *tableBuf[R, P]) insert(ctx context.Context, conn driver.Conn, ingestedMs uint64) error {
	batch, err := conn.PrepareBatch(ctx, t.query)
	if err != nil {
		return err
	}
	// Abort releases the connection when Append failed; after Send it is a no-op.
	defer func() { _ = batch.Abort() }()
	for i := range t.rows {
		if err := batch.Append(t.rowValues(i, ingestedMs)...); err != nil {
			return err
		}
	}
	if err := batch.Send(); err != nil {
		return err
	}
	t.sent = true
	return nil
}

func (t *tableBuf[R, P]) reset() {
	clear(t.rows) // drop references to payload strings before reuse
	t.rows = t.rows[:0]
	t.sent = false
}

// buffer is the sink's batch: at most Config.BatchSize rows over all tables, one row per record.
// It is owned by the consumer goroutine (Handle); nothing else touches it.
type buffer struct {
	inbound  tableBuf[inboundRow, *inboundRow]
	changes  tableBuf[changeRow, *changeRow]
	payments tableBuf[paymentRow, *paymentRow]
	refunds  tableBuf[refundRow, *refundRow]
	gaps     tableBuf[gapRow, *gapRow]
	attempts tableBuf[attemptRow, *attemptRow]
	rejects  tableBuf[rejectRow, *rejectRow]
	all      []table
}

func newBuffer() *buffer {
	b := &buffer{
		inbound:  newTableBuf[inboundRow](tableInbound, inboundColumns),
		changes:  newTableBuf[changeRow](tableChanges, changeColumns),
		payments: newTableBuf[paymentRow](tablePayments, paymentColumns),
		refunds:  newTableBuf[refundRow](tableRefunds, refundColumns),
		gaps:     newTableBuf[gapRow](tableGaps, gapColumns),
		attempts: newTableBuf[attemptRow](tableAttempts, attemptColumns),
		rejects:  newTableBuf[rejectRow](tableRejects, rejectColumns),
	}
	b.all = []table{&b.inbound, &b.changes, &b.payments, &b.refunds, &b.gaps, &b.attempts, &b.rejects}
	return b
}

// rows counts buffered rows, sent or not: what the batch holds in memory.
func (b *buffer) rows() int {
	n := 0
	for _, t := range b.all {
		n += t.len()
	}
	return n
}

func (b *buffer) reset() {
	for _, t := range b.all {
		t.reset()
	}
}
