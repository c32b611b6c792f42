// Command paystream runs paystream's roles: ingest (HTTP), matcher, webhook sink and audit sink, each
// alone (`paystream ingest`, ...) against a real Kafka/Redpanda, or all in one process on an
// embedded broker (`paystream dev`). Every setting is a flag with an environment twin; see --help.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/paystream/paystream/pipeline"
)

// version is set at build time: -ldflags "-X main.version=v0.1.0".
var version = "v0.1.0-dev"

// Config is the one config tree, loaded and validated once here (flags > environment > defaults)
// and handed to the stages as explicit structs.
type Config struct {
	HTTPAddr             string        `name:"http-addr" env:"PAYSTREAM_HTTP_ADDR" default:"127.0.0.1:8080" help:"Ingest HTTP listen address."`
	MetricsAddr          string        `name:"metrics-addr" env:"PAYSTREAM_METRICS_ADDR" default:"127.0.0.1:9464" help:"Prometheus /metrics, /healthz and /readyz listen address."`
	Pprof                bool          `name:"pprof" env:"PAYSTREAM_PPROF" help:"Also serve Go's /debug/pprof/ profiles on the metrics address (keep that address private)."`
	KafkaBrokers         []string      `name:"kafka-brokers" env:"PAYSTREAM_KAFKA_BROKERS" sep:"," help:"Kafka/Redpanda seed brokers (comma separated). Empty: paystream dev starts an embedded broker; other roles require it."`
	KafkaPartitions      int32         `name:"kafka-partitions" env:"PAYSTREAM_KAFKA_PARTITIONS" default:"12" help:"Partitions of topics created at start."`
	KafkaReplicas        int16         `name:"kafka-replicas" env:"PAYSTREAM_KAFKA_REPLICAS" default:"0" help:"Replication factor of topics created at start; 0: min(3, live brokers). Fewer than 2 on a multi-broker cluster is refused."`
	KafkaMinInsync       int16         `name:"kafka-min-insync-replicas" env:"PAYSTREAM_KAFKA_MIN_INSYNC_REPLICAS" default:"0" help:"min.insync.replicas of topics created at start; 0: 1 with one replica, 2 with two or three, replicas-1 beyond. Fewer than 2 on a multi-broker cluster is refused."`
	KafkaRetention       time.Duration `name:"kafka-retention" env:"PAYSTREAM_KAFKA_RETENTION" default:"168h" help:"retention.ms of topics created at start (at least 24h: a record deleted before every consumer read it is lost)."`
	KafkaSessionTimeout  time.Duration `name:"kafka-session-timeout" env:"PAYSTREAM_KAFKA_SESSION_TIMEOUT" default:"45s" help:"How long a consumer group waits for a silent member (e.g. killed) before reassigning its partitions."`
	KafkaInstanceID      string        `name:"kafka-instance-id" env:"PAYSTREAM_KAFKA_INSTANCE_ID" help:"Static consumer-group membership id of this process (unique per process; e.g. the pod name): a restart takes over its partitions at once."`
	TopicPrefix          string        `name:"topic-prefix" env:"PAYSTREAM_TOPIC_PREFIX" default:"paystream." help:"Prefix of every topic name."`
	EmbeddedKafkaAddr    string        `name:"embedded-kafka-addr" env:"PAYSTREAM_EMBEDDED_KAFKA_ADDR" default:"127.0.0.1:9092" help:"Where the embedded broker listens (dev, kafka-dev)."`
	DataDir              string        `name:"data-dir" env:"PAYSTREAM_DATA_DIR" default:".paystream" help:"Embedded broker data directory (log and consumer offsets survive restarts)."`
	RedisAddr            []string      `name:"redis-addr" env:"PAYSTREAM_REDIS_ADDR" default:"127.0.0.1:6379" sep:"," help:"Redis address; several (comma separated) or --redis-cluster for Redis Cluster."`
	RedisCluster         bool          `name:"redis-cluster" env:"PAYSTREAM_REDIS_CLUSTER" help:"Treat a single --redis-addr as a Redis Cluster endpoint."`
	RedisPassword        string        `name:"redis-password" env:"PAYSTREAM_REDIS_PASSWORD" help:"Redis password."`
	RedisPrefix          string        `name:"redis-prefix" env:"PAYSTREAM_REDIS_PREFIX" default:"ps" help:"Prefix of every Redis key (lets deployments share a Redis)."`
	ClickHouseDSN        string        `name:"clickhouse-dsn" env:"PAYSTREAM_CLICKHOUSE_DSN" default:"clickhouse://127.0.0.1:9000/paystream" help:"ClickHouse native-protocol DSN; the database is created and migrated at start."`
	AdminToken           string        `name:"admin-token" env:"PAYSTREAM_ADMIN_TOKEN" help:"Bearer token of the admin API. Empty: admin API closed (dev generates one)."`
	PublicURL            string        `name:"public-url" env:"PAYSTREAM_PUBLIC_URL" help:"Public base URL of the ingest (base of checkoutUrl). Default http://<http-addr>."`
	AllowPrivateWebhooks bool          `name:"allow-private-webhooks" env:"PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS" help:"Allow webhook URLs that resolve to loopback/private addresses (local development and tests only)."`
	MaxBodyBytes         int           `name:"max-body-bytes" env:"PAYSTREAM_MAX_BODY_BYTES" default:"65536" help:"Request body limit."`
	MaxInFlight          int           `name:"max-inflight" env:"PAYSTREAM_MAX_INFLIGHT" default:"4096" help:"Concurrent HTTP requests before answering 503."`
	ProduceTimeout       time.Duration `name:"produce-timeout" env:"PAYSTREAM_PRODUCE_TIMEOUT" default:"5s" help:"How long a request waits for Kafka's acknowledgement before 503."`
	RateLimitKey         int           `name:"rate-limit-key" env:"PAYSTREAM_RATE_LIMIT_KEY" default:"200" help:"Requests per second per API key or integration credential (burst 2x), shared by every ingest replica through Redis; beyond it 429. 0 disables."`
	RateLimitIP          int           `name:"rate-limit-ip" env:"PAYSTREAM_RATE_LIMIT_IP" default:"1000" help:"Requests per second per client address (burst 2x) on every route but /admin, shared through Redis; beyond it 429. 0 disables."`
	WebhookTimeout       time.Duration `name:"webhook-timeout" env:"PAYSTREAM_WEBHOOK_TIMEOUT" default:"10s" help:"Timeout of one webhook delivery attempt."`
	WebhookMaxAttempts   int           `name:"webhook-max-attempts" env:"PAYSTREAM_WEBHOOK_MAX_ATTEMPTS" default:"5" help:"Attempts before a webhook is dead-lettered."`
	WebhookBackoff       time.Duration `name:"webhook-backoff" env:"PAYSTREAM_WEBHOOK_BACKOFF" default:"10s" help:"Delay before the 2nd attempt; each further one is 3x longer (±20% jitter, at most 1h)."`
	WebhookConcurrency   int           `name:"webhook-merchant-concurrency" env:"PAYSTREAM_WEBHOOK_MERCHANT_CONCURRENCY" default:"4" help:"Concurrent deliveries per merchant."`
	AuditBatchSize       int           `name:"audit-batch-size" env:"PAYSTREAM_AUDIT_BATCH_SIZE" default:"5000" help:"Rows per ClickHouse insert at most."`
	AuditFlushInterval   time.Duration `name:"audit-flush-interval" env:"PAYSTREAM_AUDIT_FLUSH_INTERVAL" default:"1s" help:"Longest a row waits before its batch is inserted."`
	ExpiryInterval       time.Duration `name:"expiry-interval" env:"PAYSTREAM_EXPIRY_INTERVAL" default:"1s" help:"How often the matcher looks for expired intents."`
	LatePaymentGrace     time.Duration `name:"late-payment-grace" env:"PAYSTREAM_LATE_PAYMENT_GRACE" default:"3m" help:"How long after an intent's deadline a payment made before it may still be reported and pay the EXPIRED intent (at most 1h; negative: off)."`
	FinalIntentRetention time.Duration `name:"final-intent-retention" env:"PAYSTREAM_FINAL_INTENT_RETENTION" default:"4320h" help:"How long a settled intent (PAID, REJECTED, FAILED, EXPIRED) stays in Redis after its last change, with its indexes and location (at least 2h). After this the merchant and bdQuickPay APIs answer for it from ClickHouse when --intent-history-dsn is set, else 404 (its history stays in ClickHouse)."`
	IntentHistoryDSN     string        `name:"intent-history-dsn" env:"PAYSTREAM_INTENT_HISTORY_DSN" help:"ClickHouse native-protocol DSN of the audit database (usually the same as --clickhouse-dsn) that the ingest role reads an intent from once it left Redis (--final-intent-retention), for native GET /v1/payments/intents/{id} and bdQuickPay verify. Empty: off, such an intent answers 404. ClickHouse is not dialled until the first such read and is not part of /readyz."`
	HistoryHorizon       time.Duration `name:"history-horizon" env:"PAYSTREAM_HISTORY_HORIZON" default:"4320h" help:"How long after its creation the merchant and bdQuickPay APIs answer for an intent that left Redis; an older one answers 404 saying it is beyond paystream's history horizon."`
	TrxDedupeWindow      time.Duration `name:"trx-dedupe-window" env:"PAYSTREAM_TRX_DEDUPE_WINDOW" default:"168h" help:"How long a decided TrxID stays marked seen in Redis; a payment made longer ago than this is never paid automatically but sent to review (beyond_dedupe_window). At least 24h."`
	RedisUsageInterval   time.Duration `name:"redis-usage-interval" env:"PAYSTREAM_REDIS_USAGE_INTERVAL" default:"1m" help:"How often the matcher role samples Redis keys and bytes by key family (paystream_redis_keys, paystream_redis_bytes); 0 turns the sampler off."`
	SNSRequireSignature  bool          `name:"sns-require-signature" env:"PAYSTREAM_SNS_REQUIRE_SIGNATURE" help:"Refuse SNS notifications that carry no valid AWS SNS signature."`
	SNSTestHosts         []string      `name:"sns-test-hosts" env:"PAYSTREAM_SNS_TEST_HOSTS" sep:"," help:"Extra hosts (host:port) trusted like sns.<region>.amazonaws.com for SubscribeURL/SigningCertURL. Tests only."`
	SMSTrustedSenders    string        `name:"sms-trusted-senders" env:"PAYSTREAM_SMS_TRUSTED_SENDERS" help:"Sender ids whose SMS may pay, per provider, replacing the defaults for the providers named: 'bkash=bKash;nagad=NAGAD|Nagad;rocket=16216;upay=upay'. Each id is compared exactly with the sender the phone reports (case and spaces count)."`
	LogLevel             string        `name:"log-level" env:"PAYSTREAM_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level."`
	LogFormat            string        `name:"log-format" env:"PAYSTREAM_LOG_FORMAT" default:"json" enum:"json,text" help:"Log format."`
	Bkash                BkashConfig   `embed:"" group:"bKash tokenized checkout"`
}

// CLI is the command line: Config applies to every command.
type CLI struct {
	Config

	Dev      DevCmd      `cmd:"" help:"Every role in one process on an embedded Kafka-protocol broker (local development)."`
	Ingest   RoleCmd     `cmd:"" help:"Run the HTTP ingest role."`
	Matcher  RoleCmd     `cmd:"" help:"Run the matcher role."`
	Webhooks RoleCmd     `cmd:"" help:"Run the webhook delivery sink."`
	Audit    RoleCmd     `cmd:"" help:"Run the ClickHouse audit sink."`
	Migrate  MigrateCmd  `cmd:"" help:"Create or migrate the ClickHouse schema, then exit."`
	KafkaDev KafkaDevCmd `cmd:"" name:"kafka-dev" help:"Run only the embedded Kafka-protocol broker (for running roles as separate processes)."`
	SMS      SMSCmd      `cmd:"" name:"sms" help:"SMS tools: paystream sms parse [--from SENDER] < sms.txt"`
	Admin    AdminCmd    `cmd:"" help:"Admin API client against a running paystream: merchants, integrations, devices, review queue, webhook dead letters."`
	Demo     DemoCmd     `cmd:"" help:"Walk through a payment against a running paystream: onboard, intent, simulated payment, webhook, audit rows."`
	BkashSim BkashSimCmd `cmd:"" name:"bkash-sim" help:"Serve the bKash Tokenized Checkout simulator (token, create, execute, status, refund, customer page)."`
	Version  VersionCmd  `cmd:"" help:"Print the version."`
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run() error {
	fmt.Println("paystream", version)
	return nil
}

func (c *Config) logger() *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// Validate is called by kong after parsing.
func (c *Config) Validate() error {
	var errs []string
	if c.KafkaPartitions < 1 || c.KafkaPartitions > 10000 {
		errs = append(errs, "--kafka-partitions must be between 1 and 10000")
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, "--max-body-bytes must be at least 1024")
	}
	if c.RateLimitKey < 0 || c.RateLimitIP < 0 {
		errs = append(errs, "--rate-limit-key and --rate-limit-ip must be 0 (off) or positive")
	}
	if c.WebhookMaxAttempts < 1 || c.WebhookMaxAttempts > 20 {
		errs = append(errs, "--webhook-max-attempts must be between 1 and 20")
	}
	if c.AuditBatchSize < 1 {
		errs = append(errs, "--audit-batch-size must be positive")
	}
	if len(c.RedisAddr) == 0 {
		errs = append(errs, "--redis-addr is required")
	}
	if _, err := parseTrustedSenders(c.SMSTrustedSenders); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func main() {
	var cli CLI
	kctx := kong.Parse(&cli,
		kong.Name("paystream"),
		kong.Description("Payment-event pipeline for bKash, Nagad and Rocket aggregators."),
		kong.UsageOnError(),
		kong.Bind(&cli.Config),
	)
	if err := kctx.Run(&cli.Config); err != nil {
		fmt.Fprintln(os.Stderr, "paystream:", err)
		os.Exit(1)
	}
}

// parseTrustedSenders reads "bkash=bKash;nagad=NAGAD|Nagad" into sender ids per provider.
func parseTrustedSenders(v string) (map[pipeline.Provider][]string, error) {
	out := map[pipeline.Provider][]string{}
	for _, part := range strings.Split(v, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		p, list, ok := strings.Cut(part, "=")
		prov := pipeline.Provider(strings.ToLower(strings.TrimSpace(p)))
		if !ok || !prov.Valid() {
			return nil, fmt.Errorf("--sms-trusted-senders: %q is not provider=sender|sender (providers: bkash, nagad, rocket, upay)", part)
		}
		for _, sndr := range strings.Split(list, "|") {
			if sndr = strings.TrimSpace(sndr); sndr != "" {
				out[prov] = append(out[prov], sndr)
			}
		}
		if len(out[prov]) == 0 {
			return nil, fmt.Errorf("--sms-trusted-senders: no sender for %s", prov)
		}
	}
	return out, nil
}
