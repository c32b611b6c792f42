// Package matcher is paystream's matching stage: a consumer group on the inbound topic that turns
// every intent.created and payment.reported event, and every intent deadline, into at most a few
// deterministic outcomes on the outcomes topic.
//
// The decision itself is Decide, a pure function over an explicit Snapshot (no Redis, no clock), so
// it is table-tested, fuzzed and benchmarked alone. The Matcher around it loads the snapshot from
// pipeline/state, decides, applies the decision atomically and idempotently (an applied marker per
// event holds the outcomes it produced), produces the outcomes with acks=all and only then lets
// the consumer commit the batch's offsets.
//
// # Delivery
//
// Effectively once: a crash anywhere replays the batch; a replayed event finds its applied marker
// and re-emits the stored outcomes byte for byte (same ids), and a replayed intent.created is a
// no-op. Sinks drop outcomes they already handled by id.
//
// # Expiry
//
// Consuming intent.created from inbound partition p adds the intent's deadline to the Redis sorted
// set of p (state.Store.AddDeadline). Between batches, at most every Config.ExpiryInterval, the
// matcher expires the due deadlines of the partitions it owns: decide, apply under the marker
// "expire:<intent id>", produce, and only then remove the deadline (a crash in between re-emits the
// stored outcome). Expiry follows each partition's progress: while a partition has a backlog, only
// deadlines older than the last decided record (by its Kafka timestamp) expire, so a payment that
// ingest accepted before an intent's deadline is always decided before that intent can expire.
//
// # Concurrency
//
// Inbound events are keyed by receiving wallet, so one partition holds every fact of a wallet. A
// batch is processed one goroutine per partition, each partition strictly in offset order. Expiry
// runs in the consumer's Idle hook, between batches, so it never interleaves with event processing
// in one process; across processes (a zombie after a rebalance) the store's compare-and-set turns
// a stale decision into a conflict that is decided again.
package matcher
