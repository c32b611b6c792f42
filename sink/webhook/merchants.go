package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

const (
	merchantCacheTTL = 5 * time.Second
	merchantCacheMax = 10000
)

// merchantCache reads merchants (JSON at Keys.Merchant(id)) and keeps each for merchantCacheTTL, so
// an endpoint or secret change takes effect within that. Missing merchants are cached too. Safe for
// concurrent use; concurrent misses of one id may read Redis twice, which is harmless.
type merchantCache struct {
	rdb  redis.UniversalClient
	keys pipeline.Keys

	mu sync.Mutex
	m  map[string]cachedMerchant
}

type cachedMerchant struct {
	m  *pipeline.Merchant // nil when not found
	at time.Time
}

func newMerchantCache(rdb redis.UniversalClient, keys pipeline.Keys) *merchantCache {
	return &merchantCache{rdb: rdb, keys: keys, m: make(map[string]cachedMerchant)}
}

// get returns the merchant, errMerchantNotFound, or a Redis/decoding error (transient: the caller
// retries without counting an attempt).
func (c *merchantCache) get(ctx context.Context, id string) (*pipeline.Merchant, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) > merchantCacheTTL {
		b, err := c.rdb.Get(ctx, c.keys.Merchant(id)).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			e = cachedMerchant{at: now}
		case err != nil:
			return nil, fmt.Errorf("reading merchant %s: %w", id, err)
		default:
			var m pipeline.Merchant
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("decoding merchant %s: %w", id, err)
			}
			e = cachedMerchant{m: &m, at: now}
		}
		c.mu.Lock()
		if len(c.m) >= merchantCacheMax {
			clear(c.m)
		}
		c.m[id] = e
		c.mu.Unlock()
	}
	if e.m == nil {
		return nil, errMerchantNotFound
	}
	return e.m, nil
}
