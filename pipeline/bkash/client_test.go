package bkash_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
	"github.com/paystream/paystream/pipeline/testenv"
)

type env struct {
	sim  *bkashsim.Sim
	rdb  *redis.Client
	keys pipeline.Keys
	cr   *bkash.Credentials
}

func newEnv(t *testing.T, cfg bkashsim.Config) *env {
	t.Helper()
	sim, err := bkashsim.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	rdb, keys := testenv.Redis(t)
	return &env{sim: sim, rdb: rdb, keys: keys, cr: sim.Credentials()}
}

// client is one replica: its own HTTP client and metrics, the shared Redis.
func (e *env) client(t *testing.T, mod func(*bkash.Config)) (*bkash.Client, *bkash.Metrics) {
	t.Helper()
	m := bkash.NewMetrics(prometheus.NewRegistry())
	cfg := bkash.Config{KeyPrefix: e.keys.Prefix, Timeout: 5 * time.Second, Metrics: m, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	return bkash.New(cfg, e.rdb), m
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func create(t *testing.T, e *env, c *bkash.Client, amount int64) *bkash.Payment {
	t.Helper()
	p, err := c.Create(ctx(t), e.cr, bkash.CreateRequest{
		Amount: pipeline.BDT(amount), PayerReference: "01770618575", CallbackURL: "http://merchant.example/cb",
		MerchantInvoiceNumber: fmt.Sprintf("inv-%d-%d", amount, time.Now().UnixNano()),
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return p
}

func approve(t *testing.T, e *env, id, wallet string) {
	t.Helper()
	if _, err := e.sim.Decide(id, "approve", wallet); err != nil {
		t.Fatal(err)
	}
}

func TestTokenizedCreateExecuteQuery(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	c, m := e.client(t, nil)
	p := create(t, e, c, 500)
	if !strings.HasPrefix(p.BkashURL, e.sim.BaseURL()[:len(e.sim.BaseURL())-len(bkashsim.BasePath)]) || p.TransactionStatus != bkash.StatusInitiated || p.Money != pipeline.BDT(500) || len(p.Raw) == 0 {
		t.Fatalf("create answer: %+v", p)
	}
	// Execute before the customer approved: invalid state.
	if _, err := c.Execute(ctx(t), e.cr, p.PaymentID); !errors.Is(err, bkash.ErrInvalidState) || !bkash.Ambiguous(err) {
		t.Fatalf("early execute: %v", err)
	}
	approve(t, e, p.PaymentID, "01711111111")
	x, err := c.Execute(ctx(t), e.cr, p.PaymentID)
	if err != nil || !x.Completed() || x.Invoice() != p.MerchantInvoiceNumber || x.Money != pipeline.BDT(500) || x.ExecutedAt.IsZero() || x.Payer() != "01711111111" {
		t.Fatalf("execute: %+v, %v", x, err)
	}
	if !strings.Contains(string(x.Raw), x.TrxID) {
		t.Fatalf("raw answer not kept: %s", x.Raw)
	}
	// A second execute is a duplicate: ask payment/status.
	_, err = c.Execute(ctx(t), e.cr, p.PaymentID)
	var se *bkash.StatusError
	if !errors.As(err, &se) || se.Code != "2117" || se.Outcome != bkash.OutcomeDuplicate || !bkash.Ambiguous(err) || len(se.Raw) == 0 {
		t.Fatalf("duplicate execute: %v", err)
	}
	q, err := c.Query(ctx(t), e.cr, p.PaymentID)
	if err != nil || !q.Completed() || q.TrxID != x.TrxID || q.Invoice() != p.MerchantInvoiceNumber {
		t.Fatalf("query: %+v, %v", q, err)
	}
	tx, err := c.SearchTransaction(ctx(t), e.cr, x.TrxID)
	if err != nil || tx.TrxID != x.TrxID || tx.Amount != "500" {
		t.Fatalf("search: %+v, %v", tx, err)
	}
	if got := counter(m.Grants()); got != 1 {
		t.Fatalf("grants metric = %v", got)
	}
	if e.sim.Grants() != 1 || e.sim.Refreshes() != 0 {
		t.Fatalf("sim grants %d refreshes %d", e.sim.Grants(), e.sim.Refreshes())
	}
}

func TestTokenizedErrorMapping(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	c, _ := e.client(t, nil)
	// Insufficient balance.
	p := create(t, e, c, 100)
	approve(t, e, p.PaymentID, bkashsim.DefaultInsufficientWallet)
	_, err := c.Execute(ctx(t), e.cr, p.PaymentID)
	if !errors.Is(err, bkash.ErrInsufficientBalance) || bkash.Ambiguous(err) {
		t.Fatalf("insufficient: %v", err)
	}
	// Failed and cancelled on the page: execute refuses (invalid state); status says why.
	for action, want := range map[string]string{"fail": bkash.StatusFailed, "cancel": bkash.StatusCancelled} {
		p := create(t, e, c, 100)
		if _, err := e.sim.Decide(p.PaymentID, action, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Execute(ctx(t), e.cr, p.PaymentID); !errors.Is(err, bkash.ErrInvalidState) {
			t.Fatalf("%s: execute %v", action, err)
		}
		q, err := c.Query(ctx(t), e.cr, p.PaymentID)
		if err != nil || q.TransactionStatus != want || q.Completed() {
			t.Fatalf("%s: query %+v %v", action, q, err)
		}
	}
	// Unknown payment.
	if _, err := c.Query(ctx(t), e.cr, "TR0011NOPE"); !errors.Is(err, bkash.ErrNotFound) {
		t.Fatalf("unknown payment: %v", err)
	}
	// Bad input is refused before any call.
	if _, err := c.Create(ctx(t), e.cr, bkash.CreateRequest{}); !errors.Is(err, bkash.ErrInvalidRequest) {
		t.Fatalf("empty create: %v", err)
	}
	// Every documented code maps as stated.
	for code, want := range map[string]bkash.Outcome{
		"0000": bkash.OutcomeOK, "": bkash.OutcomeOK, "2023": bkash.OutcomeInsufficientBalance, "2117": bkash.OutcomeDuplicate,
		"2029": bkash.OutcomeDuplicate, "2056": bkash.OutcomeInvalidState, "2062": bkash.OutcomeAlreadyCompleted,
		"2068": bkash.OutcomeAlreadyCompleted, "2069": bkash.OutcomeCancelled, "2002": bkash.OutcomeNotFound,
		"2001": bkash.OutcomeInvalidRequest, "2026": bkash.OutcomeRefundRefused, "2034": bkash.OutcomeRefundRefused,
		"2014": bkash.OutcomeFailed, "9999": bkash.OutcomeUnavailable, "503": bkash.OutcomeUnavailable, "4242": bkash.OutcomeFailed,
	} {
		if got := bkash.Classify(code); got != want {
			t.Errorf("Classify(%q) = %s, want %s", code, got, want)
		}
	}
	se := &bkash.StatusError{Code: "2062", Outcome: bkash.OutcomeAlreadyCompleted}
	if !errors.Is(se, bkash.ErrAlreadyCompleted) || !bkash.Ambiguous(se) {
		t.Fatal("StatusError does not unwrap to its sentinel")
	}
}

func TestTokenizedWrongCredentials(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	c, m := e.client(t, nil)
	for name, cr := range map[string]*bkash.Credentials{
		"password": {Environment: pipeline.Sandbox, BaseURL: e.cr.BaseURL, Username: e.cr.Username, AppKey: e.cr.AppKey, Password: bkash.NewSecret("nope"), AppSecret: e.cr.AppSecret},
		"app key":  {Environment: pipeline.Sandbox, BaseURL: e.cr.BaseURL, Username: e.cr.Username, AppKey: "nope", Password: e.cr.Password, AppSecret: e.cr.AppSecret},
	} {
		_, err := c.Query(ctx(t), cr, "TR0011X")
		if !errors.Is(err, bkash.ErrCredentials) {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(err.Error(), "nope") || strings.Contains(err.Error(), bkashsim.DefaultPassword) {
			t.Fatalf("%s: error shows a secret: %v", name, err)
		}
	}
	if got := counter(m.Grants()); got != 0 {
		t.Fatalf("grants = %v", got)
	}
	// Missing fields are refused without a call.
	if _, err := c.Query(ctx(t), &bkash.Credentials{BaseURL: e.cr.BaseURL}, "x"); !errors.Is(err, bkash.ErrCredentials) {
		t.Fatalf("empty credentials: %v", err)
	}
}

// Two replicas, many concurrent calls: exactly one grant.
func TestTokenizedOneGrantForManyCalls(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	c1, m1 := e.client(t, nil)
	c2, m2 := e.client(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		wg.Go(func() {
			_, err := c.Create(ctx(t), e.cr, bkash.CreateRequest{Amount: pipeline.BDT(10), CallbackURL: "http://m.example/cb", MerchantInvoiceNumber: fmt.Sprint("inv", i)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.sim.Grants() != 1 || e.sim.Creates() != 40 {
		t.Fatalf("sim grants %d creates %d; want 1 and 40", e.sim.Grants(), e.sim.Creates())
	}
	if g := counter(m1.Grants()) + counter(m2.Grants()); g != 1 {
		t.Fatalf("grant metrics sum %v", g)
	}
	// The cached token is under a hash-tagged key that holds no secret.
	keys, _ := e.rdb.Keys(ctx(t), e.keys.Prefix+":{bkash:*").Result()
	if len(keys) != 1 || keys[0] != bkash.TokenKey(e.keys.Prefix, e.cr.ID()) {
		t.Fatalf("token keys %v", keys)
	}
	v, _ := e.rdb.Get(ctx(t), keys[0]).Result()
	if strings.Contains(v, bkashsim.DefaultPassword) || strings.Contains(v, bkashsim.DefaultAppSecret) {
		t.Fatal("cached token holds a secret")
	}
}

// bKash expires the token mid-flow: one refresh, no second grant, the call succeeds.
func TestTokenizedRefreshOnExpiry(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	c1, m1 := e.client(t, nil)
	c2, _ := e.client(t, nil)
	p := create(t, e, c1, 700)
	approve(t, e, p.PaymentID, "")
	e.sim.ExpireTokens()
	var wg sync.WaitGroup
	for _, c := range []*bkash.Client{c1, c2, c1, c2} {
		wg.Go(func() {
			if _, err := c.Query(ctx(t), e.cr, p.PaymentID); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := c2.Execute(ctx(t), e.cr, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	if e.sim.Grants() != 1 || e.sim.Refreshes() != 1 {
		t.Fatalf("grants %d refreshes %d; want 1 and 1", e.sim.Grants(), e.sim.Refreshes())
	}
	if got := counter(m1.Refreshes()); got > 1 {
		t.Fatalf("refresh metric %v", got)
	}
}

// A token about to expire is refreshed before bKash refuses it.
func TestTokenizedProactiveRefresh(t *testing.T) {
	e := newEnv(t, bkashsim.Config{TokenLifetime: 4 * time.Minute}) // under RefreshBefore (5m)
	c, _ := e.client(t, nil)
	create(t, e, c, 10)
	create(t, e, c, 10)
	if e.sim.Grants() != 1 || e.sim.Refreshes() != 1 {
		t.Fatalf("grants %d refreshes %d; want 1 and 1", e.sim.Grants(), e.sim.Refreshes())
	}
}

// Execute times out on our side but completes at bKash: status shows it Completed.
func TestTokenizedExecuteTimeoutThenQuery(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	c, _ := e.client(t, func(cfg *bkash.Config) { cfg.Timeout = 300 * time.Millisecond })
	p := create(t, e, c, 250)
	approve(t, e, p.PaymentID, "")
	e.sim.SetExecuteDelay(3 * time.Second)
	_, err := c.Execute(ctx(t), e.cr, p.PaymentID)
	if !errors.Is(err, bkash.ErrTimeout) || !bkash.Ambiguous(err) {
		t.Fatalf("execute: %v", err)
	}
	e.sim.SetExecuteDelay(0)
	q, err := c.Query(ctx(t), e.cr, p.PaymentID)
	if err != nil || !q.Completed() || q.Money != pipeline.BDT(250) {
		t.Fatalf("query after timeout: %+v %v", q, err)
	}
}

func TestTokenizedRefund(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	c, _ := e.client(t, nil)
	p := create(t, e, c, 1000)
	approve(t, e, p.PaymentID, "")
	x, err := c.Execute(ctx(t), e.cr, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := c.Refund(ctx(t), e.cr, bkash.RefundRequest{PaymentID: p.PaymentID, TrxID: x.TrxID, Amount: pipeline.BDT(300), SKU: "sku", Reason: "partial"})
	if err != nil || r1.Money != pipeline.BDT(300) || r1.OriginalTrxID != x.TrxID || r1.RefundTrxID == "" || r1.CompletedAt.IsZero() || len(r1.Raw) == 0 {
		t.Fatalf("partial refund: %+v %v", r1, err)
	}
	if _, err := c.Refund(ctx(t), e.cr, bkash.RefundRequest{PaymentID: p.PaymentID, TrxID: x.TrxID, Amount: pipeline.BDT(701)}); !errors.Is(err, bkash.ErrRefundRefused) {
		t.Fatalf("over-refund: %v", err)
	}
	r2, err := c.Refund(ctx(t), e.cr, bkash.RefundRequest{PaymentID: p.PaymentID, TrxID: x.TrxID, Amount: pipeline.BDT(700)})
	if err != nil || r2.Money != pipeline.BDT(700) {
		t.Fatalf("rest refund: %+v %v", r2, err)
	}
	if _, err := c.Refund(ctx(t), e.cr, bkash.RefundRequest{PaymentID: p.PaymentID, TrxID: x.TrxID, Amount: pipeline.BDT(1)}); !errors.Is(err, bkash.ErrRefundRefused) {
		t.Fatalf("refund of a refunded payment: %v", err)
	}
	st, err := c.RefundStatus(ctx(t), e.cr, p.PaymentID, x.TrxID)
	if err != nil || st.RefundTrxID != r2.RefundTrxID {
		t.Fatalf("refund status: %+v %v", st, err)
	}
	// A refund of an unpaid payment is refused.
	q := create(t, e, c, 10)
	if _, err := c.Refund(ctx(t), e.cr, bkash.RefundRequest{PaymentID: q.PaymentID, TrxID: "NOPE", Amount: pipeline.BDT(10)}); !errors.Is(err, bkash.ErrRefundRefused) {
		t.Fatalf("refund of unpaid: %v", err)
	}
}

// Answers beyond the cap, garbage and 5xx are errors with the right sentinels.
func TestTokenizedTransportErrors(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	mode := "big"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token/grant") {
			e.sim.ServeHTTP(w, r)
			return
		}
		switch mode {
		case "big":
			_, _ = w.Write([]byte(`{"paymentID":"` + strings.Repeat("x", 2000) + `"}`))
		case "5xx":
			w.WriteHeader(http.StatusBadGateway)
		case "garbage":
			_, _ = w.Write([]byte(`<html>`))
		case "403":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"Forbidden"}`))
		}
	}))
	defer srv.Close()
	// The sim routes by path under BasePath, so the proxy keeps it.
	cr := *e.cr
	cr.BaseURL = srv.URL + bkashsim.BasePath
	c, _ := e.client(t, func(cfg *bkash.Config) { cfg.MaxResponseBytes = 1024 })
	for m, want := range map[string]error{"big": bkash.ErrResponseTooLarge, "5xx": bkash.ErrTransport, "garbage": bkash.ErrBadResponse, "403": bkash.ErrCredentials} {
		mode = m
		if _, err := c.Query(ctx(t), &cr, "TR1"); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", m, err, want)
		}
	}
}

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	cr := bkash.Credentials{BaseURL: "https://tokenized.sandbox.bka.sh/v1.2.0-beta", Username: "u", AppKey: "appkey123456",
		Password: bkash.NewSecret("hunter2"), AppSecret: bkash.NewSecret("s3cr3t")}
	var b strings.Builder
	l := slog.New(slog.NewJSONHandler(&b, nil))
	l.Info("x", "cr", cr, "pw", cr.Password)
	for _, s := range []string{fmt.Sprint(cr), fmt.Sprintf("%+v", cr), fmt.Sprintf("%#v", cr), fmt.Sprintf("%v", &cr), b.String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "s3cr3t") || strings.Contains(s, "appkey123456") {
			t.Fatalf("secret printed: %s", s)
		}
	}
	t.Setenv("PS_TEST_BKASH_PW", "from-env")
	if s, err := bkash.ResolveSecret("env:PS_TEST_BKASH_PW"); err != nil || s.Reveal() != "from-env" {
		t.Fatalf("env ref: %v %v", s, err)
	}
	f := t.TempDir() + "/secret"
	if err := writeFile(f, "from-file\n"); err != nil {
		t.Fatal(err)
	}
	if s, err := bkash.ResolveSecret("file:" + f); err != nil || s.Reveal() != "from-file" {
		t.Fatalf("file ref: %v %v", s, err)
	}
	for _, bad := range []string{"hunter2", "env:PS_TEST_UNSET_VAR", "file:/nonexistent/x", "vault:x"} {
		_, err := bkash.ResolveSecret(bad)
		if !errors.Is(err, bkash.ErrBadSecretRef) || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
