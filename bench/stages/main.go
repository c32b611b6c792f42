// Command stages benchmarks each stage of paystream against its bare baseline, in one process, on
// this machine's services, and reports each stage as a ratio to its baseline (issue 6):
//
//	go run ./bench/stages [-only ingest,produce,matcher,audit,webhook] [-duration 5s] [-json FILE] [-cpuprofile DIR]
//
// Every stage runs its baseline first, then the real component, with the same load generator,
// concurrency and volume, against the same Redis and ClickHouse and a fresh in-memory embedded
// Kafka broker (bus.StartEmbedded), under Redis key prefixes, topic names and a ClickHouse database
// unique to the run, all removed afterwards. What one op is, per stage:
//
//   - ingest (two rows: simulator, sms): one HTTP request answered 2xx, from -concurrency
//     closed-loop fasthttp clients for -duration. Baseline: a bare fasthttp server answering
//     "hello" to the same requests. Component: ingest.Server (New/Listen/Run) with its real
//     bus.Producer; a merchant, an intent and a device are onboarded through the admin and merchant
//     APIs first, rate limits are off, and every request is a new payment (unique TrxID) that is
//     answered 202 only after Kafka's ack. Non-2xx answers and transport errors are errors.
//   - produce: one record acknowledged (acks=all), one in flight per goroutine, -concurrency
//     goroutines for -duration. Baseline: franz-go's ProduceSync of one record
//     (bus.Producer.SendAll, the same client settings). Component:
//     bus.Producer.Send, what ingest calls. Same ingest-sized records keyed by 64 wallets.
//   - matcher: one inbound event handled. Baseline: one EVALSHA of a small Lua script
//     (HGET+HSET+HINCRBY on one hash-tagged key) per event, pipelined per partition goroutine in
//     polled-sized batches; it repeats the volume until -min-baseline passed. Component:
//     matcher.Run draining a pre-produced backlog of -matcher-intents intent.created then as many
//     payment.reported events (each pays one intent by amount), timed from the consumer's first
//     poll (bus consumer metrics) to the last outcome acknowledged (the matcher's metrics).
//   - audit: one row accepted by ClickHouse. Baseline: clickhouse-go PrepareBatch/Append/Send of
//     prepared rows with the inbound_events columns into a copy of that table, in -audit-batch
//     batches, one at a time (repeated until -min-baseline). Component: audit.Sink.Run draining
//     -audit-rows pre-produced inbound events, from the first poll to the last row accepted.
//   - webhook: one POST received by the merchant's endpoint. Both ways hit the same receiver
//     (one loopback address per merchant) at the sink's default concurrency (4 per merchant, at
//     most 256). Baseline: net/http POSTs of a body of the same size with pre-signed headers
//     (repeated until -min-baseline). Component: webhook.Sink.Run delivering -webhooks
//     pre-produced outcomes, from the first poll to the last request received.
//
// allocs/op and B/op are the whole process's (runtime.MemStats) over the measured window divided
// by ops: they include the load generator, the broker and the clients, so compare a component
// with its own baseline only. -cpuprofile writes one CPU profile per measured run.
//
// The load generator, the component, the broker, Redis and ClickHouse share this machine: compare
// ratios measured in one run, not absolute figures across runs or machines.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

type options struct {
	only        string
	duration    time.Duration
	minBaseline time.Duration
	timeout     time.Duration
	jsonOut     string
	cpuprofile  string
	redisAddr   string
	chAddr      string
	partitions  int32
	concurrency int

	matcherIntents int
	auditRows      int
	auditBatch     int
	webhooks       int
	whMerchants    int
	verbose        bool
}

var stageNames = []string{"ingest", "produce", "matcher", "audit", "webhook"}

func main() {
	var o options
	flag.StringVar(&o.only, "only", "", "comma-separated stages to run ("+strings.Join(stageNames, ",")+"); default all")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each closed-loop run (ingest, produce)")
	flag.DurationVar(&o.minBaseline, "min-baseline", time.Second, "fixed-volume baselines (matcher, audit, webhook) repeat their volume until at least this long")
	flag.DurationVar(&o.timeout, "timeout", time.Minute, "longest a fixed-volume component may take before its partial rate is reported")
	flag.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of every measured run into this directory")
	flag.StringVar(&o.redisAddr, "redis", "127.0.0.1:6379", "Redis address")
	flag.StringVar(&o.chAddr, "clickhouse", "127.0.0.1:9000", "ClickHouse native-protocol address")
	var parts int
	flag.IntVar(&parts, "partitions", 12, "partitions of the embedded broker's topics (paystream's default)")
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent clients of the closed-loop stages (ingest, produce)")
	flag.IntVar(&o.matcherIntents, "matcher-intents", 10000, "matcher: intents (and as many matching payments) in the backlog")
	flag.IntVar(&o.auditRows, "audit-rows", 100000, "audit: inbound events (rows) in the backlog")
	flag.IntVar(&o.auditBatch, "audit-batch", 5000, "audit: rows per insert, the sink's BatchSize (paystream's default)")
	flag.IntVar(&o.webhooks, "webhooks", 3000, "webhook: outcomes in the backlog (one delivery each)")
	flag.IntVar(&o.whMerchants, "webhook-merchants", 16, "webhook: merchants (one receiver host each); concurrency is 4 per merchant up to 256, the sink's defaults")
	flag.BoolVar(&o.verbose, "v", false, "log the components' info messages")
	flag.Parse()
	o.partitions = int32(min(max(parts, 1), 10000)) //nolint:gosec // G115: clamped to a small range

	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "stages:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	only, err := parseOnly(o.only, stageNames)
	if err != nil {
		return err
	}
	if o.cpuprofile != "" {
		if err := os.MkdirAll(o.cpuprofile, 0o750); err != nil {
			return fmt.Errorf("creating %s: %w", o.cpuprofile, err)
		}
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	rdb := redis.NewClient(&redis.Options{Addr: o.redisAddr, PoolSize: 256, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second})
	defer rdb.Close()
	e := &env{opt: o, rdb: rdb, log: log, run: randHex(3)}

	host, _ := os.Hostname()
	rep := &Report{Started: time.Now().UTC(), Host: host, CPUs: runtime.NumCPU(), Duration: o.duration.String()}
	stages := []struct {
		name string
		run  func(*env) ([]Row, error)
	}{
		{"ingest", runIngest},
		{"produce", runProduce},
		{"matcher", runMatcher},
		{"audit", runAudit},
		{"webhook", runWebhook},
	}
	var failed []error
	for _, st := range stages {
		if !only[st.name] {
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s\n", st.name)
		rows, err := st.run(e)
		rep.Rows = append(rep.Rows, rows...)
		for _, r := range rows {
			fmt.Fprintf(os.Stderr, "   %s: baseline %s/s, component %s/s, ratio %s\n", r.Stage,
				fmtRate(r.Baseline.OpsPerSec()), fmtRate(r.Component.OpsPerSec()), fmtRatio(r.Ratio()))
		}
		if err != nil {
			rep.Skipped = append(rep.Skipped, st.name+": "+err.Error())
			failed = append(failed, fmt.Errorf("%s: %w", st.name, err))
			fmt.Fprintf(os.Stderr, "   %s failed: %v\n", st.name, err)
		}
		runtime.GC()
	}
	fmt.Println()
	if err := rep.WriteTable(os.Stdout); err != nil {
		return err
	}
	if o.jsonOut != "" {
		if err := rep.WriteJSONFile(o.jsonOut); err != nil {
			return err
		}
	}
	return errors.Join(failed...)
}
