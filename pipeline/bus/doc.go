// Package bus is the one place that builds franz-go clients: the idempotent acks=all producer ingest
// uses, the manually committing group consumers of the matcher and the sinks, topic creation, and
// the embedded kfake broker for one-machine deployments. Every role points at a real Kafka or
// Redpanda cluster by configuration alone (Config.Brokers).
package bus
