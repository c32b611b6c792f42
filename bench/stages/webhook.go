package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/webhooksig"
	"github.com/paystream/paystream/sink/webhook"
)

// receiver is every merchant's webhook endpoint: one listener per merchant on its own loopback
// address (127.0.0.1, 127.0.0.2, ...), so each merchant is its own host as in production. It
// answers 200 to everything and counts requests and body bytes.
type receiver struct {
	srv   *http.Server
	urls  []string
	reqs  atomic.Int64
	bytes atomic.Int64
}

func startReceiver(n int) (*receiver, error) {
	r := &receiver{}
	r.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.Copy(io.Discard, req.Body)
		r.bytes.Add(b)
		r.reqs.Add(1)
		_, _ = w.Write([]byte("ok"))
	})}
	for i := range n {
		ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", fmt.Sprintf("127.0.0.%d:0", i+1))
		if err != nil {
			_ = r.srv.Close()
			return nil, fmt.Errorf("listening for merchant %d's receiver: %w", i, err)
		}
		r.urls = append(r.urls, fmt.Sprintf("http://%s/hooks/%d", ln.Addr(), i))
		go func() {
			if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				panic(err)
			}
		}()
	}
	return r, nil
}

// benchOutcome is a fresh PAID status change of a new intent of merchant.
func benchOutcome(merchant string, w pipeline.Wallet, now time.Time) *pipeline.Outcome {
	in := &pipeline.Intent{
		ID: uuid.NewString(), MerchantID: merchant, Environment: pipeline.Sandbox, Amount: pipeline.BDT(500), Currency: "BDT",
		CustomerReference: "ORDER-" + randHex(3), Provider: w.Provider, ReceiverMsisdn: w.Account, Dialect: pipeline.DialectNative,
		CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(4 * time.Minute),
	}
	return &pipeline.Outcome{
		ID: pipeline.IntentOutcomeID(in.ID, 2, pipeline.StatusPaid), Type: pipeline.OutcomeIntentStatus,
		EventID: uuid.NewString(), MerchantID: merchant, Environment: pipeline.Sandbox, Wallet: w,
		Rule: pipeline.RuleAmount, Intent: in, Status: pipeline.StatusPaid, PreviousStatus: pipeline.StatusPending,
		Version: 2, MatchType: pipeline.MatchAuto,
		Payment:    &pipeline.Payment{Provider: w.Provider, TrxID: nextTrx(), Amount: pipeline.BDT(500), OccurredAt: now},
		AcceptedAt: now.Add(-time.Second), DecidedAt: now,
	}
}

// runWebhook measures the webhook sink delivering K outcomes against raw net/http POSTs of the same
// size to the same receivers at the sink's default concurrency.
func runWebhook(e *env) ([]Row, error) {
	const stage = "webhook"
	keys := e.keys(stage)
	defer e.cleanRedis(keys.Prefix)
	nm := max(e.opt.whMerchants, 1)
	k := max(e.opt.webhooks, 1)
	conc := min(webhook.DefaultPerMerchantConcurrency*nm, webhook.DefaultMaxInFlight)
	rcv, err := startReceiver(nm)
	if err != nil {
		return nil, err
	}
	defer rcv.srv.Close()

	wallets := benchWallets(nm, "016")
	merchants := make([]string, nm)
	secrets := make([]string, nm)
	ctx := context.Background()
	for i := range merchants {
		merchants[i] = fmt.Sprintf("mb_%s_%d", e.run, i)
		secrets[i] = webhooksig.NewSecret()
		m := pipeline.Merchant{ID: merchants[i], Name: merchants[i], Status: pipeline.MerchantActive, Dialect: pipeline.DialectNative,
			Wallets:  []pipeline.Wallet{wallets[i]},
			Webhooks: map[pipeline.Environment]pipeline.WebhookEndpoint{pipeline.Sandbox: {URL: rcv.urls[i], Secret: secrets[i]}}, CreatedAt: time.Now()}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		if err := e.rdb.Set(ctx, keys.Merchant(merchants[i]), b, 0).Err(); err != nil {
			return nil, fmt.Errorf("storing merchant: %w", err)
		}
	}
	now := time.Now().UTC()
	outcomes := make([]*pipeline.Outcome, k)
	for i := range outcomes {
		outcomes[i] = benchOutcome(merchants[i%nm], wallets[i%nm], now)
	}
	row := Row{Stage: "webhook", Unit: "delivery"}

	// Baseline: a body of the native webhook's shape and size with a signature header set made
	// once (the sink signs each request: that is part of its work).
	o := outcomes[0]
	body := fmt.Appendf(nil, `{"id":%q,"event":"payment.paid","environment":"SANDBOX","timestamp":%q,"data":{"payment_intent_id":%q,"amount":"500","currency":"BDT","customer_reference":%q,"status":"PAID","trx_id":%q,"match_type":"AUTO_MATCH"}}`,
		o.ID, pipeline.FormatTime(o.DecidedAt), o.Intent.ID, o.Intent.CustomerReference, o.Payment.TrxID)
	hdr, err := webhooksig.Sign(secrets[0], o.ID, now, body)
	if err != nil {
		return nil, err
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("User-Agent", webhook.UserAgent)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, // the sink client's pool sizes
	}}
	defer client.CloseIdleConnections()
	var seq, ops, errs atomic.Int64
	w := e.begin(stage + "-baseline")
	var wg sync.WaitGroup
	for j := range conc {
		url := rcv.urls[j%nm] // conc/nm workers per merchant host, as the sink's lanes
		wg.Go(func() {
			for seq.Add(1) <= int64(k) || time.Since(w.start) < e.opt.minBaseline {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					errs.Add(1)
					continue
				}
				req.Header = hdr.Clone()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhook.MaxResponseBytes))
				_ = resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					ops.Add(1)
				} else {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	row.Baseline = w.end(fmt.Sprintf("raw net/http POST, %d-byte body + pre-signed headers, %d workers over %d receiver hosts", len(body), conc, nm),
		ops.Load(), errs.Load(), time.Time{}, time.Time{})

	// Component.
	brk, bc, topics, err := e.broker(stage)
	if err != nil {
		return []Row{row}, err
	}
	defer brk.Close()
	recs := make([]bus.Record, k)
	for i, o := range outcomes {
		v, err := pipeline.EncodeOutcome(o)
		if err != nil {
			return []Row{row}, err
		}
		recs[i] = bus.Record{Topic: topics.Outcomes(), Key: []byte(o.MerchantID), Value: v}
	}
	if err := produceAll(bc, recs); err != nil {
		return []Row{row}, err
	}
	reg := prometheus.NewRegistry()
	s, err := webhook.New(webhook.Config{Bus: bc, Topics: topics, Keys: keys, AllowPrivate: true, Logger: e.log}, e.rdb, reg, bus.NewConsumerMetrics(reg))
	if err != nil {
		return []Row{row}, err
	}
	base, baseBytes := rcv.reqs.Load(), rcv.bytes.Load()
	received := func() float64 { return float64(rcv.reqs.Load() - base) }
	w = e.begin(stage + "-component")
	rctx, cancel := context.WithCancel(context.Background())
	var rwg sync.WaitGroup
	rwg.Go(func() {
		if err := s.Run(rctx); err != nil {
			e.log.Error("webhook sink stopped", "err", err)
		}
	})
	from, to, done, timedOut := track(rctx, progress{started: consumerPolled(reg, pipeline.GroupWebhooks), count: received}, float64(k), e.opt.timeout)
	failed := sumMetric(reg, "paystream_webhook_attempts_total", func(l map[string]string) bool { return l["result"] != string(pipeline.WebhookDelivered) })
	row.Component = w.end(fmt.Sprintf("webhook.Sink.Run delivering %d outcomes of %d merchants (defaults: 4 per merchant, 256 in flight), from first poll to last request received", k, nm),
		int64(done), int64(failed), from, to)
	avg := 0.0
	if done > 0 {
		avg = float64(rcv.bytes.Load()-baseBytes) / done
	}
	row.Notes = fmt.Sprintf("concurrency %d both ways; sink's bodies averaged %.0f bytes vs baseline %d", conc, avg, len(body))
	if timedOut {
		row.Notes += fmt.Sprintf("; TIMED OUT after %s with %.0f of %d deliveries", e.opt.timeout, done, k)
	}
	cancel()
	rwg.Wait()
	s.Close()
	return []Row{row}, nil
}
