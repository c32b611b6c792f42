package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// proc is one paystream role running as its own process.
type proc struct {
	name string
	args []string
	env  []string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.Write(b)
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(binPath, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
}

// kill9 kills the process without warning (no drain, no commit) and reaps it.
func (p *proc) kill9() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

func (p *proc) stop() {
	if p.cmd != nil && p.cmd.Process != nil && p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			p.kill9()
		}
	}
}

func waitHTTP(t *testing.T, url string, within time.Duration) {
	t.Helper()
	waitFor(t, within, url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// TestE2ECrashRecovery runs ingest, matcher, webhook sink and audit sink as separate processes
// against a standalone embedded broker (paystream kafka-dev) and the real Redis and ClickHouse,
// drives a steady stream of intents and payments, and kill -9s the matcher, then a sink, then
// ingest, at random moments, restarting each. At the end every accepted intent has exactly one
// decision, every decision exactly one delivered webhook event id, and ClickHouse neither lost
// nor duplicated a row (after FINAL).
func TestE2ECrashRecovery(t *testing.T) {
	broker := freePort(t)
	admin := "adm_" + randHex(8)
	dsn := "clickhouse://127.0.0.1:9000/paystream_crash_" + randHex(4)
	t.Cleanup(func() { dropDatabase(dsn) })
	common := []string{
		"PAYSTREAM_KAFKA_BROKERS=" + broker, "PAYSTREAM_KAFKA_PARTITIONS=4", "PAYSTREAM_KAFKA_SESSION_TIMEOUT=6s",
		"PAYSTREAM_REDIS_PREFIX=crash" + randHex(4), "PAYSTREAM_CLICKHOUSE_DSN=" + dsn, "PAYSTREAM_ADMIN_TOKEN=" + admin,
		"PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true", "PAYSTREAM_WEBHOOK_BACKOFF=200ms", "PAYSTREAM_WEBHOOK_TIMEOUT=2s",
		"PAYSTREAM_AUDIT_FLUSH_INTERVAL=200ms", "PAYSTREAM_LOG_FORMAT=text", "PAYSTREAM_LOG_LEVEL=info",
	}
	kafka := &proc{name: "kafka-dev", args: []string{"kafka-dev"}, env: append(common,
		"PAYSTREAM_EMBEDDED_KAFKA_ADDR="+broker, "PAYSTREAM_DATA_DIR="+t.TempDir())}
	kafka.start(t)
	waitFor(t, 10*time.Second, "the broker", func() bool {
		c, err := net.Dial("tcp", broker)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	httpAddr := freePort(t)
	base := "http://" + httpAddr
	roles := map[string]*proc{}
	readyURL := map[string]string{}
	for _, r := range []string{"ingest", "matcher", "webhooks", "audit"} {
		met := freePort(t)
		env := append(append([]string{}, common...), "PAYSTREAM_METRICS_ADDR="+met, "PAYSTREAM_KAFKA_INSTANCE_ID=crash-"+r)
		if r == "ingest" {
			env = append(env, "PAYSTREAM_HTTP_ADDR="+httpAddr)
		}
		roles[r] = &proc{name: r, args: []string{r}, env: env}
		readyURL[r] = "http://" + met + "/readyz"
	}
	t.Cleanup(func() {
		for _, p := range roles {
			p.stop()
		}
		kafka.stop()
		if t.Failed() {
			for _, p := range append([]*proc{kafka}, roles["ingest"], roles["matcher"], roles["webhooks"], roles["audit"]) {
				p.mu.Lock()
				t.Logf("--- %s logs:\n%s", p.name, p.logs.String())
				p.mu.Unlock()
			}
		}
	})
	for _, p := range roles {
		p.start(t)
	}
	for r := range roles {
		waitHTTP(t, readyURL[r], 60*time.Second)
	}

	in := &instance{base: base, admin: admin, dsn: dsn}
	rcv := newReceiver(t)
	merchants := []merchant{onboard(t, in, rcv, wallet()), onboard(t, in, rcv, wallet()), onboard(t, in, rcv, wallet())}

	// Traffic: each intent is created (idempotency key) and paid, retrying through crashes.
	const n = 90
	ids := make([]string, n)
	var accepted atomic.Int64
	trafficDone := make(chan struct{})
	go func() {
		defer close(trafficDone)
		client := &http.Client{Timeout: 5 * time.Second}
		post := func(url, key, body string) (int, string) {
			req, _ := http.NewRequest("POST", url, strings.NewReader(body))
			req.Header.Set("X-Api-Key", key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return 0, ""
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		retry := func(want int, url, key, body string) string {
			for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
				if code, b := post(url, key, body); code == want {
					return b
				}
				time.Sleep(100 * time.Millisecond)
			}
			return ""
		}
		for i := range n {
			m := merchants[i%len(merchants)]
			amt := 100 + i/len(merchants)
			b := retry(201, base+"/v1/payments/intents", m.testKey,
				fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":"CR-%d","idempotencyKey":"crash-%d","ttlSeconds":3600}`, amt, i, i))
			id := between(b, `"id":"`, `"`)
			if id == "" {
				continue
			}
			ids[i] = id
			if retry(202, base+"/v1/sandbox/sms-events/simulate", m.testKey,
				fmt.Sprintf(`{"paymentIntentId":%q,"amount":%d,"trxId":"CR%08d"}`, id, amt, i)) != "" {
				accepted.Add(1)
			}
			time.Sleep(40 * time.Millisecond)
		}
	}()

	// Chaos: kill -9 each role at random moments while traffic flows, then restart it.
	order := []string{"matcher", "webhooks", "audit", "ingest", "matcher", "webhooks", "ingest"}
	kills := 0
	for _, r := range order {
		select {
		case <-trafficDone:
		default:
		}
		time.Sleep(time.Duration(300+rand.IntN(900)) * time.Millisecond)
		roles[r].kill9()
		kills++
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		roles[r].start(t)
		waitHTTP(t, readyURL[r], 60*time.Second)
	}
	<-trafficDone
	if accepted.Load() != n {
		t.Fatalf("only %d of %d payments were accepted through the crashes", accepted.Load(), n)
	}

	// Every intent is paid exactly once, and its merchant got exactly one event id for it.
	for i, id := range ids {
		waitStatus(t, in, merchants[i%len(merchants)].testKey, id, "PAID", 90*time.Second)
	}
	deliveries := 0
	for _, id := range ids {
		hs := rcv.waitHooks(t, 1, 60*time.Second, forIntent(id))
		eventIDs := map[string]bool{}
		for _, h := range hs {
			eventIDs[h.header.Get("webhook-id")] = true
		}
		if len(eventIDs) != 1 {
			t.Errorf("intent %s: %d different webhook events, want 1", id, len(eventIDs))
		}
		deliveries += len(hs)
	}
	mids := fmt.Sprintf("'%s','%s','%s'", merchants[0].id, merchants[1].id, merchants[2].id)
	waitCount(t, dsn, n, 60*time.Second, "SELECT count() FROM intent_status_changes FINAL WHERE merchant_id IN ("+mids+") AND status = 'PAID'")
	waitCount(t, dsn, n, 60*time.Second, "SELECT count() FROM payments FINAL WHERE merchant_id IN ("+mids+") AND disposition = 'matched'")
	waitCount(t, dsn, n, 60*time.Second, "SELECT count() FROM inbound_events FINAL WHERE merchant_id IN ("+mids+") AND kind = 'intent.created'")
	waitCount(t, dsn, n, 60*time.Second, "SELECT uniqExact(outcome_id) FROM webhook_attempts FINAL WHERE merchant_id IN ("+mids+") AND result = 'delivered'")
	dupReports := chQuery(t, dsn, "SELECT count() FROM payments FINAL WHERE merchant_id IN ("+mids+") AND disposition = 'duplicate'")
	t.Logf("crash test: %d kill -9s; %d intents accepted, %d PAID once each, %d webhook deliveries for %d decisions (retries allowed, one event id each); %d duplicate payment reports (client retries through crashes) dropped by TrxID dedupe; ClickHouse after FINAL: %d status changes, %d matched payments, no loss, no duplicate",
		kills, n, n, deliveries, n, dupReports, n, n)
}

// between returns the text of s between the first from and the following to.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	j := strings.Index(s, to)
	if j < 0 {
		return ""
	}
	return s[:j]
}
