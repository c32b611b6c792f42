#!/usr/bin/env bash
# The README's first command: install/start Redis and ClickHouse if missing, build paystream, and run
# every role in one process on the embedded Kafka-protocol broker, with a demo you can watch.
# Extra arguments go to `paystream dev` (e.g. --help). Needs root (apt-get) and Go.
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/local/services.sh
mkdir -p bin
echo "[dev] building bin/paystream" >&2
go build -o bin/paystream ./cmd/paystream
# The demo's webhook receiver listens on 127.0.0.1, which production refuses (SSRF guard).
export PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS="${PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS:-true}"
exec bin/paystream --log-format=text dev --demo "$@"
