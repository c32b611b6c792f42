package ingest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// errWalletTaken reports a wallet already registered to another merchant.
var errWalletTaken = errors.New("wallet already registered")

// directory reads and writes merchants and API-key hashes in Redis. API keys are looked up on every
// request; the lookup result is cached for cacheTTL (a revoked key stops working within that time).
type directory struct {
	rdb  redis.UniversalClient
	keys pipeline.Keys

	mu       sync.Mutex
	cache    map[string]cachedKey // by key hash
	cacheTTL time.Duration
}

type cachedKey struct {
	m   *pipeline.Merchant
	env pipeline.Environment
	at  time.Time
}

const maxCachedKeys = 100_000

func newDirectory(rdb redis.UniversalClient, keys pipeline.Keys) *directory {
	return &directory{rdb: rdb, keys: keys, cache: map[string]cachedKey{}, cacheTTL: 2 * time.Second}
}

// HashSecret is the hex SHA-256 of a credential: how API keys, app keys and integration keys are
// stored and looked up (never the secret itself).
func HashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// RandomToken returns n random bytes (crypto/rand) as URL-safe base64 without padding: for
// credentials a client is handed once.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err)) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func newMerchantID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "mch_" + hex.EncodeToString(b)
}

// apiKeyPrefix returns the environment's key prefix, as merchants know them from seed 004.
func apiKeyPrefix(env pipeline.Environment) string {
	if env == pipeline.Live {
		return "sk_live_"
	}
	return "sk_test_"
}

// create stores m and its API keys (given in plain text, stored as SHA-256 only). Wallets are claimed
// first (SET NX per wallet); if one is taken, the claims made are released and errWalletTaken returned.
func (d *directory) create(ctx context.Context, m *pipeline.Merchant, apiKeys map[pipeline.Environment]string, appKeys map[pipeline.Environment]appKeyPair) error {
	var claimed []string
	for _, w := range m.Wallets {
		k := d.keys.WalletOwner(w)
		ok, err := d.rdb.SetNX(ctx, k, m.ID, 0).Result()
		if err != nil || !ok {
			if len(claimed) > 0 {
				d.rdb.Del(context.WithoutCancel(ctx), claimed...)
			}
			if err != nil {
				return fmt.Errorf("claiming wallet %s: %w", w.Key(), err)
			}
			return fmt.Errorf("%w: %s", errWalletTaken, w.Key())
		}
		claimed = append(claimed, k)
	}
	if len(apiKeys) > 0 {
		m.APIKeyHashes = make(map[pipeline.Environment]string, len(apiKeys))
		for env, key := range apiKeys {
			m.APIKeyHashes[env] = HashSecret(key)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding merchant: %w", err)
	}
	// The merchant record first, the API keys last: a half-written merchant cannot be used.
	if err := d.rdb.Set(ctx, d.keys.Merchant(m.ID), b, 0).Err(); err != nil {
		return fmt.Errorf("storing merchant: %w", err)
	}
	d.rdb.SAdd(ctx, d.keys.MerchantIndex(), m.ID)
	for env, p := range appKeys {
		rec, _ := json.Marshal(pipeline.AppKeyRecord{MerchantID: m.ID, Environment: env, SecretKeyHash: HashSecret(p.SecretKey), CreatedAt: m.CreatedAt})
		if err := d.rdb.Set(ctx, d.keys.AppKey(HashSecret(p.AppKey)), rec, 0).Err(); err != nil {
			return fmt.Errorf("storing app key: %w", err)
		}
	}
	for env, key := range apiKeys {
		rec, _ := json.Marshal(pipeline.APIKeyRecord{MerchantID: m.ID, Environment: env, CreatedAt: m.CreatedAt})
		if err := d.rdb.Set(ctx, d.keys.APIKey(HashSecret(key)), rec, 0).Err(); err != nil {
			return fmt.Errorf("storing api key: %w", err)
		}
	}
	return nil
}

// merchant loads a merchant; (nil, nil) when it does not exist.
func (d *directory) merchant(ctx context.Context, id string) (*pipeline.Merchant, error) {
	b, err := d.rdb.Get(ctx, d.keys.Merchant(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading merchant: %w", err)
	}
	var m pipeline.Merchant
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding merchant %s: %w", id, err)
	}
	return &m, nil
}

// authenticate resolves an API key to its merchant and environment; (nil, "", nil) when unknown.
func (d *directory) authenticate(ctx context.Context, apiKey string) (*pipeline.Merchant, pipeline.Environment, error) {
	if len(apiKey) < 16 || len(apiKey) > 128 {
		return nil, "", nil
	}
	// Hashing first makes the lookup independent of the key's bytes (no timing oracle on the key
	// itself); the stored value is a SHA-256 of a 192-bit random key, so no slow hash is needed.
	h := HashSecret(apiKey)
	now := time.Now()
	d.mu.Lock()
	c, ok := d.cache[h]
	d.mu.Unlock()
	if ok && now.Sub(c.at) < d.cacheTTL {
		return c.m, c.env, nil
	}
	b, err := d.rdb.Get(ctx, d.keys.APIKey(h)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("looking up api key: %w", err)
	}
	var rec pipeline.APIKeyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, "", fmt.Errorf("decoding api key record: %w", err)
	}
	m, err := d.merchant(ctx, rec.MerchantID)
	if err != nil || m == nil {
		return nil, "", err
	}
	d.mu.Lock()
	if len(d.cache) >= maxCachedKeys {
		clear(d.cache)
	}
	d.cache[h] = cachedKey{m: m, env: rec.Environment, at: now}
	d.mu.Unlock()
	return m, rec.Environment, nil
}

// RandomHex returns n random bytes (crypto/rand) as hex: for ids.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AppKey authenticates a bdQuickPay app key and its secret key (seed 001): the merchant and the
// environment of the pair, nil if it is unknown or the secret does not match. err is a Redis
// failure.
func (s *Server) AppKey(ctx context.Context, appKey, secretKey string) (*pipeline.Merchant, pipeline.Environment, error) {
	return s.dir.appKey(ctx, appKey, secretKey)
}

// EqualHash compares two hex digests (HashSecret) in constant time.
func EqualHash(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
