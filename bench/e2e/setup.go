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
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/redis/go-redis/v9"
)

// instance is the paystream the benchmark drives.
type instance struct {
	base     string // ingest base URL (merchant, admin and every inbound surface)
	admin    string // admin token
	pid      int    // paystream's pid for CPU and memory, 0 when unknown
	pprof    string // base URL serving /debug/pprof, "" when unknown
	spawned  string // the binary, when this run started it
	stop     func() // stops a spawned paystream and removes its state; nil otherwise
	spawnLog string
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

// spawnConfig says how to start `paystream dev`.
type spawnConfig struct {
	bin        string
	partitions int      // PAYSTREAM_KAFKA_PARTITIONS, 0 for paystream's default
	env        []string // extra NAME=value, applied last
	keepState  bool     // leave the Redis keys and ClickHouse database behind
	pprof      bool     // serve /debug/pprof on the metrics address (PAYSTREAM_PPROF)
}

// spawn starts `paystream dev` on free ports with a fresh data dir, Redis prefix and ClickHouse
// database, rate limits off (the benchmark measures capacity from one address with few keys), and
// waits up to 60 s for /readyz. Its output goes to a log file in the data dir's parent, kept when
// paystream fails to start. The returned instance's stop interrupts it (killing it after 40 s) and
// removes its state.
func spawn(c spawnConfig) (*instance, error) {
	httpAddr, err1 := freeAddr()
	metrics, err2 := freeAddr()
	kafka, err3 := freeAddr()
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("finding free ports: %w", err)
	}
	dir, err := os.MkdirTemp("", "paystream-bench")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "paystream.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	admin, prefix := "bench_"+randHex(8), "bench"+randHex(3)
	dsn := "clickhouse://127.0.0.1:9000/paystream_bench_" + randHex(3)
	cmd := exec.Command(c.bin, "dev")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(),
		"PAYSTREAM_HTTP_ADDR="+httpAddr, "PAYSTREAM_METRICS_ADDR="+metrics, "PAYSTREAM_EMBEDDED_KAFKA_ADDR="+kafka,
		"PAYSTREAM_KAFKA_BROKERS=", "PAYSTREAM_DATA_DIR="+filepath.Join(dir, "data"), "PAYSTREAM_REDIS_PREFIX="+prefix,
		"PAYSTREAM_CLICKHOUSE_DSN="+dsn, "PAYSTREAM_ADMIN_TOKEN="+admin,
		"PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true", "PAYSTREAM_LOG_LEVEL=warn",
		"PAYSTREAM_RATE_LIMIT_IP=0", "PAYSTREAM_RATE_LIMIT_KEY=0",
	)
	if c.pprof {
		cmd.Env = append(cmd.Env, "PAYSTREAM_PPROF=true")
	}
	if c.partitions > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("PAYSTREAM_KAFKA_PARTITIONS=%d", c.partitions))
	}
	cmd.Env = append(cmd.Env, c.env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s dev: %w", c.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	in := &instance{
		base: "http://" + httpAddr, admin: admin, pid: cmd.Process.Pid, pprof: "http://" + metrics,
		spawned: c.bin, spawnLog: logPath,
	}
	var once sync.Once
	in.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(40 * time.Second):
				fmt.Fprintf(os.Stderr, "bench: paystream (pid %d) did not stop within 40 s of SIGINT: killing it\n", cmd.Process.Pid)
				_ = cmd.Process.Kill()
				<-exited
			}
			logf.Close()
			if !c.keepState {
				cleanState(dsn, prefix)
				os.RemoveAll(dir)
			}
		})
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("spawned paystream exited before it was ready; its log: %s\n%s", logPath, tail(logPath, 4096))
		default:
		}
		resp, err := client.Get("http://" + metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.keepState = true // keep the log to read
	in.stop()
	return nil, fmt.Errorf("spawned paystream not ready in 60 s; its log: %s\n%s", logPath, tail(logPath, 4096))
}

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
	smsURL                            string // the device's forwarder URL (surfSMS)
	snsURL                            string // the integration's notification URL (surfSNS)
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
		mc.smsURL = a.base + "/v1/sms/" + dev.Token + "/forwarder"
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
		mc.snsURL = a.base + "/webhooks/notifications?shunno_id=" + url.QueryEscape(in.ShunnoID) + "&client_app=SHUNNOIT"
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
// payment's amount, its payer as customerReference, and ttl. It stops at the first error.
func (a *admin) createIntents(ctx context.Context, pays []payment, merchants []merchantCreds, concurrency int, ttl time.Duration, bar *progress) error {
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
				body := fmt.Appendf(nil, `{"amount":%d,"currency":"BDT","customerReference":%q,"ttlSeconds":%d}`, p.amount, p.payer, int(ttl.Seconds()))
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
