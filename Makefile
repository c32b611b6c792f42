# Convenience targets; the README's two commands are deploy/local/dev.sh and deploy/local/test.sh.
.PHONY: dev test test-unit test-integration e2e chaos fuzz bench lint build

build:
	go build -o bin/paystream ./cmd/paystream

dev:
	deploy/local/dev.sh

test:
	deploy/local/test.sh

# Pure unit tests: no Redis, ClickHouse or broker needed.
test-unit:
	go test -race -shuffle=on -count=1 ./pipeline ./matcher -run 'Decide|Money|Wallet' 

test-integration:
	deploy/local/services.sh
	go test -race -count=1 ./pipeline/... ./matcher/... ./sink/... ./ingest/...

e2e:
	deploy/local/services.sh
	go test -count=1 -run E2E -v ./cmd/paystream

# The failure tests alone (they also run in `make test` / CI): kill -9, scale-out, Redis down,
# Redis Cluster, dead letters, overload.
chaos:
	deploy/local/services.sh
	go test -count=1 -v -run 'TestE2E(CrashRecovery|ScaleOut|RedisDown|RedisCluster|DeadLetterAndRedeliver|OverloadSheds)$$' ./cmd/paystream

fuzz:
	go test -run '^$$' -fuzz FuzzDecide -fuzztime 30s ./matcher
	go test -run '^$$' -fuzz FuzzCreateIntent -fuzztime 30s ./ingest

bench:
	deploy/local/services.sh
	go test -run '^$$' -bench . -benchmem ./pipeline/... ./matcher/... ./sink/... ./ingest/...
	go run ./bench/e2e

lint:
	gofmt -l . | (! grep .)
	go vet ./...
