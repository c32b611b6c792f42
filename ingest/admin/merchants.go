package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/netguard"
	"github.com/paystream/paystream/pipeline/webhooksig"
)

// Merchants:
//
//	POST /admin/v1/merchants {"name", "dialect"?, "wallets", "webhooks"?} → 201 with the merchant,
//	     its API keys, webhook secrets and (bdquickpay dialect) app key pairs, shown only here
//	GET  /admin/v1/merchants/:id → the merchant without secrets

type createMerchantReq struct {
	Name     string                                   `json:"name"`
	Dialect  pipeline.Dialect                         `json:"dialect"`
	Wallets  []pipeline.Wallet                        `json:"wallets"`
	Webhooks map[pipeline.Environment]webhookEndpoint `json:"webhooks"`
}

type webhookEndpoint struct {
	URL         string `json:"url"`
	MaxAttempts int    `json:"maxAttempts,omitempty"`
}

// appKeyPair is a bdQuickPay dialect credential pair; SecretKey is shown only at creation.
type appKeyPair struct {
	AppKey    string `json:"appKey"`
	SecretKey string `json:"secretKey,omitempty"`
}

// bdQuickPayRetry is seed 001's retry delay ("retried after 5 minutes"), the default first backoff
// of merchants of that dialect.
const bdQuickPayRetry = 5 * time.Minute

type webhookView struct {
	URL         string `json:"url"`
	Secret      string `json:"secret,omitempty"`
	MaxAttempts int    `json:"maxAttempts,omitempty"`
}

type merchantView struct {
	ID        string                               `json:"id"`
	Name      string                               `json:"name"`
	Status    string                               `json:"status"`
	Dialect   pipeline.Dialect                     `json:"dialect"`
	Wallets   []pipeline.Wallet                    `json:"wallets"`
	Webhooks  map[pipeline.Environment]webhookView `json:"webhooks"`
	APIKeys   map[pipeline.Environment]string      `json:"apiKeys,omitempty"`
	Secrets   map[pipeline.Environment]string      `json:"webhookSecrets,omitempty"`
	AppKeys   map[pipeline.Environment]appKeyPair  `json:"appKeys,omitempty"`
	CreatedAt string                               `json:"createdAt"`
}

func (s *Surface) handleCreateMerchant(ctx *fasthttp.RequestCtx) error {
	if err := s.authorize(ctx); err != nil {
		return err
	}
	var req createMerchantReq
	if ae := ingest.DecodeJSON(ctx.PostBody(), &req); ae != nil {
		return ae
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || utf8.RuneCountInString(req.Name) > 200 {
		return ingest.Errf(http.StatusBadRequest, "name is required (at most 200 characters)")
	}
	if req.Dialect == "" {
		req.Dialect = pipeline.DialectNative
	}
	if req.Dialect != pipeline.DialectNative && req.Dialect != pipeline.DialectBDQuickPay {
		return ingest.Errf(http.StatusBadRequest, "dialect must be native or bdquickpay")
	}
	if len(req.Wallets) == 0 || len(req.Wallets) > 50 {
		return ingest.Errf(http.StatusBadRequest, "wallets must list between 1 and 50 receiving wallets")
	}
	seen := map[string]bool{}
	for i := range req.Wallets {
		if err := req.Wallets[i].Validate(); err != nil {
			return ingest.Errf(http.StatusBadRequest, "wallets[%d]: %v", i, err)
		}
		if seen[req.Wallets[i].Key()] {
			return ingest.Errf(http.StatusBadRequest, "wallets[%d] is listed twice", i)
		}
		seen[req.Wallets[i].Key()] = true
	}
	now := time.Now().UTC()
	m := &pipeline.Merchant{
		ID: newMerchantID(), Name: req.Name, Status: pipeline.MerchantActive, Dialect: req.Dialect,
		Wallets: req.Wallets, Webhooks: map[pipeline.Environment]pipeline.WebhookEndpoint{}, CreatedAt: now,
	}
	for env, wh := range req.Webhooks {
		if !env.Valid() {
			return ingest.Errf(http.StatusBadRequest, "webhooks: environment must be SANDBOX or LIVE, not %q", env)
		}
		if wh.MaxAttempts < 0 || wh.MaxAttempts > 20 {
			return ingest.Errf(http.StatusBadRequest, "webhooks.%s.maxAttempts must be between 1 and 20", env)
		}
		if err := netguard.CheckURL(ingest.RequestContext(ctx), wh.URL, s.cfg.AllowPrivateWebhooks); err != nil {
			return ingest.Errf(http.StatusBadRequest, "webhooks.%s.url: %v", env, err)
		}
		m.Webhooks[env] = pipeline.WebhookEndpoint{URL: wh.URL, MaxAttempts: wh.MaxAttempts}
	}
	// Both environments get a signing secret now, so a URL set later signs with a secret the
	// merchant already has.
	for _, env := range []pipeline.Environment{pipeline.Sandbox, pipeline.Live} {
		wh := m.Webhooks[env]
		wh.Secret = webhooksig.NewSecret()
		if m.Dialect == pipeline.DialectBDQuickPay {
			wh.BackoffBase = bdQuickPayRetry
		}
		m.Webhooks[env] = wh
	}
	var pairs map[pipeline.Environment]appKeyPair
	stored := map[pipeline.Environment]directory.AppKeyPair{}
	if m.Dialect == pipeline.DialectBDQuickPay {
		pairs = map[pipeline.Environment]appKeyPair{}
		m.AppKeys = map[pipeline.Environment]string{}
		for _, env := range []pipeline.Environment{pipeline.Sandbox, pipeline.Live} {
			p := appKeyPair{AppKey: "app_" + strings.ToLower(string(env)) + "_" + ingest.RandomToken(18), SecretKey: "sec_" + ingest.RandomToken(24)}
			pairs[env], m.AppKeys[env] = p, p.AppKey
			stored[env] = directory.AppKeyPair{AppKey: p.AppKey, SecretKey: p.SecretKey}
		}
	}
	keys := map[pipeline.Environment]string{
		pipeline.Sandbox: apiKeyPrefix(pipeline.Sandbox) + ingest.RandomToken(24),
		pipeline.Live:    apiKeyPrefix(pipeline.Live) + ingest.RandomToken(24),
	}
	if err := s.d.Directory.Create(ingest.RequestContext(ctx), m, keys, stored); err != nil {
		if errors.Is(err, directory.ErrWalletTaken) {
			return ingest.Errf(http.StatusConflict, "%v", err)
		}
		return fmt.Errorf("creating merchant: %w", err)
	}
	s.log.Info("merchant created", "merchant", m.ID, "wallets", len(m.Wallets))
	v := viewMerchant(m, true)
	v.APIKeys = keys
	v.AppKeys = pairs
	v.Secrets = map[pipeline.Environment]string{}
	for env, wh := range m.Webhooks {
		v.Secrets[env] = wh.Secret
	}
	ingest.WriteJSON(ctx, http.StatusCreated, v)
	return nil
}

func (s *Surface) handleGetMerchant(ctx *fasthttp.RequestCtx) error {
	m, err := s.merchant(ctx)
	if err != nil {
		return err
	}
	ingest.WriteJSON(ctx, http.StatusOK, viewMerchant(m, false))
	return nil
}

func viewMerchant(m *pipeline.Merchant, withSecrets bool) merchantView {
	v := merchantView{
		ID: m.ID, Name: m.Name, Status: m.Status, Dialect: m.Dialect, Wallets: m.Wallets,
		Webhooks: map[pipeline.Environment]webhookView{}, CreatedAt: pipeline.FormatTime(m.CreatedAt),
	}
	if len(m.AppKeys) > 0 {
		v.AppKeys = map[pipeline.Environment]appKeyPair{}
		for env, k := range m.AppKeys {
			v.AppKeys[env] = appKeyPair{AppKey: k}
		}
	}
	for env, wh := range m.Webhooks {
		if wh.URL == "" && !withSecrets {
			continue
		}
		wv := webhookView{URL: wh.URL, MaxAttempts: wh.MaxAttempts}
		if withSecrets {
			wv.Secret = wh.Secret
		}
		v.Webhooks[env] = wv
	}
	return v
}

func newMerchantID() string { return "mch_" + ingest.RandomHex(10) }

// apiKeyPrefix returns the environment's key prefix, as merchants know them from seed 004.
func apiKeyPrefix(env pipeline.Environment) string {
	if env == pipeline.Live {
		return "sk_live_"
	}
	return "sk_test_"
}
