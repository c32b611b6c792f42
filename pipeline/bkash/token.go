package bkash

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// TokenKey is the Redis key of the cached token of credential set id (Credentials.ID), and
// LockKey its renewal lock. Both carry the hash tag {bkash:<id>}, so they share a Redis Cluster slot.
func TokenKey(prefix, id string) string { return tag(prefix, id) + ":token" }

// LockKey is the renewal lock of the token of credential set id.
func LockKey(prefix, id string) string { return tag(prefix, id) + ":lock" }

func tag(prefix, id string) string {
	if prefix == "" {
		prefix = "ps"
	}
	return prefix + ":{bkash:" + id + "}"
}

// cachedToken is what TokenKey holds (JSON). The id_token is a bearer credential valid for an
// hour: the Redis holding it must be protected like the one holding webhook secrets.
type cachedToken struct {
	IDToken      string `json:"idToken"`
	RefreshToken string `json:"refreshToken,omitempty"`
	ExpiresAt    int64  `json:"expiresAt"` // unix ms
	GrantedAt    int64  `json:"grantedAt"` // unix ms of the last grant (refreshes keep it)
}

func (t *cachedToken) expires() time.Time { return time.UnixMilli(t.ExpiresAt) }

// usable reports whether t exists, is not the token bKash refused (stale) and is still valid for
// at least margin after now.
func (t *cachedToken) usable(stale string, now time.Time, margin time.Duration) bool {
	return t != nil && t.IDToken != stale && now.Add(margin).Before(t.expires())
}

// tokenAnswer is token/grant's and token/refresh's answer.
type tokenAnswer struct {
	envelope
	IDToken      string          `json:"id_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"` // a number, or a string in some answers
	RefreshToken string          `json:"refresh_token"`
}

func (a *tokenAnswer) lifetime() time.Duration {
	s := strings.Trim(string(a.ExpiresIn), `"`)
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
		return time.Hour
	}
	return time.Duration(n) * time.Second
}

const (
	lockPoll     = 25 * time.Millisecond
	validityEdge = 5 * time.Second // a token this close to expiry is not handed out
)

// releaseLock deletes the lock only if this replica still owns it.
var releaseLock = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// token returns an id_token for cr. stale, when set, is a token bKash just refused: a cached token
// equal to it is renewed even if it looks valid. Renewals are serialised across replicas by the
// lock; a replica that does not get the lock keeps using a still-valid token or waits (up to the
// lock's lifetime) for the renewed one.
func (c *Client) token(ctx context.Context, cr *Credentials, stale string) (string, error) {
	id := cr.ID()
	key, lock := TokenKey(c.cfg.KeyPrefix, id), LockKey(c.cfg.KeyPrefix, id)
	tok, err := c.loadToken(ctx, key)
	if err != nil {
		return "", err
	}
	if tok.usable(stale, c.cfg.Now(), c.cfg.RefreshBefore) {
		return tok.IDToken, nil
	}
	owner := randomOwner()
	lockTTL := 2*c.cfg.Timeout + 5*time.Second // a grant after a refused refresh fits in it
	deadline := time.Now().Add(lockTTL)
	waited := false
	for {
		ok, err := c.rdb.SetNX(ctx, lock, owner, lockTTL).Result()
		if err != nil {
			return "", fmt.Errorf("taking bkash token lock: %w", err)
		}
		if ok {
			defer func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				_ = releaseLock.Run(rctx, c.rdb, []string{lock}, owner).Err()
			}()
			return c.renew(ctx, cr, key, stale)
		}
		// Someone else renews. A token that is still valid (and not the refused one) will do.
		if tok.usable(stale, c.cfg.Now(), validityEdge) {
			return tok.IDToken, nil
		}
		if !waited {
			waited = true
			c.m.lockWaits.Inc()
		}
		if time.Now().After(deadline) {
			return "", ErrTokenBusy
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("%w: waiting for the token: %w", ErrTimeout, ctx.Err())
		case <-t.C:
		}
		if tok, err = c.loadToken(ctx, key); err != nil {
			return "", err
		}
		if tok.usable(stale, c.cfg.Now(), validityEdge) {
			return tok.IDToken, nil
		}
	}
}

// renew runs under the lock: it re-reads the token (another replica may have renewed it between
// our read and our lock), then refreshes it, or grants one if there is nothing to refresh or the
// refresh is refused.
func (c *Client) renew(ctx context.Context, cr *Credentials, key, stale string) (string, error) {
	tok, err := c.loadToken(ctx, key)
	if err != nil {
		return "", err
	}
	now := c.cfg.Now()
	if tok.usable(stale, now, c.cfg.RefreshBefore) {
		return tok.IDToken, nil
	}
	base := strings.TrimRight(cr.BaseURL, "/")
	hdr := http.Header{"Username": {cr.Username}, "Password": {cr.Password.Reveal()}}
	var ans *tokenAnswer
	grantedAt := now.UnixMilli()
	if tok != nil && tok.RefreshToken != "" {
		ans, err = c.tokenCall(ctx, cr, "refresh", base+"/tokenized/checkout/token/refresh", hdr, map[string]string{
			"app_key": cr.AppKey, "app_secret": cr.AppSecret.Reveal(), "refresh_token": tok.RefreshToken,
		})
		if err == nil {
			c.m.refreshes.Inc()
			grantedAt = tok.GrantedAt
		} else if errors.Is(err, ErrTimeout) || errors.Is(err, ErrTransport) {
			return "", err
		} else {
			c.cfg.Logger.Warn("bkash refused the token refresh; granting a new token", "err", err, "credentials", cr)
			ans = nil
		}
	}
	if ans == nil {
		ans, err = c.tokenCall(ctx, cr, "grant", base+"/tokenized/checkout/token/grant", hdr, map[string]string{
			"app_key": cr.AppKey, "app_secret": cr.AppSecret.Reveal(),
		})
		if err != nil {
			return "", err
		}
		c.m.grants.Inc()
	}
	nt := cachedToken{
		IDToken: ans.IDToken, RefreshToken: ans.RefreshToken,
		ExpiresAt: now.Add(ans.lifetime()).UnixMilli(), GrantedAt: grantedAt,
	}
	if nt.RefreshToken == "" && tok != nil {
		nt.RefreshToken = tok.RefreshToken
	}
	b, _ := json.Marshal(nt) //nolint:gosec // G117: the token cache must hold the refresh token; see cachedToken
	if err := c.rdb.Set(ctx, key, b, c.cfg.RefreshTokenTTL).Err(); err != nil {
		c.cfg.Logger.Warn("caching the bkash token failed; using it uncached", "err", err)
	}
	return nt.IDToken, nil
}

// tokenCall posts a grant or refresh. An answer without id_token is ErrCredentials.
func (c *Client) tokenCall(ctx context.Context, cr *Credentials, op, url string, hdr http.Header, body any) (*tokenAnswer, error) {
	a, err := c.post(ctx, cr, op, url, hdr, body)
	if err != nil {
		return nil, err
	}
	if err := judge(op, a); err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Outcome != OutcomeUnavailable {
			return nil, fmt.Errorf("%w: %w", ErrCredentials, err)
		}
		return nil, err
	}
	var ans tokenAnswer
	if err := json.Unmarshal(a.raw, &ans); err != nil || ans.IDToken == "" {
		return nil, fmt.Errorf("%w: bkash %s answered without id_token", ErrCredentials, op)
	}
	return &ans, nil
}

func (c *Client) loadToken(ctx context.Context, key string) (*cachedToken, error) {
	b, err := c.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading cached bkash token: %w", err)
	}
	var t cachedToken
	if json.Unmarshal(b, &t) != nil || t.IDToken == "" {
		return nil, nil // unreadable: renew it
	}
	return &t, nil
}

func randomOwner() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
