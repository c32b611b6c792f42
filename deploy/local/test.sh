#!/usr/bin/env bash
# The README's second command, and exactly what CI runs (.ci/run): install/start Redis and
# ClickHouse if missing, then run every test (unit, integration against the real Redis and
# ClickHouse, the real-Kafka tier against Apache Kafka started by deploy/local/kafka.sh, and the
# end-to-end test that starts the built binary). go test's summary is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/local/services.sh --test-tools
# Every test runs: one whose service or tool is missing fails instead of skipping (pipeline/testenv).
export PAYSTREAM_TEST_SERVICES=1
go vet ./...
# golangci-lint (linters in .golangci.yml, gosec among them), pinned, installed through the Go module proxy.
GCL="$(go env GOPATH)/bin/golangci-lint"
if ! "$GCL" version 2>/dev/null | grep -q 'version 2.15.0'; then
  echo "[test] installing golangci-lint v2.15.0" >&2
  GOFLAGS= go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
fi
"$GCL" run ./...
# The real-Kafka tier: Apache Kafka (deploy/local/kafka.sh, fetched once through Maven) in a
# temporary directory, stopped at exit whatever happens. First the tests that need the three-broker
# cluster, alone (three JVMs on two cores); then one broker for the whole suite. Tests that need
# neither skip their real-Kafka part without these variables.
KAFKA_TMP="$(mktemp -d -t paystream-kafka.XXXXXX)"
stop_kafka() {
  deploy/local/kafka.sh stop --dir "$KAFKA_TMP/three" >/dev/null 2>&1 || true
  deploy/local/kafka.sh stop --dir "$KAFKA_TMP/one" >/dev/null 2>&1 || true
  rm -rf "$KAFKA_TMP"
}
trap stop_kafka EXIT
cluster="$(deploy/local/kafka.sh start --brokers 3 --dir "$KAFKA_TMP/three" | tail -1)"
PAYSTREAM_TEST_KAFKA_CLUSTER="$cluster" go test -race -count=1 -timeout 5m -run '^Test(EnsureTopics|ProducerRoundTrip|ConsumerCommits)' ./pipeline/bus
deploy/local/kafka.sh stop --dir "$KAFKA_TMP/three"
# The chaos test (cmd/paystream/e2e) starts and kills its own three-broker cluster: alone too, and
# skipped in the suite below, which runs beside a broker of its own.
PAYSTREAM_TEST_REAL_KAFKA=1 go test -count=1 -timeout 6m -v -run '^TestRealKafkaChaos$' ./cmd/paystream/e2e
PAYSTREAM_TEST_KAFKA_BROKERS="$(deploy/local/kafka.sh start --dir "$KAFKA_TMP/one" | tail -1)"
export PAYSTREAM_TEST_KAFKA_BROKERS PAYSTREAM_TEST_KAFKA_DIR="$KAFKA_TMP/one" PAYSTREAM_TEST_REAL_KAFKA=1
go test -race -shuffle=on -count=1 -timeout 14m -skip '^TestRealKafkaChaos$' ./...
