package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// DevCmd runs every role in one process on the embedded broker.
type DevCmd struct {
	Demo     bool   `help:"Once everything serves, run the demo (onboard, intent, payment, webhook, audit rows) against this process."`
	BkashSim bool   `name:"bkash-sim" env:"PAYSTREAM_DEV_BKASH_SIM" help:"Also start the bKash tokenized checkout simulator and make it the SANDBOX upstream of paymentMethod bkash_tokenized (never LIVE)."`
	SimAddr  string `name:"bkash-sim-addr" env:"PAYSTREAM_DEV_BKASH_SIM_ADDR" default:"127.0.0.1:9095" help:"Listen address of the simulator started by --bkash-sim."`
}

// Run starts the embedded broker, then every role, until SIGINT/SIGTERM.
func (d DevCmd) Run(cfg *Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.AdminToken == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		cfg.AdminToken = "dev_" + hex.EncodeToString(b)
	}
	brokers := cfg.KafkaBrokers
	var embedded *bus.Embedded
	if len(brokers) == 0 {
		topics := pipeline.Topics{Prefix: cfg.TopicPrefix}
		dir := filepath.Join(cfg.DataDir, "kafka")
		var err error
		embedded, err = bus.StartEmbedded(cfg.EmbeddedKafkaAddr, dir, cfg.KafkaPartitions, topics.All())
		if err != nil {
			return fmt.Errorf("%w (is another paystream dev running? set PAYSTREAM_EMBEDDED_KAFKA_ADDR)", err)
		}
		defer embedded.Close()
		brokers = embedded.Addrs()
	}
	if d.BkashSim {
		sim, err := startDevSim(cfg, d.SimAddr)
		if err != nil {
			return err
		}
		defer sim.Close()
		fmt.Print(simBanner(sim))
	}
	rt, err := newRuntime(ctx, cfg, brokers, []string{roleIngest, roleMatcher, roleWebhooks, roleAudit})
	if err != nil {
		return err
	}
	if embedded != nil {
		go embedded.TrimConsumed(ctx, trimInterval, consumersOf(rt.topics), rt.log)
	}
	printBanner(cfg, rt, brokers, embedded != nil)
	var onReady func()
	if d.Demo {
		onReady = func() {
			dc := DemoCmd{URL: "http://" + rt.httpAddr.String()}
			if err := dc.Run(cfg); err != nil {
				fmt.Fprintln(os.Stderr, "demo failed:", err)
			}
			fmt.Println("\npaystream dev keeps running; try the curl lines above. Ctrl-C stops it.")
		}
	}
	return rt.run(ctx, onReady)
}

func printBanner(cfg *Config, rt *runtime, brokers []string, embedded bool) {
	base := "http://" + rt.httpAddr.String()
	kafka := fmt.Sprint(brokers)
	if embedded {
		kafka += fmt.Sprintf(" (embedded, data in %s; try: kcat -b %s -L)", filepath.Join(cfg.DataDir, "kafka"), brokers[0])
	}
	fmt.Printf(`
paystream %s dev: ingest, matcher, webhooks and audit in one process
  HTTP API     %s
  metrics      http://%s/metrics   (/healthz, /readyz)
  kafka        %s
  redis        %v (key prefix %q)
  clickhouse   %s
  admin token  %s

Try it (or run: paystream demo):
  export PS=%s ADMIN=%s
  curl -s -X POST $PS/admin/v1/merchants -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"name":"Demo Shop","wallets":[{"provider":"bkash","account":"01700000001","environment":"SANDBOX"}],"webhooks":{"SANDBOX":{"url":"http://127.0.0.1:9999/hook"}}}'
  export KEY=sk_test_...   # from apiKeys.SANDBOX above (shown once)
  curl -s -X POST $PS/v1/payments/intents -H "X-Api-Key: $KEY" -H 'Content-Type: application/json' \
    -d '{"amount":500,"currency":"BDT","customerReference":"ORDER-10045","idempotencyKey":"pi_ORDER-10045"}'
  curl -s -X POST $PS/v1/sandbox/sms-events/simulate -H "X-Api-Key: $KEY" -H 'Content-Type: application/json' \
    -d '{"paymentIntentId":"<id from above>","amount":500,"trxId":"DDN1G2WL8W","senderMsisdn":"01711111111"}'
  curl -s $PS/v1/payments/intents/<id> -H "X-Api-Key: $KEY"
  clickhouse-client -d %s -q 'SELECT intent_id, status, rule, match_type FROM intent_status_changes FINAL'

`, version, base, rt.metAddr, kafka, cfg.RedisAddr, cfg.RedisPrefix, redactDSN(cfg.ClickHouseDSN), cfg.AdminToken,
		base, cfg.AdminToken, dsnDatabase(cfg.ClickHouseDSN))
}

// trimInterval is how often the embedded broker drops the records every consumer group has
// committed past (bus.Embedded.TrimConsumed).
const trimInterval = 10 * time.Second

// consumersOf lists the consumer groups of each topic: a record is dropped by the embedded broker
// only once all of them committed past it.
func consumersOf(t pipeline.Topics) map[string][]string {
	return map[string][]string{
		t.Inbound():         {t.Group(pipeline.GroupMatcher), t.Group(pipeline.GroupAudit)},
		t.Outcomes():        {t.Group(pipeline.GroupWebhooks), t.Group(pipeline.GroupAudit)},
		t.WebhookAttempts(): {t.Group(pipeline.GroupAudit)},
	}
}
