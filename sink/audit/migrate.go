package audit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// migration is one schema version. Every step is idempotent (CREATE ... IF NOT EXISTS, addColumn
// checks system.columns first), so a Migrate that died halfway is finished by the next one, and
// two processes migrating at once both succeed.
//
// Never edit a released migration: append a new version. ClickHouse 18.16 has no
// "ADD COLUMN IF NOT EXISTS", so a new column is an addColumn step, not raw ALTER text.
type migration struct {
	version    uint32
	name       string
	statements []string
	addColumns []columnAdd
}

// columnAdd is "ALTER TABLE table ADD COLUMN column typ", applied only when the column is missing.
// typ should carry a DEFAULT so old rows read sensibly.
type columnAdd struct {
	table, column, typ string
}

// migrations is the schema history, oldest first. See SCHEMA.md for what each column means.
//
// Engine choice (18.16): ReplacingMergeTree(ingested_at_ms) keyed by the record's deterministic id
// (the ORDER BY key is (environment, merchant_id, id): both prefix columns come from the same
// immutable record, so a replay always lands on the same key). Partitions are months of a time
// that is part of the record, never of the insert, so a replay lands in the same partition and
// background merges can drop it; readers still use FINAL (or argMax), because merges are lazy.
var migrations = []migration{
	{version: 1, name: "audit tables", statements: []string{
		`CREATE TABLE IF NOT EXISTS inbound_events (
			event_id String,
			kind String,
			source String,
			environment String,
			merchant_id String,
			provider String,
			wallet String,
			wallet_account String,
			intent_id String,
			trx_id String,
			amount Decimal(18, 2),
			reference String,
			sender String,
			occurred_at DateTime('UTC'),
			occurred_at_ms UInt64,
			expires_at DateTime('UTC'),
			accepted_at DateTime('UTC'),
			accepted_at_ms UInt64,
			raw String,
			request_id String,
			kafka_partition Int32,
			kafka_offset Int64,
			ingested_at_ms UInt64
		) ENGINE = ReplacingMergeTree(ingested_at_ms)
		PARTITION BY toYYYYMM(accepted_at)
		ORDER BY (environment, merchant_id, event_id)`,

		`CREATE TABLE IF NOT EXISTS intent_status_changes (
			outcome_id String,
			event_id String,
			intent_id String,
			merchant_id String,
			environment String,
			provider String,
			wallet String,
			status String,
			previous_status String,
			version UInt32,
			rule String,
			match_type String,
			reason String,
			trx_id String,
			amount Decimal(18, 2),
			payment_amount Decimal(18, 2),
			sender String,
			customer_reference String,
			intent_created_at DateTime('UTC'),
			intent_created_at_ms UInt64,
			intent_expires_at DateTime('UTC'),
			accepted_at DateTime('UTC'),
			accepted_at_ms UInt64,
			decided_at DateTime('UTC'),
			decided_at_ms UInt64,
			decision_latency_ms UInt64,
			intent_age_ms UInt64,
			ingested_at_ms UInt64
		) ENGINE = ReplacingMergeTree(ingested_at_ms)
		PARTITION BY toYYYYMM(decided_at)
		ORDER BY (environment, merchant_id, outcome_id)`,

		`CREATE TABLE IF NOT EXISTS payments (
			outcome_id String,
			event_id String,
			provider String,
			wallet String,
			merchant_id String,
			environment String,
			trx_id String,
			amount Decimal(18, 2),
			sender String,
			reference String,
			disposition String,
			intent_id String,
			rule String,
			reason String,
			occurred_at DateTime('UTC'),
			occurred_at_ms UInt64,
			accepted_at DateTime('UTC'),
			accepted_at_ms UInt64,
			decided_at DateTime('UTC'),
			decided_at_ms UInt64,
			decision_latency_ms UInt64,
			ingested_at_ms UInt64
		) ENGINE = ReplacingMergeTree(ingested_at_ms)
		PARTITION BY toYYYYMM(accepted_at)
		ORDER BY (environment, merchant_id, outcome_id)`,

		`CREATE TABLE IF NOT EXISTS webhook_attempts (
			attempt_id String,
			outcome_id String,
			merchant_id String,
			environment String,
			intent_id String,
			event_type String,
			attempt UInt32,
			result String,
			http_status UInt16,
			error String,
			duration_ms UInt64,
			url_host String,
			accepted_at DateTime('UTC'),
			accepted_at_ms UInt64,
			attempted_at DateTime('UTC'),
			attempted_at_ms UInt64,
			end_to_end_ms UInt64,
			ingested_at_ms UInt64
		) ENGINE = ReplacingMergeTree(ingested_at_ms)
		PARTITION BY toYYYYMM(attempted_at)
		ORDER BY (environment, merchant_id, attempt_id)`,

		`CREATE TABLE IF NOT EXISTS audit_rejects (
			kafka_topic String,
			kafka_partition Int32,
			kafka_offset Int64,
			kafka_key String,
			kafka_timestamp DateTime('UTC'),
			kafka_timestamp_ms UInt64,
			error String,
			raw String,
			ingested_at_ms UInt64
		) ENGINE = ReplacingMergeTree(ingested_at_ms)
		PARTITION BY toYYYYMM(kafka_timestamp)
		ORDER BY (kafka_topic, kafka_partition, kafka_offset)`,
	}},

	// Version 2: pre-aggregated materialized views for dashboards (SCHEMA.md, "Materialized
	// views"). A view sees every INSERTed block, including replays, so its counts are of inserted
	// rows: a replay over-counts until nothing (the base tables dedupe at merge/FINAL; the views
	// never do). Exact answers come from the base tables with FINAL. No POPULATE: a view counts
	// rows inserted after it was created (POPULATE would block Migrate on a large table and miss
	// rows inserted meanwhile). Days are Bangladesh days, like the analyst queries.
	// 18.16 has no SimpleAggregateFunction, so counts/sums live in SummingMergeTree views and the
	// percentiles in AggregatingMergeTree views with quantilesState (read with quantilesMerge).
	{version: 2, name: "materialized views", statements: []string{
		`CREATE MATERIALIZED VIEW IF NOT EXISTS mv_daily_volume
		ENGINE = SummingMergeTree()
		PARTITION BY toYYYYMM(day)
		ORDER BY (environment, merchant_id, provider, day)
		AS SELECT
			toDate(accepted_at, 'Asia/Dhaka') AS day,
			merchant_id,
			environment,
			provider,
			count() AS payments,
			sum(amount) AS amount_bdt
		FROM payments
		WHERE disposition = 'matched'
		GROUP BY day, merchant_id, environment, provider`,

		`CREATE MATERIALIZED VIEW IF NOT EXISTS mv_match_rate
		ENGINE = SummingMergeTree()
		PARTITION BY toYYYYMM(day)
		ORDER BY (environment, merchant_id, rule, status, day)
		AS SELECT
			toDate(decided_at, 'Asia/Dhaka') AS day,
			merchant_id,
			environment,
			rule,
			status,
			count() AS changes
		FROM intent_status_changes
		GROUP BY day, merchant_id, environment, rule, status`,

		`CREATE MATERIALIZED VIEW IF NOT EXISTS mv_time_to_match
		ENGINE = AggregatingMergeTree()
		PARTITION BY toYYYYMM(day)
		ORDER BY (environment, merchant_id, rule, day)
		AS SELECT
			toDate(decided_at, 'Asia/Dhaka') AS day,
			merchant_id,
			environment,
			rule,
			countState() AS paid,
			quantilesState(0.5, 0.9, 0.99)(decision_latency_ms) AS decision_ms
		FROM intent_status_changes
		WHERE status = 'PAID'
		GROUP BY day, merchant_id, environment, rule`,

		`CREATE MATERIALIZED VIEW IF NOT EXISTS mv_time_to_deliver
		ENGINE = AggregatingMergeTree()
		PARTITION BY toYYYYMM(day)
		ORDER BY (environment, merchant_id, event_type, day)
		AS SELECT
			toDate(attempted_at, 'Asia/Dhaka') AS day,
			merchant_id,
			environment,
			event_type,
			countState() AS delivered,
			quantilesState(0.5, 0.9, 0.99)(end_to_end_ms) AS end_to_end_ms
		FROM webhook_attempts
		WHERE result = 'delivered'
		GROUP BY day, merchant_id, environment, event_type`,

		`CREATE MATERIALIZED VIEW IF NOT EXISTS mv_open_money
		ENGINE = SummingMergeTree()
		PARTITION BY toYYYYMM(day)
		ORDER BY (environment, merchant_id, disposition, day)
		AS SELECT
			toDate(accepted_at, 'Asia/Dhaka') AS day,
			merchant_id,
			environment,
			disposition,
			count() AS payments,
			sum(amount) AS amount_bdt
		FROM payments
		WHERE disposition IN ('unmatched', 'review')
		GROUP BY day, merchant_id, environment, disposition`,
	}},

	// Version 3: typed tables for two outcome types that were kept only in audit_rejects until
	// now: refunds bKash confirmed (pipeline.OutcomeRefund) and the matcher's balance gaps
	// (wallet.balance_gap). Same engine rule as version 1: ReplacingMergeTree(ingested_at_ms), key
	// ending with the deterministic outcome id, month partitions of accepted_at (set by ingest on
	// the triggering event, so every copy of a row lands in the same partition). Records of these
	// types already stored in audit_rejects are not moved: their raw column still holds them.
	//
	// Written for 18.16. On a current server you would declare review as Bool (18.16 has none:
	// UInt8 0/1), the time pairs as DateTime64(3, 'UTC'), direction/provider/environment as
	// LowCardinality(String), the signed paisa of a gap as Int64 next to the Decimal, and add a
	// TTL and CODEC(Delta, ZSTD) on the _ms columns (see SCHEMA.md, "What a newer ClickHouse does
	// better").
	{version: 3, name: "refunds and balance gaps", statements: []string{
		`CREATE TABLE IF NOT EXISTS refunds (
			outcome_id String,
			event_id String,
			intent_id String,
			merchant_id String,
			environment String,
			provider String,
			wallet String,
			payment_id String,
			trx_id String,
			refund_trx_id String,
			amount Decimal(18, 2),
			refunded_total Decimal(18, 2),
			intent_amount Decimal(18, 2),
			reason String,
			operator String,
			customer_reference String,
			accepted_at DateTime('UTC'),
			accepted_at_ms UInt64,
			decided_at DateTime('UTC'),
			decided_at_ms UInt64,
			decision_latency_ms UInt64,
			ingested_at_ms UInt64
		) ENGINE = ReplacingMergeTree(ingested_at_ms)
		PARTITION BY toYYYYMM(accepted_at)
		ORDER BY (environment, merchant_id, outcome_id)`,

		`CREATE TABLE IF NOT EXISTS balance_gaps (
			outcome_id String,
			event_id String,
			merchant_id String,
			environment String,
			provider String,
			wallet String,
			direction String,
			amount Decimal(18, 2),
			fee Decimal(18, 2),
			trx_id String,
			sms_at DateTime('UTC'),
			sms_at_ms UInt64,
			previous_event_id String,
			previous_at DateTime('UTC'),
			previous_at_ms UInt64,
			previous_balance Decimal(18, 2),
			expected_balance Decimal(18, 2),
			actual_balance Decimal(18, 2),
			difference Decimal(18, 2),
			review UInt8,
			accepted_at DateTime('UTC'),
			accepted_at_ms UInt64,
			decided_at DateTime('UTC'),
			decided_at_ms UInt64,
			ingested_at_ms UInt64
		) ENGINE = ReplacingMergeTree(ingested_at_ms)
		PARTITION BY toYYYYMM(accepted_at)
		ORDER BY (environment, merchant_id, outcome_id)`,
	}},

	// Version 4: the whole intent on every status change, so that History (history.go) answers for
	// an intent that left Redis with everything the merchant APIs show (its URLs, metadata,
	// payment method and checkout URL are in no other column). Rows written before are ''.
	{version: 4, name: "intent on status changes", addColumns: []columnAdd{
		// AFTER keeps the latency columns last, where the insert column list has them.
		{table: tableChanges, column: "intent_json", typ: "String DEFAULT '' AFTER decided_at_ms"},
	}},
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version UInt32,
	name String,
	applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY version`

// Migrate creates the database named in dsn if it is missing, then brings every audit table to the
// newest schema version, recording each applied version in schema_migrations. It is idempotent and
// safe to run at every start, by `paystream migrate`, and by several processes at once. It blocks
// until done or ctx ends; on error the schema may be partly migrated and running Migrate again
// finishes the job. Errors are wrapped with ErrBadConfig for an unusable DSN.
func Migrate(ctx context.Context, dsn string) error {
	opts, db, err := parseDSN(dsn)
	if err != nil {
		return err
	}
	if err := createDatabase(ctx, opts, db); err != nil {
		return err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("opening clickhouse %s: %w", db, err)
	}
	defer conn.Close()
	return applyMigrations(ctx, conn, db, migrations)
}

func createDatabase(ctx context.Context, opts *clickhouse.Options, db string) error {
	o := *opts
	o.Auth.Database = "" // the user's default database: ours may not exist yet
	conn, err := clickhouse.Open(&o)
	if err != nil {
		return fmt.Errorf("opening clickhouse: %w", err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return fmt.Errorf("creating database %s: %w", db, unreachableHint(err))
	}
	return nil
}

// applyMigrations runs, in order, every migration newer than the highest version recorded in
// conn's database, and records it.
func applyMigrations(ctx context.Context, conn driver.Conn, db string, ms []migration) error {
	if err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("creating %s.schema_migrations: %w", db, err)
	}
	var current uint32
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("reading schema version of %s: %w", db, err)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		for _, stmt := range m.statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("migrating %s to version %d (%s): %w", db, m.version, m.name, err)
			}
		}
		for _, c := range m.addColumns {
			if err := addColumn(ctx, conn, db, c); err != nil {
				return fmt.Errorf("migrating %s to version %d (%s): %w", db, m.version, m.name, err)
			}
		}
		if err := recordVersion(ctx, conn, m); err != nil {
			return fmt.Errorf("recording schema version %d of %s: %w", m.version, db, err)
		}
	}
	return nil
}

func addColumn(ctx context.Context, conn driver.Conn, db string, c columnAdd) error {
	exists := func() (bool, error) {
		var n uint64
		err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?",
			db, c.table, c.column).Scan(&n)
		return n > 0, err
	}
	ok, err := exists()
	if err != nil {
		return fmt.Errorf("looking up column %s.%s: %w", c.table, c.column, err)
	}
	if ok {
		return nil
	}
	if err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", c.table, c.column, c.typ)); err != nil {
		// Another migrator may have added it between the check and the ALTER.
		if ok, _ := exists(); ok {
			return nil
		}
		return fmt.Errorf("adding column %s.%s: %w", c.table, c.column, err)
	}
	return nil
}

func recordVersion(ctx context.Context, conn driver.Conn, m migration) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	defer func() { _ = batch.Abort() }()
	if err := batch.Append(m.version, m.name, time.Now().UTC()); err != nil {
		return err
	}
	return batch.Send()
}

// Ping checks that ClickHouse answers on dsn and that the DSN's database exists (it does once
// Migrate ran), for readiness probes. It opens and closes its own connection and blocks at most
// until ctx ends.
func Ping(ctx context.Context, dsn string) error {
	opts, db, err := parseDSN(dsn)
	if err != nil {
		return err
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("opening clickhouse %s: %w", db, err)
	}
	defer conn.Close()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("pinging clickhouse %s: %w", db, schemaHint(unreachableHint(err)))
	}
	return nil
}

// identRE is what this package accepts as a database name: it is spliced into DDL unquoted.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// parseDSN parses a native-protocol DSN ("clickhouse://user:pass@127.0.0.1:9000/paystream") and
// applies this package's defaults: 5 s dial timeout, 30 s read timeout. The database defaults to
// "default" when the DSN names none.
func parseDSN(dsn string) (*clickhouse.Options, string, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("%w: parsing clickhouse DSN: %w", ErrBadConfig, err)
	}
	if opts.Protocol != clickhouse.Native {
		return nil, "", fmt.Errorf("%w: clickhouse DSN must use the native protocol (clickhouse://host:9000/db): the HTTP protocol does not work with ClickHouse 18.16", ErrBadConfig)
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = "default"
	}
	if !identRE.MatchString(opts.Auth.Database) {
		return nil, "", fmt.Errorf("%w: clickhouse database %q must be letters, digits and underscores", ErrBadConfig, opts.Auth.Database)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 30 * time.Second
	}
	return opts, opts.Auth.Database, nil
}

// ClickHouse error codes this package explains to operators.
const (
	chNoSuchColumn    = 16
	chUnknownTable    = 60
	chUnknownDatabase = 81
)

// schemaHint wraps err with ErrSchemaMissing when ClickHouse says the database, a table or a
// column is missing (a schema older than this binary's).
func schemaHint(err error) error {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && (ex.Code == chUnknownTable || ex.Code == chUnknownDatabase || ex.Code == chNoSuchColumn) {
		return fmt.Errorf("%w: %w", ErrSchemaMissing, err)
	}
	return err
}

// unreachableHint adds how to start a local ClickHouse when none answers.
func unreachableHint(err error) error {
	var ex *clickhouse.Exception
	if err == nil || errors.As(err, &ex) || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w (is clickhouse running? locally: deploy/local/services.sh)", err)
}
