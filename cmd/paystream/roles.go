package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/matcher"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/sink/audit"
	"github.com/paystream/paystream/sink/webhook"
)

// Role names.
const (
	roleIngest   = "ingest"
	roleMatcher  = "matcher"
	roleWebhooks = "webhooks"
	roleAudit    = "audit"
)

// RoleCmd runs the role named by the command.
type RoleCmd struct{}

// Run runs one role until SIGINT/SIGTERM.
func (RoleCmd) Run(kctx *kong.Context, cfg *Config) error {
	role := kctx.Command()
	if len(cfg.KafkaBrokers) == 0 {
		return fmt.Errorf("%s needs --kafka-brokers / PAYSTREAM_KAFKA_BROKERS (start one with `paystream kafka-dev`, or use `paystream dev`)", role)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt, err := newRuntime(ctx, cfg, cfg.KafkaBrokers, []string{role})
	if err != nil {
		return err
	}
	return rt.run(ctx, nil)
}

// runtime holds one process's roles, shared clients and metrics server.
type runtime struct {
	cfg    *Config
	log    *slog.Logger
	roles  []string
	reg    *prometheus.Registry
	rdb    redis.UniversalClient
	busCfg bus.Config
	topics pipeline.Topics
	keys   pipeline.Keys

	producer *bus.Producer
	kafka    *bus.Pinger // answers /readyz's Kafka check in every role
	ingest   *ingest.Server
	matcher  *matcher.Matcher
	usage    *state.Sampler // the matcher role's Redis usage by key family
	webhooks *webhook.Sink
	audit    *audit.Sink
	history  *audit.History // the ingest role's intent history (--intent-history-dsn); nil: off
	metrics  *http.Server
	httpAddr net.Addr
	metAddr  net.Addr
}

func (rt *runtime) has(role string) bool {
	for _, r := range rt.roles {
		if r == role {
			return true
		}
	}
	return false
}

// newRuntime connects to the dependencies, prepares topics and schema, and builds the roles.
// Nothing serves until run.
func newRuntime(ctx context.Context, cfg *Config, brokers []string, roles []string) (*runtime, error) {
	log := cfg.logger()
	slog.SetDefault(log)
	rt := &runtime{
		cfg: cfg, log: log, roles: roles, reg: prometheus.NewRegistry(),
		busCfg: bus.Config{
			Brokers: brokers, Partitions: cfg.KafkaPartitions, Replicas: cfg.KafkaReplicas,
			MinInsyncReplicas: cfg.KafkaMinInsync, Retention: cfg.KafkaRetention,
			SessionTimeout: cfg.KafkaSessionTimeout, InstanceID: cfg.KafkaInstanceID, Logger: log,
		},
		topics: pipeline.Topics{Prefix: cfg.TopicPrefix},
		keys:   pipeline.Keys{Prefix: cfg.RedisPrefix},
	}
	var bkashDefaults map[pipeline.Environment]*bkash.Credentials
	if rt.has(roleIngest) {
		var err error
		if bkashDefaults, err = cfg.Bkash.defaults(); err != nil {
			return nil, err
		}
	}
	rt.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "paystream_build_info", Help: "Always 1; labels say the version and roles.",
		ConstLabels: prometheus.Labels{"version": version, "roles": fmt.Sprint(roles)},
	})
	build.Set(1)
	rt.reg.MustRegister(build)

	rt.rdb = redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: cfg.RedisAddr, IsClusterMode: cfg.RedisCluster, Password: cfg.RedisPassword,
		PoolSize: 256, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second,
	})
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rt.rdb.Ping(pctx).Err(); err != nil {
		return nil, fmt.Errorf("connecting to redis at %v: %w (is redis running? deploy/local/services.sh starts one)", cfg.RedisAddr, err)
	}
	if err := bus.EnsureTopics(pctx, rt.busCfg, rt.topics.All()...); err != nil {
		return nil, fmt.Errorf("preparing kafka topics on %v: %w", brokers, err)
	}
	if rt.has(roleAudit) {
		if err := audit.Migrate(pctx, cfg.ClickHouseDSN); err != nil {
			return nil, fmt.Errorf("migrating clickhouse schema at %s: %w (is clickhouse running? deploy/local/services.sh starts one)", redactDSN(cfg.ClickHouseDSN), err)
		}
	}

	var err error
	if rt.kafka, err = bus.NewPinger(rt.busCfg); err != nil {
		return nil, err
	}
	cm := bus.NewConsumerMetrics(rt.reg)
	st := state.New(rt.rdb, rt.keys)
	// The process's one merchant directory and cache, shared by ingest and the webhook sink.
	dir, err := directory.New(directory.Config{Keys: rt.keys}, rt.rdb)
	if err != nil {
		return nil, err
	}
	if rt.has(roleIngest) {
		rt.producer, err = bus.NewBusProducer(rt.busCfg, cfg.ProduceTimeout, 100_000, rt.reg)
		if err != nil {
			return nil, err
		}
		tok := tokenizedConfig(cfg, bkashDefaults, rt.rdb, rt.reg)
		if cfg.HistoryHorizon <= 0 {
			return nil, fmt.Errorf("--history-horizon %s must be positive", cfg.HistoryHorizon)
		}
		var hist ingest.IntentHistory // stays a nil interface when off
		if cfg.IntentHistoryDSN != "" {
			if rt.history, err = audit.NewHistory(cfg.IntentHistoryDSN); err != nil {
				return nil, fmt.Errorf("--intent-history-dsn: %w", err)
			}
			hist = rt.history
		}
		rt.ingest, err = ingest.New(ingest.Config{
			Addr: cfg.HTTPAddr, PublicURL: cfg.PublicURL, Topics: rt.topics, Keys: rt.keys,
			MaxBodyBytes: cfg.MaxBodyBytes, MaxInFlight: cfg.MaxInFlight, ProduceTimeout: cfg.ProduceTimeout, Logger: log,
			RateLimitKey: cfg.RateLimitKey, RateLimitIP: cfg.RateLimitIP, HistoryHorizon: cfg.HistoryHorizon,
		}, ingest.Deps{Redis: rt.rdb, Pub: rt.producer, State: st, Directory: dir, History: hist}, rt.reg)
		if err != nil {
			return nil, err
		}
		if err := mountSurfaces(rt.ingest, surfaceDeps{st: st, dir: dir, hooks: webhookAdmin{rdb: rt.rdb, keys: rt.keys}, rdb: rt.rdb, keys: rt.keys, reg: rt.reg, tok: tok}, cfg, log); err != nil {
			return nil, err
		}
		if rt.httpAddr, err = rt.ingest.Listen(); err != nil {
			return nil, err
		}
	}
	if rt.has(roleMatcher) {
		life := state.Lifetimes{FinalIntentRetention: cfg.FinalIntentRetention, TrxWindow: cfg.TrxDedupeWindow}
		if err := life.Check(); err != nil {
			return nil, fmt.Errorf("--final-intent-retention / --trx-dedupe-window: %w", err)
		}
		mst, err := st.WithLifetimes(life)
		if err != nil {
			return nil, fmt.Errorf("--final-intent-retention / --trx-dedupe-window: %w", err)
		}
		rt.matcher, err = matcher.New(matcher.Config{
			Bus: rt.busCfg, Topics: rt.topics, ExpiryInterval: cfg.ExpiryInterval, LatePaymentGrace: cfg.LatePaymentGrace, Logger: log,
		}, mst, rt.reg, cm)
		if err != nil {
			return nil, err
		}
		if cfg.RedisUsageInterval > 0 {
			if rt.usage, err = state.NewSampler(mst, state.SamplerConfig{Interval: cfg.RedisUsageInterval, Logger: log}, rt.reg); err != nil {
				return nil, err
			}
		}
	}
	if rt.has(roleWebhooks) {
		rt.webhooks, err = webhook.New(webhook.Config{
			Bus: rt.busCfg, Topics: rt.topics, Keys: rt.keys, AllowPrivate: cfg.AllowPrivateWebhooks,
			Timeout: cfg.WebhookTimeout, MaxAttempts: cfg.WebhookMaxAttempts, BackoffBase: cfg.WebhookBackoff,
			PerMerchantConcurrency: cfg.WebhookConcurrency, Merchants: dir, Logger: log,
		}, rt.rdb, rt.reg, cm)
		if err != nil {
			return nil, err
		}
	}
	if rt.has(roleAudit) {
		rt.audit, err = audit.New(audit.Config{
			DSN: cfg.ClickHouseDSN, Bus: rt.busCfg, Topics: rt.topics,
			BatchSize: cfg.AuditBatchSize, FlushInterval: cfg.AuditFlushInterval, Logger: log,
		}, rt.reg, cm)
		if err != nil {
			return nil, err
		}
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listening for metrics on %s: %w", cfg.MetricsAddr, err)
	}
	rt.metAddr = ln.Addr()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(rt.reg, promhttp.HandlerOpts{Registry: rt.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("/readyz", rt.readyz)
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	rt.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := rt.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return rt, nil
}

// readyz reports whether the dependencies of this process's roles answer.
func (rt *runtime) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	check := func(name string, err error) {
		if err != nil {
			checks[name] = err.Error()
		} else {
			checks[name] = "ok"
		}
	}
	check("redis", rt.rdb.Ping(ctx).Err())
	check("kafka", rt.kafka.Ping(ctx))
	if rt.has(roleAudit) {
		check("clickhouse", audit.Ping(ctx, rt.cfg.ClickHouseDSN))
	}
	status := http.StatusOK
	for _, v := range checks {
		if v != "ok" {
			status = http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": status == http.StatusOK, "checks": checks})
}

// run serves every role until ctx ends, then shuts down upstream first: HTTP ingest (and its
// producer flush), then the matcher, then the sinks, then the clients. onReady, if set, runs once
// everything is serving.
func (rt *runtime) run(ctx context.Context, onReady func()) error {
	type stage struct {
		name     string
		cancel   context.CancelFunc
		finished chan struct{}
	}
	var stages []*stage
	failed := make(chan error, 4)
	start := func(name string, run func(context.Context) error) {
		sctx, cancel := context.WithCancel(context.Background())
		st := &stage{name: name, cancel: cancel, finished: make(chan struct{})}
		go func() {
			defer close(st.finished)
			err := run(sctx)
			if sctx.Err() == nil { // it stopped on its own: the process must not limp on
				if err == nil {
					err = errors.New("stopped unexpectedly")
				}
				failed <- fmt.Errorf("%s: %w", name, err)
			}
		}()
		stages = append(stages, st)
	}
	if rt.ingest != nil {
		start(roleIngest, rt.ingest.Run)
	}
	if rt.matcher != nil {
		start(roleMatcher, rt.matcher.Run)
	}
	if rt.usage != nil {
		start("redis-usage", rt.usage.Run)
	}
	if rt.webhooks != nil {
		start(roleWebhooks, rt.webhooks.Run)
	}
	if rt.audit != nil {
		start(roleAudit, rt.audit.Run)
	}
	rt.log.Info("paystream running", "roles", rt.roles, "metrics", rt.metAddr.String(), "version", version)
	if onReady != nil {
		go onReady()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-failed:
		rt.log.Error("a role stopped; shutting down", "err", runErr)
	}
	for _, st := range stages { // stages were started upstream first
		t := time.Now()
		st.cancel()
		select {
		case <-st.finished:
		case <-time.After(30 * time.Second):
			rt.log.Warn("stage did not stop in 30s", "stage", st.name)
		}
		rt.closeStage(st.name)
		rt.log.Info("stopped", "stage", st.name, "took", time.Since(t).String())
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = rt.metrics.Shutdown(sctx)
	_ = rt.rdb.Close()
	rt.kafka.Close()
	return runErr
}

func (rt *runtime) closeStage(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch name {
	case roleIngest:
		rt.ingest.Close()
		rt.producer.Close(ctx)
		if rt.history != nil {
			_ = rt.history.Close()
		}
	case roleMatcher:
		rt.matcher.Close()
	case roleWebhooks:
		rt.webhooks.Close()
	case roleAudit:
		rt.audit.Close()
	}
}

// MigrateCmd creates or migrates the ClickHouse schema.
type MigrateCmd struct{}

// Run migrates.
func (MigrateCmd) Run(cfg *Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := audit.Migrate(ctx, cfg.ClickHouseDSN); err != nil {
		return fmt.Errorf("migrating %s: %w", redactDSN(cfg.ClickHouseDSN), err)
	}
	fmt.Println("clickhouse schema is up to date at", redactDSN(cfg.ClickHouseDSN))
	return nil
}

// KafkaDevCmd runs the embedded broker alone.
type KafkaDevCmd struct{}

// Run serves the embedded broker until SIGINT/SIGTERM.
func (KafkaDevCmd) Run(cfg *Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	topics := pipeline.Topics{Prefix: cfg.TopicPrefix}
	b, err := bus.StartEmbedded(cfg.EmbeddedKafkaAddr, filepath.Join(cfg.DataDir, "kafka"), cfg.KafkaPartitions, topics.All())
	if err != nil {
		return err
	}
	defer b.Close()
	go b.TrimConsumed(ctx, trimInterval, consumersOf(topics), slog.Default())
	fmt.Printf("embedded kafka listening on %v (data in %s); stop with Ctrl-C\n", b.Addrs(), filepath.Join(cfg.DataDir, "kafka"))
	<-ctx.Done()
	return nil
}
