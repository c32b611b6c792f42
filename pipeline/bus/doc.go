// Package bus is the one place that builds franz-go clients: the idempotent acks=all producer ingest
// uses, the manually committing group consumers of the matcher and the sinks, topic creation, and
// the embedded kfake broker for one-machine deployments. Every role points at a real Kafka or
// Redpanda cluster by configuration alone (Config.Brokers).
//
// It is also the vocabulary the stages meet Kafka with, so that no stage imports franz-go (a
// depguard rule keeps it so): a Consumer hands its ConsumerConfig.Handle a Batch of Records grouped
// by partition (built into reused memory, values aliasing the fetched bytes: no allocation per
// record), commits it after Handle returned nil, and offers the handler Produce (the matcher's
// outcomes, the webhook sink's attempt records, on the consumer's own client) and Backlog (how far
// the group has committed: the matcher's expiry cutoff). A batch larger than one poll is a declared
// policy (ConsumerConfig.Fill), not a loop inside a handler.
package bus
