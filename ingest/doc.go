// Package ingest is paystream's stateless HTTP edge (fasthttp): the admin API, the native merchant
// API of seed 004 (payment intents, sandbox simulator) and, later, the other seeds' dialects.
//
// Every route authenticates, validates and normalises its input into a pipeline.Event, and answers
// 2xx only after Kafka acknowledged that event (acks=all, idempotent producer). When Kafka does not
// acknowledge in time the answer is 503 with Retry-After, never 2xx, so a client retry is always
// safe: intents are deduplicated by idempotency key, payments by TrxID downstream.
//
// Ingest holds no state of its own; merchants, API-key hashes and idempotency claims live in Redis,
// intents in the shared state store (pipeline/state). Any number of replicas can run side by side.
package ingest
