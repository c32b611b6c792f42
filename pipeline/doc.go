// Package pipeline is paystream's shared vocabulary: the canonical inbound event, the outcome (status
// change) record, money, wallets, merchants as stored, Kafka topic names and Redis key layout. Each
// merchant dialect (what a merchant's API and webhooks look like on the wire) has its own package
// under pipeline/dialect, shared by its ingest surface and the webhook sink.
//
// Stages (ingest, matcher, sink/...) meet only through these types and the Kafka topics; they never
// import each other. This package imports no client library (Kafka, Redis, ClickHouse, HTTP): its
// sub-package pipeline/bus is the one place that builds franz-go clients.
package pipeline
