#!/usr/bin/env bash
# The README's second command, and exactly what CI runs (.ci/run): install/start Redis and
# ClickHouse if missing, then run every test (unit, integration against the real Redis and
# ClickHouse, and the end-to-end test that starts the built binary). go test's summary is the
# last thing printed.
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
exec go test -race -shuffle=on -count=1 -timeout 14m ./...
