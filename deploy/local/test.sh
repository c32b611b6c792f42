#!/usr/bin/env bash
# The README's second command, and exactly what CI runs (.ci/run): install/start Redis and
# ClickHouse if missing, then run every test (unit, integration against the real Redis and
# ClickHouse, and the end-to-end test that starts the built binary). go test's summary is the
# last thing printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/local/services.sh --test-tools
go vet ./...
exec go test -race -shuffle=on -count=1 -timeout 14m ./...
