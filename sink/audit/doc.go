// Package audit is paystream's ClickHouse audit sink: it consumes the inbound, outcomes and
// webhook-attempts topics in consumer group pipeline.GroupAudit and stores every record as exactly
// one row, so analysts can answer "what happened to this money" with SQL. SCHEMA.md documents the
// tables, the dedupe rule and tested analyst queries.
//
// # Batching and commits
//
// The sink uses bus.Consumer, which commits a batch's offsets after each successful Handle. To
// batch across polls without committing early, the consumer's batching policy is declared
// (bus.ConsumerConfig.Fill) and Handle owns the batch until it is written:
//
//  1. The consumer polls until the batch holds BatchSize records or FlushInterval has passed since
//     the first record (or Run's context ends), then calls Handle with all of them.
//  2. Handle converts them to rows.
//  3. It inserts each table's rows with one PrepareBatch/Append/Send, naming the columns.
//  4. Only when ClickHouse accepted every table does Handle return nil; the consumer then commits
//     the batch, which is exactly what was written.
//
// This was chosen over "insert each poll" because a poll returns whatever one fetch holds (often a
// handful of records under light load), and ClickHouse wants few large inserts, not many small
// ones. Rebalances stay blocked while the batch is filled and handled (bus uses
// BlockRebalanceOnPoll), so a partition never moves while its rows are buffered. Memory is bounded by BatchSize rows (one row per record;
// franz-go's own fetch buffer is bounded separately by its fetch byte limits).
//
// If an insert fails, Handle returns the error; bus retries the same batch with backoff (100 ms
// doubling to 5 s). The buffer still holds every row of the batch, so the retry only re-sends the tables ClickHouse has not accepted yet. Consumption pauses while
// ClickHouse is down and resumes by itself; nothing is committed that was not written. A stop
// while a batch is unwritten leaves its offsets uncommitted (Close skips the consumer's final
// commit), so the next run replays it.
//
// Every poll of a filled batch is observed by the consumer, so paystream_consumer_records_total and
// the lag gauges of group paystream-audit follow each poll, not only each batch.
//
// # Duplicates
//
// Replays (a restart before a commit, a retried insert whose first attempt did land, a producer
// retry upstream) insert rows again. Every table is a ReplacingMergeTree keyed by the record's
// deterministic id (event id, outcome id, attempt id, or topic/partition/offset for rejects) and
// partitioned by a time taken from the record, so duplicates collapse when parts merge. Merges
// are lazy: readers use FINAL or argMax (SCHEMA.md).
//
// # Undecodable records
//
// A record that does not decode (bad JSON, failed validation, unknown outcome type, balance gap
// without its gap, attempt without ids) is stored verbatim in audit_rejects with its topic,
// partition, offset and the reason, counted in paystream_audit_rejects_total, and committed like
// any other: it is kept, not retried forever.
//
// # Concurrency
//
// Run drives everything from one goroutine (the consumer's); Close may be called from any
// goroutine. Migrate and Ping are independent of any Sink and safe for concurrent use.
package audit
