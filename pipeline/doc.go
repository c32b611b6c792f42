// Package pipeline is paystream's shared vocabulary: the canonical inbound event, the outcome (status
// change) record, money, wallets, merchants as stored, Kafka topic names and Redis key layout, and
// the matcher's records (records.go: intents with their status, kept payments, claims, balance
// chains, transitions), the state matcher.Decide decides over. Each merchant dialect (what a
// merchant's API and webhooks look like on the wire) has its own package under pipeline/dialect,
// shared by its ingest surface and the webhook sink.
//
// # How stages meet
//
// Stages (ingest, matcher, sink/...) never import each other. They meet in two ways only:
//
//   - Kafka topics (topics.go): ingest produces events to the inbound topic; the matcher consumes
//     it and produces outcomes; the webhook and audit sinks consume the outcomes (and the webhook
//     sink's attempts). Records are encoded by codec.go.
//   - Named, read-only methods of the owner of a Redis keyspace, never raw Redis calls on another
//     stage's keys. The matcher's state (the Redis layout in pipeline/state's package doc) is owned by pipeline/state, its
//     persistence adapter; other stages read it through the methods its package doc lists under
//     "Reads for other stages" (GetIntent, ListIntents, OpenIntentsByReference,
//     OpenIntentsOfAmount, TrxUse, TrxSeen, PaymentKept, ListPayments, ReviewQueue, BalanceGaps).
//     Ingest creates intents through it too (CreateIntent), so that an intent can be read back
//     before the matcher consumed its intent.created.
//
// This package imports no client library (Kafka, Redis, ClickHouse, HTTP): its sub-package
// pipeline/bus is the one place that builds franz-go clients, and pipeline/state the one that owns
// the matcher's Redis keys.
package pipeline
