// Package matcher is paystream's matching stage: a consumer group on the inbound topic that turns
// every intent.created, payment.reported, claim.submitted, review.decided and sms.received event,
// and every intent deadline, into at most a few deterministic outcomes on the outcomes topic.
//
// The decision itself is Decide, a pure function over an explicit Snapshot (no Redis, no clock), so
// it is table-tested, fuzzed (FuzzDecide: single events, and sequences over an in-memory wallet)
// and benchmarked alone. The Matcher around it loads the snapshot from pipeline/state, decides,
// applies the decision atomically and idempotently (an applied marker per event holds the outcomes
// it produced), produces the outcomes with acks=all and only then lets the consumer commit the
// batch's offsets.
//
// # Rules
//
// SPEC "Matching rules", per receiving wallet: 1 dedupe by TrxID, 2 reference, 3 claims, 4 amount
// and window, 5 expiry, 6 operators. The choices the SPEC leaves open are written where each rule
// lives: Decide (decide.go) for 1, 2, 4 and 5; decide_claims.go for 3 (whichever of the claim and
// the payment arrives second completes the match; claims are tried before rules 2 and 4; several
// intents claiming one TrxID all go to review); decide_review.go for 6 (approve, reject, attach;
// the operator's name is not put in outcomes because Outcome.Reason reaches merchants);
// decide_balance.go for the balance chain of forwarded SMS (a gap is an OutcomeBalanceGap, a
// paying SMS below the chain goes to review with ReasonBalanceMismatch, an SMS older than the
// chain's head must fit the chain's base or one of its holes, else a paying one goes to review
// with ReasonBalanceOutOfOrder).
//
// A claim, operator decision or SMS that changes nothing (a race with another decision, a repeat)
// is still applied as an empty marker, so that a replay repeats the decision instead of deciding
// again over later state; it is counted by paystream_matcher_ignored_total{kind,reason} and logged.
//
// # Delivery
//
// Effectively once: a crash anywhere replays the batch; a replayed event finds its applied marker
// and re-emits the stored outcomes byte for byte (same ids), and a replayed intent.created is a
// no-op. Sinks drop outcomes they already handled by id. Outcome ids are UUIDv5 of (intent,
// version, status), of the payment event (pipeline.PaymentOutcomeID), or of the SMS event for a
// balance gap (BalanceGapOutcomeID).
//
// # Expiry
//
// Consuming intent.created from inbound partition p adds the intent's deadline to the Redis sorted
// set of p (state.Store.AddDeadline). Between batches, at most every Config.ExpiryInterval, the
// matcher expires the due deadlines of the partitions it owns: decide, apply under the marker
// "expire:<intent id>", produce, and only then remove the deadline (a crash in between re-emits the
// stored outcome). A review released back to PENDING gets its deadline registered again by the run
// that applies or replays the release (reopened in expiry.go). Expiry follows each partition's progress: while a partition has a backlog, only
// deadlines older than the last decided record (by its Kafka timestamp) expire, so a payment that
// ingest accepted before an intent's deadline is always decided before that intent can expire.
//
// # Concurrency
//
// Inbound events are keyed by receiving wallet, so one partition holds every fact of a wallet. A
// batch (a poll) is processed as a whole, each partition strictly in offset order: its partitions'
// snapshots are loaded in one pipeline and their decisions applied in one pipeline (processPoll in
// batch.go), so a poll pays Redis per round, not per partition. Expiry
// runs in the consumer's Idle hook, between batches, so it never interleaves with event processing
// in one process; across processes (a zombie after a rebalance) the store's compare-and-sets (every
// decision is conditional on the wallet's version as loaded, and on each changed intent's status
// and version) turn a stale decision into a conflict that is decided again.
package matcher
