package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/paystream/paystream/pipeline/webhooksig"
)

// DemoCmd walks one payment through a running paystream and shows every step.
type DemoCmd struct {
	URL string `help:"Base URL of a running paystream (default http://<http-addr>)."`
}

type demoHook struct {
	header http.Header
	body   []byte
}

// Run onboards a merchant whose webhook points at a receiver started here, creates an intent,
// simulates the customer's payment, prints the signed webhook that arrives and the audit rows.
func (d DemoCmd) Run(cfg *Config) error {
	base := d.URL
	if base == "" {
		base = "http://" + cfg.HTTPAddr
	}
	if cfg.AdminToken == "" {
		return errors.New("the demo needs the admin token: set PAYSTREAM_ADMIN_TOKEN (paystream dev prints it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// 1. A local receiver for the merchant's webhooks.
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting webhook receiver: %w", err)
	}
	hooks := make(chan demoHook, 16)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		hooks <- demoHook{header: r.Header.Clone(), body: b}
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	hookURL := "http://" + ln.Addr().String() + "/webhooks/paystream"
	step := func(n int, s string) { fmt.Printf("\n── %d. %s\n", n, s) }

	step(1, "onboard a merchant (admin API)")
	wallet := "017" + randDigits(8)
	var merchant struct {
		ID       string                       `json:"id"`
		APIKeys  map[string]string            `json:"apiKeys"`
		Webhooks map[string]map[string]string `json:"webhooks"`
	}
	body := fmt.Sprintf(`{"name":"Demo Shop","wallets":[{"provider":"bkash","account":%q,"environment":"SANDBOX"}],"webhooks":{"SANDBOX":{"url":%q}}}`, wallet, hookURL)
	if err := demoCall(ctx, "POST", base+"/admin/v1/merchants", "Authorization", "Bearer "+cfg.AdminToken, body, http.StatusCreated, &merchant); err != nil {
		return fmt.Errorf("%w (the webhook receiver is on 127.0.0.1: run paystream with PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true)", err)
	}
	key, secret := merchant.APIKeys["SANDBOX"], merchant.Webhooks["SANDBOX"]["secret"]
	fmt.Printf("merchant %s, bKash wallet %s, sandbox key %s…, webhook → %s\n", merchant.ID, wallet, key[:12], hookURL)

	step(2, "create a payment intent (merchant API, seed 004)")
	var intent map[string]any
	ref := "ORDER-" + randDigits(5)
	body = fmt.Sprintf(`{"amount":500,"currency":"BDT","customerReference":%q,"idempotencyKey":"pi_%s","ttlSeconds":300}`, ref, ref)
	if err := demoCall(ctx, "POST", base+"/v1/payments/intents", "X-Api-Key", key, body, http.StatusCreated, &intent); err != nil {
		return err
	}
	id, _ := intent["id"].(string)
	printJSON(intent)

	step(3, "the customer pays 500 BDT (sandbox SMS simulator)")
	trx := "D" + strings.ToUpper(randDigits(9))
	body = fmt.Sprintf(`{"paymentIntentId":%q,"amount":500,"trxId":%q,"senderMsisdn":"01711111111"}`, id, trx)
	var sim map[string]any
	if err := demoCall(ctx, "POST", base+"/v1/sandbox/sms-events/simulate", "X-Api-Key", key, body, http.StatusAccepted, &sim); err != nil {
		return err
	}
	printJSON(sim)

	step(4, "the signed webhook arrives at the merchant's receiver")
	select {
	case h := <-hooks:
		for _, k := range []string{"X-Signature", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
			fmt.Printf("%s: %s\n", k, h.header.Get(k))
		}
		fmt.Println(string(h.body))
		xs := webhooksig.VerifyXSignature(secret, h.body, h.header.Get("X-Signature"))
		sw := webhooksig.VerifyStandard(secret, h.body, h.header)
		fmt.Printf("X-Signature valid: %v; Standard Webhooks signature valid: %v\n", xs == nil, sw == nil)
	case <-ctx.Done():
		return errors.New("no webhook arrived within 2 minutes (is the webhooks role running?)")
	}

	step(5, "the intent, read back (merchant API)")
	var got map[string]any
	if err := demoCall(ctx, "GET", base+"/v1/payments/intents/"+id, "X-Api-Key", key, "", http.StatusOK, &got); err != nil {
		return err
	}
	printJSON(got)

	step(6, "the audit trail in ClickHouse")
	if err := demoAudit(ctx, cfg.ClickHouseDSN, merchant.ID); err != nil {
		return err
	}
	fmt.Printf("\nintent %s is PAID. Metrics: curl -s http://%s/metrics | grep ^paystream_\n", id, cfg.MetricsAddr)
	return nil
}

func demoAudit(ctx context.Context, dsn, merchantID string) error {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("parsing clickhouse dsn: %w", err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("connecting to clickhouse: %w", err)
	}
	defer conn.Close()
	queries := []struct{ title, q string }{
		{"inbound_events", "SELECT kind, source, wallet, trx_id, toString(amount), toString(accepted_at) FROM inbound_events FINAL WHERE merchant_id = ? ORDER BY accepted_at_ms"},
		{"intent_status_changes", "SELECT status, previous_status, rule, match_type, trx_id, toString(decision_latency_ms) FROM intent_status_changes FINAL WHERE merchant_id = ? ORDER BY version"},
		{"webhook_attempts", "SELECT event_type, toString(attempt), result, toString(http_status), url_host FROM webhook_attempts FINAL WHERE merchant_id = ? ORDER BY attempted_at_ms"},
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, q := range queries {
		for {
			rows, err := conn.Query(ctx, q.q, merchantID)
			if err != nil {
				return fmt.Errorf("querying %s: %w", q.title, err)
			}
			var out [][]string
			for rows.Next() {
				cols := rows.Columns()
				vals := make([]string, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					_ = rows.Close()
					return fmt.Errorf("reading %s: %w", q.title, err)
				}
				out = append(out, vals)
			}
			_ = rows.Close()
			if len(out) > 0 || time.Now().After(deadline) {
				fmt.Printf("%s (%d rows):\n", q.title, len(out))
				for _, r := range out {
					fmt.Println("  " + strings.Join(r, " | "))
				}
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	return nil
}

var demoClient = &http.Client{Timeout: 15 * time.Second}

func demoCall(ctx context.Context, method, url, hk, hv, body string, want int, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set(hk, hv)
	req.Header.Set("Content-Type", "application/json")
	fmt.Printf("$ curl -X %s %s -H '%s: …' %s\n", method, url, hk, shortBody(body))
	resp, err := demoClient.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s answered %d: %s", method, url, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

func shortBody(b string) string {
	if b == "" {
		return ""
	}
	return "-d '" + b + "'"
}

func printJSON(v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	fmt.Print(buf.String())
}

var randMu sync.Mutex

func randDigits(n int) string {
	randMu.Lock()
	defer randMu.Unlock()
	var sb strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		sb.WriteString(d.String())
	}
	return sb.String()
}
