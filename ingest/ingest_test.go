package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/pipeline/testenv"
)

// These component tests run the ingest handlers in memory (no socket) against the real Redis and a
// real embedded Kafka-protocol broker.

func redisClient(t testing.TB) redis.UniversalClient {
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

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type fixture struct {
	s      *Server
	keys   pipeline.Keys
	topics pipeline.Topics
	broker *bus.Embedded
	addr   string
	admin  string
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	t.Helper()
	rdb := redisClient(t)
	f := &fixture{keys: pipeline.Keys{Prefix: "t" + randHex(4)}, topics: pipeline.Topics{Prefix: "t."}, addr: freeAddr(t)}
	f.admin = AdminTokenForTest(f.keys)
	b, err := bus.StartEmbedded(f.addr, "", 2, f.topics.All())
	if err != nil {
		t.Fatal(err)
	}
	f.broker = b
	t.Cleanup(func() { f.broker.Close() })
	prod, err := bus.NewBusProducer(bus.Config{Brokers: []string{f.addr}}, produceTimeout, 1000, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close(context.Background()) })
	f.s = newForTest(Config{
		Topics: f.topics, Keys: f.keys,
		ProduceTimeout: produceTimeout, PublicURL: "https://pay.example.test",
	}, rdb, prod, state.New(rdb, f.keys), prometheus.NewRegistry())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, f.keys.Prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return f
}

// do runs one request through the router in memory.
func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetContentType("application/json")
	for k, v := range headers {
		ctx.Request.Header.Set(k, v)
	}
	ctx.Request.SetBodyString(body)
	f.s.srv.Handler(&ctx)
	var out map[string]any
	_ = json.Unmarshal(ctx.Response.Body(), &out)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return ctx.Response.StatusCode(), out, resp
}

func (f *fixture) onboard(t testing.TB) (testKey, liveKey string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":"Shop","wallets":[{"provider":"bkash","account":"017%08d","environment":"SANDBOX"},{"provider":"bkash","account":"+880 18%08d","environment":"LIVE"}]}`,
		time.Now().UnixNano()%1e8, time.Now().UnixNano()%1e8)
	code, m, _ := f.do("POST", "/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + f.admin}, body)
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, m)
	}
	k := m["apiKeys"].(map[string]any)
	return k["SANDBOX"].(string), k["LIVE"].(string)
}
