package tokenized

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
)

// A merchant's own bKash merchant account per environment (its bKash Tokenized Checkout upstream).
// It takes precedence over the server's default upstream of that environment
// (Config.Defaults) for the merchant's bkash_tokenized intents. Secrets are stored only as
// references (env:NAME or file:PATH, resolved on the ingest replica that calls bKash), never in
// clear, and no answer ever contains a secret.

// merchantUpstream is what the key bkashUpstreamKey holds (JSON): identifiers and secret references.
type merchantUpstream struct {
	Environment  pipeline.Environment `json:"environment"`
	BaseURL      string               `json:"baseUrl"`
	Username     string               `json:"username"`
	AppKey       string               `json:"appKey"`
	PasswordRef  string               `json:"passwordRef"`
	AppSecretRef string               `json:"appSecretRef"`
	UpdatedAt    time.Time            `json:"updatedAt"`
}

// credentials resolves the secret references of merchant owner's upstream and validates the
// result against its environment. Errors wrap bkash.ErrBadSecretRef, ErrCredentials or
// ErrEnvironment.
func (u *merchantUpstream) credentials(owner string) (*bkash.Credentials, error) {
	pw, err := bkash.ResolveSecret(u.PasswordRef)
	if err != nil {
		return nil, fmt.Errorf("passwordRef: %w", err)
	}
	sec, err := bkash.ResolveSecret(u.AppSecretRef)
	if err != nil {
		return nil, fmt.Errorf("appSecretRef: %w", err)
	}
	cr := &bkash.Credentials{
		Environment: u.Environment, Owner: owner, BaseURL: u.BaseURL, Username: u.Username, AppKey: u.AppKey,
		Password: pw, AppSecret: sec,
	}
	if err := cr.Validate(); err != nil {
		return nil, err
	}
	return cr, nil
}

// bkashUpstreamKey is merchant id's own upstream of env: <prefix>:bkashup:<merchant id>:<env>.
func (s *Surface) bkashUpstreamKey(id string, env pipeline.Environment) string {
	p := s.cfg.Keys.Prefix
	if p == "" {
		p = "ps"
	}
	return p + ":bkashup:" + id + ":" + string(env)
}

// bkashUpstream loads merchant id's own upstream of env; (nil, nil) when it has none.
func (s *Surface) bkashUpstream(ctx context.Context, id string, env pipeline.Environment) (*merchantUpstream, error) {
	b, err := s.rdb.Get(ctx, s.bkashUpstreamKey(id, env)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading bkash upstream: %w", err)
	}
	var u merchantUpstream
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("decoding bkash upstream of %s: %w", id, err)
	}
	if u.Environment != env {
		return nil, fmt.Errorf("%w: merchant %s's %s upstream is stored as %s", bkash.ErrEnvironment, id, env, u.Environment)
	}
	return &u, nil
}

// Sources of an environment's upstream (bkashUpstreamView.Source).
const (
	upstreamMerchant = "merchant"       // the merchant's own bKash account
	upstreamDefault  = "server_default" // the server's default upstream of the environment
	upstreamNone     = "none"           // no upstream: bkash_tokenized intents are refused with 422
)

// bkashUpstreamView is one environment's effective upstream, without secrets: the app key masked,
// secrets only as the references they are read from (merchant upstreams only).
type bkashUpstreamView struct {
	Source       string `json:"source"`
	BaseURL      string `json:"baseUrl,omitempty"`
	Username     string `json:"username,omitempty"`
	AppKey       string `json:"appKey,omitempty"`
	PasswordRef  string `json:"passwordRef,omitempty"`
	AppSecretRef string `json:"appSecretRef,omitempty"`
	UpdatedAt    string `json:"updatedAt,omitempty"`
}

type bkashUpstreamsView struct {
	MerchantID string                                     `json:"merchantId"`
	Upstreams  map[pipeline.Environment]bkashUpstreamView `json:"upstreams"`
}

// bkashUpstreamReq is PUT /admin/v1/merchants/{id}/bkash/{env}'s body; every field is required.
type bkashUpstreamReq struct {
	BaseURL      string `json:"baseUrl"`
	Username     string `json:"username"`
	AppKey       string `json:"appKey"`
	PasswordRef  string `json:"passwordRef"`
	AppSecretRef string `json:"appSecretRef"`
}

func pathEnv(ctx *fasthttp.RequestCtx) (pipeline.Environment, bool) {
	envS, _ := ctx.UserValue("env").(string)
	env := pipeline.Environment(strings.ToUpper(envS))
	if !env.Valid() {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "environment must be SANDBOX or LIVE"))
		return "", false
	}
	return env, true
}

// GET /admin/v1/merchants/{id}/bkash — which upstream serves the merchant's bkash_tokenized
// intents in each environment, without secrets.
func (s *Surface) handleGetBkashUpstreams(ctx *fasthttp.RequestCtx) {
	m := s.admin.AdminMerchant(ctx)
	if m == nil {
		return
	}
	s.writeBkashUpstreams(ctx, m.ID)
}

func (s *Surface) writeBkashUpstreams(ctx *fasthttp.RequestCtx, id string) {
	out := bkashUpstreamsView{MerchantID: id, Upstreams: map[pipeline.Environment]bkashUpstreamView{}}
	for _, env := range []pipeline.Environment{pipeline.Sandbox, pipeline.Live} {
		u, err := s.bkashUpstream(ingest.RequestContext(ctx), id, env)
		if err != nil {
			s.fail.Internal(ctx, "loading bkash upstream", err)
			return
		}
		v := bkashUpstreamView{Source: upstreamNone}
		switch {
		case u != nil:
			v = bkashUpstreamView{
				Source: upstreamMerchant, BaseURL: u.BaseURL, Username: u.Username, AppKey: bkash.MaskKey(u.AppKey),
				PasswordRef: u.PasswordRef, AppSecretRef: u.AppSecretRef, UpdatedAt: pipeline.FormatTime(u.UpdatedAt),
			}
		case s.defaultUpstream(env) != nil:
			cr := s.defaultUpstream(env)
			v = bkashUpstreamView{Source: upstreamDefault, BaseURL: cr.BaseURL, Username: cr.Username, AppKey: bkash.MaskKey(cr.AppKey)}
		}
		out.Upstreams[env] = v
	}
	ingest.WriteJSON(ctx, http.StatusOK, out)
}

// PUT /admin/v1/merchants/{id}/bkash/{env} {"baseUrl","username","appKey","passwordRef","appSecretRef"}
// — the merchant's own bKash merchant account for env. The secret references must resolve on this
// replica, and the base URL must fit env (bkash.CheckUpstream: LIVE is https and not bKash's
// sandbox; SANDBOX is not bKash production); otherwise 422 and nothing is stored. Intents created
// earlier keep the upstream they were created at: a changed upstream refuses their later calls
// (callback.go recordedUpstream) rather than sending them elsewhere.
func (s *Surface) handleSetBkashUpstream(ctx *fasthttp.RequestCtx) {
	m := s.admin.AdminMerchant(ctx)
	if m == nil {
		return
	}
	env, ok := pathEnv(ctx)
	if !ok {
		return
	}
	var req bkashUpstreamReq
	if ae := ingest.DecodeJSON(ctx.PostBody(), &req); ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"baseUrl", req.BaseURL, 2048}, {"username", req.Username, 200}, {"appKey", req.AppKey, 200},
		{"passwordRef", req.PasswordRef, 1024}, {"appSecretRef", req.AppSecretRef, 1024},
	} {
		if strings.TrimSpace(f.v) == "" || len(f.v) > f.max || !ingest.Printable(f.v) || strings.TrimSpace(f.v) != f.v {
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "%s is required: at most %d printable characters, no surrounding spaces", f.name, f.max))
			return
		}
	}
	u := &merchantUpstream{
		Environment: env, BaseURL: req.BaseURL, Username: req.Username, AppKey: req.AppKey,
		PasswordRef: req.PasswordRef, AppSecretRef: req.AppSecretRef, UpdatedAt: time.Now().UTC(),
	}
	if _, err := u.credentials(m.ID); err != nil {
		// The bkash errors never contain a secret (a malformed reference is shown by its length).
		ingest.WriteError(ctx, ingest.Errf(http.StatusUnprocessableEntity, "%s upstream refused: %v", env, err))
		return
	}
	b, err := json.Marshal(u)
	if err != nil {
		s.fail.Internal(ctx, "encoding bkash upstream", err)
		return
	}
	if err := s.rdb.Set(ingest.RequestContext(ctx), s.bkashUpstreamKey(m.ID, env), b, 0).Err(); err != nil {
		s.fail.Internal(ctx, "storing bkash upstream", err)
		return
	}
	s.log.Info("merchant bkash upstream set", "merchant", m.ID, "environment", env, "base", u.BaseURL,
		"user", u.Username, "app_key", bkash.MaskKey(u.AppKey))
	s.writeBkashUpstreams(ctx, m.ID)
}

// DELETE /admin/v1/merchants/{id}/bkash/{env} — forget the merchant's own upstream of env: its new
// intents use the server's default of env (or are refused when there is none). Intents created at
// the deleted upstream can no longer be executed, queried or refunded until it is set again.
func (s *Surface) handleDeleteBkashUpstream(ctx *fasthttp.RequestCtx) {
	m := s.admin.AdminMerchant(ctx)
	if m == nil {
		return
	}
	env, ok := pathEnv(ctx)
	if !ok {
		return
	}
	if err := s.rdb.Del(ingest.RequestContext(ctx), s.bkashUpstreamKey(m.ID, env)).Err(); err != nil {
		s.fail.Internal(ctx, "deleting bkash upstream", err)
		return
	}
	s.log.Info("merchant bkash upstream deleted", "merchant", m.ID, "environment", env)
	s.writeBkashUpstreams(ctx, m.ID)
}
