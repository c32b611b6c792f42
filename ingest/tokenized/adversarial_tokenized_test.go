package tokenized

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
)

// Issue 13 finding 4: one server-wide bKash upstream served SANDBOX and LIVE tokenized intents,
// so a sandbox approval paid a LIVE intent and a production upstream would charge SANDBOX intents.
// These tests run every tokenized path (create, callback success / failure / cancel, payment/status,
// refund) for each environment and each kind of upstream (merchant A's own account, merchant B's
// own account, the server's default, none) against one recording upstream per (environment,
// owner), and check that every call of an intent reached exactly the upstream of its environment
// and merchant, with that upstream's credentials, and nowhere else.

// recUpstream is one bKash upstream: a simulator with its own credentials behind a recorder of
// every call. A LIVE one is served over TLS and, unless simulator is set, without the simulator's
// marker (it stands for bKash production).
type recUpstream struct {
	name  string
	env   pipeline.Environment
	sim   *bkashsim.Sim
	srv   *httptest.Server
	cfg   bkashsim.Config
	mu    sync.Mutex
	calls []upCall
}

type upCall struct {
	op, appKey, user, paymentID, invoice string
}

// noSimMarker hides bkash.SimulatorHeader, so the simulator behind it passes for production.
type noSimMarker struct{ http.ResponseWriter }

func (w noSimMarker) WriteHeader(code int) {
	w.Header().Del(bkash.SimulatorHeader)
	w.ResponseWriter.WriteHeader(code)
}

func (w noSimMarker) Write(b []byte) (int, error) {
	w.Header().Del(bkash.SimulatorHeader)
	return w.ResponseWriter.Write(b)
}

func newRecUpstream(t *testing.T, name string, env pipeline.Environment, simulator bool) *recUpstream {
	t.Helper()
	u := &recUpstream{name: name, env: env}
	u.srv = httptest.NewUnstartedServer(nil)
	scheme := "http"
	if env == pipeline.Live {
		scheme = "https"
	}
	u.cfg = bkashsim.Config{
		Username: "user-" + name, Password: "pw-" + name + "-" + randHex(6), AppKey: "appkey-" + name + "-" + randHex(4),
		AppSecret: "secret-" + name + "-" + randHex(6), PublicURL: scheme + "://" + u.srv.Listener.Addr().String(),
	}
	u.sim = bkashsim.New(u.cfg)
	api := bkashsim.BasePath + "/tokenized/checkout/"
	u.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		r.Body = io.NopCloser(bytes.NewReader(body))
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		s := func(k string) string { v, _ := m[k].(string); return v }
		u.mu.Lock()
		u.calls = append(u.calls, upCall{
			op: strings.TrimPrefix(r.URL.Path, api), appKey: r.Header.Get("X-App-Key"), user: r.Header.Get("Username"),
			paymentID: s("paymentID"), invoice: s("merchantInvoiceNumber"),
		})
		u.mu.Unlock()
		if env == pipeline.Live && !simulator {
			w = noSimMarker{w}
		}
		u.sim.ServeHTTP(w, r)
	})
	if scheme == "https" {
		u.srv.StartTLS()
	} else {
		u.srv.Start()
	}
	t.Cleanup(u.srv.Close)
	return u
}

func (u *recUpstream) baseURL() string { return u.cfg.PublicURL + bkashsim.BasePath }

func (u *recUpstream) credentials() *bkash.Credentials {
	return &bkash.Credentials{
		Environment: u.env, BaseURL: u.baseURL(), Username: u.cfg.Username, AppKey: u.cfg.AppKey,
		Password: bkash.NewSecret(u.cfg.Password), AppSecret: bkash.NewSecret(u.cfg.AppSecret),
	}
}

func (u *recUpstream) snapshot() []upCall {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]upCall(nil), u.calls...)
}

// ops counts the calls about intent id (create: by invoice) or paymentID pid, by operation.
func (u *recUpstream) ops(id, pid string) map[string]int {
	out := map[string]int{}
	for _, c := range u.snapshot() {
		if (c.invoice != "" && c.invoice == id) || (c.paymentID != "" && c.paymentID == pid) {
			out[c.op]++
		}
	}
	return out
}

type advMerchant struct {
	id   string
	keys map[pipeline.Environment]string
}

type advTok struct {
	*fixture
	ups []*recUpstream
	// owner of each intent, and the upstream each intent must use
	want map[string]*recUpstream
	pids map[string]string // paymentID -> intent id
}

func newAdvTok(t *testing.T) *advTok {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	// The httptest TLS servers share one certificate: a client of one trusts them all.
	tlsClient := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsClient.Close)
	hc := tlsClient.Client()
	hc.Timeout = 10 * time.Second
	f.configure(Config{
		Client:   bkash.New(bkash.Config{KeyPrefix: f.Keys.Prefix, Timeout: 2 * time.Second, HTTPClient: hc}, f.RDB),
		Defaults: map[pipeline.Environment]*bkash.Credentials{}, QueryDelay: 10 * time.Millisecond, CallTimeout: 2 * time.Second,
	})
	return &advTok{fixture: f, want: map[string]*recUpstream{}, pids: map[string]string{}}
}

func (a *advTok) upstream(t *testing.T, name string, env pipeline.Environment, simulator bool) *recUpstream {
	u := newRecUpstream(t, name, env, simulator)
	a.ups = append(a.ups, u)
	return u
}

func (a *advTok) admin() map[string]string {
	return map[string]string{"Authorization": "Bearer " + a.Admin}
}

func (a *advTok) merchant(t *testing.T) advMerchant {
	t.Helper()
	n := time.Now().UnixNano()
	body := fmt.Sprintf(`{"name":"Shop","wallets":[{"provider":"bkash","account":"017%08d","environment":"SANDBOX"},{"provider":"bkash","account":"018%08d","environment":"LIVE"}]}`,
		n%1e8, (n/7)%1e8)
	code, m, _ := a.do("POST", "/admin/v1/merchants", a.admin(), body)
	if code != 201 {
		t.Fatalf("onboard: %d %v", code, m)
	}
	k := m["apiKeys"].(map[string]any)
	return advMerchant{id: m["id"].(string), keys: map[pipeline.Environment]string{
		pipeline.Sandbox: k["SANDBOX"].(string), pipeline.Live: k["LIVE"].(string),
	}}
}

// setOwn makes u merchant m's own upstream of u's environment through the admin API, with the
// secrets given as env: references.
func (a *advTok) setOwn(t *testing.T, m advMerchant, env pipeline.Environment, u *recUpstream) (int, map[string]any, string) {
	t.Helper()
	pw, sec := "PSADV_"+strings.ToUpper(randHex(6)), "PSADV_"+strings.ToUpper(randHex(6))
	t.Setenv(pw, u.cfg.Password)
	t.Setenv(sec, u.cfg.AppSecret)
	body := fmt.Sprintf(`{"baseUrl":%q,"username":%q,"appKey":%q,"passwordRef":"env:%s","appSecretRef":"env:%s"}`,
		u.baseURL(), u.cfg.Username, u.cfg.AppKey, pw, sec)
	code, out, resp := a.do("PUT", "/admin/v1/merchants/"+m.id+"/bkash/"+string(env), a.admin(), body)
	return code, out, string(resp.Body())
}

// create makes a bkash_tokenized intent of m in env; it returns the answer.
func (a *advTok) create(t *testing.T, m advMerchant, env pipeline.Environment, amount int) (int, map[string]any) {
	t.Helper()
	code, out, _ := a.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": m.keys[env]}, fmt.Sprintf(
		`{"amount":%d,"currency":"BDT","customerReference":"ORD-%s","paymentMethod":"bkash_tokenized",`+
			`"successUrl":"https://shop.test/success","failedUrl":"https://shop.test/failed","cancelUrl":"https://shop.test/cancel"}`,
		amount, randHex(4)))
	return code, out
}

// mustCreate creates an intent that must be created at u; it returns the intent and payment ids.
func (a *advTok) mustCreate(t *testing.T, m advMerchant, env pipeline.Environment, amount int, u *recUpstream) (string, string) {
	t.Helper()
	code, out := a.create(t, m, env, amount)
	if code != 201 {
		t.Fatalf("creating a %s tokenized intent (want upstream %s): %d %v", env, u.name, code, out)
	}
	co, _ := out["checkoutUrl"].(string)
	if !strings.HasPrefix(co, u.cfg.PublicURL+"/pay?") {
		t.Fatalf("%s intent's checkoutUrl %q is not at upstream %s (%s)", env, co, u.name, u.cfg.PublicURL)
	}
	cu, _ := url.Parse(co)
	id, pid := out["id"].(string), cu.Query().Get("paymentId")
	a.want[id], a.pids[pid] = u, id
	return id, pid
}

func (a *advTok) redirect(t *testing.T, cb, want string) {
	t.Helper()
	a.ExpectRedirect(t, cb, want)
}

func forgedCB(id, pid, status string) string {
	return "https://pay.example.test/v1/bkash/callback/" + id + "?paymentID=" + pid + "&status=" + status
}

// paths runs every tokenized path for one (merchant, environment) whose upstream is u, and checks
// u saw each call.
func (a *advTok) paths(t *testing.T, m advMerchant, env pipeline.Environment, u *recUpstream) {
	t.Helper()
	// create + callback success (execute) + refund
	paid, paidPID := a.mustCreate(t, m, env, 500, u)
	cb, err := u.sim.Decide(paidPID, "approve", "01711111111")
	if err != nil {
		t.Fatalf("%s: %v", u.name, err)
	}
	a.redirect(t, cb, "https://shop.test/success")
	code, out, _ := a.do("POST", "/admin/v1/intents/"+paid+"/refund", a.admin(), `{"amount":"100"}`)
	if code != 200 || out["amount"] != "100" {
		t.Fatalf("refund at %s: %d %v", u.name, code, out)
	}
	if p, _ := u.sim.Payment(paidPID); p.Refunded != 10000 || p.State != bkash.StatusCompleted {
		t.Fatalf("upstream %s: payment %+v", u.name, p)
	}
	// callback failure and cancel (payment/status)
	failed, failedPID := a.mustCreate(t, m, env, 510, u)
	cb, _ = u.sim.Decide(failedPID, "fail", "")
	a.redirect(t, cb, "https://shop.test/failed")
	cancelled, cancelledPID := a.mustCreate(t, m, env, 520, u)
	cb, _ = u.sim.Decide(cancelledPID, "cancel", "")
	a.redirect(t, cb, "https://shop.test/cancel")
	// payment/status of a payment still open (a forged failure asks bKash, which says Initiated)
	open, openPID := a.mustCreate(t, m, env, 530, u)
	a.redirect(t, forgedCB(open, openPID, "failure"), "https://shop.test/failed")

	for _, c := range []struct {
		id, pid string
		want    map[string]int
	}{
		{paid, paidPID, map[string]int{"create": 1, "execute": 1, "payment/refund": 1}},
		{failed, failedPID, map[string]int{"create": 1, "payment/status": 1}},
		{cancelled, cancelledPID, map[string]int{"create": 1, "payment/status": 1}},
		{open, openPID, map[string]int{"create": 1, "payment/status": 1}},
	} {
		got := u.ops(c.id, c.pid)
		for op, n := range c.want {
			if got[op] != n {
				t.Errorf("%s %s intent %s at its upstream %s: ops %v, want %v", m.id, env, c.id, u.name, got, c.want)
				break
			}
		}
	}
}

// noneElsewhere checks the class: every call any upstream received came with that upstream's own
// credentials and was about an intent of that upstream only.
func (a *advTok) noneElsewhere(t *testing.T) {
	t.Helper()
	for _, u := range a.ups {
		for _, c := range u.snapshot() {
			if c.appKey != "" && c.appKey != u.cfg.AppKey || c.user != "" && c.user != u.cfg.Username {
				t.Errorf("upstream %s was called with another account's credentials: %+v", u.name, c)
			}
			id := c.invoice
			if id == "" {
				id = a.pids[c.paymentID]
			}
			if id == "" {
				continue // token grant/refresh
			}
			if w := a.want[id]; w != u {
				wn := "none (its create was refused)"
				if w != nil {
					wn = w.name
				}
				t.Errorf("upstream %s (%s) got %s for intent %s, whose upstream is %s", u.name, u.env, c.op, id, wn)
			}
		}
	}
}

func (a *advTok) refused422(t *testing.T, m advMerchant, env pipeline.Environment) {
	t.Helper()
	before := a.totalCalls()
	code, out := a.create(t, m, env, 700)
	if code != http.StatusUnprocessableEntity || out["statusCode"] != float64(422) || out["error"] != "Unprocessable Entity" ||
		!strings.Contains(fmt.Sprint(out["message"]), "no bKash upstream") || !strings.Contains(fmt.Sprint(out["message"]), string(env)) {
		t.Fatalf("%s tokenized create without an upstream: %d %v, want 422 in the native error shape", env, code, out)
	}
	if a.totalCalls() != before {
		t.Fatalf("a refused %s create called an upstream", env)
	}
}

func (a *advTok) totalCalls() int {
	n := 0
	for _, u := range a.ups {
		n += len(u.snapshot())
	}
	return n
}

func TestAdversarialTokenizedUpstreamPerEnvironmentAndMerchant(t *testing.T) {
	a := newAdvTok(t)
	envs := []pipeline.Environment{pipeline.Sandbox, pipeline.Live}
	up := map[string]*recUpstream{}
	for _, owner := range []string{"A", "B", "default"} {
		for _, env := range envs {
			name := owner + "-" + strings.ToLower(string(env))
			up[name] = a.upstream(t, name, env, false)
		}
	}
	mA, mB, mC := a.merchant(t), a.merchant(t), a.merchant(t)
	for _, env := range envs {
		e := strings.ToLower(string(env))
		for _, x := range []struct {
			m advMerchant
			u *recUpstream
		}{{mA, up["A-"+e]}, {mB, up["B-"+e]}} {
			if code, out, _ := a.setOwn(t, x.m, env, x.u); code != 200 {
				t.Fatalf("setting %s: %d %v", x.u.name, code, out)
			}
		}
	}

	// No server default: merchants A and B use their own accounts, C has no upstream (422).
	for _, env := range envs {
		e := strings.ToLower(string(env))
		t.Run("own/A/"+e, func(t *testing.T) { a.paths(t, mA, env, up["A-"+e]) })
		t.Run("own/B/"+e, func(t *testing.T) { a.paths(t, mB, env, up["B-"+e]) })
		t.Run("none/C/"+e, func(t *testing.T) { a.refused422(t, mC, env) })
	}

	// Server defaults per environment: C uses the default of each environment; A and B keep their own.
	a.tok.cfg.Defaults = map[pipeline.Environment]*bkash.Credentials{
		pipeline.Sandbox: up["default-sandbox"].credentials(), pipeline.Live: up["default-live"].credentials(),
	}
	for _, env := range envs {
		e := strings.ToLower(string(env))
		t.Run("default/C/"+e, func(t *testing.T) { a.paths(t, mC, env, up["default-"+e]) })
		t.Run("own-over-default/B/"+e, func(t *testing.T) { a.paths(t, mB, env, up["B-"+e]) })
	}
	// Only one environment has a default: the other still refuses, never borrows it.
	delete(a.tok.cfg.Defaults, pipeline.Live)
	t.Run("none/C/live-with-sandbox-default", func(t *testing.T) { a.refused422(t, mC, pipeline.Live) })
	a.tok.cfg.Defaults = map[pipeline.Environment]*bkash.Credentials{pipeline.Live: up["default-live"].credentials()}
	t.Run("none/C/sandbox-with-live-default", func(t *testing.T) { a.refused422(t, mC, pipeline.Sandbox) })

	a.noneElsewhere(t)
}

// An intent's later calls go to the upstream it was created at, or nowhere: a configuration
// changed after the create (another account, another merchant's account, the upstream deleted so
// that the server default would now apply) never routes its execute, status or refund elsewhere.
func TestAdversarialTokenizedUpstreamRecordedAtCreate(t *testing.T) {
	a := newAdvTok(t)
	aSB := a.upstream(t, "A-sandbox", pipeline.Sandbox, false)
	aLive := a.upstream(t, "A-live", pipeline.Live, false)
	bSB := a.upstream(t, "B-sandbox", pipeline.Sandbox, false)
	defLive := a.upstream(t, "default-live", pipeline.Live, false)
	defLive2 := a.upstream(t, "default-live-2", pipeline.Live, false)
	mA, mC := a.merchant(t), a.merchant(t)
	for _, x := range []struct {
		env pipeline.Environment
		u   *recUpstream
	}{{pipeline.Sandbox, aSB}, {pipeline.Live, aLive}} {
		if code, out, _ := a.setOwn(t, mA, x.env, x.u); code != 200 {
			t.Fatalf("setting %s: %d %v", x.u.name, code, out)
		}
	}
	a.tok.cfg.Defaults[pipeline.Live] = defLive.credentials()

	// Intents created now, approved at their upstream, with a paid one per upstream for refunds.
	sbOpen, sbOpenPID := a.mustCreate(t, mA, pipeline.Sandbox, 500, aSB)
	liveOpen, liveOpenPID := a.mustCreate(t, mA, pipeline.Live, 510, aLive)
	cOpen, cOpenPID := a.mustCreate(t, mC, pipeline.Live, 520, defLive)
	cPaid, cPaidPID := a.mustCreate(t, mC, pipeline.Live, 530, defLive)
	for _, x := range []struct {
		u   *recUpstream
		pid string
	}{{aSB, sbOpenPID}, {aLive, liveOpenPID}, {defLive, cOpenPID}, {defLive, cPaidPID}} {
		if _, err := x.u.sim.Decide(x.pid, "approve", "01722222222"); err != nil {
			t.Fatal(err)
		}
	}
	a.redirect(t, forgedCB(cPaid, cPaidPID, "success"), "https://shop.test/success")

	// The configuration changes: A's SANDBOX account becomes B's, A's LIVE account is deleted (the
	// server default would now serve A), the LIVE default is another account.
	if code, out, _ := a.setOwn(t, mA, pipeline.Sandbox, bSB); code != 200 {
		t.Fatalf("re-pointing A's sandbox: %d %v", code, out)
	}
	if code, out, _ := a.do("DELETE", "/admin/v1/merchants/"+mA.id+"/bkash/LIVE", a.admin(), ""); code != 200 {
		t.Fatalf("deleting A's live upstream: %d %v", code, out)
	}
	a.tok.cfg.Defaults[pipeline.Live] = defLive2.credentials()
	before := a.totalCalls()
	for _, x := range []struct{ name, id, pid, status string }{
		{"A sandbox success", sbOpen, sbOpenPID, "success"}, {"A live success", liveOpen, liveOpenPID, "success"},
		{"A live failure (status)", liveOpen, liveOpenPID, "failure"}, {"C live cancel (status)", cOpen, cOpenPID, "cancel"},
		{"C live success", cOpen, cOpenPID, "success"},
	} {
		code, _, resp := a.do("GET", strings.TrimPrefix(forgedCB(x.id, x.pid, x.status), "https://pay.example.test"), nil, "")
		var e nativeError
		if err := json.Unmarshal(resp.Body(), &e); err != nil || code != http.StatusBadGateway || e.StatusCode != 502 ||
			!strings.Contains(e.Message, "no longer configured") {
			t.Fatalf("%s after its upstream changed: %d %s, want 502 in the native shape", x.name, code, resp.Body())
		}
	}
	code, out, _ := a.do("POST", "/admin/v1/intents/"+cPaid+"/refund", a.admin(), `{"amount":"10"}`)
	if code != http.StatusBadGateway {
		t.Fatalf("refund after its upstream changed: %d %v, want 502", code, out)
	}
	if n := a.totalCalls(); n != before {
		t.Fatalf("%d upstream calls were made for intents whose upstream changed", n-before)
	}

	// Restored, the same callbacks complete at the original upstreams.
	if code, out, _ := a.setOwn(t, mA, pipeline.Sandbox, aSB); code != 200 {
		t.Fatalf("restoring: %d %v", code, out)
	}
	if code, out, _ := a.setOwn(t, mA, pipeline.Live, aLive); code != 200 {
		t.Fatalf("restoring: %d %v", code, out)
	}
	a.tok.cfg.Defaults[pipeline.Live] = defLive.credentials()
	a.redirect(t, forgedCB(sbOpen, sbOpenPID, "success"), "https://shop.test/success")
	a.redirect(t, forgedCB(liveOpen, liveOpenPID, "success"), "https://shop.test/success")
	a.redirect(t, forgedCB(cOpen, cOpenPID, "success"), "https://shop.test/success")
	if code, out, _ := a.do("POST", "/admin/v1/intents/"+cPaid+"/refund", a.admin(), `{"amount":"10"}`); code != 200 {
		t.Fatalf("refund after restoring: %d %v", code, out)
	}
	for _, x := range []struct {
		u   *recUpstream
		pid string
	}{{aSB, sbOpenPID}, {aLive, liveOpenPID}, {defLive, cOpenPID}} {
		if p, _ := x.u.sim.Payment(x.pid); p.State != bkash.StatusCompleted {
			t.Fatalf("upstream %s: payment %+v not completed", x.u.name, p)
		}
	}
	a.noneElsewhere(t)
}

// A LIVE upstream must be bKash production: a simulator (even behind https) is refused at the
// first call, so nothing it says can pay a LIVE intent; a sandbox host or plain http is refused
// when it is configured.
func TestAdversarialTokenizedLiveNeverSimulatorOrSandbox(t *testing.T) {
	a := newAdvTok(t)
	liveSim := a.upstream(t, "live-sim", pipeline.Live, true)
	m := a.merchant(t)
	a.tok.cfg.Defaults[pipeline.Live] = liveSim.credentials()
	code, out := a.create(t, m, pipeline.Live, 500)
	if code != http.StatusBadGateway || out["statusCode"] != float64(502) {
		t.Fatalf("LIVE create against a simulator: %d %v", code, out)
	}
	if liveSim.sim.Creates() != 0 {
		t.Fatal("a LIVE payment was created at a simulator")
	}
	delete(a.tok.cfg.Defaults, pipeline.Live)

	// The same simulator as the merchant's own LIVE account.
	if code, out, _ := a.setOwn(t, m, pipeline.Live, liveSim); code != 200 {
		t.Fatalf("setting: %d %v", code, out)
	}
	if code, out := a.create(t, m, pipeline.Live, 500); code != http.StatusBadGateway || liveSim.sim.Creates() != 0 {
		t.Fatalf("LIVE create against a merchant's simulator: %d %v (creates %d)", code, out, liveSim.sim.Creates())
	}

	// Configuring an upstream of the wrong environment is refused, secrets never echoed.
	t.Setenv("PSADV_PW", "hunter2-pw")
	t.Setenv("PSADV_SEC", "hunter2-secret")
	for _, c := range []struct {
		env            pipeline.Environment
		base, pw, want string
	}{
		{pipeline.Live, bkash.SandboxBaseURL, "env:PSADV_PW", "sandbox"},
		{pipeline.Live, "https://checkout.sandbox.bka.sh/v1.2.0-beta", "env:PSADV_PW", "sandbox"},
		{pipeline.Live, "http://tokenized.pay.bka.sh/v1.2.0-beta", "env:PSADV_PW", "https"},
		{pipeline.Live, "http://127.0.0.1:9095/v1.2.0-beta", "env:PSADV_PW", "https"},
		{pipeline.Sandbox, bkash.ProductionBaseURL, "env:PSADV_PW", "production"},
		{pipeline.Sandbox, "https://TOKENIZED.PAY.BKA.SH./v1.2.0-beta", "env:PSADV_PW", "production"},
		{pipeline.Sandbox, bkash.SandboxBaseURL, "hunter2-pw", "env:NAME or file:PATH"},
		{pipeline.Sandbox, bkash.SandboxBaseURL, "env:PSADV_UNSET", "env:NAME or file:PATH"},
	} {
		body := fmt.Sprintf(`{"baseUrl":%q,"username":"u","appKey":"appkey-1234567","passwordRef":%q,"appSecretRef":"env:PSADV_SEC"}`, c.base, c.pw)
		code, out, resp := a.do("PUT", "/admin/v1/merchants/"+m.id+"/bkash/"+string(c.env), a.admin(), body)
		if code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(out["message"]), c.want) || strings.Contains(string(resp.Body()), "hunter2") {
			t.Errorf("%s upstream %s (password %s): %d %s, want 422 naming %q without the secret", c.env, c.base, c.pw, code, resp.Body(), c.want)
		}
	}

	// GET shows which upstream serves each environment, without secrets.
	if code, out, _ := a.setOwn(t, m, pipeline.Live, a.upstream(t, "live-prod", pipeline.Live, false)); code != 200 {
		t.Fatalf("setting: %d %v", code, out)
	}
	code, out, resp := a.do("GET", "/admin/v1/merchants/"+m.id+"/bkash", a.admin(), "")
	ups, _ := out["upstreams"].(map[string]any)
	live, _ := ups["LIVE"].(map[string]any)
	sb, _ := ups["SANDBOX"].(map[string]any)
	if code != 200 || live["source"] != "merchant" || sb["source"] != "none" || !strings.HasPrefix(fmt.Sprint(live["passwordRef"]), "env:") {
		t.Fatalf("GET bkash upstreams: %d %s", code, resp.Body())
	}
	for _, u := range a.ups {
		for _, secret := range []string{u.cfg.Password, u.cfg.AppSecret, u.cfg.AppKey} {
			if strings.Contains(string(resp.Body()), secret) {
				t.Fatalf("GET shows a secret or the full app key: %s", resp.Body())
			}
		}
	}
}
