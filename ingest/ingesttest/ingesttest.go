// Package ingesttest is the shared fixture of the ingest surfaces' component tests: the edge kernel
// (ingest.Server) against the real Redis (testenv.RedisAddr, keys under a random prefix, deleted
// afterwards; the tests skip without it unless PAYSTREAM_TEST_SERVICES=1) and an embedded
// Kafka-protocol broker, with the admin API (ingest/admin) and the surfaces under test mounted and
// requests run in memory through the route table (or served on a socket), and the helpers every
// surface's tests and the kernel's cross-surface tests share, one copy each: onboarding
// (onboard.go), the transaction API's signing and integrations (txn.go), SMS devices, bodies and
// signatures (sms.go), SNS integrations and envelopes and the inbound-topic reader (sns.go), and
// bKash's simulator with tokenized intents (bkash.go). It imports no surface package but admin and
// native, so that every surface's in-package tests may import it. For tests only.
package ingesttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/admin"
	"github.com/paystream/paystream/ingest/native"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/pipeline/testenv"
)

// Fixture is one edge with its Redis, broker and admin token.
type Fixture struct {
	S      *ingest.Server
	RDB    redis.UniversalClient
	State  *state.Store
	Keys   pipeline.Keys
	Topics pipeline.Topics
	Broker *bus.Embedded
	Addr   string // the broker's address
	Admin  string // the admin bearer token
	Reg    *prometheus.Registry
	Pub    *SwitchPub    // the publisher the edge sends through (Record taps it)
	Cfg    ingest.Config // S's configuration
	// Dir is S's merchant directory (a new one, with empty caches, on every Rebuild).
	Dir *directory.Directory
	// AdminAPI is the admin API mounted on S (every fixture mounts it: the helpers onboard
	// merchants through it); the SMS and tokenized surfaces authenticate their admin routes by it.
	AdminAPI *admin.Surface
	// Webhooks is the webhook queue the admin API is given (nil: its dead-letter routes answer 501).
	Webhooks admin.WebhookAdmin
	// History is the audit history the edge reads intents from once they left Redis
	// (ingest.Deps.History; nil: off), given to S on Rebuild.
	History ingest.IntentHistory
	mount   Mount
}

// Mount builds the surfaces under test on the fixture's kernel and mounts them.
type Mount func(f *Fixture) []ingest.Surface

// RedisClient connects to the test Redis: it skips t without one (fails it under
// PAYSTREAM_TEST_SERVICES=1), and fails t when it is not reachable.
func RedisClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	addr := testenv.RedisAddr(t) // skips without Redis (fails under PAYSTREAM_TEST_SERVICES=1)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s is not reachable (%v): run deploy/local/services.sh", addr, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// RandHex returns n random bytes as hex.
func RandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FreeAddr returns a free 127.0.0.1 address.
func FreeAddr(t testing.TB) string {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// New starts a broker and builds an edge whose Kafka acks wait up to produceTimeout, with the
// surfaces mount returns mounted.
func New(t testing.TB, produceTimeout time.Duration, mount Mount) *Fixture {
	t.Helper()
	rdb := RedisClient(t)
	f := &Fixture{RDB: rdb, Keys: pipeline.Keys{Prefix: "t" + RandHex(4)}, Topics: pipeline.Topics{Prefix: "t."}, Addr: FreeAddr(t), Admin: "adm_" + RandHex(8), Reg: prometheus.NewRegistry()}
	b, err := bus.StartEmbedded(f.Addr, "", 2, f.Topics.All())
	if err != nil {
		t.Fatal(err)
	}
	f.Broker = b
	t.Cleanup(func() { f.Broker.Close() })
	prod, err := bus.NewBusProducer(bus.Config{Brokers: []string{f.Addr}}, produceTimeout, 1000, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close(context.Background()) })
	f.Pub = &SwitchPub{next: prod}
	f.State = state.New(rdb, f.Keys)
	f.Cfg = ingest.Config{
		Addr: "127.0.0.1:0", Topics: f.Topics, Keys: f.Keys, // Serve listens on a free port
		ProduceTimeout: produceTimeout, PublicURL: "https://pay.example.test",
	}
	f.Rebuild(nil, mount)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, f.Keys.Prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return f
}

// Rebuild replaces S by a new edge (fresh caches and metrics, as another replica) on the same
// Redis, broker and publisher, with mod applied to its configuration (if not nil), the admin API
// (token Admin, private webhook URLs allowed, Webhooks) and the surfaces of mount mounted (the
// previous mount if nil).
func (f *Fixture) Rebuild(mod func(*ingest.Config), mount Mount) {
	if mod != nil {
		mod(&f.Cfg)
	}
	if mount != nil {
		f.mount = mount
	}
	f.Reg = prometheus.NewRegistry()
	dir, err := directory.New(directory.Config{Keys: f.Keys}, f.RDB)
	if err != nil {
		panic(err)
	}
	s, err := ingest.New(f.Cfg, ingest.Deps{Redis: f.RDB, Pub: f.Pub, State: f.State, Directory: dir, History: f.History}, f.Reg)
	if err != nil {
		panic(err)
	}
	f.S, f.Dir = s, dir
	f.AdminAPI, err = admin.New(admin.Config{Token: f.Admin, AllowPrivateWebhooks: true},
		admin.Deps{Directory: dir, State: f.State, Edge: s, Webhooks: f.Webhooks})
	if err != nil {
		panic(err)
	}
	f.S.Mount(f.AdminAPI)
	if f.mount != nil {
		f.S.Mount(f.mount(f)...)
	}
}

// Native builds the native merchant API (ingest/native) on the fixture's edge: the surfaces whose
// tests create native intents mount it beside themselves.
func (f *Fixture) Native() ingest.Surface {
	s, err := native.New(native.Deps{Auth: f.S, Accept: f.S, Reader: f.State, Fail: f.S, Sim: f.S})
	if err != nil {
		panic(err)
	}
	return s
}

// Do runs one JSON request through the route table in memory and returns its status, its body as
// a JSON object (nil if it is not one) and the response.
func (f *Fixture) Do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	resp := f.Send(Request{Method: method, Path: path, ContentType: "application/json", Headers: headers, Body: body})
	var out map[string]any
	_ = json.Unmarshal(resp.Body(), &out)
	return resp.StatusCode(), out, resp
}

// DoFrom is Do from the TCP peer peer (an IP address): for the per-address limits.
func (f *Fixture) DoFrom(peer, method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	resp := f.Send(Request{Method: method, Path: path, ContentType: "application/json", Headers: headers, Body: body, Peer: peer})
	var out map[string]any
	_ = json.Unmarshal(resp.Body(), &out)
	return resp.StatusCode(), out, resp
}

// Request is one request Send runs in memory.
type Request struct {
	Method, Path string
	ContentType  string // "" sends none
	Headers      map[string]string
	Body         string
	Peer         string // the TCP peer's IP address ("" : fasthttp's default, 0.0.0.0)
}

// Send runs r through the route table in memory and returns the response.
func (f *Fixture) Send(r Request) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(r.Method)
	ctx.Request.SetRequestURI(r.Path)
	if r.ContentType != "" {
		ctx.Request.Header.SetContentType(r.ContentType)
	}
	for k, v := range r.Headers {
		ctx.Request.Header.Set(k, v)
	}
	ctx.Request.SetBodyString(r.Body)
	if r.Peer != "" {
		ctx.SetRemoteAddr(&net.TCPAddr{IP: net.ParseIP(r.Peer), Port: 40000})
	}
	f.S.Handler()(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

// Serve serves the edge on a socket until the test ends and returns its address.
func (f *Fixture) Serve(t testing.TB) string {
	t.Helper()
	addr, err := f.S.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.S.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return addr.String()
}

// Metric returns the value of the counter or gauge name of the edge's metrics (S's registry) whose
// labels include labels (name=value pairs), summed over the series that match; 0 if none does.
func (f *Fixture) Metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.Reg.Gather()
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue series
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// RequireNoPanic fails t when any handler panicked so far (paystream_http_panics_total > 0): a
// panic is answered 503, like overload and a Kafka outage, so a fuzzer that accepts a 503 asks the
// counter to tell them apart.
func (f *Fixture) RequireNoPanic(t testing.TB, input string) {
	t.Helper()
	mfs, err := f.Reg.Gather()
	if err != nil {
		t.Fatalf("reading paystream_http_panics_total: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "paystream_http_panics_total" {
			if n := mf.GetMetric()[0].GetCounter().GetValue(); n != 0 {
				t.Fatalf("%s: a handler panicked (paystream_http_panics_total = %v)", input, n)
			}
		}
	}
}

// NopPublisher acknowledges every record without sending it anywhere: the publisher of an edge
// whose requests never reach Kafka (a Redis outage, a route table that is only listed).
type NopPublisher struct{}

// Send returns nil.
func (NopPublisher) Send(context.Context, string, []byte, []byte) error { return nil }

// SwitchPub is the edge's publisher: Kafka, optionally tapped by Record.
type SwitchPub struct {
	mu   sync.Mutex
	next ingest.Publisher
}

// Send passes the record on to the current publisher.
func (p *SwitchPub) Send(ctx context.Context, topic string, key, value []byte) error {
	p.mu.Lock()
	next := p.next
	p.mu.Unlock()
	return next.Send(ctx, topic, key, value)
}

// Swap makes next the publisher the edge sends through and returns the previous one (tests that
// make Kafka slow, fail or die mid-send put theirs in, then the previous one back).
func (p *SwitchPub) Swap(next ingest.Publisher) (prev ingest.Publisher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, p.next = p.next, next
	return prev
}

// Next is the publisher the edge sends through now.
func (p *SwitchPub) Next() ingest.Publisher {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next
}

// Recorder passes records on and keeps the events Kafka acknowledged.
type Recorder struct {
	next   ingest.Publisher
	mu     sync.Mutex
	events []*pipeline.Event
}

// Record taps the edge's publisher: from now on every acknowledged event is kept.
func (f *Fixture) Record() *Recorder {
	f.Pub.mu.Lock()
	defer f.Pub.mu.Unlock()
	r := &Recorder{next: f.Pub.next}
	f.Pub.next = r
	return r
}

// Send passes the record on, then decodes and keeps its event; it fails when the record key is not
// the event's wallet.
func (p *Recorder) Send(ctx context.Context, topic string, key, value []byte) error {
	if err := p.next.Send(ctx, topic, key, value); err != nil {
		return err
	}
	ev, err := pipeline.DecodeEvent(value)
	if err != nil {
		return fmt.Errorf("decoding produced event: %w", err)
	}
	if string(key) != ev.Wallet.Key() {
		return fmt.Errorf("record key %q is not the event's wallet %q", key, ev.Wallet.Key())
	}
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.mu.Unlock()
	return nil
}

// Last returns the last event kept and how many were kept.
func (p *Recorder) Last() (*pipeline.Event, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == 0 {
		return nil, 0
	}
	return p.events[len(p.events)-1], len(p.events)
}

// Events returns the events kept so far, oldest first (a copy).
func (p *Recorder) Events() []*pipeline.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*pipeline.Event(nil), p.events...)
}
