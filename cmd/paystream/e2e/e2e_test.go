package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline/testenv"
	"github.com/paystream/paystream/pipeline/webhooksig"
)

// The end-to-end test builds the real binary, runs `paystream dev` (every role, embedded broker)
// against the real Redis and ClickHouse that deploy/local/services.sh starts, and drives it over
// HTTP like a merchant would.

// TestMain removes the binary that binary built, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// binary returns the path of paystream built from ../ (once per test process, on first use). It
// is this package's gate: every test calls it (through startDev, newFleet, … or directly) before
// it starts anything. The binary is built only when Redis and ClickHouse answer, so without them
// every test here skips, naming deploy/local/test.sh, and `go test ./...` does not spend its time
// building a binary it cannot run; under PAYSTREAM_TEST_SERVICES=1 (deploy/local/test.sh, CI) a
// missing service fails the test instead (pipeline/testenv). A test that needs only the binary
// (TestSMSParseCommand) is in this tier too and skips with the services.
func binary(t testing.TB) string {
	t.Helper()
	testenv.RedisAddr(t)
	testenv.ClickHouseAddr(t)
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "paystream-e2e-bin")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "paystream")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/paystream/paystream/cmd/paystream").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building paystream: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// randDigits returns n random decimal digits (wallet numbers, TrxIDs).
func randDigits(n int) string {
	var sb strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		sb.WriteString(d.String())
	}
	return sb.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// instance is a running `paystream dev`.
type instance struct {
	base, metrics, admin, dsn string
	cmd                       *exec.Cmd
	logs                      *bytes.Buffer
}

// startDev starts `paystream dev` on free ports with a fresh data dir, Redis prefix and ClickHouse
// database; extraEnv ("NAME=value") overrides the defaults.
func startDev(t *testing.T, extraEnv ...string) *instance {
	t.Helper()
	bin := binary(t) // skips (fails under PAYSTREAM_TEST_SERVICES=1) without Redis and ClickHouse
	in := &instance{
		base:    "http://" + freePort(t),
		metrics: "http://" + freePort(t),
		admin:   "adm_" + randHex(12),
		dsn:     "clickhouse://" + testenv.ClickHouseAddr(t) + "/paystream_e2e_" + randHex(4),
		logs:    &bytes.Buffer{},
	}
	prefix := "e2e" + randHex(4)
	cmd := exec.Command(bin, "dev")
	cmd.Env = append(os.Environ(),
		"PAYSTREAM_HTTP_ADDR="+strings.TrimPrefix(in.base, "http://"),
		"PAYSTREAM_METRICS_ADDR="+strings.TrimPrefix(in.metrics, "http://"),
		"PAYSTREAM_EMBEDDED_KAFKA_ADDR="+freePort(t),
		"PAYSTREAM_KAFKA_BROKERS=",
		"PAYSTREAM_KAFKA_PARTITIONS=4",
		"PAYSTREAM_DATA_DIR="+t.TempDir(),
		"PAYSTREAM_REDIS_ADDR="+testenv.RedisAddr(t),
		"PAYSTREAM_REDIS_PREFIX="+prefix,
		"PAYSTREAM_CLICKHOUSE_DSN="+in.dsn,
		"PAYSTREAM_ADMIN_TOKEN="+in.admin,
		"PAYSTREAM_PUBLIC_URL=https://pay.example.test",
		"PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true",
		"PAYSTREAM_WEBHOOK_BACKOFF=200ms",
		"PAYSTREAM_EXPIRY_INTERVAL=250ms",
		"PAYSTREAM_AUDIT_FLUSH_INTERVAL=200ms",
		"PAYSTREAM_LOG_FORMAT=text",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	var mu sync.Mutex
	cmd.Stdout = lockedWriter{&mu, in.logs}
	cmd.Stderr = lockedWriter{&mu, in.logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.cmd = cmd
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("paystream dev did not stop within 40s of SIGINT")
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("paystream logs:\n%s", in.logs.String())
			mu.Unlock()
		}
		dropDatabase(in.dsn)
		dropRedisPrefix(t, prefix)
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(in.metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return in
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("paystream dev not ready after 60s:\n%s", in.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// dropRedisPrefix deletes what a paystream process wrote under prefix in the test Redis, so runs
// do not pile up keys (a crash test writes about 90k).
func dropRedisPrefix(t *testing.T, prefix string) {
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	defer func() { _ = rdb.Close() }()
	if err := testenv.DropRedisPrefix(rdb, prefix); err != nil {
		t.Logf("cleaning up redis keys under %s: %v", prefix, err)
	}
}

func dropDatabase(dsn string) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return
	}
	db := opts.Auth.Database
	opts.Auth.Database = "default"
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
}

// call sends a JSON request and decodes a JSON answer (any status).
func call(t *testing.T, method, url string, headers map[string]string, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s answered %d with non-JSON body %q", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, out, resp.Header
}

// hook is one webhook request as the receiver saw it.
type hook struct {
	path   string
	header http.Header
	body   []byte
	event  map[string]any
}

// receiver records webhooks; failFirst[path] makes the first N requests to a path answer 500.
type receiver struct {
	srv       *httptest.Server
	mu        sync.Mutex
	hooks     []hook
	failFirst map[string]int
	seen      map[string]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{failFirst: map[string]int{}, seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.seen[req.URL.Path]++
		if r.seen[req.URL.Path] <= r.failFirst[req.URL.Path] {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var ev map[string]any
		_ = json.Unmarshal(b, &ev)
		r.hooks = append(r.hooks, hook{path: req.URL.Path, header: req.Header.Clone(), body: b, event: ev})
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitHooks waits until n webhooks matched by pred arrived and returns them.
func (r *receiver) waitHooks(t *testing.T, n int, within time.Duration, pred func(hook) bool) []hook {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		var got []hook
		for _, h := range r.hooks {
			if pred(h) {
				got = append(got, h)
			}
		}
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %d webhooks, got %d", within, n, len(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func forIntent(id string) func(hook) bool {
	return func(h hook) bool {
		d, _ := h.event["data"].(map[string]any)
		return d["payment_intent_id"] == id
	}
}

type merchant struct {
	id, testKey, liveKey, secret, path string
}

func onboard(t *testing.T, in *instance, rcv *receiver, wallets ...string) merchant {
	t.Helper()
	path := "/hooks/" + randHex(4)
	var ws []string
	for _, w := range wallets {
		ws = append(ws, fmt.Sprintf(`{"provider":"bkash","account":%q,"environment":"SANDBOX"}`, w))
	}
	body := fmt.Sprintf(`{"name":"Shop %s","wallets":[%s,{"provider":"nagad","account":"018%s","environment":"LIVE"}],"webhooks":{"SANDBOX":{"url":%q},"LIVE":{"url":%q}}}`,
		path, strings.Join(ws, ","), randDigits(8), rcv.srv.URL+path, rcv.srv.URL+path+"/live")
	code, m, _ := call(t, "POST", in.base+"/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + in.admin}, body)
	if code != http.StatusCreated {
		t.Fatalf("onboarding: %d %v", code, m)
	}
	keys := m["apiKeys"].(map[string]any)
	whs := m["webhooks"].(map[string]any)
	mc := merchant{
		id: m["id"].(string), testKey: keys["SANDBOX"].(string), liveKey: keys["LIVE"].(string),
		secret: whs["SANDBOX"].(map[string]any)["secret"].(string), path: path,
	}
	if !strings.HasPrefix(mc.testKey, "sk_test_") || !strings.HasPrefix(mc.liveKey, "sk_live_") || !strings.HasPrefix(mc.secret, "whsec_") {
		t.Fatalf("unexpected key shapes: %+v", mc)
	}
	return mc
}

func createIntent(t *testing.T, in *instance, key string, body string) map[string]any {
	t.Helper()
	code, m, _ := call(t, "POST", in.base+"/v1/payments/intents", map[string]string{"X-Api-Key": key}, body)
	if code != http.StatusCreated {
		t.Fatalf("creating intent: %d %v", code, m)
	}
	return m
}

func simulate(t *testing.T, in *instance, key, intentID string, amount int, trx string) {
	t.Helper()
	body := fmt.Sprintf(`{"paymentIntentId":%q,"amount":%d,"trxId":%q,"senderMsisdn":"01711111111"}`, intentID, amount, trx)
	code, m, _ := call(t, "POST", in.base+"/v1/sandbox/sms-events/simulate", map[string]string{"X-Api-Key": key}, body)
	if code != http.StatusAccepted {
		t.Fatalf("simulating: %d %v", code, m)
	}
}

func getIntent(t *testing.T, in *instance, key, id string) (int, map[string]any) {
	t.Helper()
	code, m, _ := call(t, "GET", in.base+"/v1/payments/intents/"+id, map[string]string{"X-Api-Key": key}, "")
	return code, m
}

func waitStatus(t *testing.T, in *instance, key, id, status string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, m := getIntent(t, in, key, id)
		if code == 200 && m["status"] == status {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("intent %s: waited %v for %s, last %d %v", id, within, status, code, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func wallet() string { return "017" + randDigits(8) }

func chQuery(t *testing.T, dsn, q string, args ...any) uint64 {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("clickhouse %q: %v", q, err)
	}
	return n
}

func waitCount(t *testing.T, dsn string, want uint64, within time.Duration, q string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n := chQuery(t, dsn, q, args...)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %d rows of %q, have %d", within, want, q, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestE2E(t *testing.T) {
	in := startDev(t)
	rcv := newReceiver(t)
	admin := map[string]string{"Authorization": "Bearer " + in.admin}

	t.Run("admin auth", func(t *testing.T) {
		for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": in.admin}} {
			code, m, _ := call(t, "POST", in.base+"/admin/v1/merchants", h, `{"name":"x"}`)
			if code != 401 || m["statusCode"] != float64(401) {
				t.Fatalf("admin without the right token: %d %v", code, m)
			}
		}
		code, m, _ := call(t, "GET", in.base+"/admin/v1/merchants/mch_nope", admin, "")
		if code != 404 {
			t.Fatalf("unknown merchant: %d %v", code, m)
		}
	})

	a := onboard(t, in, rcv, wallet())
	b := onboard(t, in, rcv, wallet())

	t.Run("merchant read has no secrets", func(t *testing.T) {
		code, m, _ := call(t, "GET", in.base+"/admin/v1/merchants/"+a.id, admin, "")
		raw, _ := json.Marshal(m)
		if code != 200 || strings.Contains(string(raw), "whsec_") || strings.Contains(string(raw), "sk_") {
			t.Fatalf("GET merchant: %d %s", code, raw)
		}
	})

	t.Run("pay by amount: webhook signed both ways, status, audit", func(t *testing.T) {
		ref := "ORDER-" + randDigits(6)
		it := createIntent(t, in, a.testKey, fmt.Sprintf(`{"amount":500,"currency":"BDT","customerReference":%q}`, ref))
		id := it["id"].(string)
		if it["status"] != "PENDING" || it["amount"] != "500" || it["merchantId"] != a.id || it["environment"] != "SANDBOX" ||
			it["checkoutUrl"] != "https://pay.example.test/v1/checkout/"+id || it["receiverMsisdn"] == "" {
			t.Fatalf("created intent: %v", it)
		}
		// Read-your-writes: visible at once.
		if code, got := getIntent(t, in, a.testKey, id); code != 200 || got["id"] != id {
			t.Fatalf("GET right after 201: %d %v", code, got)
		}
		trx := "TRX" + strings.ToUpper(randHex(4))
		simulate(t, in, a.testKey, id, 500, trx)
		h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
		if h.path != a.path {
			t.Fatalf("webhook went to %s, want %s", h.path, a.path)
		}
		if err := webhooksig.VerifyXSignature(a.secret, h.body, h.header.Get("X-Signature")); err != nil {
			t.Fatalf("X-Signature: %v", err)
		}
		if err := webhooksig.VerifyStandard(a.secret, h.body, h.header); err != nil {
			t.Fatalf("Standard Webhooks signature: %v", err)
		}
		if err := webhooksig.VerifyXSignature(b.secret, h.body, h.header.Get("X-Signature")); err == nil {
			t.Fatal("another merchant's secret verified the signature")
		}
		d := h.event["data"].(map[string]any)
		if h.event["event"] != "payment.paid" || h.event["id"] != h.header.Get("webhook-id") || h.event["environment"] != "SANDBOX" ||
			d["status"] != "PAID" || d["trx_id"] != trx || d["match_type"] != "AUTO_MATCH" || d["amount"] != "500" ||
			d["currency"] != "BDT" || d["customer_reference"] != ref {
			t.Fatalf("webhook payload: %s", h.body)
		}
		got := waitStatus(t, in, a.testKey, id, "PAID", 10*time.Second)
		if got["trxId"] != trx {
			t.Fatalf("paid intent: %v", got)
		}
		waitCount(t, in.dsn, 2, 30*time.Second, "SELECT count() FROM inbound_events FINAL WHERE merchant_id = ? AND (intent_id = ? OR trx_id = ?)", a.id, id, trx)
		waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM intent_status_changes FINAL WHERE intent_id = ? AND status = 'PAID'", id)
		waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM webhook_attempts FINAL WHERE intent_id = ? AND result = 'delivered'", id)
	})

	t.Run("cross-merchant isolation and LIVE key on the simulator", func(t *testing.T) {
		it := createIntent(t, in, a.testKey, `{"amount":120,"currency":"BDT","customerReference":"ISO-1"}`)
		id := it["id"].(string)
		if code, m := getIntent(t, in, b.testKey, id); code != 404 || m["statusCode"] != float64(404) {
			t.Fatalf("merchant B read A's intent: %d %v", code, m)
		}
		if code, _ := getIntent(t, in, a.liveKey, id); code != 404 {
			t.Fatalf("LIVE key read a SANDBOX intent: %d", code)
		}
		code, m, _ := call(t, "POST", in.base+"/v1/sandbox/sms-events/simulate", map[string]string{"X-Api-Key": a.liveKey},
			fmt.Sprintf(`{"paymentIntentId":%q,"amount":120,"trxId":"LIVE1234"}`, id))
		if code != 403 || m["error"] != "Forbidden" {
			t.Fatalf("LIVE key on simulator: %d %v", code, m)
		}
		code, m, _ = call(t, "POST", in.base+"/v1/sandbox/sms-events/simulate", map[string]string{"X-Api-Key": b.testKey},
			fmt.Sprintf(`{"paymentIntentId":%q,"amount":120,"trxId":"OTHER1234"}`, id))
		if code != 404 {
			t.Fatalf("B simulating on A's intent: %d %v", code, m)
		}
		code, list, _ := call(t, "GET", in.base+"/v1/payments/intents?limit=100", map[string]string{"X-Api-Key": b.testKey}, "")
		for _, x := range list["data"].([]any) {
			if x.(map[string]any)["merchantId"] != b.id {
				t.Fatalf("B's list has another merchant's intent: %v", x)
			}
		}
		if code != 200 {
			t.Fatalf("list: %d", code)
		}
	})

	t.Run("idempotency", func(t *testing.T) {
		body := `{"amount":321,"currency":"BDT","customerReference":"IDEM-1","idempotencyKey":"pi_IDEM-1"}`
		first := createIntent(t, in, a.testKey, body)
		again := createIntent(t, in, a.testKey, "  "+strings.ReplaceAll(body, ",", " , "))
		if first["id"] != again["id"] {
			t.Fatalf("same key and body gave two intents: %v %v", first["id"], again["id"])
		}
		code, m, _ := call(t, "POST", in.base+"/v1/payments/intents", map[string]string{"X-Api-Key": a.testKey},
			`{"amount":322,"currency":"BDT","customerReference":"IDEM-1","idempotencyKey":"pi_IDEM-1"}`)
		if code != 409 || m["statusCode"] != float64(409) || m["error"] != "Conflict" {
			t.Fatalf("same key, other body: %d %v", code, m)
		}
		// Another merchant may use the same key freely.
		other := createIntent(t, in, b.testKey, body)
		if other["id"] == first["id"] {
			t.Fatal("idempotency keys leaked across merchants")
		}
	})

	t.Run("ambiguous amount goes to review", func(t *testing.T) {
		c := onboard(t, in, rcv, wallet())
		i1 := createIntent(t, in, c.testKey, `{"amount":900,"currency":"BDT","customerReference":"AMB-1"}`)["id"].(string)
		i2 := createIntent(t, in, c.testKey, `{"amount":900,"currency":"BDT","customerReference":"AMB-2"}`)["id"].(string)
		simulate(t, in, c.testKey, i1, 900, "AMB"+strings.ToUpper(randHex(4)))
		for _, id := range []string{i1, i2} {
			h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
			d := h.event["data"].(map[string]any)
			if h.event["event"] != "payment.review_required" || d["status"] != "REVIEW_REQUIRED" || d["reason"] != "ambiguous" {
				t.Fatalf("ambiguous payment webhook: %s", h.body)
			}
			waitStatus(t, in, c.testKey, id, "REVIEW_REQUIRED", 10*time.Second)
		}
		code, list, _ := call(t, "GET", in.base+"/v1/payments/intents?status=REVIEW_REQUIRED", map[string]string{"X-Api-Key": c.testKey}, "")
		if code != 200 || list["total"] != float64(2) {
			t.Fatalf("list REVIEW_REQUIRED: %d %v", code, list)
		}
	})

	t.Run("duplicate TrxID sends no second webhook", func(t *testing.T) {
		d := onboard(t, in, rcv, wallet())
		trx := "DUP" + strings.ToUpper(randHex(4))
		i1 := createIntent(t, in, d.testKey, `{"amount":700,"currency":"BDT","customerReference":"DUP-1"}`)["id"].(string)
		simulate(t, in, d.testKey, i1, 700, trx)
		rcv.waitHooks(t, 1, 30*time.Second, forIntent(i1))
		i2 := createIntent(t, in, d.testKey, `{"amount":700,"currency":"BDT","customerReference":"DUP-2"}`)["id"].(string)
		simulate(t, in, d.testKey, i2, 700, trx)
		// The duplicate is decided (an audit row says so) and nothing else happens.
		waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM payments FINAL WHERE trx_id = ? AND disposition = 'duplicate'", trx)
		if code, m := getIntent(t, in, d.testKey, i2); code != 200 || m["status"] != "PENDING" {
			t.Fatalf("intent after duplicate TrxID: %d %v", code, m)
		}
		if n := len(rcv.waitHooks(t, 0, 0, func(h hook) bool { return h.path == d.path })); n != 1 {
			t.Fatalf("merchant got %d webhooks, want 1", n)
		}
	})

	t.Run("webhook fails twice then succeeds", func(t *testing.T) {
		e := onboard(t, in, rcv, wallet())
		rcv.mu.Lock()
		rcv.failFirst[e.path] = 2
		rcv.mu.Unlock()
		id := createIntent(t, in, e.testKey, `{"amount":250,"currency":"BDT","customerReference":"RETRY-1"}`)["id"].(string)
		simulate(t, in, e.testKey, id, 250, "RTY"+strings.ToUpper(randHex(4)))
		hs := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))
		waitCount(t, in.dsn, 3, 30*time.Second, "SELECT count() FROM webhook_attempts FINAL WHERE intent_id = ?", id)
		waitCount(t, in.dsn, 1, 5*time.Second, "SELECT count() FROM webhook_attempts FINAL WHERE intent_id = ? AND result = 'delivered'", id)
		waitCount(t, in.dsn, 1, 5*time.Second, "SELECT uniqExact(outcome_id) FROM webhook_attempts FINAL WHERE intent_id = ?", id)
		if len(hs) != 1 {
			t.Fatalf("delivered %d times", len(hs))
		}
	})

	t.Run("expiry", func(t *testing.T) {
		id := createIntent(t, in, b.testKey, `{"amount":999,"currency":"BDT","customerReference":"EXP-1","ttlSeconds":10}`)["id"].(string)
		h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
		if h.event["event"] != "payment.expired" || h.event["data"].(map[string]any)["status"] != "EXPIRED" {
			t.Fatalf("expiry webhook: %s", h.body)
		}
		waitStatus(t, in, b.testKey, id, "EXPIRED", 5*time.Second)
	})

	t.Run("bad input gets a clear 4xx in the native shape", func(t *testing.T) {
		key := map[string]string{"X-Api-Key": a.testKey}
		cases := []struct {
			name, method, path string
			h                  map[string]string
			body               string
			want               int
		}{
			{"no api key", "POST", "/v1/payments/intents", nil, `{"amount":1}`, 401},
			{"bad api key", "GET", "/v1/payments/intents", map[string]string{"X-Api-Key": "sk_test_nope_nope_nope"}, "", 401},
			{"malformed json", "POST", "/v1/payments/intents", key, `{"amount":`, 400},
			{"not an object", "POST", "/v1/payments/intents", key, `[1,2]`, 400},
			{"empty body", "POST", "/v1/payments/intents", key, ``, 400},
			{"amount wrong type", "POST", "/v1/payments/intents", key, `{"amount":"lots","currency":"BDT","customerReference":"x"}`, 400},
			{"amount decimals", "POST", "/v1/payments/intents", key, `{"amount":10.5,"currency":"BDT","customerReference":"x"}`, 400},
			{"amount negative", "POST", "/v1/payments/intents", key, `{"amount":-5,"currency":"BDT","customerReference":"x"}`, 400},
			{"missing currency", "POST", "/v1/payments/intents", key, `{"amount":5,"customerReference":"x"}`, 400},
			{"wrong currency", "POST", "/v1/payments/intents", key, `{"amount":5,"currency":"USD","customerReference":"x"}`, 400},
			{"missing reference", "POST", "/v1/payments/intents", key, `{"amount":5,"currency":"BDT"}`, 400},
			{"reference wrong type", "POST", "/v1/payments/intents", key, `{"amount":5,"currency":"BDT","customerReference":5}`, 400},
			{"ttl out of range", "POST", "/v1/payments/intents", key, `{"amount":5,"currency":"BDT","customerReference":"x","ttlSeconds":1}`, 400},
			{"bad url", "POST", "/v1/payments/intents", key, `{"amount":5,"currency":"BDT","customerReference":"x","successUrl":"javascript:alert(1)"}`, 400},
			{"no such provider wallet", "POST", "/v1/payments/intents", key, `{"amount":5,"currency":"BDT","customerReference":"x","provider":"rocket"}`, 422},
			{"list bad status", "GET", "/v1/payments/intents?status=NOPE", key, "", 400},
			{"list bad page", "GET", "/v1/payments/intents?page=zero", key, "", 400},
			{"list bad limit", "GET", "/v1/payments/intents?limit=1000", key, "", 400},
			{"get unknown intent", "GET", "/v1/payments/intents/00000000-0000-0000-0000-000000000000", key, "", 404},
			{"get garbage id", "GET", "/v1/payments/intents/..%2f..%2fetc", key, "", 404},
			{"simulate missing fields", "POST", "/v1/sandbox/sms-events/simulate", key, `{}`, 400},
			{"simulate bad trx", "POST", "/v1/sandbox/sms-events/simulate", key, `{"paymentIntentId":"x","amount":5,"trxId":"<script>"}`, 400},
			{"simulate bad sender", "POST", "/v1/sandbox/sms-events/simulate", key, `{"paymentIntentId":"x","amount":5,"trxId":"ABC12345","senderMsisdn":"12"}`, 400},
			{"simulate amount type", "POST", "/v1/sandbox/sms-events/simulate", key, `{"paymentIntentId":"x","amount":[5],"trxId":"ABC12345"}`, 400},
			{"admin malformed", "POST", "/admin/v1/merchants", admin, `{"name":`, 400},
			{"admin no wallets", "POST", "/admin/v1/merchants", admin, `{"name":"x","wallets":[]}`, 400},
			{"admin bad wallet", "POST", "/admin/v1/merchants", admin, `{"name":"x","wallets":[{"provider":"paypal","account":"1","environment":"SANDBOX"}]}`, 400},
			{"admin bad env", "POST", "/admin/v1/merchants", admin, `{"name":"x","wallets":[{"provider":"bkash","account":"01700000009","environment":"PROD"}]}`, 400},
			{"admin bad webhook url", "POST", "/admin/v1/merchants", admin, `{"name":"x","wallets":[{"provider":"bkash","account":"01700000019","environment":"SANDBOX"}],"webhooks":{"SANDBOX":{"url":"ftp://x"}}}`, 400},
			{"unknown route", "GET", "/v1/nope", nil, "", 404},
			{"wrong method", "DELETE", "/v1/payments/intents", key, "", 405},
		}
		for _, c := range cases {
			code, m, _ := call(t, c.method, in.base+c.path, c.h, c.body)
			if code != c.want || m["statusCode"] != float64(c.want) || m["message"] == "" || m["error"] != http.StatusText(c.want) {
				t.Errorf("%s: got %d %v, want %d in the native error shape", c.name, code, m, c.want)
			}
		}
		// An oversized body is refused from its Content-Length, before it is read: speak raw HTTP so
		// the client does not trip over the early answer while still writing.
		conn, err := net.Dial("tcp", strings.TrimPrefix(in.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /v1/payments/intents HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n", a.testKey)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		conn.Close()
		var big map[string]any
		if resp.StatusCode != 413 || json.Unmarshal(rb, &big) != nil || big["statusCode"] != float64(413) {
			t.Errorf("oversized body: %d %s", resp.StatusCode, rb)
		}
		// A wallet can belong to one merchant only.
		code, m, _ := call(t, "POST", in.base+"/admin/v1/merchants", admin, `{"name":"x","wallets":[{"provider":"bkash","account":"01700000077","environment":"SANDBOX"}]}`)
		if code != 201 {
			t.Fatalf("onboarding: %d %v", code, m)
		}
		code, m, _ = call(t, "POST", in.base+"/admin/v1/merchants", admin, `{"name":"y","wallets":[{"provider":"bkash","account":"01700000077","environment":"SANDBOX"}]}`)
		if code != 409 {
			t.Fatalf("second owner of a wallet: %d %v", code, m)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// A forwarding device reports once, so its per-device series exists too.
		w := wallet()
		dm := onboard(t, in, rcv, w)
		if code, out, _ := call(t, "POST", smsE2EDevice(t, in, dm.id, w), nil,
			smsE2EForwarder("bKash", "Your bKash verification code is 840223.")); code != http.StatusAccepted {
			t.Fatalf("forwarding an SMS: %d %v", code, out)
		}
		resp, err := http.Get(in.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkDeployMetrics(t, b)
		for _, name := range []string{
			"paystream_http_requests_total", "paystream_http_request_duration_seconds", "paystream_kafka_produce_duration_seconds",
			"paystream_consumer_records_total", "paystream_consumer_lag_records", "paystream_matcher_decisions_total",
			"paystream_matcher_decision_latency_seconds", "paystream_webhook_attempts_total", "paystream_webhook_delivery_latency_seconds",
			"paystream_audit_batch_rows", "paystream_audit_rows_total", "go_goroutines", "process_resident_memory_bytes",
		} {
			if !bytes.Contains(b, []byte("\n"+name)) {
				t.Errorf("metric %s missing from /metrics", name)
			}
		}
	})
}
