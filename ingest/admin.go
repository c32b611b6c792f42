package ingest

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/netguard"
	"github.com/paystream/paystream/pipeline/webhooksig"
)

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

// RequireAdmin checks "Authorization: Bearer <admin token>" in constant time. With no admin token
// configured the admin API is closed to everyone.
func (s *Server) RequireAdmin(ctx *fasthttp.RequestCtx) bool {
	auth := string(ctx.Request.Header.Peek("Authorization"))
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if s.cfg.AdminToken == "" || !ok ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.AdminToken)) != 1 {
		WriteError(ctx, Errf(http.StatusUnauthorized, "Missing or invalid admin token"))
		return false
	}
	return true
}

func (s *Server) handleCreateMerchant(ctx *fasthttp.RequestCtx) {
	if !s.RequireAdmin(ctx) {
		return
	}
	var req createMerchantReq
	if ae := DecodeJSON(ctx.PostBody(), &req); ae != nil {
		WriteError(ctx, ae)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || utf8.RuneCountInString(req.Name) > 200 {
		WriteError(ctx, Errf(http.StatusBadRequest, "name is required (at most 200 characters)"))
		return
	}
	if req.Dialect == "" {
		req.Dialect = pipeline.DialectNative
	}
	if req.Dialect != pipeline.DialectNative && req.Dialect != pipeline.DialectBDQuickPay {
		WriteError(ctx, Errf(http.StatusBadRequest, "dialect must be native or bdquickpay"))
		return
	}
	if len(req.Wallets) == 0 || len(req.Wallets) > 50 {
		WriteError(ctx, Errf(http.StatusBadRequest, "wallets must list between 1 and 50 receiving wallets"))
		return
	}
	seen := map[string]bool{}
	for i := range req.Wallets {
		if err := req.Wallets[i].Validate(); err != nil {
			WriteError(ctx, Errf(http.StatusBadRequest, "wallets[%d]: %v", i, err))
			return
		}
		if seen[req.Wallets[i].Key()] {
			WriteError(ctx, Errf(http.StatusBadRequest, "wallets[%d] is listed twice", i))
			return
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
			WriteError(ctx, Errf(http.StatusBadRequest, "webhooks: environment must be SANDBOX or LIVE, not %q", env))
			return
		}
		if wh.MaxAttempts < 0 || wh.MaxAttempts > 20 {
			WriteError(ctx, Errf(http.StatusBadRequest, "webhooks.%s.maxAttempts must be between 1 and 20", env))
			return
		}
		if err := netguard.CheckURL(RequestContext(ctx), wh.URL, s.cfg.AllowPrivateWebhooks); err != nil {
			WriteError(ctx, Errf(http.StatusBadRequest, "webhooks.%s.url: %v", env, err))
			return
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
	if m.Dialect == pipeline.DialectBDQuickPay {
		pairs = map[pipeline.Environment]appKeyPair{}
		m.AppKeys = map[pipeline.Environment]string{}
		for _, env := range []pipeline.Environment{pipeline.Sandbox, pipeline.Live} {
			p := appKeyPair{AppKey: "app_" + strings.ToLower(string(env)) + "_" + RandomToken(18), SecretKey: "sec_" + RandomToken(24)}
			pairs[env], m.AppKeys[env] = p, p.AppKey
		}
	}
	keys := map[pipeline.Environment]string{
		pipeline.Sandbox: apiKeyPrefix(pipeline.Sandbox) + RandomToken(24),
		pipeline.Live:    apiKeyPrefix(pipeline.Live) + RandomToken(24),
	}
	if err := s.dir.Create(RequestContext(ctx), m, keys, dirPairs(pairs)); err != nil {
		if errors.Is(err, directory.ErrWalletTaken) {
			WriteError(ctx, Errf(http.StatusConflict, "%v", err))
			return
		}
		s.Internal(ctx, "creating merchant", err)
		return
	}
	s.log.Info("merchant created", "merchant", m.ID, "wallets", len(m.Wallets))
	v := viewMerchant(m, true)
	v.APIKeys = keys
	v.AppKeys = pairs
	v.Secrets = map[pipeline.Environment]string{}
	for env, wh := range m.Webhooks {
		v.Secrets[env] = wh.Secret
	}
	WriteJSON(ctx, http.StatusCreated, v)
}

func (s *Server) handleGetMerchant(ctx *fasthttp.RequestCtx) {
	m := s.AdminMerchant(ctx)
	if m == nil {
		return
	}
	WriteJSON(ctx, http.StatusOK, viewMerchant(m, false))
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

// AdminMerchant authenticates the admin and loads the merchant named by the path's id; it answers
// the request itself (401, 404, 503) and returns nil when it cannot go on.
func (s *Server) AdminMerchant(ctx *fasthttp.RequestCtx) *pipeline.Merchant {
	if !s.RequireAdmin(ctx) {
		return nil
	}
	id, _ := ctx.UserValue("id").(string)
	m, err := s.dir.CurrentMerchant(RequestContext(ctx), id)
	if err != nil {
		s.Internal(ctx, "loading merchant", err)
		return nil
	}
	if m == nil {
		WriteError(ctx, Errf(http.StatusNotFound, "Merchant not found"))
		return nil
	}
	return m
}

func dirPairs(pairs map[pipeline.Environment]appKeyPair) map[pipeline.Environment]directory.AppKeyPair {
	out := make(map[pipeline.Environment]directory.AppKeyPair, len(pairs))
	for env, p := range pairs {
		out[env] = directory.AppKeyPair{AppKey: p.AppKey, SecretKey: p.SecretKey}
	}
	return out
}

func newMerchantID() string { return "mch_" + RandomHex(10) }

// apiKeyPrefix returns the environment's key prefix, as merchants know them from seed 004.
func apiKeyPrefix(env pipeline.Environment) string {
	if env == pipeline.Live {
		return "sk_live_"
	}
	return "sk_test_"
}
