package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/redis/go-redis/v9"
)

// instance is the paystream the benchmark drives.
type instance struct {
	base     string    // ingest base URL (merchant, admin and every inbound surface)
	bases    []string  // every ingest's base URL (production: one per ingest process); load is spread over them
	admin    string    // admin token
	procs    []procRef // paystream's processes whose CPU is "paystream's" (dev: one; production: every role)
	broker   procRef   // production: the standalone broker (kafka-dev), reported apart; pid 0 otherwise
	pprof    string    // base URL serving /debug/pprof, "" when unknown
	prefix   string    // the Redis key prefix, "" when unknown
	layout   string    // "dev" or "production" when spawned
	spawned  string    // the binary, when this run started it
	stop     func()    // stops a spawned paystream and removes its state; nil otherwise
	spawnLog string    // the log file (dev) or directory of log files (production)
}

// pids returns the pids of paystream's processes.
func (in *instance) pids() []int {
	out := make([]int, 0, len(in.procs))
	for _, p := range in.procs {
		out = append(out, p.pid)
	}
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// spawnConfig says how to start paystream.
type spawnConfig struct {
	bin        string
	layout     string   // layoutDev (one `paystream dev`) or layoutProduction (kafka-dev and six role processes)
	partitions int      // PAYSTREAM_KAFKA_PARTITIONS, 0 for paystream's default
	env        []string // extra NAME=value, applied last
	keepState  bool     // leave the Redis keys and ClickHouse database behind
	pprof      bool     // serve /debug/pprof on the metrics address (PAYSTREAM_PPROF)
	rateLimits bool     // keep the rate limits at paystream's defaults (else both are 0: off)
}

// Layouts of a spawned paystream.
const (
	layoutDev        = "dev"
	layoutProduction = "production"
)

// child is one process the benchmark started, its output going to a log file.
type child struct {
	name    string
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	logf    *os.File
}

// startChild starts bin with args and env (added to this process's environment), output to logPath.
func startChild(name, bin string, args, env []string, logPath string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s %v: %w", bin, args, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{}), logPath: logPath, logf: logf}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	return c, nil
}

// stop interrupts the process and waits for it, killing it after 40 s. It ends only this process,
// by its pid.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.exited:
	case <-time.After(40 * time.Second):
		fmt.Fprintf(os.Stderr, "bench: %s (pid %d) did not stop within 40 s of SIGINT: killing it\n", c.name, c.cmd.Process.Pid)
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.logf.Close()
}

// waitReady polls ready (an HTTP URL answering 200, or a TCP address when it has no scheme) until
// it answers or within has passed; it fails at once when the process exits.
func (c *child) waitReady(ready string, within time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-c.exited:
			return fmt.Errorf("spawned %s exited before it was ready; its log: %s\n%s", c.name, c.logPath, tail(c.logPath, 4096))
		default:
		}
		if !strings.HasPrefix(ready, "http") {
			if conn, err := net.Dial("tcp", ready); err == nil {
				conn.Close()
				return nil
			}
			continue
		}
		resp, err := client.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("spawned %s not ready in %s; its log: %s\n%s", c.name, within, c.logPath, tail(c.logPath, 4096))
}

// spawn starts paystream in c.layout on free ports with a fresh data dir, Redis prefix and
// ClickHouse database, rate limits off unless c.rateLimits, and waits until every process is
// ready. Output goes to log files in a temporary directory, kept when paystream fails to start.
// The returned instance's stop interrupts every process it started (killing one after 40 s), the
// broker last, and removes the state.
//
//   - dev: one `paystream dev` (every role and the embedded broker in one process);
//   - production: `paystream kafka-dev` (the broker, reported apart) and one process per role:
//     ingest ×2 (each its own HTTP address), matcher ×2, webhooks, audit.
func spawn(c spawnConfig) (*instance, error) {
	dir, err := os.MkdirTemp("", "paystream-bench")
	if err != nil {
		return nil, err
	}
	admin, prefix := "bench_"+randHex(8), "bench"+randHex(3)
	dsn := "clickhouse://127.0.0.1:9000/paystream_bench_" + randHex(3)
	common := []string{
		"PAYSTREAM_REDIS_PREFIX=" + prefix, "PAYSTREAM_CLICKHOUSE_DSN=" + dsn, "PAYSTREAM_ADMIN_TOKEN=" + admin,
		"PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true", "PAYSTREAM_LOG_LEVEL=warn",
	}
	if !c.rateLimits {
		common = append(common, "PAYSTREAM_RATE_LIMIT_IP=0", "PAYSTREAM_RATE_LIMIT_KEY=0")
	}
	if c.pprof {
		common = append(common, "PAYSTREAM_PPROF=true")
	}
	if c.partitions > 0 {
		common = append(common, fmt.Sprintf("PAYSTREAM_KAFKA_PARTITIONS=%d", c.partitions))
	}
	in := &instance{admin: admin, prefix: prefix, layout: c.layout, spawned: c.bin}
	var children []*child // stopped in reverse order
	var once sync.Once
	in.stop = func() {
		once.Do(func() {
			// Roles first, together; the broker (started first) last.
			var wg sync.WaitGroup
			for _, ch := range children[min(1, len(children)):] {
				wg.Go(ch.stop)
			}
			wg.Wait()
			if len(children) > 0 {
				children[0].stop()
			}
			if !c.keepState {
				cleanState(dsn, prefix)
				os.RemoveAll(dir)
			}
		})
	}
	fail := func(err error) (*instance, error) {
		c.keepState = true // keep the logs to read
		in.stop()
		return nil, err
	}
	type planned struct {
		name, role, ready string
		args, env         []string
		http              string
	}
	var plan []planned
	switch c.layout {
	case layoutDev, "":
		in.layout = layoutDev
		httpAddr, err1 := freeAddr()
		metrics, err2 := freeAddr()
		kafka, err3 := freeAddr()
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("finding free ports: %w", err)
		}
		plan = append(plan, planned{name: "dev", role: "dev", args: []string{"dev"}, http: httpAddr, ready: "http://" + metrics + "/readyz",
			env: []string{"PAYSTREAM_HTTP_ADDR=" + httpAddr, "PAYSTREAM_METRICS_ADDR=" + metrics, "PAYSTREAM_EMBEDDED_KAFKA_ADDR=" + kafka,
				"PAYSTREAM_KAFKA_BROKERS=", "PAYSTREAM_DATA_DIR=" + filepath.Join(dir, "data")}})
		in.pprof = "http://" + metrics
	case layoutProduction:
		broker, err := freeAddr()
		if err != nil {
			return nil, fmt.Errorf("finding free ports: %w", err)
		}
		common = append(common, "PAYSTREAM_KAFKA_BROKERS="+broker)
		plan = append(plan, planned{name: "kafka-dev", role: "kafka-dev", args: []string{"kafka-dev"}, ready: broker,
			env: []string{"PAYSTREAM_EMBEDDED_KAFKA_ADDR=" + broker, "PAYSTREAM_DATA_DIR=" + filepath.Join(dir, "data")}})
		// audit first: it migrates the ClickHouse schema the others may read.
		seen := map[string]int{}
		for _, role := range productionRoles {
			metrics, err1 := freeAddr()
			p := planned{name: fmt.Sprintf("%s-%d", role, seen[role]), role: role, args: []string{role}, ready: "http://" + metrics + "/readyz"}
			p.env = []string{"PAYSTREAM_METRICS_ADDR=" + metrics, "PAYSTREAM_KAFKA_INSTANCE_ID=bench-" + p.name}
			var err2 error
			if role == "ingest" {
				p.http, err2 = freeAddr()
				p.env = append(p.env, "PAYSTREAM_HTTP_ADDR="+p.http)
				if in.pprof == "" {
					in.pprof = "http://" + metrics
				}
			}
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("finding free ports: %w", err)
			}
			seen[role]++
			plan = append(plan, p)
		}
	default:
		return nil, fmt.Errorf("-layout %q: want dev or production", c.layout)
	}
	in.spawnLog = dir
	if len(plan) == 1 {
		in.spawnLog = filepath.Join(dir, plan[0].name+".log")
	}
	// Start in plan order; in production the broker and audit each wait for readiness before the
	// next start, the other roles start together.
	var starting []int
	for i, p := range plan {
		env := append(append(append([]string{}, common...), p.env...), c.env...)
		ch, err := startChild(p.name, c.bin, p.args, env, filepath.Join(dir, p.name+".log"))
		if err != nil {
			return fail(err)
		}
		children = append(children, ch)
		starting = append(starting, i)
		if i+1 < len(plan) && (p.role == "kafka-dev" || p.role == "audit") || i+1 == len(plan) {
			for _, j := range starting {
				if err := children[j].waitReady(plan[j].ready, 60*time.Second); err != nil {
					return fail(err)
				}
			}
			starting = starting[:0]
		}
	}
	for i, p := range plan {
		ref := procRef{name: p.name, role: p.role, pid: children[i].cmd.Process.Pid}
		if p.role == "kafka-dev" {
			in.broker = ref
			continue
		}
		in.procs = append(in.procs, ref)
		if p.http != "" {
			in.bases = append(in.bases, "http://"+p.http)
		}
	}
	in.base = in.bases[0]
	return in, nil
}

// productionRoles are the role processes of the production layout, in start order.
var productionRoles = []string{"audit", "ingest", "ingest", "matcher", "matcher", "webhooks"}

// tail returns up to the last n bytes of a file.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// cleanState drops a spawned paystream's ClickHouse database and deletes its Redis keys (every key
// is under "<prefix>:" or the rate limiter's "rate:<prefix>:"), so repeated runs do not fill the
// shared Redis. Failures are reported and otherwise ignored.
func cleanState(dsn, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if opts, err := clickhouse.ParseDSN(dsn); err == nil {
		db := opts.Auth.Database
		opts.Auth.Database = "default"
		if conn, err := clickhouse.Open(opts); err == nil {
			if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
				fmt.Fprintf(os.Stderr, "bench: dropping ClickHouse database %s: %v\n", db, err)
			}
			conn.Close()
		}
	}
	addr := os.Getenv("PAYSTREAM_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, Password: os.Getenv("PAYSTREAM_REDIS_PASSWORD")})
	defer rdb.Close()
	for _, pat := range []string{prefix + ":*", "rate:" + prefix + ":*"} {
		it := rdb.Scan(ctx, 0, pat, 1000).Iterator()
		batch := make([]string, 0, 1000)
		for it.Next(ctx) {
			batch = append(batch, it.Val())
			if len(batch) == cap(batch) {
				rdb.Unlink(ctx, batch...)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			rdb.Unlink(ctx, batch...)
		}
		if err := it.Err(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: deleting Redis keys %s: %v\n", pat, err)
		}
	}
}

// merchantCreds is one onboarded merchant and the credentials of each surface it uses.
type merchantCreds struct {
	id, apiKey, wallet, webhookSecret string
	smsPath                           string // the device's forwarder path (surfSMS), under any ingest's base URL
	snsPath                           string // the integration's notification path and query (surfSNS)
	snsAppSecret, snsClientSecret     string
	txnKey, txnSecret                 string // the bKash transaction API integration (surfTxn)
}

// admin is a small client of paystream's JSON APIs for the set-up.
type admin struct {
	base, token string
	client      *http.Client
}

// call sends body (marshalled unless it is []byte) and decodes a JSON answer into out. It returns
// an error naming the status and answer unless the status is want.
func (a *admin) call(ctx context.Context, method, path string, hdr map[string]string, body any, want int, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return 0, err
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (a *admin) bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + a.token}
}

// onboard creates merchant m with one SANDBOX bKash wallet (a random number; another on 409) whose
// webhooks go to hookURL, then the device, SNS integration and transaction-API integration the mix
// needs.
func (a *admin) onboard(ctx context.Context, m int, hookURL string, mx mix) (merchantCreds, error) {
	var mc merchantCreds
	var created struct {
		ID       string            `json:"id"`
		APIKeys  map[string]string `json:"apiKeys"`
		Webhooks map[string]struct {
			Secret string `json:"secret"`
		} `json:"webhooks"`
	}
	for attempt := 0; ; attempt++ {
		mc.wallet = payerMSISDN(randUint64() % payerSpace)
		body := map[string]any{
			"name":     fmt.Sprintf("bench merchant %d", m),
			"wallets":  []map[string]string{{"provider": "bkash", "account": mc.wallet, "environment": "SANDBOX"}},
			"webhooks": map[string]any{"SANDBOX": map[string]string{"url": hookURL}},
		}
		code, err := a.call(ctx, http.MethodPost, "/admin/v1/merchants", a.bearer(), body, http.StatusCreated, &created)
		if code == http.StatusConflict && attempt < 5 {
			continue // the wallet number is taken
		}
		if err != nil {
			return mc, fmt.Errorf("onboarding merchant %d: %w", m, err)
		}
		break
	}
	mc.id, mc.apiKey, mc.webhookSecret = created.ID, created.APIKeys["SANDBOX"], created.Webhooks["SANDBOX"].Secret
	wallet := map[string]string{"provider": "bkash", "account": mc.wallet}
	if mx.uses(surfSMS) {
		var dev struct {
			Token string `json:"token"`
		}
		body := map[string]any{"name": "bench phone", "environment": "SANDBOX", "wallets": map[string]any{"1": wallet}}
		if _, err := a.call(ctx, http.MethodPost, "/admin/v1/merchants/"+mc.id+"/devices", a.bearer(), body, http.StatusCreated, &dev); err != nil {
			return mc, fmt.Errorf("registering merchant %d's device: %w", m, err)
		}
		mc.smsPath = "/v1/sms/" + dev.Token + "/forwarder"
	}
	if mx.uses(surfSNS) {
		var in struct {
			ShunnoID     string `json:"shunnoId"`
			AppSecret    string `json:"appSecret"`
			ClientSecret string `json:"clientSecret"`
		}
		body := map[string]any{"type": "sns", "environment": "SANDBOX", "wallet": wallet}
		if _, err := a.call(ctx, http.MethodPost, "/admin/v1/merchants/"+mc.id+"/integrations", a.bearer(), body, http.StatusCreated, &in); err != nil {
			return mc, fmt.Errorf("creating merchant %d's SNS integration: %w", m, err)
		}
		mc.snsPath = "/webhooks/notifications?shunno_id=" + url.QueryEscape(in.ShunnoID) + "&client_app=SHUNNOIT"
		mc.snsAppSecret, mc.snsClientSecret = in.AppSecret, in.ClientSecret
	}
	if mx.uses(surfTxn) {
		var in struct {
			APIKey        string `json:"apiKey"`
			SigningSecret string `json:"signingSecret"`
		}
		body := map[string]any{"type": "bkash_txn_api", "environment": "SANDBOX", "allowAnyAccount": false}
		if _, err := a.call(ctx, http.MethodPost, "/admin/v1/merchants/"+mc.id+"/integrations", a.bearer(), body, http.StatusCreated, &in); err != nil {
			return mc, fmt.Errorf("creating merchant %d's transaction API integration: %w", m, err)
		}
		mc.txnKey, mc.txnSecret = in.APIKey, in.SigningSecret
	}
	return mc, nil
}

func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var x uint64
	for _, c := range b {
		x = x<<8 | uint64(c)
	}
	return x
}

// createIntents creates every payment's intent with `concurrency` concurrent requests: the
// payment's amount, its payer as customerReference, ttl and, with idem, an idempotency key. It stops at the first error.
func (a *admin) createIntents(ctx context.Context, pays []payment, merchants []merchantCreds, concurrency int, ttl time.Duration, idem bool, bar *progress) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(pays) {
					return
				}
				p := &pays[i]
				body := intentBody(p, ttl, idem)
				var v struct {
					ID string `json:"id"`
				}
				if _, err := a.call(ctx, http.MethodPost, "/v1/payments/intents", map[string]string{"X-Api-Key": merchants[p.merchant].apiKey}, body, http.StatusCreated, &v); err != nil {
					cancel(fmt.Errorf("creating intent %d: %w", i, err))
					return
				}
				p.intentID = v.ID
				done.Add(1)
			}
		})
	}
	wctx, stop := context.WithCancel(ctx)
	go bar.watch(wctx, func() (int, string) { return int(done.Load()), "" })
	wg.Wait()
	stop()
	bar.finish()
	return context.Cause(ctx)
}
