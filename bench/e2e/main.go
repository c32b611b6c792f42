// Command e2e is paystream's first end-to-end benchmark: N merchants, M intents, one matching
// payment per intent offered at a fixed arrival rate (open loop: latency is measured from each
// payment's scheduled time, so a slow server cannot hide queueing), and a local webhook receiver
// that verifies every signature. It prints accepted/s, decision and delivery latency percentiles
// and correctness counts (paid exactly once, lost, duplicated, wrong merchant).
//
//	go run ./bench/e2e -spawn bin/paystream          # starts its own `paystream dev`
//	go run ./bench/e2e -url http://127.0.0.1:8080 -admin $PAYSTREAM_ADMIN_TOKEN
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paystream/paystream/pipeline/webhooksig"
)

type options struct {
	url, admin, spawn string
	merchants         int
	intents           int
	rate              float64
	concurrency       int
	wait              time.Duration
	jsonOut           string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "base URL of a running paystream (with PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true)")
	flag.StringVar(&o.admin, "admin", os.Getenv("PAYSTREAM_ADMIN_TOKEN"), "admin token of that paystream")
	flag.StringVar(&o.spawn, "spawn", "", "path of a paystream binary: start `paystream dev` on free ports for this run")
	flag.IntVar(&o.merchants, "merchants", 10, "merchants (one bKash wallet each)")
	flag.IntVar(&o.intents, "intents", 5000, "intents in all, each paid once")
	flag.Float64Var(&o.rate, "rate", 500, "payments offered per second (open loop)")
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent intent creations during set-up")
	flag.DurationVar(&o.wait, "wait", 60*time.Second, "how long to wait for the last webhooks")
	flag.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type intent struct {
	id, merchant string
	amount       int
	scheduled    time.Time
	accepted     time.Time
}

type arrival struct {
	at        time.Time
	decidedAt time.Time
	eventID   string
	path      string
	event     string
}

type receiver struct {
	mu       sync.Mutex
	secrets  map[string]string // path -> secret
	owners   map[string]string // path -> merchant id
	byIntent map[string][]arrival
	badSig   atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	secret := r.secrets[req.URL.Path]
	r.mu.Unlock()
	if webhooksig.VerifyXSignature(secret, b, req.Header.Get("X-Signature")) != nil ||
		webhooksig.VerifyStandard(secret, b, req.Header) != nil {
		r.badSig.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID        string `json:"id"`
		Event     string `json:"event"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			ID string `json:"payment_intent_id"`
		} `json:"data"`
	}
	_ = json.Unmarshal(b, &ev)
	dec, _ := time.Parse(time.RFC3339Nano, ev.Timestamp)
	r.mu.Lock()
	r.byIntent[ev.Data.ID] = append(r.byIntent[ev.Data.ID], arrival{at: now, decidedAt: dec, eventID: ev.ID, path: req.URL.Path, event: ev.Event})
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}

func post(ctx context.Context, url string, hdr map[string]string, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func run(o options) error {
	ctx := context.Background()
	if o.spawn != "" {
		stop, url, admin, err := spawn(o.spawn)
		if err != nil {
			return err
		}
		defer stop()
		o.url, o.admin = url, admin
	}
	if o.url == "" || o.admin == "" {
		return errors.New("give -spawn <binary>, or -url and -admin of a running paystream")
	}
	rcv := &receiver{secrets: map[string]string{}, owners: map[string]string{}, byIntent: map[string][]arrival{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(ln, rcv) }()

	// Set-up: merchants, then intents with amounts unique per merchant (so amount matching is
	// never ambiguous and every payment must pay exactly its intent).
	keys := make([]string, o.merchants)
	ids := make([]string, o.merchants)
	for i := range o.merchants {
		path := "/m/" + randHex(4)
		acct := fmt.Sprintf("019%08d", (time.Now().UnixNano()/1000+int64(i)*7919)%100000000)
		body := fmt.Sprintf(`{"name":"bench %d","wallets":[{"provider":"bkash","account":%q,"environment":"SANDBOX"}],"webhooks":{"SANDBOX":{"url":%q}}}`,
			i, acct, "http://"+ln.Addr().String()+path)
		code, b, err := post(ctx, o.url+"/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + o.admin}, body)
		if err != nil || code != 201 {
			return fmt.Errorf("onboarding merchant: %d %s %w", code, b, err)
		}
		var m struct {
			ID       string                       `json:"id"`
			APIKeys  map[string]string            `json:"apiKeys"`
			Webhooks map[string]map[string]string `json:"webhooks"`
		}
		_ = json.Unmarshal(b, &m)
		keys[i], ids[i] = m.APIKeys["SANDBOX"], m.ID
		rcv.secrets[path] = m.Webhooks["SANDBOX"]["secret"]
		rcv.owners[path] = m.ID
	}
	intents := make([]*intent, o.intents)
	var setupErr atomic.Value
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= o.intents {
					return
				}
				m := i % o.merchants
				amt := 100 + i/o.merchants
				code, b, err := post(ctx, o.url+"/v1/payments/intents", map[string]string{"X-Api-Key": keys[m]},
					fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":"B-%d","ttlSeconds":3600}`, amt, i))
				if err != nil || code != 201 {
					setupErr.Store(fmt.Errorf("creating intent: %d %s %w", code, b, err))
					return
				}
				var v struct{ ID string }
				_ = json.Unmarshal(b, &v)
				intents[i] = &intent{id: v.ID, merchant: ids[m], amount: amt}
			}
		}()
	}
	wg.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		return err
	}
	createRate := float64(o.intents) / time.Since(t0).Seconds()
	fmt.Printf("set-up: %d merchants, %d intents created at %.0f/s\n", o.merchants, o.intents, createRate)

	// Load: one payment per intent at a fixed arrival rate, from the schedule (open loop).
	statuses := map[int]int{}
	var smu sync.Mutex
	interval := time.Duration(float64(time.Second) / o.rate)
	start := time.Now().Add(50 * time.Millisecond)
	var lwg sync.WaitGroup
	for i, in := range intents {
		in.scheduled = start.Add(time.Duration(i) * interval)
		if d := time.Until(in.scheduled); d > 0 {
			time.Sleep(d)
		}
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			m := i % o.merchants
			code, _, err := post(ctx, o.url+"/v1/sandbox/sms-events/simulate", map[string]string{"X-Api-Key": keys[m]},
				fmt.Sprintf(`{"paymentIntentId":%q,"amount":%d,"trxId":"BX%s"}`, in.id, in.amount, strings.ToUpper(randHex(5))))
			if err != nil {
				code = -1
			}
			in.accepted = time.Now()
			smu.Lock()
			statuses[code]++
			smu.Unlock()
		}()
	}
	lwg.Wait()
	offeredFor := time.Since(start)
	accepted := statuses[202]
	fmt.Printf("load: offered %d payments at %.0f/s; accepted %d (%.0f/s)\n", o.intents, o.rate, accepted, float64(accepted)/offeredFor.Seconds())

	deadline := time.Now().Add(o.wait)
	for time.Now().Before(deadline) {
		rcv.mu.Lock()
		n := len(rcv.byIntent)
		rcv.mu.Unlock()
		if n >= accepted {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let any duplicate arrive before counting
	return report(o, intents, rcv, statuses, offeredFor)
}

func report(o options, intents []*intent, rcv *receiver, statuses map[int]int, offeredFor time.Duration) error {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var accept, decide, deliver []time.Duration
	var paidOnce, lost, dup, wrong int
	for _, in := range intents {
		accept = append(accept, in.accepted.Sub(in.scheduled))
		arr := rcv.byIntent[in.id]
		events := map[string]bool{}
		for _, a := range arr {
			if a.event == "payment.paid" {
				events[a.eventID] = true
			}
			if rcv.owners[a.path] != in.merchant {
				wrong++
			}
		}
		switch {
		case len(events) == 0:
			lost++
			continue
		case len(events) > 1:
			dup++
		default:
			paidOnce++
		}
		first := arr[0]
		decide = append(decide, first.decidedAt.Sub(in.scheduled))
		deliver = append(deliver, first.at.Sub(in.scheduled))
	}
	rep := map[string]any{
		"merchants": o.merchants, "intents": o.intents, "offered_rate": o.rate,
		"accepted_rate":     float64(statuses[202]) / offeredFor.Seconds(),
		"http_statuses":     statuses,
		"accept_ms":         pct(accept),
		"decided_ms":        pct(decide),
		"delivered_ms":      pct(deliver),
		"paid_exactly_once": paidOnce, "lost": lost, "duplicated": dup, "wrong_merchant": wrong,
		"bad_signatures": rcv.badSig.Load(),
	}
	fmt.Printf("\n%-28s %8s %8s %8s %8s %8s\n", "latency from schedule (ms)", "p50", "p90", "p99", "p99.9", "max")
	for _, k := range []string{"accept_ms", "decided_ms", "delivered_ms"} {
		p := rep[k].(map[string]float64)
		fmt.Printf("%-28s %8.1f %8.1f %8.1f %8.1f %8.1f\n", k, p["p50"], p["p90"], p["p99"], p["p99.9"], p["max"])
	}
	fmt.Printf("\naccepted/s %.0f   statuses %v\npaid exactly once %d   lost %d   duplicated %d   wrong merchant %d   bad signatures %d\n",
		rep["accepted_rate"], statuses, paidOnce, lost, dup, wrong, rcv.badSig.Load())
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	if lost > 0 || dup > 0 || wrong > 0 || rcv.badSig.Load() > 0 {
		return fmt.Errorf("correctness failed: lost %d, duplicated %d, wrong merchant %d, bad signatures %d", lost, dup, wrong, rcv.badSig.Load())
	}
	return nil
}

func pct(ds []time.Duration) map[string]float64 {
	out := map[string]float64{}
	if len(ds) == 0 {
		return out
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		i := int(q * float64(len(ds)-1))
		return float64(ds[i].Microseconds()) / 1000
	}
	out["p50"], out["p90"], out["p99"], out["p99.9"], out["max"] = at(0.5), at(0.9), at(0.99), at(0.999), at(1)
	return out
}

// spawn starts `paystream dev` on free ports with a fresh data dir, Redis prefix and ClickHouse
// database, and returns a stop function.
func spawn(bin string) (func(), string, string, error) {
	port := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return ln.Addr().String()
	}
	dir, err := os.MkdirTemp("", "paystream-bench")
	if err != nil {
		return nil, "", "", err
	}
	http, metrics, admin := port(), port(), "bench_"+randHex(8)
	db := "paystream_bench_" + randHex(3)
	cmd := exec.Command(bin, "dev")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = append(os.Environ(),
		"PAYSTREAM_HTTP_ADDR="+http, "PAYSTREAM_METRICS_ADDR="+metrics, "PAYSTREAM_EMBEDDED_KAFKA_ADDR="+port(),
		"PAYSTREAM_KAFKA_BROKERS=", "PAYSTREAM_DATA_DIR="+dir, "PAYSTREAM_REDIS_PREFIX=bench"+randHex(3),
		"PAYSTREAM_CLICKHOUSE_DSN=clickhouse://127.0.0.1:9000/"+db, "PAYSTREAM_ADMIN_TOKEN="+admin,
		"PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true", "PAYSTREAM_LOG_LEVEL=warn",
		// The benchmark measures capacity, from one address with few keys: rate limits off.
		"PAYSTREAM_RATE_LIMIT_IP=0", "PAYSTREAM_RATE_LIMIT_KEY=0",
	)
	if err := cmd.Start(); err != nil {
		return nil, "", "", err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		os.RemoveAll(dir)
		_ = exec.Command("clickhouse-client", "-q", "DROP DATABASE IF EXISTS "+db).Run()
	}
	for i := 0; i < 600; i++ {
		resp, err := client.Get("http://" + metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				fmt.Printf("spawned %s dev (pid %d) on %s\n", bin, cmd.Process.Pid, http)
				return stop, "http://" + http, admin, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, "", "", fmt.Errorf("spawned paystream not ready in 60s:\n%s", logs.String())
}
