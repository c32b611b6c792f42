package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/testenv"
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
	p.cmd = exec.Command(binary(t), p.args...)
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

// fleet is a multi-process paystream: a standalone embedded broker (paystream kafka-dev) and role
// processes sharing the real Redis (own key prefix) and ClickHouse (own database).
type fleet struct {
	t        *testing.T
	broker   string
	common   []string
	httpAddr string
	base     string
	kafka    *proc
	procs    []*proc
	ready    map[*proc]string
	metrics  map[*proc]string // base URL of each process's metrics server
	ingests  []*proc
	bases    map[*proc]string // base URL of each ingest's HTTP server
	in       *instance
	rcv      *receiver
	topics   pipeline.Topics // the fleet's topic names (and so its consumer groups)
	merchant []merchant

	// answers of traffic(): 503s with and without Retry-After, and statuses other than 201, 202
	// and 503.
	answers, unavailable, unavailableBare, unexpected, noAnswer atomic.Int64
}

// answered counts one answer of traffic().
func (f *fleet) answered(resp *http.Response) {
	f.answers.Add(1)
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusAccepted:
	case http.StatusServiceUnavailable:
		f.unavailable.Add(1)
		if resp.Header.Get("Retry-After") == "" {
			f.unavailableBare.Add(1)
		}
	default:
		f.unexpected.Add(1)
	}
}

func newFleet(t *testing.T, extraEnv ...string) *fleet {
	return newFleetOn(t, "", extraEnv...)
}

// newFleetOn is newFleet on the Kafka cluster at brokers (a comma-separated list, e.g. a real
// broker of deploy/local/kafka.sh) instead of a kafka-dev of its own; "" starts kafka-dev. On a
// cluster other tests share, the fleet has a topic prefix of its own, and so consumer groups of its
// own (pipeline.Topics.Group); its topics are deleted at cleanup.
func newFleetOn(t *testing.T, brokers string, extraEnv ...string) *fleet {
	binary(t) // skips (fails under PAYSTREAM_TEST_SERVICES=1) without Redis and ClickHouse
	f := &fleet{t: t, broker: brokers, ready: map[*proc]string{}, metrics: map[*proc]string{}, bases: map[*proc]string{}}
	if brokers == "" {
		f.broker = freePort(t)
	} else {
		f.topics = pipeline.Topics{Prefix: "t" + randHex(4) + "."}
		extraEnv = append([]string{"PAYSTREAM_TOPIC_PREFIX=" + f.topics.Prefix}, extraEnv...)
	}
	admin := "adm_" + randHex(8)
	dsn := "clickhouse://" + testenv.ClickHouseAddr(t) + "/paystream_fleet_" + randHex(4)
	prefix := "fleet" + randHex(4)
	t.Cleanup(func() { dropDatabase(dsn); dropRedisPrefix(t, prefix) })
	f.common = []string{
		"PAYSTREAM_KAFKA_BROKERS=" + f.broker, "PAYSTREAM_KAFKA_PARTITIONS=4", "PAYSTREAM_KAFKA_SESSION_TIMEOUT=6s",
		"PAYSTREAM_REDIS_ADDR=" + testenv.RedisAddr(t), "PAYSTREAM_REDIS_PREFIX=" + prefix, "PAYSTREAM_CLICKHOUSE_DSN=" + dsn, "PAYSTREAM_ADMIN_TOKEN=" + admin,
		"PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true", "PAYSTREAM_WEBHOOK_BACKOFF=200ms", "PAYSTREAM_WEBHOOK_TIMEOUT=2s",
		"PAYSTREAM_AUDIT_FLUSH_INTERVAL=200ms", "PAYSTREAM_LOG_FORMAT=text", "PAYSTREAM_LOG_LEVEL=info",
	}
	f.common = append(f.common, extraEnv...)
	if brokers == "" {
		f.kafka = &proc{name: "kafka-dev", args: []string{"kafka-dev"}, env: append(append([]string{}, f.common...),
			"PAYSTREAM_EMBEDDED_KAFKA_ADDR="+f.broker, "PAYSTREAM_DATA_DIR="+t.TempDir())}
		f.kafka.start(t)
		waitFor(t, 10*time.Second, "the broker", func() bool {
			c, err := net.Dial("tcp", f.broker)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	} else {
		t.Cleanup(f.deleteTopics)
	}
	f.httpAddr = freePort(t)
	f.base = "http://" + f.httpAddr
	f.in = &instance{base: f.base, admin: admin, dsn: dsn}
	t.Cleanup(func() {
		for _, p := range f.procs {
			p.stop()
		}
		all := f.procs
		if f.kafka != nil {
			f.kafka.stop()
			all = append([]*proc{f.kafka}, all...)
		}
		if t.Failed() {
			for _, p := range all {
				p.mu.Lock()
				t.Logf("--- %s logs:\n%s", p.name, p.logs.String())
				p.mu.Unlock()
			}
		}
	})
	return f
}

// seeds returns the fleet's broker list for a client.
func (f *fleet) seeds() []string { return strings.Split(f.broker, ",") }

// group returns the id of the fleet's consumer group name (pipeline.GroupMatcher, …).
func (f *fleet) group(name string) string { return f.topics.Group(name) }

// groups returns the ids of every consumer group of the fleet.
func (f *fleet) groups() []string {
	out := make([]string, 0, len(fleetGroups))
	for _, g := range fleetGroups {
		out = append(out, f.group(g))
	}
	return out
}

// deleteTopics removes the fleet's topics and groups from a shared cluster (best effort: the
// broker may be gone already).
func (f *fleet) deleteTopics() {
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.seeds()...))
	if err != nil {
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = adm.DeleteGroups(ctx, f.groups()...)
	_, _ = adm.DeleteTopics(ctx, f.topics.All()...)
}

// add starts one more process of role with its own metrics port and static group membership id,
// and waits until it is ready. The first ingest listens on the fleet's HTTP address (f.base), each
// further one on its own (f.bases).
func (f *fleet) add(role string) *proc {
	f.t.Helper()
	met := freePort(f.t)
	name := fmt.Sprintf("%s-%d", role, len(f.procs))
	env := append(append([]string{}, f.common...), "PAYSTREAM_METRICS_ADDR="+met, "PAYSTREAM_KAFKA_INSTANCE_ID="+name)
	p := &proc{name: name, args: []string{role}}
	if role == "ingest" {
		addr := f.httpAddr
		if len(f.ingests) > 0 {
			addr = freePort(f.t)
		}
		env = append(env, "PAYSTREAM_HTTP_ADDR="+addr)
		f.ingests = append(f.ingests, p)
		f.bases[p] = "http://" + addr
	}
	p.env = env
	f.procs = append(f.procs, p)
	f.metrics[p] = "http://" + met
	f.ready[p] = "http://" + met + "/readyz"
	p.start(f.t)
	waitHTTP(f.t, f.ready[p], 60*time.Second)
	return p
}

// restart starts p again after it was killed or stopped, and waits until it is ready.
func (f *fleet) restart(p *proc) {
	f.t.Helper()
	p.start(f.t)
	waitHTTP(f.t, f.ready[p], 60*time.Second)
}

// onboard creates three merchants whose webhooks go to a test receiver.
func (f *fleet) onboard() {
	f.rcv = newReceiver(f.t)
	for range 3 {
		f.merchant = append(f.merchant, onboard(f.t, f.in, f.rcv, wallet()))
	}
}

// traffic creates n intents (idempotency keys) and pays each once, retrying through crashes
// (503, refused connections), in the background. The returned channel yields the intent ids and
// the number of payments accepted when it is done.
func (f *fleet) traffic(n int, pause time.Duration) <-chan trafficResult {
	out := make(chan trafficResult, 1)
	go func() {
		ids := make([]string, n)
		accepted := 0
		client := &http.Client{Timeout: 5 * time.Second}
		post := func(url, key, body string) (int, string) {
			req, _ := http.NewRequest("POST", url, strings.NewReader(body))
			req.Header.Set("X-Api-Key", key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				f.noAnswer.Add(1)
				return 0, ""
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			f.answered(resp)
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
			m := f.merchant[i%len(f.merchant)]
			amt := 100 + i/len(f.merchant)
			b := retry(201, f.base+"/v1/payments/intents", m.testKey,
				fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":"FL-%d","idempotencyKey":"fleet-%d","ttlSeconds":3600}`, amt, i, i))
			id := between(b, `"id":"`, `"`)
			if id == "" {
				continue
			}
			ids[i] = id
			if retry(202, f.base+"/v1/sandbox/sms-events/simulate", m.testKey,
				fmt.Sprintf(`{"paymentIntentId":%q,"amount":%d,"trxId":"FL%08d"}`, id, amt, i)) != "" {
				accepted++
			}
			time.Sleep(pause)
		}
		out <- trafficResult{ids: ids, accepted: accepted}
	}()
	return out
}

type trafficResult struct {
	ids      []string
	accepted int
}

// verify checks the end state: every intent PAID once, one webhook event id per decision, and
// ClickHouse (after FINAL) with exactly one row per fact. It returns a summary.
func (f *fleet) verify(r trafficResult) string {
	t := f.t
	t.Helper()
	n := len(r.ids)
	if r.accepted != n {
		t.Fatalf("only %d of %d payments were accepted", r.accepted, n)
	}
	for i, id := range r.ids {
		waitStatus(t, f.in, f.merchant[i%len(f.merchant)].testKey, id, "PAID", 90*time.Second)
	}
	for _, id := range r.ids {
		f.rcv.waitHooks(t, 1, 90*time.Second, forIntent(id))
	}
	mids := fmt.Sprintf("'%s','%s','%s'", f.merchant[0].id, f.merchant[1].id, f.merchant[2].id)
	dsn := f.in.dsn
	want := uint64(n)
	queries := []string{
		"SELECT count() FROM intent_status_changes FINAL WHERE merchant_id IN (" + mids + ") AND status = 'PAID'",
		"SELECT count() FROM intent_status_changes FINAL WHERE merchant_id IN (" + mids + ")",
		"SELECT count() FROM payments FINAL WHERE merchant_id IN (" + mids + ") AND disposition = 'matched'",
		"SELECT count() FROM inbound_events FINAL WHERE merchant_id IN (" + mids + ") AND kind = 'intent.created'",
		"SELECT uniqExact(outcome_id) FROM webhook_attempts FINAL WHERE merchant_id IN (" + mids + ") AND result = 'delivered'",
	}
	for _, q := range queries {
		waitCount(t, dsn, want, 60*time.Second, q)
	}
	// Reaching n is not the end: drain (the sentinel: every group committed everything, nothing
	// pending, twice in a row), then the counts must still be exactly n.
	f.drain(120 * time.Second)
	for _, q := range queries {
		if got := chQuery(t, dsn, q); got != want {
			t.Errorf("after the drain %q = %d, want %d", q, got, want)
		}
	}
	deliveries := 0
	for _, id := range r.ids {
		hs := f.rcv.waitHooks(t, 1, 0, forIntent(id))
		eventIDs := map[string]bool{}
		for _, h := range hs {
			eventIDs[h.header.Get("webhook-id")] = true
		}
		if len(eventIDs) != 1 {
			t.Errorf("intent %s: %d different webhook events, want 1", id, len(eventIDs))
		}
		deliveries += len(hs)
	}
	dupReports := chQuery(t, dsn, "SELECT count() FROM payments FINAL WHERE merchant_id IN ("+mids+") AND disposition = 'duplicate'")
	return fmt.Sprintf("%d intents, each PAID exactly once; %d webhook deliveries for %d decisions (one event id each); %d duplicate payment reports from client retries dropped by TrxID dedupe; ClickHouse after FINAL: %d status changes, %d matched payments, %d intents created, no loss, no duplicate",
		n, deliveries, n, dupReports, n, n, n)
}

// TestE2ECrashRecovery runs two ingests, the matcher, the webhook sink and the audit sink as
// separate processes against a standalone embedded broker (paystream kafka-dev) and the real Redis
// and ClickHouse, pays intents at hundreds per second through all four payment surfaces (SMS
// forwarder, SNS, transaction API, sandbox simulator), and meanwhile SIGKILLs a random role every
// 1-2.5 s, each at a moment it has work in hand (requests in flight, records uncommitted, audit
// rows buffered; read just before the kill), restarting it. After a drain (every group committed
// to the end of every topic, nothing pending, twice in a row) every accepted payment has exactly
// one decision and one webhook event: none lost, none doubled, exact ClickHouse rows after FINAL.
// PAYSTREAM_CRASH_PAYMENTS and PAYSTREAM_CRASH_RATE change the load (default 6000 at 300/s).
func TestE2ECrashRecovery(t *testing.T) {
	started := time.Now()
	crashRun(t, newFleet(t), "crash test", started, envInt("PAYSTREAM_CRASH_PAYMENTS", 6000), envInt("PAYSTREAM_CRASH_RATE", 300))
}

// crashRun is the crash test on fleet f (started at started): two ingests, a matcher, a webhook
// sink and an audit sink, n payments at rate per second through the four surfaces while chaos()
// SIGKILLs them, then a drain and the exact counts.
func crashRun(t *testing.T, f *fleet, label string, started time.Time, n, rate int) {
	t.Helper()
	var victims []*proc
	for _, r := range []string{"ingest", "ingest", "matcher", "webhooks", "audit"} {
		victims = append(victims, f.add(r))
	}
	ms := f.onboardLoad(4)
	done := make(chan *loadResult, 1)
	stop := make(chan struct{})
	go func() {
		r := f.load(ms, n, rate, 48)
		close(stop)
		done <- r
	}()
	kills, passedOver := f.chaos(stop, victims)
	r := <-done
	waited := f.drain(120 * time.Second)
	for _, e := range r.errs {
		t.Errorf("load: %s", e)
	}
	accepted, lost, dupDecisions, dupWebhooks := f.verifyLoad(ms, r)
	perRole := map[string]int{}
	for _, k := range kills {
		perRole[strings.TrimRight(k.proc, "-0123456789")]++
		t.Logf("kill -9 %s at %v with %s", k.proc, k.at, k.inFlight)
	}
	t.Logf("%s: %d payments offered in %v (%.0f/s) through sms, sns, txn, sim; %d accepted (%d answered duplicate after a crash); "+
		"%d kill -9s %v (%d passed over: nothing in flight), drained in %v; lost %d, duplicate decisions %d, duplicate webhooks %d; wall %v; answers: %s",
		label, n, r.elapsed.Truncate(time.Millisecond), float64(n)/r.elapsed.Seconds(), accepted, r.dupAnswers, len(kills), perRole, passedOver,
		waited.Truncate(time.Millisecond), lost, dupDecisions, dupWebhooks, time.Since(started).Truncate(time.Second), summarizeStatuses(r.statuses))
	if accepted != n {
		t.Errorf("%d of %d payments accepted", accepted, n)
	}
	for _, role := range []string{"ingest", "matcher", "webhooks", "audit"} {
		if perRole[role] == 0 {
			t.Errorf("no %s was killed with work in hand (kills %v, %d passed over)", role, perRole, passedOver)
		}
	}
}

// TestE2EScaleOut runs three matchers and two of each sink sharing the work, then adds and removes
// members while traffic flows (rebalances); the same exactly-once counts hold.
func TestE2EScaleOut(t *testing.T) {
	f := newFleet(t)
	f.add("ingest")
	var matchers, webhooks, audits []*proc
	for range 3 {
		matchers = append(matchers, f.add("matcher"))
	}
	for range 2 {
		webhooks = append(webhooks, f.add("webhooks"))
		audits = append(audits, f.add("audit"))
	}
	f.onboard()
	done := f.traffic(90, 40*time.Millisecond)
	time.Sleep(700 * time.Millisecond)
	f.add("matcher") // scale out: a fourth matcher joins (4 partitions: one each)
	time.Sleep(700 * time.Millisecond)
	matchers[0].stop() // scale in: a matcher leaves gracefully
	webhooks = append(webhooks, f.add("webhooks"))
	time.Sleep(700 * time.Millisecond)
	audits[1].stop()
	webhooks[0].stop()
	t.Logf("scale-out test: 3 matchers, 2 webhook sinks, 2 audit sinks; +1 matcher, -1 matcher, +1 webhook sink, -1 webhook sink, -1 audit sink during traffic; %s",
		f.verify(<-done))
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

// startPrivateRedis runs a redis-server of the test's own on a free port, persisting every write
// (AOF, fsync always) so a restart keeps the state, like a production Redis would.
func startPrivateRedis(t *testing.T) (addr string, start, stop func()) {
	t.Helper()
	binary(t) // the end-to-end tier's gate, before starting anything
	testenv.Tool(t, "redis-server")
	testenv.Tool(t, "redis-cli")
	addr = freePort(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	dir := t.TempDir()
	var cmd *exec.Cmd
	start = func() {
		cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dir,
			"--appendonly", "yes", "--appendfsync", "always", "--save", "")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "redis on "+addr, func() bool {
			return exec.Command("redis-cli", "-p", port, "ping").Run() == nil
		})
	}
	stop = func() {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	start()
	t.Cleanup(stop)
	return addr, start, stop
}

// TestE2ERedisDown: Redis disappears while traffic flows and comes back 8 s later. Meanwhile
// ingest answers 503 with Retry-After (clients retry; measured: a request waits about 3-4 s for
// its 503, so a shorter outage shows no 503 at all, only slow answers), and the matcher and the webhook
// sink stop consuming without committing: a payment produced straight to the inbound topic while
// Redis is down stays uncommitted by the matcher group, whose committed offsets and the webhook
// group's do not move for the whole outage. Afterwards everything resumes by itself: that payment
// pays its intent, every intent of the traffic is paid once, with one webhook event id per
// decision and exact audit rows (after a drain).
func TestE2ERedisDown(t *testing.T) {
	addr, startRedis, stopRedis := startPrivateRedis(t)
	f := newFleet(t, "PAYSTREAM_REDIS_ADDR="+addr)
	for _, r := range []string{"ingest", "matcher", "webhooks", "audit"} {
		f.add(r)
	}
	f.onboard()
	probeAcct := wallet()
	probe := onboard(t, f.in, f.rcv, probeAcct)
	probeID := createIntent(t, f.in, probe.testKey, `{"amount":777,"currency":"BDT","customerReference":"RD-PROBE"}`)["id"].(string)
	adm := f.kafkaAdmin()
	prod, err := kgo.NewClient(kgo.SeedBrokers(f.broker))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)

	done := f.traffic(60, 40*time.Millisecond)
	time.Sleep(800 * time.Millisecond)
	before503, beforeAll := f.unavailable.Load(), f.answers.Load()
	stopRedis()
	down := time.Now()
	w := pipeline.Wallet{Provider: pipeline.BKash, Account: probeAcct, Environment: pipeline.Sandbox}
	ev := &pipeline.Event{
		ID: uuid.NewString(), Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSandboxSim, Wallet: w,
		MerchantID: probe.id, Environment: pipeline.Sandbox, AcceptedAt: time.Now().UTC(),
		Payment: &pipeline.Payment{Provider: pipeline.BKash, TrxID: "RDPROBE" + strings.ToUpper(randHex(3)), Amount: pipeline.BDT(777), OccurredAt: time.Now().UTC()},
	}
	b, err := pipeline.EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: pipeline.Topics{}.Inbound(), Key: []byte(w.Key()), Value: b}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the matcher group to have the probe payment uncommitted", func() bool {
		left, _, err := uncommitted(ctx, adm, pipeline.GroupMatcher)
		return err == nil && left[pipeline.GroupMatcher] > 0
	})
	first := committedOffsets(t, adm, pipeline.GroupMatcher, pipeline.GroupWebhooks)
	time.Sleep(time.Until(down.Add(8 * time.Second))) // the outage lasts 8 s
	last := committedOffsets(t, adm, pipeline.GroupMatcher, pipeline.GroupWebhooks)
	left, _, err := uncommitted(ctx, adm, pipeline.GroupMatcher)
	if err != nil || left[pipeline.GroupMatcher] == 0 {
		t.Errorf("end of the outage: the matcher group has %d uncommitted records (%v), want the probe payment among them", left[pipeline.GroupMatcher], err)
	}
	if !reflect.DeepEqual(first, last) {
		t.Errorf("offsets committed while Redis was down:\n first %v\n last  %v", first, last)
	}
	during503 := f.unavailable.Load() - before503
	answersDuring := f.answers.Load() - beforeAll
	startRedis()
	summary := f.verify(<-done)
	waitStatus(t, f.in, probe.testKey, probeID, "PAID", 30*time.Second)
	if during503 == 0 {
		t.Error("no request was answered 503 while Redis was down")
	}
	if n := f.unavailableBare.Load(); n > 0 {
		t.Errorf("%d answers 503 without Retry-After", n)
	}
	if n := f.noAnswer.Load(); n > 0 {
		t.Errorf("%d requests got no answer within the client's 5 s", n)
	}
	if n := f.unexpected.Load(); n > 0 {
		t.Errorf("%d answers other than 201, 202 and 503", n)
	}
	t.Logf("redis-down test: redis killed for 8 s mid-traffic; %d answers during the outage, %d of them 503 + Retry-After; %d requests unanswered; matcher and webhook groups committed nothing meanwhile (matcher left %d records uncommitted, the probe payment among them, which paid its intent afterwards); %s",
		answersDuring, during503, f.noAnswer.Load(), left[pipeline.GroupMatcher], summary)
}

// committedOffsets returns the committed offset of every partition of each group ("group topic/partition").
func committedOffsets(t *testing.T, adm *kadm.Client, groups ...string) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string]int64{}
	for _, g := range groups {
		rs, err := adm.FetchOffsets(ctx, g)
		if err != nil {
			t.Fatalf("fetching offsets of %s: %v", g, err)
		}
		rs.Each(func(o kadm.OffsetResponse) { out[fmt.Sprintf("%s %s/%d", g, o.Topic, o.Partition)] = o.At })
	}
	return out
}
