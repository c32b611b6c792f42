package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/testenv"
	"github.com/paystream/paystream/pipeline/webhooksig"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testRedis connects to the local Redis and gives the test its own key prefix, deleted afterwards.
// A missing Redis fails the test: these are integration tests and must not pass silently.
func testRedis(t testing.TB) (redis.UniversalClient, pipeline.Keys) {
	t.Helper()
	return testenv.Redis(t)
}

// testKafka starts an embedded broker with the test's own topics.
func testKafka(t testing.TB) (bus.Config, pipeline.Topics) {
	t.Helper()
	topics := pipeline.Topics{Prefix: "t" + randHex(4) + "."}
	e, err := bus.StartEmbedded("127.0.0.1:0", "", 4, topics.All())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return bus.Config{Brokers: e.Addrs(), Partitions: 4}, topics
}

// env is one sink under test with its dependencies.
type env struct {
	t        *testing.T
	rdb      redis.UniversalClient
	keys     pipeline.Keys
	busCfg   bus.Config
	topics   pipeline.Topics
	producer *kgo.Client
	attempts *attemptLog
	sink     *Sink
	stopSink func()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rdb, keys := testRedis(t)
	bc, topics := testKafka(t)
	p, err := bus.NewProducer(bc, 10*time.Second, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	e := &env{t: t, rdb: rdb, keys: keys, busCfg: bc, topics: topics, producer: p}
	e.attempts = newAttemptLog(t, bc, topics)
	return e
}

// config is a fast test configuration; edit before start.
func (e *env) config() Config {
	return Config{
		Bus: e.busCfg, Topics: e.topics, Keys: e.keys, AllowPrivate: true,
		Timeout: 10 * time.Second, MaxAttempts: 5, BackoffBase: 50 * time.Millisecond,
		PerMerchantConcurrency: 4, MaxInFlight: 64,
		Logger: slog.New(slog.NewTextHandler(e.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func (e *env) start(cfg Config) *Sink {
	e.t.Helper()
	s, err := New(cfg, e.rdb, prometheus.NewRegistry(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	e.stopSink = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
			s.Close()
		})
	}
	e.t.Cleanup(e.stopSink)
	e.sink = s
	return s
}

// merchant stores a merchant whose SANDBOX webhooks go to url.
func (e *env) merchant(id, url, secret string, edit ...func(*pipeline.WebhookEndpoint)) {
	e.t.Helper()
	ep := pipeline.WebhookEndpoint{URL: url, Secret: secret}
	for _, f := range edit {
		f(&ep)
	}
	m := pipeline.Merchant{ID: id, Name: id, Status: pipeline.MerchantActive, Dialect: pipeline.DialectNative,
		Webhooks: map[pipeline.Environment]pipeline.WebhookEndpoint{pipeline.Sandbox: ep}, CreatedAt: time.Now()}
	b, _ := json.Marshal(m)
	if err := e.rdb.Set(context.Background(), e.keys.Merchant(id), b, 0).Err(); err != nil {
		e.t.Fatal(err)
	}
}

// outcome is a fresh PAID status change of a new intent of merchant.
func outcome(merchant string) *pipeline.Outcome {
	o := sampleOutcome()
	in := *o.Intent
	in.ID = uuid.NewString()
	in.MerchantID = merchant
	in.CustomerReference = "ORDER-" + randHex(3)
	o.Intent = &in
	o.MerchantID = merchant
	o.ID = pipeline.IntentOutcomeID(in.ID, 2, pipeline.StatusPaid)
	o.AcceptedAt = time.Now().Add(-time.Second)
	o.DecidedAt = time.Now()
	return o
}

func (e *env) produce(os ...*pipeline.Outcome) {
	e.t.Helper()
	var recs []*kgo.Record
	for _, o := range os {
		b, err := pipeline.EncodeOutcome(o)
		if err != nil {
			e.t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: e.topics.Outcomes(), Key: []byte(o.MerchantID), Value: b})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		e.t.Fatal(err)
	}
}

// attemptLog collects every record of the webhook-attempts topic.
type attemptLog struct {
	mu   sync.Mutex
	byID map[string][]pipeline.WebhookAttempt // by outcome id, in topic order (one merchant = one partition)
}

func newAttemptLog(t *testing.T, bc bus.Config, topics pipeline.Topics) *attemptLog {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bc.Brokers...), kgo.ConsumeTopics(topics.WebhookAttempts()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	l := &attemptLog{byID: map[string][]pipeline.WebhookAttempt{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				var a pipeline.WebhookAttempt
				if err := json.Unmarshal(r.Value, &a); err != nil {
					t.Errorf("undecodable attempt record: %v", err)
					return
				}
				if string(r.Key) != a.MerchantID {
					t.Errorf("attempt record keyed %q, merchant %q", r.Key, a.MerchantID)
				}
				l.mu.Lock()
				l.byID[a.OutcomeID] = append(l.byID[a.OutcomeID], a)
				l.mu.Unlock()
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return l
}

func (l *attemptLog) of(outcomeID string) []pipeline.WebhookAttempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]pipeline.WebhookAttempt(nil), l.byID[outcomeID]...)
}

// receiver is a merchant's webhook endpoint that verifies both signatures of every request.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server
	// status decides the answer to the n-th request (1-based) for one webhook id; nil answers 200.
	status func(id string, n int) int
	// hold, if set, is called before answering (to block).
	hold func(id string)

	mu        sync.Mutex
	requests  map[string]int         // webhook id → requests
	delivered map[string]int         // webhook id → 2xx answers
	bodies    map[string][]byte      // webhook id → first body
	headers   map[string]http.Header // webhook id → headers of the latest request
	total     int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, secret: webhooksig.NewSecret(), requests: map[string]int{}, delivered: map[string]int{}, bodies: map[string][]byte{},
		headers: map[string]http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("webhook-id")
	if err := webhooksig.VerifyXSignature(r.secret, body, req.Header.Get("X-Signature")); err != nil {
		r.t.Errorf("X-Signature of %s: %v", id, err)
	}
	if err := webhooksig.VerifyStandard(r.secret, body, req.Header); err != nil {
		r.t.Errorf("standard signature of %s: %v", id, err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || req.Header.Get("User-Agent") != UserAgent {
		r.t.Errorf("request %s %s, content-type %q, user-agent %q", req.Method, req.URL, req.Header.Get("Content-Type"), req.Header.Get("User-Agent"))
	}
	r.mu.Lock()
	r.total++
	r.requests[id]++
	r.headers[id] = req.Header.Clone()
	n := r.requests[id]
	if prev, ok := r.bodies[id]; ok && string(prev) != string(body) {
		r.t.Errorf("retry of %s sent a different body", id)
	} else if !ok {
		r.bodies[id] = body
	}
	r.mu.Unlock()
	if r.hold != nil {
		r.hold(id)
	}
	code := http.StatusOK
	if r.status != nil {
		code = r.status(id, n)
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "3600")
	}
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "answer %d", code)
	if code >= 200 && code < 300 {
		r.mu.Lock()
		r.delivered[id]++
		r.mu.Unlock()
	}
}

func (r *receiver) counts(id string) (requests, delivered int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[id], r.delivered[id]
}

func (r *receiver) deliveredIDs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.delivered)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counterValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	var sum float64
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		sum += d.GetCounter().GetValue() + d.GetGauge().GetValue()
	}
	return sum
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func redisZ(at time.Time, member string) redis.Z {
	return redis.Z{Score: float64(ms(at)), Member: member}
}
