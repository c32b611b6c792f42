package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paystream/paystream/pipeline/testenv"
)

// TestE2ECheckoutBrowser opens the hosted checkout of a running `paystream dev` in a real headless
// browser (Debian's chromium, driven through the DevTools protocol by chromedp) the way a customer
// would: it reads the amount and the wallet, switches to Bangla, submits a TrxID through the form,
// and then the payment with that TrxID arrives (the sandbox simulator, as a forwarded SMS would).
// The merchant has two open intents of the same amount on its one wallet, so only the claim can
// tell which one the payment pays (SPEC rule 3; without it rule 4 makes both REVIEW_REQUIRED). The
// page must follow the intent to PAID and send the customer to the merchant's successUrl.
//
// Screenshots of every step are written to t.TempDir() and copied to $TMPDIR/paystream-checkout/
// (kept after the test; overwritten by the next run); their paths are logged.
func TestE2ECheckoutBrowser(t *testing.T) {
	browser := testenv.Tool(t, "chromium") // Debian's chromium; deploy/local/test.sh installs it
	in := startDev(t)
	rcv := newReceiver(t)
	mc := onboard(t, in, rcv, wallet())

	// The merchant's shop: where the customer lands after paying.
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta name="viewport" content="width=device-width"><title>Shop</title></head>`+
			`<body><h1 id="thanks">Thank you, your order %s is paid</h1></body></html>`, r.URL.Query().Get("order"))
	}))
	t.Cleanup(shop.Close)

	ref := "ORDER-" + randDigits(5)
	body := func(ref string) string {
		return fmt.Sprintf(`{"amount":750,"currency":"BDT","customerReference":%q,"successUrl":%q,"cancelUrl":%q}`,
			ref, shop.URL+"/success?order="+ref, shop.URL+"/cart")
	}
	a := createIntent(t, in, mc.testKey, body(ref))
	b := createIntent(t, in, mc.testKey, body(ref+"-B")) // same amount, same wallet
	id, walletNo := a["id"].(string), a["receiverMsisdn"].(string)
	if b["receiverMsisdn"] != walletNo {
		t.Fatalf("the two intents are on different wallets: %v, %v", walletNo, b["receiverMsisdn"])
	}
	page := in.base + "/v1/checkout/" + id
	trx := "CK" + strings.ToUpper(randHex(4)) // 10 letters and digits, like a bKash TrxID

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(412, 915), // a common Android phone
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		t.Fatalf("starting chromium: %v", err)
	}
	console := watchConsole(ctx)
	step, cancelStep := context.WithTimeout(ctx, 50*time.Second) // the whole browser part
	defer cancelStep()
	shots := &screenshots{t: t, dir: t.TempDir(), keep: filepath.Join(os.TempDir(), "paystream-checkout")}

	// 1. The page: amount, wallet, steps, a running countdown, the copy button (JavaScript ran).
	must(t, "loading the page", chromedp.Do(step,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("claim-form")),
		chromedp.WaitVisible(chromedp.CSS("button.copy")),
	))
	amount := text(t, step, "amount")
	if amount != "৳750" {
		t.Fatalf("amount shown %q, want ৳750", amount)
	}
	if got := text(t, step, "wallet"); got != walletNo {
		t.Fatalf("wallet shown %q, want %s", got, walletNo)
	}
	if steps := text(t, step, "steps"); !strings.Contains(steps, "Send Money") || !strings.Contains(steps, walletNo) {
		t.Fatalf("steps %q", steps)
	}
	if cd := text(t, step, "countdown"); !regexp.MustCompile(`^0[45]:[0-5][0-9]$`).MatchString(cd) {
		t.Fatalf("countdown %q", cd)
	}
	shots.take(step, "1-checkout-en")

	// 2. The same page in Bangla.
	must(t, "switching to Bangla", chromedp.Do(step, chromedp.Click(chromedp.ID("lang")), chromedp.WaitVisible(chromedp.CSS(`html[lang="bn"] #claim-form`))))
	if got := text(t, step, "amount"); got != "৳৭৫০" {
		t.Fatalf("Bangla amount %q, want ৳৭৫০", got)
	}
	if steps := text(t, step, "steps"); !strings.Contains(steps, "সেন্ড মানি") || !strings.Contains(steps, walletNo) {
		t.Fatalf("Bangla steps %q", steps)
	}
	shots.take(step, "2-checkout-bn")

	// 3. A wrong TrxID gets a clear message; then the right one is accepted.
	must(t, "back to English", chromedp.Do(step, chromedp.Navigate(page+"?lang=en"), chromedp.WaitVisible(chromedp.ID("claim-form"))))
	must(t, "submitting a malformed TrxID", chromedp.Do(step,
		chromedp.SendKeys(chromedp.ID("trxId"), "12AB"),
		chromedp.Click(chromedp.ID("claim-submit")),
		chromedp.WaitVisible(chromedp.ID("claim-error")),
	))
	if msg := text(t, step, "claim-error"); !strings.Contains(msg, "does not look right") || !strings.Contains(msg, "bKash TrxID") {
		t.Fatalf("error message %q", msg)
	}
	shots.take(step, "3-claim-refused")
	must(t, "submitting the claim", chromedp.Do(step,
		chromedp.Clear(chromedp.ID("trxId")),
		chromedp.SendKeys(chromedp.ID("trxId"), strings.ToLower(trx)),
		chromedp.SendKeys(chromedp.ID("senderMsisdn"), "01711111111"),
		chromedp.Click(chromedp.ID("claim-submit")),
		chromedp.WaitVisible(chromedp.ID("claim-sent")),
	))
	if loc, _ := chromedp.Run(step, chromedp.Location()); !strings.Contains(loc, "/v1/checkout/"+id+"?") || !strings.Contains(loc, "sent=1") {
		t.Fatalf("after the claim the browser is at %s", loc)
	}
	shots.take(step, "4-claim-sent")

	// 4. The payment arrives (claim first): the page follows the intent to PAID and leaves for the
	// merchant's successUrl by itself.
	simulate(t, in, mc.testKey, id, 750, trx)
	success := shop.URL + "/success?order=" + ref
	deadline := time.Now().Add(25 * time.Second)
	var loc string
	for {
		loc, _ = chromedp.Run(step, chromedp.Location())
		if loc == success || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if loc != success {
		shots.take(step, "5-not-paid")
		_, ia := getIntent(t, in, mc.testKey, id)
		_, ib := getIntent(t, in, mc.testKey, b["id"].(string))
		t.Fatalf("the page did not go to %s (it is at %s). Intent A (claimed): %v %v; intent B: %v %v. "+
			"REVIEW_REQUIRED/ambiguous on both means the matcher did not complete the claim (rule 3).",
			success, loc, ia["status"], ia["reason"], ib["status"], ib["reason"])
	}
	must(t, "showing the shop", chromedp.Do(step, chromedp.WaitVisible(chromedp.ID("thanks"))))
	shots.take(step, "5-paid-success-url")

	paid := waitStatus(t, in, mc.testKey, id, "PAID", 5*time.Second)
	if paid["trxId"] != trx {
		t.Errorf("intent A paid by %v, want %s", paid["trxId"], trx)
	}
	if _, ib := getIntent(t, in, mc.testKey, b["id"].(string)); ib["status"] != "PENDING" {
		t.Errorf("intent B (not claimed) is %v, want PENDING", ib["status"])
	}
	// Once paid, the checkout link itself sends the customer to the shop too.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != success {
		t.Errorf("paid checkout: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, m := range console.all() {
		if strings.Contains(m, "Content Security Policy") || strings.Contains(m, "Uncaught") {
			t.Errorf("browser console: %s", m)
		}
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the element with this id.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("reading #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// screenshots writes full-page PNGs to dir and copies them to keep, logging both paths.
type screenshots struct {
	t         *testing.T
	dir, keep string
}

func (s *screenshots) take(ctx context.Context, name string) {
	s.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(s.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	kept := filepath.Join(s.keep, name+".png")
	if err := os.MkdirAll(s.keep, 0o755); err == nil {
		if err := os.WriteFile(kept, png, 0o644); err != nil {
			kept = "(not kept: " + err.Error() + ")"
		}
	}
	s.t.Logf("screenshot %s: %s (kept at %s)", name, path, kept)
}

// consoleLog collects what the page writes to the console (CSP violations, exceptions).
type consoleLog struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleLog) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, fmt.Sprint(m))
			c.mu.Unlock()
		}
	}()
	return c
}
