package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
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
	ids, err := s.rdb.SMembers(c, s.cfg.Keys.MerchantIndex()).Result()
	if err != nil {
		s.Internal(ctx, "listing merchants", err)
		return
	}
	sort.Strings(ids)
	out := merchantList{Data: []merchantView{}, Total: len(ids), Page: page, Limit: limit}
	from := min((page-1)*limit, len(ids))
	to := min(from+limit, len(ids))
	for _, id := range ids[from:to] {
		m, err := s.dir.merchant(c, id)
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
	oldHash, err := s.dir.rotateKey(RequestContext(ctx), m.ID, env, m.APIKeyHashes[env], key)
	if errors.Is(err, errRotationRace) {
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
	updated, err := s.dir.update(RequestContext(ctx), m.ID, func(m *pipeline.Merchant) error {
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

// update applies fn to the stored merchant under WATCH (optimistic locking, retried), so concurrent
// admin writes do not lose each other's changes. It returns (nil, nil) when the merchant is gone.
func (d *directory) update(ctx context.Context, id string, fn func(*pipeline.Merchant) error) (*pipeline.Merchant, error) {
	key := d.keys.Merchant(id)
	var out *pipeline.Merchant
	for range 10 {
		err := d.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				out = nil
				return nil
			}
			if err != nil {
				return fmt.Errorf("loading merchant: %w", err)
			}
			var m pipeline.Merchant
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("decoding merchant %s: %w", id, err)
			}
			if err := fn(&m); err != nil {
				return err
			}
			nb, err := json.Marshal(&m)
			if err != nil {
				return fmt.Errorf("encoding merchant: %w", err)
			}
			if _, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, nb, 0)
				return nil
			}); err != nil {
				return err // redis.TxFailedErr is checked below, unwrapped
			}
			out = &m
			return nil
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("updating merchant: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("updating merchant %s: too much contention", id)
}

// rotateKey stores newKey's record, records its hash on the merchant if the environment's current
// hash is still expected (the one the caller read), then deletes the old key's record and its cache
// entry. It returns the old hash, "" when none was known. When another rotation replaced expected
// first it deletes newKey's record and returns errRotationRace: newKey never worked.
func (d *directory) rotateKey(ctx context.Context, id string, env pipeline.Environment, expected, newKey string) (string, error) {
	h := HashSecret(newKey)
	rec, err := json.Marshal(pipeline.APIKeyRecord{MerchantID: id, Environment: env, CreatedAt: time.Now().UTC()})
	if err != nil {
		return "", fmt.Errorf("encoding api key record: %w", err)
	}
	// The new key first: a failure later leaves the merchant with two working keys, never none.
	if err := d.rdb.Set(ctx, d.keys.APIKey(h), rec, 0).Err(); err != nil {
		return "", fmt.Errorf("storing api key: %w", err)
	}
	var old string
	m, err := d.update(ctx, id, func(m *pipeline.Merchant) error {
		old = ""
		if m.APIKeyHashes == nil {
			m.APIKeyHashes = map[pipeline.Environment]string{}
		}
		old = m.APIKeyHashes[env]
		if old != expected {
			return errRotationRace
		}
		m.APIKeyHashes[env] = h
		return nil
	})
	if err != nil {
		d.rdb.Del(context.WithoutCancel(ctx), d.keys.APIKey(h))
		return "", err
	}
	if m == nil {
		d.rdb.Del(context.WithoutCancel(ctx), d.keys.APIKey(h))
		return "", errors.New("merchant vanished during key rotation")
	}
	if old == "" || old == h {
		return "", nil
	}
	if err := d.rdb.Del(ctx, d.keys.APIKey(old)).Err(); err != nil {
		return "", fmt.Errorf("revoking old api key: %w", err)
	}
	d.mu.Lock()
	delete(d.cache, old)
	d.mu.Unlock()
	return old, nil
}
