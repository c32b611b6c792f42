package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/paystream/paystream/pipeline"
)

// History reads an intent's state back from the audit tables, for the merchant APIs once the
// intent has left Redis (pipeline/state's final-intent retention). It reads intent_status_changes
// only: the latest row per intent (argMax by version) is the intent's current status, exactly the
// fields the matcher wrote to Redis with that change. Safe for concurrent use.
//
// Since schema version 4 every row carries the whole intent (intent_json), so the record is the
// one Redis held. For an intent whose rows all predate version 4, what the other columns do not
// hold is left empty rather than invented: its successUrl, failedUrl, cancelUrl, expiredUrl,
// webhookUrl, metadata, idempotency key, dialect, and its tokenized checkout URL and payment
// method (see Intent).
type History struct {
	conn driver.Conn
	db   string
}

// NewHistory opens the audit database at dsn (the audit sink's DSN, clickhouse://host:9000/db)
// for reading. It connects lazily: nothing is dialled until the first Intent. Errors wrap
// ErrBadConfig.
func NewHistory(dsn string) (*History, error) {
	opts, db, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("opening clickhouse %s: %w", db, err)
	}
	return &History{conn: conn, db: db}, nil
}

// Close closes the connections; Intent must not be called afterwards.
func (h *History) Close() error { return h.conn.Close() }

// historyQuery is the latest status change of one intent of one merchant in one environment
// (the sorting key's prefix (environment, merchant_id) prunes to that merchant). argMax by version
// reads through unmerged duplicates: copies of one version are identical.
const historyQuery = `SELECT
	max(version),
	argMax(status, version),
	argMax(trx_id, version),
	argMax(match_type, version),
	argMax(reason, version),
	toInt64(argMax(decided_at_ms, version)),
	argMax(wallet, version),
	toString(argMax(amount, version)),
	argMax(customer_reference, version),
	toInt64(argMax(intent_created_at_ms, version)),
	toUInt32(argMax(intent_expires_at, version)),
	argMaxIf(intent_json, version, intent_json != '')
FROM intent_status_changes
WHERE environment = ? AND merchant_id = ? AND intent_id = ?
GROUP BY intent_id`

// Intent returns intent intentID of merchantID in env as the matcher last recorded it, or nil
// (and no error) when the audit tables have no status change of it. Errors are ClickHouse's
// (unreachable, schema missing: wrapped ErrSchemaMissing) or a row that cannot be decoded.
//
// The Intent is the latest intent_json when a row has one. Otherwise it is rebuilt as follows
// (rows written before schema version 4): Status, Version, TrxID, MatchType and Reason are the latest
// change's; UpdatedAt is its decision time, or the creation time for version 1 (as the store sets
// it); Provider and ReceiverMsisdn come from the wallet key; Amount, CustomerReference and
// CreatedAt (ms) are the intent's; ExpiresAt is stored in whole seconds and gets CreatedAt's
// milliseconds back (every surface sets it to CreatedAt plus whole seconds); Currency is BDT, the
// only currency. Everything else of pipeline.Intent is empty.
func (h *History) Intent(ctx context.Context, merchantID string, env pipeline.Environment, intentID string) (*pipeline.IntentRecord, error) {
	rows, err := h.conn.Query(ctx, historyQuery, string(env), merchantID, intentID)
	if err != nil {
		return nil, fmt.Errorf("reading history of intent %s in %s: %w", intentID, h.db, schemaHint(unreachableHint(err)))
	}
	defer func() { _ = rows.Close() }()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reading history of intent %s: %w", intentID, err)
		}
		return nil, nil
	}
	var (
		version                         uint32
		status, trx, mt, reason, wallet string
		decidedMs, createdMs            int64
		amount, ref                     string
		expiresSec                      uint32
		intentJSON                      string
	)
	if err := rows.Scan(&version, &status, &trx, &mt, &reason, &decidedMs, &wallet, &amount, &ref, &createdMs, &expiresSec, &intentJSON); err != nil {
		return nil, fmt.Errorf("reading history of intent %s: %w", intentID, err)
	}
	return recordOf(intentID, merchantID, env, historyRow{
		version: version, status: status, trxID: trx, matchType: mt, reason: reason, decidedMs: decidedMs,
		wallet: wallet, amount: amount, reference: ref, createdMs: createdMs, expiresSec: expiresSec,
		intentJSON: intentJSON,
	})
}

// historyRow is what historyQuery selects.
type historyRow struct {
	version                                          uint32
	status, trxID, matchType, reason, wallet, amount string
	reference                                        string
	decidedMs, createdMs                             int64
	expiresSec                                       uint32
	intentJSON                                       string // the latest non-empty intent_json
}

// recordOf rebuilds the IntentRecord of one historyRow (see History.Intent). It is pure.
func recordOf(intentID, merchantID string, env pipeline.Environment, r historyRow) (*pipeline.IntentRecord, error) {
	w, err := pipeline.ParseWalletKey(r.wallet)
	if err != nil {
		return nil, fmt.Errorf("decoding history of intent %s: wallet %q: %w", intentID, r.wallet, err)
	}
	amt, err := pipeline.ParseMoney(r.amount)
	if err != nil {
		return nil, fmt.Errorf("decoding history of intent %s: amount %q: %w", intentID, r.amount, err)
	}
	st := pipeline.Status(r.status)
	if !st.Valid() || r.version == 0 {
		return nil, fmt.Errorf("decoding history of intent %s: status %q version %d", intentID, r.status, r.version)
	}
	created := time.UnixMilli(r.createdMs).UTC()
	var expires time.Time
	if r.expiresSec > 0 {
		expires = time.UnixMilli(int64(r.expiresSec)*1000 + r.createdMs%1000).UTC()
	}
	updated := time.UnixMilli(r.decidedMs).UTC()
	if r.version == 1 {
		updated = created
	}
	in := pipeline.Intent{
		ID: intentID, MerchantID: merchantID, Environment: env, Amount: amt, Currency: "BDT",
		CustomerReference: r.reference, Provider: w.Provider, ReceiverMsisdn: w.Account,
		CreatedAt: created, ExpiresAt: expires,
	}
	if r.intentJSON != "" {
		var whole pipeline.Intent
		if err := json.Unmarshal([]byte(r.intentJSON), &whole); err != nil {
			return nil, fmt.Errorf("decoding history of intent %s: intent_json: %w", intentID, err)
		}
		if whole.ID != intentID {
			return nil, fmt.Errorf("decoding history of intent %s: intent_json is intent %q", intentID, whole.ID)
		}
		// The row's merchant and environment are the outcome's, which fall back to these when
		// the intent lacks them.
		if whole.MerchantID == "" {
			whole.MerchantID = merchantID
		}
		if whole.Environment == "" {
			whole.Environment = env
		}
		in = whole
	}
	return &pipeline.IntentRecord{
		Intent:    in,
		Status:    st,
		Version:   int(r.version),
		UpdatedAt: updated,
		TrxID:     r.trxID,
		MatchType: pipeline.MatchType(r.matchType),
		Reason:    r.reason,
	}, nil
}
