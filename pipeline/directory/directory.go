package directory

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// Defaults of Config.
const (
	// DefaultTTL is how long a cached read is reused: a revoked API key stops working, and a
	// changed webhook endpoint is used, within it on every process.
	DefaultTTL = 2 * time.Second
	// DefaultMaxAPIKeys, DefaultMaxMerchants and DefaultMaxIntegrations bound the cache of each
	// kind of read.
	DefaultMaxAPIKeys      = 100_000
	DefaultMaxMerchants    = 50_000
	DefaultMaxIntegrations = 50_000
	maxCredentialLen       = 128
	minAPIKeyLen           = 16
	updateAttempts         = 10
	integrationCacheKeySep = "\x00"
)

// Config configures a Directory. Zero values take the documented defaults.
type Config struct {
	Keys pipeline.Keys // the Redis key layout (pipeline.Keys' merchant, API-key, integration keys)
	// TTL bounds how stale a cached read may be (default DefaultTTL). It must stay at most 2 s for
	// the API-key revocation bound ingest documents, and at most 5 s for the webhook sink's
	// endpoint-change bound.
	TTL time.Duration
	// MaxEntries, if > 0, bounds every cache (merchants, API keys, integrations) to that many
	// entries instead of the per-kind defaults.
	MaxEntries int
	// Now is the clock of the caches (default time.Now).
	Now func() time.Time
}

func (c *Config) withDefaults() {
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c *Config) max(def int) int {
	if c.MaxEntries > 0 {
		return c.MaxEntries
	}
	return def
}

// Directory reads and writes the merchant directory (see the package documentation).
type Directory struct {
	rdb  redis.UniversalClient
	keys pipeline.Keys
	now  func() time.Time

	apiKeys      *cache[apiKeyHit]             // by key hash; known keys only
	merchants    *cache[*pipeline.Merchant]    // by merchant id; existing merchants only
	integrations *cache[*pipeline.Integration] // by kind and credential; active only
}

type apiKeyHit struct {
	m   *pipeline.Merchant
	env pipeline.Environment
}

// New returns a directory over rdb. It starts nothing and does no I/O; it fails (ErrConfig) when
// rdb is nil.
func New(cfg Config, rdb redis.UniversalClient) (*Directory, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: a Redis client is required", ErrConfig)
	}
	cfg.withDefaults()
	return &Directory{
		rdb: rdb, keys: cfg.Keys, now: cfg.Now,
		apiKeys:      newCache[apiKeyHit](cfg.max(DefaultMaxAPIKeys), cfg.TTL, cfg.Now),
		merchants:    newCache[*pipeline.Merchant](cfg.max(DefaultMaxMerchants), cfg.TTL, cfg.Now),
		integrations: newCache[*pipeline.Integration](cfg.max(DefaultMaxIntegrations), cfg.TTL, cfg.Now),
	}, nil
}

// HashSecret is the hex SHA-256 of a credential: how API keys, app keys and integration keys are
// stored and looked up (never the secret itself).
func HashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// EqualHash compares two hex digests (HashSecret) in constant time.
func EqualHash(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// CurrentMerchant loads merchant id as stored now, without the cache; (nil, nil) when it does not
// exist. Errors are Redis's or a record that does not decode.
func (d *Directory) CurrentMerchant(ctx context.Context, id string) (*pipeline.Merchant, error) {
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

// Merchant is merchant id through the cache; (nil, nil) when it does not exist (never cached). The
// result is shared and must not be modified.
func (d *Directory) Merchant(ctx context.Context, id string) (*pipeline.Merchant, error) {
	if m, ok := d.merchants.get(id); ok {
		return m, nil
	}
	at := d.now()
	m, err := d.CurrentMerchant(ctx, id)
	if err == nil && m != nil {
		d.merchants.add(id, m, at)
	}
	return m, err
}

// MerchantByAPIKey resolves an API key to its merchant and environment through the cache; (nil,
// "", nil) when the key is unknown (never cached) or its merchant is gone. A key revoked by
// another process stops working within Config.TTL; one revoked by RotateKey here, at once.
func (d *Directory) MerchantByAPIKey(ctx context.Context, apiKey string) (*pipeline.Merchant, pipeline.Environment, error) {
	if len(apiKey) < minAPIKeyLen || len(apiKey) > maxCredentialLen {
		return nil, "", nil
	}
	// Hashing first makes the lookup independent of the key's bytes (no timing oracle on the key
	// itself); the stored value is a SHA-256 of a 192-bit random key, so no slow hash is needed.
	h := HashSecret(apiKey)
	if c, ok := d.apiKeys.get(h); ok {
		return c.m, c.env, nil
	}
	at := d.now()
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
	m, err := d.CurrentMerchant(ctx, rec.MerchantID)
	if err != nil || m == nil {
		return nil, "", err
	}
	d.apiKeys.add(h, apiKeyHit{m: m, env: rec.Environment}, at)
	return m, rec.Environment, nil
}

// Integration finds an active integration of kind by its credential (the SHA-256 hex of a
// transaction-API key, or an SNS shunno_id) through the cache; (nil, nil) when none (never
// cached), inactive included. The result is shared and must not be modified.
func (d *Directory) Integration(ctx context.Context, kind pipeline.IntegrationKind, credential string) (*pipeline.Integration, error) {
	k := string(kind) + integrationCacheKeySep + credential
	if in, ok := d.integrations.get(k); ok {
		return in, nil
	}
	at := d.now()
	in, err := d.loadIntegration(ctx, kind, credential)
	if err == nil && in != nil {
		d.integrations.add(k, in, at)
	}
	return in, err
}

func (d *Directory) loadIntegration(ctx context.Context, kind pipeline.IntegrationKind, credential string) (*pipeline.Integration, error) {
	id, err := d.rdb.Get(ctx, d.keys.IntegrationKey(kind, credential)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up integration: %w", err)
	}
	b, err := d.rdb.Get(ctx, d.keys.Integration(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading integration %s: %w", id, err)
	}
	var in pipeline.Integration
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("decoding integration %s: %w", id, err)
	}
	if in.Status != pipeline.MerchantActive {
		return nil, nil
	}
	return &in, nil
}

// AppKey resolves a bdQuickPay App Key / Secret Key pair to its merchant and environment, without
// the cache; (nil, "", nil) when the App Key is unknown or the Secret Key does not match (compared
// in constant time). err is a Redis failure.
func (d *Directory) AppKey(ctx context.Context, appKey, secretKey string) (*pipeline.Merchant, pipeline.Environment, error) {
	if appKey == "" || secretKey == "" || len(appKey) > maxCredentialLen || len(secretKey) > maxCredentialLen {
		return nil, "", nil
	}
	b, err := d.rdb.Get(ctx, d.keys.AppKey(HashSecret(appKey))).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("looking up app key: %w", err)
	}
	var rec pipeline.AppKeyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, "", fmt.Errorf("decoding app key record: %w", err)
	}
	if !EqualHash(HashSecret(secretKey), rec.SecretKeyHash) {
		return nil, "", nil
	}
	m, err := d.CurrentMerchant(ctx, rec.MerchantID)
	if err != nil || m == nil {
		return nil, "", err
	}
	return m, rec.Environment, nil
}

// MerchantIDs returns the ids of every merchant in the index, unsorted (SMEMBERS: fine for
// thousands of merchants; a sorted set or SSCAN would be needed well beyond that).
func (d *Directory) MerchantIDs(ctx context.Context) ([]string, error) {
	ids, err := d.rdb.SMembers(ctx, d.keys.MerchantIndex()).Result()
	if err != nil {
		return nil, fmt.Errorf("listing merchants: %w", err)
	}
	return ids, nil
}
