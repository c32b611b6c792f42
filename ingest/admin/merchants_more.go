package admin

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/netguard"
)

// Merchant listing, API key rotation and setting a webhook URL:
//
//	GET  /admin/v1/merchants?page=&limit=
//	POST /admin/v1/merchants/:id/keys/rotate {"environment"}
//	PUT  /admin/v1/merchants/:id/webhooks/:env {"url", "maxAttempts"?}

type merchantList struct {
	Data  []merchantView `json:"data"`
	Total int            `json:"total"`
	Page  int            `json:"page"`
	Limit int            `json:"limit"`
}

// GET /admin/v1/merchants?page=&limit= — merchants sorted by id, without secrets. The index is read
// whole (Directory.MerchantIDs) and sorted in process: fine for thousands of merchants.
func (s *Surface) handleListMerchants(ctx *fasthttp.RequestCtx) error {
	if err := s.authorize(ctx); err != nil {
		return err
	}
	page, limit, ae := pageArgs(ctx.QueryArgs())
	if ae != nil {
		return ae
	}
	c := ingest.RequestContext(ctx)
	ids, err := s.d.Directory.MerchantIDs(c)
	if err != nil {
		return err
	}
	sort.Strings(ids)
	out := merchantList{Data: []merchantView{}, Total: len(ids), Page: page, Limit: limit}
	from := min((page-1)*limit, len(ids))
	to := min(from+limit, len(ids))
	for _, id := range ids[from:to] {
		m, err := s.d.Directory.CurrentMerchant(c, id)
		if err != nil {
			return fmt.Errorf("loading merchant: %w", err)
		}
		if m == nil { // indexed but gone: skip
			continue
		}
		out.Data = append(out.Data, viewMerchant(m, false))
	}
	ingest.WriteJSON(ctx, http.StatusOK, out)
	return nil
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
// (compare-and-swap on the merchant record, Directory.RotateKey): of concurrent rotations exactly
// one answers 200 and the others 409 with no key issued, so every key answered 200 replaced the
// one before it and works until the next rotation. The old key's record is deleted at once and
// dropped from this process's directory cache; other processes may still accept it for up to
// their cache TTL (directory.DefaultTTL, 2 s). A merchant created before APIKeyHashes existed has
// no known hash of its old key: the new key is issued but the old one cannot be revoked (the answer
// says so; oldKeyRevoked false).
func (s *Surface) handleRotateKey(ctx *fasthttp.RequestCtx) error {
	m, err := s.merchant(ctx)
	if err != nil {
		return err
	}
	var req rotateKeyReq
	if ae := ingest.DecodeJSON(ctx.PostBody(), &req); ae != nil {
		return ae
	}
	env := pipeline.Environment(strings.ToUpper(string(req.Environment)))
	if !env.Valid() {
		return ingest.Errf(http.StatusBadRequest, "environment must be SANDBOX or LIVE")
	}
	key := apiKeyPrefix(env) + ingest.RandomToken(24)
	oldHash, err := s.d.Directory.RotateKey(ingest.RequestContext(ctx), m.ID, env, m.APIKeyHashes[env], key)
	if errors.Is(err, directory.ErrRotationRace) {
		return ingest.Errf(http.StatusConflict, "The %s API key was rotated by another request while this one ran; the key that request answered is the current one. Rotate again if a new key is still needed", env)
	}
	if err != nil {
		return fmt.Errorf("rotating api key: %w", err)
	}
	resp := rotateKeyResp{MerchantID: m.ID, Environment: env, APIKey: key, OldKeyRevoked: oldHash != "",
		RotatedAt: pipeline.FormatTime(time.Now().UTC())}
	if oldHash == "" {
		resp.Note = "the previous API key could not be revoked: no hash of it is known (merchant created before key rotation existed)"
	}
	s.log.Info("api key rotated", "merchant", m.ID, "environment", env, "old_revoked", resp.OldKeyRevoked)
	ingest.WriteJSON(ctx, http.StatusOK, resp)
	return nil
}

// PUT /admin/v1/merchants/:id/webhooks/:env {"url", "maxAttempts"?} — set one environment's webhook
// URL, keeping its signing secret.
func (s *Surface) handleSetWebhook(ctx *fasthttp.RequestCtx) error {
	m, err := s.merchant(ctx)
	if err != nil {
		return err
	}
	envS, _ := ctx.UserValue("env").(string)
	env := pipeline.Environment(strings.ToUpper(envS))
	if !env.Valid() {
		return ingest.Errf(http.StatusBadRequest, "environment must be SANDBOX or LIVE")
	}
	var req webhookEndpoint
	if ae := ingest.DecodeJSON(ctx.PostBody(), &req); ae != nil {
		return ae
	}
	if req.MaxAttempts < 0 || req.MaxAttempts > 20 {
		return ingest.Errf(http.StatusBadRequest, "maxAttempts must be between 1 and 20")
	}
	if err := netguard.CheckURL(ingest.RequestContext(ctx), req.URL, s.cfg.AllowPrivateWebhooks); err != nil {
		return ingest.Errf(http.StatusBadRequest, "url: %v", err)
	}
	updated, err := s.d.Directory.Update(ingest.RequestContext(ctx), m.ID, func(m *pipeline.Merchant) error {
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
		return fmt.Errorf("setting webhook: %w", err)
	}
	if updated == nil {
		return ingest.Errf(http.StatusNotFound, "Merchant not found")
	}
	s.log.Info("webhook set", "merchant", m.ID, "environment", env)
	ingest.WriteJSON(ctx, http.StatusOK, viewMerchant(updated, false))
	return nil
}
