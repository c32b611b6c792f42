package ingest

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/netguard"
)

// adminMoreRoutes: merchant listing, API key rotation and setting a webhook URL.
func (s *Server) adminMoreRoutes(route func(method, path, name string, h fasthttp.RequestHandler)) {
	route(http.MethodGet, "/admin/v1/merchants", "admin_list_merchants", s.handleListMerchants)
	route(http.MethodPost, "/admin/v1/merchants/{id}/keys/rotate", "admin_rotate_key", s.handleRotateKey)
	route(http.MethodPut, "/admin/v1/merchants/{id}/webhooks/{env}", "admin_set_webhook", s.handleSetWebhook)
}

type merchantList struct {
	Data  []merchantView `json:"data"`
	Total int            `json:"total"`
	Page  int            `json:"page"`
	Limit int            `json:"limit"`
}

// GET /admin/v1/merchants?page=&limit= — merchants sorted by id, without secrets. The index is read
// whole (SMEMBERS) and sorted in process: fine for thousands of merchants; a sorted set (or SSCAN)
// would be needed well beyond that.
func (s *Server) handleListMerchants(ctx *fasthttp.RequestCtx) {
	if !s.RequireAdmin(ctx) {
		return
	}
	page, limit, ae := pageArgs(ctx.QueryArgs())
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	c := RequestContext(ctx)
	ids, err := s.dir.MerchantIDs(c)
	if err != nil {
		s.Internal(ctx, "listing merchants", err)
		return
	}
	sort.Strings(ids)
	out := merchantList{Data: []merchantView{}, Total: len(ids), Page: page, Limit: limit}
	from := min((page-1)*limit, len(ids))
	to := min(from+limit, len(ids))
	for _, id := range ids[from:to] {
		m, err := s.dir.CurrentMerchant(c, id)
		if err != nil {
			s.Internal(ctx, "loading merchant", err)
			return
		}
		if m == nil { // indexed but gone: skip
			continue
		}
		out.Data = append(out.Data, viewMerchant(m, false))
	}
	WriteJSON(ctx, http.StatusOK, out)
}

type rotateKeyReq struct {
	Environment pipeline.Environment `json:"environment"`
}

type rotateKeyResp struct {
	MerchantID    string               `json:"merchantId"`
	Environment   pipeline.Environment `json:"environment"`
	APIKey        string               `json:"apiKey"`
	OldKeyRevoked bool                 `json:"oldKeyRevoked"`
	Note          string               `json:"note,omitempty"`
	RotatedAt     string               `json:"rotatedAt"`
}

// POST /admin/v1/merchants/:id/keys/rotate {"environment"} — a new API key for the environment,
// shown only in this answer. A rotation replaces the key that was current when the request began
// (compare-and-swap on the merchant record): of concurrent rotations exactly one answers 200 and
// the others 409 with no key issued, so every key answered 200 replaced the one before it and
// works until the next rotation. The old key's record is deleted at once and dropped from this
// replica's authenticate cache; other replicas may still accept it for up to their cache TTL (2 s).
// A merchant created before APIKeyHashes existed has no known hash of its old key: the new key is
// issued but the old one cannot be revoked (the answer says so; oldKeyRevoked false).
func (s *Server) handleRotateKey(ctx *fasthttp.RequestCtx) {
	m := s.AdminMerchant(ctx)
	if m == nil {
		return
	}
	var req rotateKeyReq
	if ae := DecodeJSON(ctx.PostBody(), &req); ae != nil {
		WriteError(ctx, ae)
		return
	}
	env := pipeline.Environment(strings.ToUpper(string(req.Environment)))
	if !env.Valid() {
		WriteError(ctx, Errf(http.StatusBadRequest, "environment must be SANDBOX or LIVE"))
		return
	}
	key := apiKeyPrefix(env) + RandomToken(24)
	oldHash, err := s.dir.RotateKey(RequestContext(ctx), m.ID, env, m.APIKeyHashes[env], key)
	if errors.Is(err, directory.ErrRotationRace) {
		WriteError(ctx, Errf(http.StatusConflict, "The %s API key was rotated by another request while this one ran; the key that request answered is the current one. Rotate again if a new key is still needed", env))
		return
	}
	if err != nil {
		s.Internal(ctx, "rotating api key", err)
		return
	}
	resp := rotateKeyResp{MerchantID: m.ID, Environment: env, APIKey: key, OldKeyRevoked: oldHash != "",
		RotatedAt: pipeline.FormatTime(time.Now().UTC())}
	if oldHash == "" {
		resp.Note = "the previous API key could not be revoked: no hash of it is known (merchant created before key rotation existed)"
	}
	s.log.Info("api key rotated", "merchant", m.ID, "environment", env, "old_revoked", resp.OldKeyRevoked)
	WriteJSON(ctx, http.StatusOK, resp)
}

// PUT /admin/v1/merchants/:id/webhooks/:env {"url", "maxAttempts"?} — set one environment's webhook
// URL, keeping its signing secret.
func (s *Server) handleSetWebhook(ctx *fasthttp.RequestCtx) {
	m := s.AdminMerchant(ctx)
	if m == nil {
		return
	}
	envS, _ := ctx.UserValue("env").(string)
	env := pipeline.Environment(strings.ToUpper(envS))
	if !env.Valid() {
		WriteError(ctx, Errf(http.StatusBadRequest, "environment must be SANDBOX or LIVE"))
		return
	}
	var req webhookEndpoint
	if ae := DecodeJSON(ctx.PostBody(), &req); ae != nil {
		WriteError(ctx, ae)
		return
	}
	if req.MaxAttempts < 0 || req.MaxAttempts > 20 {
		WriteError(ctx, Errf(http.StatusBadRequest, "maxAttempts must be between 1 and 20"))
		return
	}
	if err := netguard.CheckURL(RequestContext(ctx), req.URL, s.cfg.AllowPrivateWebhooks); err != nil {
		WriteError(ctx, Errf(http.StatusBadRequest, "url: %v", err))
		return
	}
	updated, err := s.dir.Update(RequestContext(ctx), m.ID, func(m *pipeline.Merchant) error {
		if m.Webhooks == nil {
			m.Webhooks = map[pipeline.Environment]pipeline.WebhookEndpoint{}
		}
		wh := m.Webhooks[env]
		wh.URL = req.URL
		if req.MaxAttempts > 0 {
			wh.MaxAttempts = req.MaxAttempts
		}
		m.Webhooks[env] = wh
		return nil
	})
	if err != nil {
		s.Internal(ctx, "setting webhook", err)
		return
	}
	if updated == nil {
		WriteError(ctx, Errf(http.StatusNotFound, "Merchant not found"))
		return
	}
	s.log.Info("webhook set", "merchant", m.ID, "environment", env)
	WriteJSON(ctx, http.StatusOK, viewMerchant(updated, false))
}
