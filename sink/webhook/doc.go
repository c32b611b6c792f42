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
//  2. A dispatcher claims due jobs with a lease (a claimed job is re-scored to now+lease, so the
//     jobs of a crashed sink come back by themselves) and starts each in its lane: one lane per
//     merchant and environment, at most Config.PerMerchantConcurrency attempts each, at most
//     Config.MaxInFlight in all. A job whose lane is full is put back for a little later instead of
//     waiting, so a slow merchant never delays another one.
//  3. An attempt signs the body (webhooksig: X-Signature and Standard Webhooks, webhook-id = the
//     outcome id), adds the merchant dialect's own headers (dialect.Dialect.Headers) from the merchant
//     record as it is now (bdQuickPay: X-App-Key), POSTs it to the intent's webhook URL if it has one, else the
//     merchant's, through netguard's SSRF-safe client, produces a pipeline.WebhookAttempt to
//     Topics.WebhookAttempts(), and only then records the result in Redis: done (job deleted, a
//     30-day done marker kept), retry (re-scored to now + jittered exponential backoff, or the
//     receiver's Retry-After on 429/503), or dead letter (kept for Redeliver).
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
// # Concurrency
//
// Sink.Run runs the consumer and the dispatcher; each attempt runs in its own goroutine, tracked and
// bounded by MaxInFlight. Redeliver and DeadLetters are safe to call from any process (the admin API)
// while sinks run.
package webhook
