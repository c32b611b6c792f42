package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/admin"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/ingest/surfaces"
	"github.com/paystream/paystream/ingest/tokenized"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify/snstest"
)

// The kernel's cross-surface tests (the route walk, the claims, amounts, limits and logs suites,
// openapi.json, the hot-path benchmarks) run on ingesttest's fixture (the real Redis, an embedded
// Kafka-protocol broker, requests in memory through the route table) with every surface mounted
// as cmd mounts them (ingest/surfaces).

// fixture is ingesttest's edge with every surface mounted.
type fixture struct {
	*ingesttest.Fixture
	opts  allOptions
	admin string        // the admin bearer token
	keys  pipeline.Keys // the Redis key layout
}

// allOptions are the settings of the mounted surfaces that these tests change.
type allOptions struct {
	snsHosts []string             // sns.Config.ExtraHosts
	bkash    *ingesttest.BkashSim // tokenized.Config (nil: bkash_tokenized off)
}

// mountAll builds every surface but the admin API (the fixture's) with o.
func mountAll(o allOptions) ingesttest.Mount {
	return func(f *ingesttest.Fixture) []ingest.Surface {
		cfg := surfaces.Config{AllowPrivateWebhooks: true, SNSExtraHosts: o.snsHosts, Keys: f.Keys}
		if b := o.bkash; b != nil {
			cfg.Tokenized = tokenized.Config{Client: b.Client, Defaults: b.Defaults, QueryDelay: b.QueryDelay, CallTimeout: b.CallTimeout}
		}
		ss, err := surfaces.Build(f.S, cfg, surfaces.Deps{State: f.State, Redis: f.RDB, Admin: f.AdminAPI})
		if err != nil {
			panic(err)
		}
		return ss
	}
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	t.Helper()
	f := &fixture{Fixture: ingesttest.New(t, produceTimeout, mountAll(allOptions{}))}
	f.Webhooks = notFoundWebhooks{}
	f.Rebuild(nil, nil)
	f.admin, f.keys = f.Admin, f.Keys
	return f
}

// remount rebuilds the edge with the surfaces configured as o (and mod applied to the edge's
// configuration, if not nil).
func (f *fixture) remount(mod func(*ingest.Config), o allOptions) {
	f.opts = o
	f.Rebuild(mod, mountAll(o))
}

// newLimitedFixture rebuilds the fixture's server with the given rate limits (requests per second,
// burst twice that; 0 off).
func newLimitedFixture(t testing.TB, keyRate, ipRate int) *fixture {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	f.Rebuild(func(c *ingest.Config) { c.RateLimitKey, c.RateLimitIP = keyRate, ipRate }, nil)
	return f
}

// notFoundWebhooks is the webhook sink's queue as the admin API sees it, holding nothing.
type notFoundWebhooks struct{}

func (notFoundWebhooks) DeadLetters(context.Context, int) ([]admin.DeadLetterView, error) {
	return nil, nil
}
func (notFoundWebhooks) Redeliver(context.Context, string) error { return admin.ErrWebhookNotFound }

func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	return f.Do(method, path, headers, body)
}

// lmDo runs one request in memory from TCP peer (an IP address).
func (f *fixture) lmDo(method, path, peer string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	return f.DoFrom(peer, method, path, headers, body)
}

func (f *fixture) onboard(t testing.TB) (testKey, liveKey string) { return f.Onboard(t) }

func (f *fixture) requireNoPanic(t testing.TB, input string) { f.RequireNoPanic(t, input) }

func (f *fixture) onboardBQP(t testing.TB) ingesttest.BDQuickPayMerchant {
	return f.OnboardBDQuickPay(t)
}

// txnMerchant is a merchant with SANDBOX bKash and Nagad wallets and a LIVE bKash wallet.
type txnMerchant struct {
	id, key              string // key: the SANDBOX merchant API key
	bkash, nagad, liveBK string
}

func (f *fixture) txnOnboard(t testing.TB) txnMerchant {
	t.Helper()
	m := f.OnboardWallets(t)
	return txnMerchant{id: m.ID, key: m.Key, bkash: m.BKash, nagad: m.Nagad, liveBK: m.LiveBKash}
}

func (f *fixture) txnIntegration(t testing.TB, merchantID string, env pipeline.Environment, allowAny bool) (apiKey, secret string) {
	return f.TxnIntegration(t, merchantID, env, allowAny)
}

func (f *fixture) txn(path, apiKey, sig, body string) (int, []byte) {
	return f.Txn(path, apiKey, sig, body)
}

func txnSign(secret, body string) string { return ingesttest.TxnSign(secret, body) }

func sameJSON(t testing.TB, what string, got []byte, want string) {
	t.Helper()
	ingesttest.SameJSON(t, what, got, want)
}

func recordEvents(f *fixture) *ingesttest.Recorder { return f.Record() }

func randHex(n int) string { return ingesttest.RandHex(n) }

// Paths and bodies of the surfaces, as the seeds write them.
const (
	prefixBDQuickPay = "/api/bkash/v1/" // seed 001 (ingest/bdquickpay.Prefix)
	bqpCreatePath    = "/api/bkash/v1/payment/create"
	prefixTxnAPI     = "/api/external/v1/bkash/" // seed 002 (ingest/txnapi.Prefix)
	txnCheckPath     = "/api/external/v1/bkash/transactions/check"
	txnCompletePath  = "/api/external/v1/bkash/transactions/complete"
	prefixSNS        = ingesttest.SNSPath // seed 003 (ingest/sns.Prefix)
	// The seed's JavaScript/Python body (no webhook_url, no metadata).
	bqpSeedJSBody = `{"amount":500,"customer_reference":"ORDER-001","success_url":"https://yoursite.com/success","cancel_url":"https://yoursite.com/cancel"}`
	// Seed 002's answers, verbatim.
	seedAccepted  = `{"code": 202, "message": "transaction accepted", "type": "success"}`
	seedDuplicate = `{"code": 400, "message": "duplicate transaction id", "type": "error"}`
)

// The SMS forwarding formats (ingest/sms).
const (
	smsFormatNative     = ingesttest.SMSFormatNative
	smsFormatForwarder  = ingesttest.SMSFormatForwarder
	smsFormatSMSGateway = ingesttest.SMSFormatSMSGateway
)

var smsFormats = ingesttest.SMSFormats

// tokFixture is the fixture with bkash_tokenized on, against bKash's simulator as the SANDBOX
// default, and a native merchant's SANDBOX key.
type tokFixture struct {
	*fixture
	sim *ingesttest.BkashSim
	key string
}

func newTokFixture(t *testing.T) *tokFixture {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	sim := f.StartBkashSim(t)
	f.remount(nil, allOptions{bkash: sim})
	key, _ := f.onboard(t)
	return &tokFixture{fixture: f, sim: sim, key: key}
}

// intent creates a bkash_tokenized intent and returns its id and bKash paymentID.
func (f *tokFixture) intent(t *testing.T, amount int) (string, string) {
	return f.TokenizedIntent(t, f.key, amount)
}

// customer acts on bKash's page and follows bKash back to paystream; it checks the redirect.
func (f *tokFixture) customer(t *testing.T, pid, action, wallet, wantLocation string) {
	t.Helper()
	f.Customer(t, f.sim, pid, action, wallet, wantLocation)
}

// snsFixture is the fixture with one merchant and one SNS integration for its SANDBOX wallet, the
// signer's host trusted.
type snsFixture struct {
	*fixture
	sns ingesttest.SNS
}

func newSNSFixture(t testing.TB) *snsFixture {
	t.Helper()
	f := newFixture(t, 2*time.Second)
	signer := snstest.NewSigner(t)
	f.remount(nil, allOptions{snsHosts: []string{signer.Host}})
	return &snsFixture{fixture: f, sns: f.OnboardSNS(t, signer)}
}

// post sends body with the integration's credentials.
func (f *snsFixture) post(body string) (int, map[string]any, *fasthttp.Response) {
	return f.do("POST", f.sns.URL("SHUNNOIT"), f.sns.Secrets(), body)
}

func newTrx() string { return "T" + strings.ToUpper(randHex(5)) }

// smsDevice is a registered device of a merchant with SANDBOX bKash (SIM 1) and Nagad (SIM 2)
// wallets.
type smsDevice struct {
	f     *fixture
	m     txnMerchant
	token string
}

func smsSetup(t testing.TB) *smsDevice {
	t.Helper()
	f := newFixture(t, 5*time.Second)
	d := &smsDevice{f: f, m: f.txnOnboard(t)}
	_, d.token, _ = f.RegisterDevice(t, d.m.id, "", fmt.Sprintf(`{"1":{"provider":"bkash","account":%q},"2":{"provider":"nagad","account":%q}}`, d.m.bkash, d.m.nagad))
	return d
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
