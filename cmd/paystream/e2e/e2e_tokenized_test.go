package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
	"github.com/paystream/paystream/pipeline/testenv"
)

// The bKash tokenized checkout end-to-end tests run the binary against the simulator started here
// (so the test can inject execute timeouts and token expiry and read its counters), with the
// aggregator's credentials given as references to environment variables.

type tokEnv struct {
	in   *instance
	sim  *bkashsim.Sim
	rcv  *receiver
	mc   merchant
	shop string
	// testGrants counts tokens the test itself took from the simulator.
	testGrants int64
}

func startTokenized(t *testing.T) *tokEnv {
	t.Helper()
	sim, err := bkashsim.Start("127.0.0.1:0", bkashsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	addr := freePort(t)
	in := startDev(t,
		"PAYSTREAM_HTTP_ADDR="+addr, "PAYSTREAM_PUBLIC_URL=http://"+addr,
		"PAYSTREAM_BKASH_SANDBOX_BASE_URL="+sim.BaseURL(), "PAYSTREAM_BKASH_SANDBOX_USERNAME="+bkashsim.DefaultUsername,
		"PAYSTREAM_BKASH_SANDBOX_APP_KEY="+bkashsim.DefaultAppKey,
		"E2E_BKASH_PW="+bkashsim.DefaultPassword, "E2E_BKASH_SECRET="+bkashsim.DefaultAppSecret,
		"PAYSTREAM_BKASH_SANDBOX_PASSWORD_REF=env:E2E_BKASH_PW", "PAYSTREAM_BKASH_SANDBOX_APP_SECRET_REF=env:E2E_BKASH_SECRET",
		"PAYSTREAM_BKASH_TIMEOUT=1s", "PAYSTREAM_BKASH_QUERY_DELAY=300ms",
	)
	in.base = "http://" + addr
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body><h1 id="result">%s %s</h1></body></html>`, r.URL.Path, r.URL.Query().Get("order"))
	}))
	t.Cleanup(shop.Close)
	rcv := newReceiver(t)
	return &tokEnv{in: in, sim: sim, rcv: rcv, mc: onboard(t, in, rcv, wallet()), shop: shop.URL}
}

// intent creates a bkash_tokenized intent and returns its id and bKash paymentID.
func (e *tokEnv) intent(t *testing.T, amount int) (string, string, map[string]any) {
	t.Helper()
	ref := "ORD-" + randDigits(6)
	m := createIntent(t, e.in, e.mc.testKey, fmt.Sprintf(
		`{"amount":%d,"currency":"BDT","customerReference":%q,"paymentMethod":"bkash_tokenized","successUrl":%q,"failedUrl":%q,"cancelUrl":%q}`,
		amount, ref, e.shop+"/success?order="+ref, e.shop+"/failed?order="+ref, e.shop+"/cancel?order="+ref))
	co, _ := m["checkoutUrl"].(string)
	u, err := url.Parse(co)
	if err != nil || !strings.HasPrefix(co, strings.TrimSuffix(e.sim.BaseURL(), bkashsim.BasePath)+"/pay?") || m["paymentMethod"] != "bkash_tokenized" || m["status"] != "PENDING" {
		t.Fatalf("tokenized intent: %v", m)
	}
	return m["id"].(string), u.Query().Get("paymentId"), m
}

// follow GETs u without following redirects and returns the status and Location.
func follow(t *testing.T, u string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// customer does what the customer does on bKash's page and returns where bKash sends them back.
func (e *tokEnv) customer(t *testing.T, paymentID, action, wallet string) string {
	t.Helper()
	cb, err := e.sim.Decide(paymentID, action, wallet)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

func (e *tokEnv) redirectsTo(t *testing.T, cb, wantPrefix string) {
	t.Helper()
	code, loc := follow(t, cb)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, e.shop+wantPrefix) {
		t.Fatalf("callback %s: %d -> %q, want 303 -> %s%s", cb, code, loc, e.shop, wantPrefix)
	}
}

// failed waits until intent id is FAILED with reason and checks the payment.failed webhook and
// the audit row.
func (e *tokEnv) failed(t *testing.T, id, reason string) {
	t.Helper()
	m := waitStatus(t, e.in, e.mc.testKey, id, "FAILED", 15*time.Second)
	if m["reason"] != reason {
		t.Fatalf("failed intent %v, want reason %s", m, reason)
	}
	h := e.rcv.waitHooks(t, 1, 15*time.Second, forIntent(id))
	d, _ := h[0].event["data"].(map[string]any)
	if len(h) != 1 || h[0].event["event"] != "payment.failed" || d["status"] != "FAILED" || d["reason"] != reason ||
		h[0].header.Get("X-Signature") == "" {
		t.Fatalf("webhook %s", h[0].body)
	}
	waitCount(t, e.in.dsn, 1, 30*time.Second,
		"SELECT count() FROM intent_status_changes FINAL WHERE intent_id = ? AND status = 'FAILED' AND previous_status = 'PENDING' AND reason = ?", id, reason)
}

// executeBehindPaystream executes a payment at bKash with a client of the test's own (its own
// token: one more grant), as if paystream's execute answer had been lost.
func (e *tokEnv) executeBehindPaystream(t *testing.T, paymentID string) {
	t.Helper()
	redisAddr := testenv.RedisAddr(t)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	prefix := "e2etok" + randHex(4)
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: redisAddr})
		defer c.Close()
		ctx := context.Background()
		for it := c.Scan(ctx, 0, prefix+":*", 100).Iterator(); it.Next(ctx); {
			c.Del(ctx, it.Val())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := bkash.New(bkash.Config{KeyPrefix: prefix, Timeout: 5 * time.Second}, rdb)
	if _, err := c.Execute(ctx, e.sim.Credentials(), paymentID); err != nil {
		t.Fatalf("executing behind paystream: %v", err)
	}
	e.testGrants++
}

// sentinel pays a fresh intent on the merchant's one SANDBOX wallet (the wallet of every intent
// here) through the sandbox simulator and waits until the matcher made it PAID. The inbound topic is
// keyed by wallet and the matcher decides a partition in order, so every event produced for the
// wallet before the sentinel (e.g. by a callback that has answered) has been decided by then.
func (e *tokEnv) sentinel(t *testing.T) {
	t.Helper()
	ref := "SENTINEL-" + randDigits(6)
	m := createIntent(t, e.in, e.mc.testKey, fmt.Sprintf(`{"amount":901,"currency":"BDT","customerReference":%q}`, ref))
	id := m["id"].(string)
	simulate(t, e.in, e.mc.testKey, id, 901, "SNT"+randDigits(7))
	waitStatus(t, e.in, e.mc.testKey, id, "PAID", 15*time.Second)
}

// stillPending checks, after a sentinel on the same wallet, that intent id is still PENDING.
func (e *tokEnv) stillPending(t *testing.T, id string) {
	t.Helper()
	e.sentinel(t)
	if code, m := getIntent(t, e.in, e.mc.testKey, id); code != 200 || m["status"] != "PENDING" {
		t.Fatalf("intent %s: %d %v, want PENDING", id, code, m)
	}
}

func TestE2ETokenized(t *testing.T) {
	e := startTokenized(t)
	in := e.in
	var paidID string

	t.Run("success", func(t *testing.T) {
		id, pid, _ := e.intent(t, 500)
		e.redirectsTo(t, e.customer(t, pid, "approve", "01711111111"), "/success")
		m := waitStatus(t, in, e.mc.testKey, id, "PAID", 15*time.Second)
		p, _ := e.sim.Payment(pid)
		if m["trxId"] != p.TrxID || m["matchType"] != "REFERENCE_MATCH" {
			t.Fatalf("paid intent %v, bKash trx %s", m, p.TrxID)
		}
		h := e.rcv.waitHooks(t, 1, 15*time.Second, forIntent(id))
		if h[0].event["event"] != "payment.paid" {
			t.Fatalf("webhook %s", h[0].body)
		}
		// A reload of the callback pays nothing twice and still lands on the success URL.
		e.redirectsTo(t, p.CallbackURL+"?paymentID="+pid+"&status=success", "/success")
		paidID = id
	})

	// bKash confirms the failure (payment/status Failed, Cancelled; execute 2023): the intent is
	// FAILED with the reason, the merchant gets payment.failed, the audit has the change and
	// bKash's raw answer.
	t.Run("failure", func(t *testing.T) {
		id, pid, _ := e.intent(t, 510)
		e.redirectsTo(t, e.customer(t, pid, "fail", ""), "/failed")
		e.failed(t, id, "bkash_failed")
		// A reload of the callback is harmless: same event, no second change.
		e.redirectsTo(t, in.base+"/v1/bkash/callback/"+id+"?paymentID="+pid+"&status=failure", "/failed")
	})

	t.Run("cancel", func(t *testing.T) {
		id, pid, _ := e.intent(t, 520)
		e.redirectsTo(t, e.customer(t, pid, "cancel", ""), "/cancel")
		e.failed(t, id, "bkash_cancelled")
	})

	t.Run("insufficient balance", func(t *testing.T) {
		id, pid, _ := e.intent(t, 530)
		e.redirectsTo(t, e.customer(t, pid, "approve", bkashsim.DefaultInsufficientWallet), "/failed")
		e.failed(t, id, "bkash_insufficient_balance:2023")
		waitCount(t, in.dsn, 1, 30*time.Second, "SELECT count() FROM inbound_events FINAL WHERE intent_id = ? AND kind = 'payment.failed' "+
			"AND source = 'bkash_tokenized' AND position(raw, '\"statusCode\":\"2023\"') > 0", id)
		// A success callback afterwards never executes the failed payment again.
		executes := e.sim.Executes()
		e.redirectsTo(t, in.base+"/v1/bkash/callback/"+id+"?paymentID="+pid+"&status=success", "/failed")
		if e.sim.Executes() != executes {
			t.Fatal("a payment bKash failed was executed again")
		}
	})

	t.Run("execute timeout then query", func(t *testing.T) {
		id, pid, _ := e.intent(t, 540)
		cb := e.customer(t, pid, "approve", "")
		queries := e.sim.Queries()
		e.sim.SetExecuteDelay(5 * time.Second) // longer than PAYSTREAM_BKASH_TIMEOUT
		e.redirectsTo(t, cb, "/success")
		e.sim.SetExecuteDelay(0)
		if e.sim.Queries() <= queries {
			t.Fatal("the execute timeout was not followed by payment/status")
		}
		waitStatus(t, in, e.mc.testKey, id, "PAID", 15*time.Second)
	})

	t.Run("token expiry mid-flow", func(t *testing.T) {
		id, pid, _ := e.intent(t, 550)
		grants, refreshes := e.sim.Grants(), e.sim.Refreshes()
		e.sim.ExpireTokens()
		e.redirectsTo(t, e.customer(t, pid, "approve", ""), "/success")
		waitStatus(t, in, e.mc.testKey, id, "PAID", 15*time.Second)
		if e.sim.Grants() != grants || e.sim.Refreshes() != refreshes+1 {
			t.Fatalf("grants %d->%d, refreshes %d->%d; want no grant and one refresh", grants, e.sim.Grants(), refreshes, e.sim.Refreshes())
		}
		if g, r := scrape(t, in.metrics, "paystream_bkash_token_grants_total"), scrape(t, in.metrics, "paystream_bkash_token_refreshes_total"); g != 1 || r != 1 {
			t.Fatalf("metrics: grants %v refreshes %v; want 1 and 1", g, r)
		}
	})

	t.Run("forged callback pays nothing", func(t *testing.T) {
		id, pid, _ := e.intent(t, 560)
		e.redirectsTo(t, in.base+"/v1/bkash/callback/"+id+"?paymentID="+pid+"&status=success", "/failed")
		e.stillPending(t, id)
		if p, _ := e.sim.Payment(pid); p.State != "Initiated" || p.TrxID != "" {
			t.Fatalf("forged callback changed the bKash payment: %+v", p)
		}
		// Another intent's paymentID, or garbage: 404/400 in the native error shape.
		code, m, _ := call(t, "GET", in.base+"/v1/bkash/callback/"+id+"?paymentID=TR0011OTHER&status=success", nil, "")
		if code != http.StatusNotFound || m["statusCode"] != float64(404) {
			t.Fatalf("foreign paymentID: %d %v", code, m)
		}
		code, m, _ = call(t, "GET", in.base+"/v1/bkash/callback/"+id+"?paymentID="+pid+"&status=maybe", nil, "")
		if code != http.StatusBadRequest || m["error"] != "Bad Request" {
			t.Fatalf("bad status: %d %v", code, m)
		}
	})

	// A forged failure or cancel fails nothing bKash did not fail: while bKash still says
	// Initiated the intent stays PENDING and payable through the same bkashURL; for a payment bKash
	// reports Completed it is a success.
	t.Run("forged failure while bKash says Initiated", func(t *testing.T) {
		id, pid, _ := e.intent(t, 570)
		e.redirectsTo(t, in.base+"/v1/bkash/callback/"+id+"?paymentID="+pid+"&status=failure", "/failed")
		e.redirectsTo(t, in.base+"/v1/bkash/callback/"+id+"?paymentID="+pid+"&status=cancel", "/cancel")
		e.stillPending(t, id)
		e.redirectsTo(t, e.customer(t, pid, "approve", "01733333333"), "/success")
		waitStatus(t, in, e.mc.testKey, id, "PAID", 15*time.Second)
	})

	t.Run("forged failure for a payment bKash completed", func(t *testing.T) {
		id, pid, _ := e.intent(t, 580)
		if _, err := e.sim.Decide(pid, "approve", "01744444444"); err != nil {
			t.Fatal(err)
		}
		e.executeBehindPaystream(t, pid) // as if paystream's execute answer had been lost
		e.redirectsTo(t, in.base+"/v1/bkash/callback/"+id+"?paymentID="+pid+"&status=failure", "/success")
		m := waitStatus(t, in, e.mc.testKey, id, "PAID", 15*time.Second)
		if p, _ := e.sim.Payment(pid); m["trxId"] != p.TrxID {
			t.Fatalf("paid %v, bKash trx %s", m, p.TrxID)
		}
		// And once PAID, a forged failure changes nothing: the customer is sent to the success URL.
		e.redirectsTo(t, in.base+"/v1/bkash/callback/"+id+"?paymentID="+pid+"&status=cancel", "/success")
		e.sentinel(t) // anything the forged cancel produced is decided before the sentinel
		if _, m := getIntent(t, in, e.mc.testKey, id); m["status"] != "PAID" {
			t.Fatalf("paid intent after a forged cancel: %v", m)
		}
		for _, h := range e.rcv.waitHooks(t, 1, 15*time.Second, forIntent(id)) {
			if h.event["event"] != "payment.paid" {
				t.Fatalf("webhook %s for a paid intent", h.body)
			}
		}
	})

	t.Run("refund", func(t *testing.T) {
		if paidID == "" {
			t.Skip("success did not run")
		}
		adm := map[string]string{"Authorization": "Bearer " + in.admin}
		refund := in.base + "/admin/v1/intents/" + paidID + "/refund"
		if code, m, _ := call(t, "POST", refund, adm, `{"amount":"-5"}`); code != http.StatusBadRequest {
			t.Fatalf("negative refund: %d %v", code, m)
		}
		if code, m, _ := call(t, "POST", refund, adm, `{"amount":"501"}`); code != http.StatusUnprocessableEntity {
			t.Fatalf("over-refund: %d %v", code, m)
		}
		if code, _, _ := call(t, "POST", refund, nil, `{}`); code != http.StatusUnauthorized {
			t.Fatalf("refund without admin token: %d", code)
		}
		code, m, _ := call(t, "POST", refund, adm, `{"amount":"200","reason":"damaged item"}`)
		if code != http.StatusOK || m["amount"] != "200" || m["remaining"] != "300" || m["refundTrxId"] == "" {
			t.Fatalf("partial refund: %d %v", code, m)
		}
		code, m, _ = call(t, "POST", refund, adm, ``)
		if code != http.StatusOK || m["amount"] != "300" || m["refundedTotal"] != "500" || m["remaining"] != "0" {
			t.Fatalf("rest refund: %d %v", code, m)
		}
		if code, _, _ := call(t, "POST", refund, adm, `{}`); code != http.StatusConflict {
			t.Fatalf("refund of a refunded payment: %d", code)
		}
		if p, _ := e.sim.Payment(e.paymentOf(t, paidID)); p.Refunded != 50000 {
			t.Fatalf("bKash refunded %v", p.Refunded)
		}
		hooks := e.rcv.waitHooks(t, 2, 15*time.Second, func(h hook) bool {
			d, _ := h.event["data"].(map[string]any)
			return h.event["event"] == "payment.refunded" && d["payment_intent_id"] == paidID
		})
		seen := map[any]bool{}
		for _, h := range hooks {
			d := h.event["data"].(map[string]any)
			seen[d["amount"]] = true
			if h.header.Get("webhook-id") == "" || h.header.Get("X-Signature") == "" {
				t.Fatalf("unsigned refund webhook: %v", h.header)
			}
		}
		if !seen["200"] || !seen["300"] {
			t.Fatalf("refund webhooks %v", seen)
		}
	})

	// The simulator is the SANDBOX upstream only: a LIVE tokenized intent has no upstream and is
	// refused in the native error shape, without calling the simulator.
	t.Run("LIVE has no upstream", func(t *testing.T) {
		creates := e.sim.Creates()
		code, mc, _ := call(t, "POST", in.base+"/admin/v1/merchants", map[string]string{"Authorization": "Bearer " + in.admin},
			fmt.Sprintf(`{"name":"Live Shop","wallets":[{"provider":"bkash","account":%q,"environment":"LIVE"}]}`, wallet()))
		if code != http.StatusCreated {
			t.Fatalf("onboarding: %d %v", code, mc)
		}
		liveKey := mc["apiKeys"].(map[string]any)["LIVE"].(string)
		code, m, _ := call(t, "POST", in.base+"/v1/payments/intents", map[string]string{"X-Api-Key": liveKey},
			`{"amount":500,"currency":"BDT","customerReference":"ORD-LIVE","paymentMethod":"bkash_tokenized"}`)
		if code != http.StatusUnprocessableEntity || m["statusCode"] != float64(422) || !strings.Contains(fmt.Sprint(m["message"]), "no bKash upstream") {
			t.Fatalf("LIVE tokenized create: %d %v, want 422", code, m)
		}
		if e.sim.Creates() != creates {
			t.Fatal("a LIVE intent reached the SANDBOX simulator")
		}
	})

	if e.sim.Grants() != 1+e.testGrants {
		t.Fatalf("bKash granted %d tokens for the whole run; want 1 (+%d by the test itself)", e.sim.Grants(), e.testGrants)
	}
}

// paymentOf finds the bKash paymentID of an intent through the merchant API's checkoutUrl.
func (e *tokEnv) paymentOf(t *testing.T, id string) string {
	t.Helper()
	_, m := getIntent(t, e.in, e.mc.testKey, id)
	u, _ := url.Parse(fmt.Sprint(m["checkoutUrl"]))
	return u.Query().Get("paymentId")
}

// TestE2ETokenizedBrowser walks a customer through the simulator's page in headless chromium:
// bKash page, Confirm, paystream's callback, the merchant's success page.
func TestE2ETokenizedBrowser(t *testing.T) {
	browser := testenv.Tool(t, "chromium") // Debian's chromium; deploy/local/test.sh installs it
	e := startTokenized(t)
	id, _, m := e.intent(t, 800)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(412, 915),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	must(t, "opening the bKash page", chromedp.Do(step,
		chromedp.Navigate(m["checkoutUrl"].(string)),
		chromedp.WaitVisible(chromedp.ID("approve")),
	))
	if amount := text(t, step, "amount"); amount != "800" {
		t.Fatalf("page shows amount %q", amount)
	}
	must(t, "confirming", chromedp.Do(step,
		chromedp.SetValue(chromedp.ID("wallet"), "01811111111"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("result")),
	))
	result := text(t, step, "result")
	location, _ := chromedp.Run(step, chromedp.Location())
	if !strings.HasPrefix(location, e.shop+"/success") || !strings.HasPrefix(result, "/success ORD-") {
		t.Fatalf("customer landed on %q showing %q", location, result)
	}
	paid := waitStatus(t, e.in, e.mc.testKey, id, "PAID", 15*time.Second)
	if paid["trxId"] == "" {
		t.Fatalf("paid without trxId: %v", paid)
	}
	if os.Getenv("PAYSTREAM_E2E_VERBOSE") != "" {
		t.Logf("browser walk: %s -> %s", m["checkoutUrl"], location)
	}
}
