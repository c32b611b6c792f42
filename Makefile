# Convenience targets; the README's two commands are deploy/local/dev.sh and deploy/local/test.sh.
.PHONY: dev test test-unit test-integration e2e chaos adversarial fuzz bench lint build kafka kafka-stop test-kafka

# A recipe piped into tee fails when its command fails, not only when tee does.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

# Plain `go test ./...` skips the tests whose service (Redis, ClickHouse), tool (chromium, promtool,
# redis-server) or built binary is missing, naming deploy/local/test.sh (pipeline/testenv). The
# targets below start the services first and set PAYSTREAM_TEST_SERVICES=1, as deploy/local/test.sh
# does: then a missing service or tool fails the test instead of skipping it.
test-integration e2e chaos adversarial fuzz bench: export PAYSTREAM_TEST_SERVICES = 1

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

# A real Apache Kafka on loopback (deploy/local/kafka.sh; KAFKA_BROKERS=3 for the cluster). The
# last line printed is the bootstrap list for PAYSTREAM_KAFKA_BROKERS.
KAFKA_BROKERS ?= 1
kafka:
	deploy/local/kafka.sh start --brokers $(KAFKA_BROKERS)

kafka-stop:
	deploy/local/kafka.sh stop

# The real-Kafka tier alone, each cluster in a temporary directory stopped at exit (test.sh runs it too).
test-kafka:
	set -e; d=$$(mktemp -d); trap 'deploy/local/kafka.sh stop --dir '"$$d"'/three >/dev/null 2>&1; deploy/local/kafka.sh stop --dir '"$$d"'/one >/dev/null 2>&1; rm -rf '"$$d" EXIT; \
	c=$$(deploy/local/kafka.sh start --brokers 3 --dir $$d/three | tail -1); \
	PAYSTREAM_TEST_KAFKA_CLUSTER=$$c go test -race -count=1 -v -run '^Test(EnsureTopics|ProducerRoundTrip|ConsumerCommits)' ./pipeline/bus; \
	deploy/local/kafka.sh stop --dir $$d/three; \
	PAYSTREAM_TEST_REAL_KAFKA=1 go test -count=1 -timeout 6m -v -run '^TestRealKafkaChaos$$' ./cmd/paystream/e2e; \
	b=$$(deploy/local/kafka.sh start --dir $$d/one | tail -1); \
	PAYSTREAM_TEST_KAFKA_BROKERS=$$b go test -race -count=1 -v -run '^Test(EnsureTopics|ProducerRoundTrip|ConsumerCommits)' ./pipeline/bus; \
	PAYSTREAM_TEST_KAFKA_BROKERS=$$b go test -count=1 -v -run '^TestRealKafka(E2E|CrashRecovery|Rebalance)$$' ./cmd/paystream/e2e; \
	PAYSTREAM_TEST_REAL_KAFKA=1 go test -count=1 -v -run '^TestKafkaScript$$' ./deploy

e2e:
	deploy/local/services.sh
	go test -count=1 -run E2E -v ./cmd/paystream/e2e

# The failure tests alone (they also run in `make test` / CI): kill -9, scale-out, Redis down,
# Redis Cluster, dead letters, overload.
chaos:
	deploy/local/services.sh
	go test -count=1 -v -run 'TestE2E(CrashRecovery|ScaleOut|RedisDown|RedisCluster|DeadLetterAndRedeliver|OverloadSheds)$$' ./cmd/paystream/e2e

# The adversarial suite alone (it also runs in `make test` / CI): one test or more per threat in
# SECURITY.md, each named TestAdversarial..., in every package.
adversarial:
	deploy/local/services.sh
	go test -race -count=1 -run 'Adversarial' ./...

# Every fuzz test for a bounded time each (FUZZTIME=30s by default).
FUZZTIME ?= 30s
fuzz:
	deploy/local/services.sh
	go test -run '^$$' -fuzz '^FuzzBDQuickPayCreate$$' -fuzztime $(FUZZTIME) ./ingest
	go test -run '^$$' -fuzz '^FuzzCheckoutClaim$$' -fuzztime $(FUZZTIME) ./ingest
	go test -run '^$$' -fuzz '^FuzzCreateIntent$$' -fuzztime $(FUZZTIME) ./ingest
	go test -run '^$$' -fuzz '^FuzzJSONTooDeep$$' -fuzztime $(FUZZTIME) ./ingest
	go test -run '^$$' -fuzz '^FuzzSMSIngest$$' -fuzztime $(FUZZTIME) ./ingest
	go test -run '^$$' -fuzz '^FuzzSNSNotification$$' -fuzztime $(FUZZTIME) ./ingest
	go test -run '^$$' -fuzz '^FuzzTxnAPI$$' -fuzztime $(FUZZTIME) ./ingest
	go test -run '^$$' -fuzz '^FuzzDecide$$' -fuzztime $(FUZZTIME) ./matcher
	go test -run '^$$' -fuzz '^FuzzCheckURL$$' -fuzztime $(FUZZTIME) ./pipeline/netguard
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./pipeline/smsparse
	go test -run '^$$' -fuzz '^FuzzRefNeverDecides$$' -fuzztime $(FUZZTIME) ./pipeline/smsparse
	go test -run '^$$' -fuzz '^FuzzVerifyStandard$$' -fuzztime $(FUZZTIME) ./pipeline/webhooksig
	go test -run '^$$' -fuzz '^FuzzVerifyXSignature$$' -fuzztime $(FUZZTIME) ./pipeline/webhooksig

# The benchmark report (bench/README.md explains each part): micro-benchmarks, the stage benchmarks
# against their bare baselines, the open-loop end-to-end run with CPU and heap profiles, then the
# same load as a soak (BENCH_SOAK long) for paystream's RSS over time.
# Results, profiles and the chart go to bench/results/<UTC date-time>/.
BENCH_RATE ?= 1000
BENCH_DURATION ?= 60s
# The memory soak: the same load for this long (RSS per minute in soak.txt); empty skips it.
BENCH_SOAK ?= 5m
# issue 16's headline: CPU-µs per payment (all roles, intents and expiry inside the window, rate
# limits at their defaults), Redis CPU-µs and bytes per payment, in the production layout (one
# process per role on kafka-dev) and in dev.
BENCH_HEADLINE_RATE ?= 400
BENCH_HEADLINE_DURATION ?= 45s
BENCH_OUT ?= bench/results/$(shell date -u +%Y%m%dT%H%M%SZ)
bench: build
	deploy/local/services.sh
	mkdir -p $(BENCH_OUT)
	go test -run '^$$' -bench . -benchmem ./pipeline/... ./matcher/... ./sink/... ./ingest/... | tee $(BENCH_OUT)/micro.txt
	go run ./bench/stages -duration 5s -webhooks 20000 -matcher-intents 20000 -json $(BENCH_OUT)/stages.json -cpuprofile $(BENCH_OUT)/stages-pprof | tee $(BENCH_OUT)/stages.txt
	for layout in production dev; do \
		go run ./bench/e2e -spawn bin/paystream -layout $$layout -setup-in-window -idempotency-keys -rate-limits defaults -idle 5s \
			-merchants 10 -rate $(BENCH_HEADLINE_RATE) -duration $(BENCH_HEADLINE_DURATION) -mix native=1,sms=1,sns=1,txn=1 \
			-json $(BENCH_OUT)/headline-$$layout.json | tee $(BENCH_OUT)/headline-$$layout.txt; done
	go run ./bench/e2e -spawn bin/paystream -merchants 20 -rate $(BENCH_RATE) -duration $(BENCH_DURATION) \
		-mix native=4,sms=3,sns=2,txn=1 -json $(BENCH_OUT)/e2e.json -plot $(BENCH_OUT)/e2e.html \
		-profile $(BENCH_OUT)/e2e-pprof | tee $(BENCH_OUT)/e2e.txt
	if [ -n "$(BENCH_SOAK)" ]; then \
		go run ./bench/e2e -spawn bin/paystream -merchants 20 -rate $(BENCH_RATE) -duration $(BENCH_SOAK) \
			-mix native=4,sms=3,sns=2,txn=1 -json $(BENCH_OUT)/soak.json -plot $(BENCH_OUT)/soak.html \
			| tee $(BENCH_OUT)/soak.txt; fi

lint:
	gofmt -l . | (! grep .)
	go vet ./...
	golangci-lint run ./...
