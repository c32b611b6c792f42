// Package webhook is paystream's webhook sink: it turns intent status changes on the outcomes topic
// into signed HTTP POSTs to merchants, durably, effectively once per outcome id, with retries,
// dead letters and no head-of-line blocking between merchants.
//
// # Flow
//
//  1. A committing group consumer (pipeline.GroupWebhooks) reads Topics.Outcomes(). Every
//     intent.status_changed or payment.refunded outcome that has a webhook event becomes a job in
//     Redis: the body is rendered once, by the intent's dialect (pipeline/dialect/<name>, looked up
//     in dialects.For by render.go), so every retry sends the same bytes; a change the dialect has
//     no event for (a bdQuickPay review or return to PENDING) is skipped. Enqueueing is one Lua script per outcome, pipelined per batch; it is a
//     no-op when a job or a done marker for the outcome id already exists, so replays never deliver
//     twice. Offsets are committed only after Redis stored the batch.
//  2. A dispatcher claims due jobs with a lease, up to 128 per Lua call (a claimed job is re-scored
//     to now+lease, so the jobs of a crashed sink come back by themselves) and hands each to a fixed
//     pool of Config.MaxInFlight workers through its lane: one lane per merchant and environment, at
//     most Config.PerMerchantConcurrency attempts each, at most Config.MaxInFlight in all. A lane
//     that is full keeps a few claimed jobs in memory for its next free slot and puts the rest back
//     for a little later instead of waiting, so a slow merchant never delays another one.
//  3. An attempt signs the body (webhooksig: X-Signature and Standard Webhooks, webhook-id = the
//     outcome id), adds the merchant dialect's own headers (dialect.Dialect.Headers) from the merchant
//     record as it is now (bdQuickPay: X-App-Key), POSTs it to the intent's webhook URL if it has one, else the
//     merchant's, through netguard's SSRF-safe client, and hands the result to the bookkeeper.
//  4. The bookkeeper takes the results that have arrived (up to 256, never waiting for more),
//     produces their pipeline.WebhookAttempt records to Topics.WebhookAttempts() in one call, and
//     only once Kafka acknowledged all of them stores each job's new state in Redis, in one
//     pipeline of per-job scripts that each check the job's lease: done (job deleted, a 30-day
//     done marker kept; unconditional), retry (re-scored to now + jittered exponential backoff, or
//     the receiver's Retry-After on 429/503), or dead letter (kept for Redeliver). If the produce
//     fails, every job of the batch is put back without a stored attempt.
//
// # Redis layout
//
// Every key lives under Keys.WebhookTag() ("<prefix>:{wh}"), one Redis Cluster slot, so each Lua
// script touches a single slot:
//
//	<tag>:job:<outcome id>   hash: the job (merchant, env, event, intent, url, body, accepted_at
//	                         (RFC 3339 nano), enqueued_at, attempts, seq, lease, last_status,
//	                         last_error, last_attempt_at (unix ms))
//	<tag>:due                sorted set: outcome ids of live jobs, score = next attempt (unix ms);
//	                         a claimed job's score is its lease expiry
//	<tag>:dead               sorted set: dead-lettered outcome ids, score = when (unix ms)
//	<tag>:done:<outcome id>  string, 30-day TTL: delivered at (unix ms); blocks re-enqueueing
//
// # Guarantees
//
// At least once towards the merchant, effectively once per outcome id in paystream's records: a
// crash after the POST and before the result is stored redelivers the same bytes with the same
// webhook-id (receivers dedupe by it) and produces an attempt record with the same id (the audit
// dedupes by it). Nothing accepted on the outcomes topic is lost: offsets are committed after Redis
// accepted the jobs, and Redis holds the jobs until they are delivered or dead-lettered.
//
// Attempt records: every attempt whose result is stored in Redis has its record acknowledged by
// Kafka first (batching does not change that order, it only shares the round trips). An attempt
// whose result was never stored, because the process died between the POST and the bookkeeping
// or the produce failed, may have no record; its job is attempted again after the lease (or the
// put-back) under the same attempt id "<outcome id>/<n>", and that attempt's record is produced.
// So the audit may miss a POST the receiver saw, never a stored outcome of one, and sees no
// record twice under different ids.
//
// # Concurrency
//
// Sink.Run runs the consumer, the dispatcher, Config.MaxInFlight attempt workers and one
// bookkeeper; no goroutine is started per delivery. A worker runs the attempts of the lane it was
// handed, one after another, and passes each result to the bookkeeper through a queue of
// MaxInFlight entries (a slow Kafka or Redis slows the workers down instead of growing memory). At
// shutdown the dispatcher stops, jobs waiting in lanes go back to Redis, workers finish the
// attempts they hold and the bookkeeper records them, bounded by Config.Timeout plus a few seconds.
// Redeliver and DeadLetters are safe to call from any process (the admin API) while sinks run.
package webhook
