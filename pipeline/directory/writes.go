package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// AppKeyPair is a bdQuickPay dialect credential pair, in plain text as the merchant is handed it.
type AppKeyPair struct {
	AppKey    string
	SecretKey string
}

// Create stores m and its credentials: API keys and app-key pairs are given in plain text and
// stored as SHA-256 only (m.APIKeyHashes is set from apiKeys). Wallets are claimed first (SET NX per
// wallet); if one is taken, the claims made are released and ErrWalletTaken returned (wrapped, with
// the wallet). The merchant record is written before the credentials, so a half-written merchant
// cannot be used.
func (d *Directory) Create(ctx context.Context, m *pipeline.Merchant, apiKeys map[pipeline.Environment]string, appKeys map[pipeline.Environment]AppKeyPair) error {
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
			return fmt.Errorf("%w: %s", ErrWalletTaken, w.Key())
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

// Update applies fn to the stored merchant under WATCH (optimistic locking, retried up to 10
// times), so concurrent writes do not lose each other's changes, and drops the merchant from this
// process's cache. An error of fn is returned as is and nothing is written. It returns (nil, nil)
// when the merchant is gone.
func (d *Directory) Update(ctx context.Context, id string, fn func(*pipeline.Merchant) error) (*pipeline.Merchant, error) {
	key := d.keys.Merchant(id)
	var out *pipeline.Merchant
	for range updateAttempts {
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
		d.merchants.remove(id)
		return out, nil
	}
	return nil, fmt.Errorf("updating merchant %s: too much contention", id)
}

// RotateKey stores newKey's record, records its hash on the merchant if the environment's current
// hash is still expected (the one the caller read), then deletes the old key's record and drops it
// from this process's cache (other processes stop accepting it within Config.TTL). It returns the
// old hash, "" when none was known. When another rotation replaced expected first it deletes
// newKey's record and returns ErrRotationRace: newKey never worked.
func (d *Directory) RotateKey(ctx context.Context, id string, env pipeline.Environment, expected, newKey string) (string, error) {
	h := HashSecret(newKey)
	rec, err := json.Marshal(pipeline.APIKeyRecord{MerchantID: id, Environment: env, CreatedAt: d.now().UTC()})
	if err != nil {
		return "", fmt.Errorf("encoding api key record: %w", err)
	}
	// The new key first: a failure later leaves the merchant with two working keys, never none.
	if err := d.rdb.Set(ctx, d.keys.APIKey(h), rec, 0).Err(); err != nil {
		return "", fmt.Errorf("storing api key: %w", err)
	}
	var old string
	m, err := d.Update(ctx, id, func(m *pipeline.Merchant) error {
		old = ""
		if m.APIKeyHashes == nil {
			m.APIKeyHashes = map[pipeline.Environment]string{}
		}
		old = m.APIKeyHashes[env]
		if old != expected {
			return ErrRotationRace
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
		return "", ErrMerchantGone
	}
	if old == "" || old == h {
		return "", nil
	}
	if err := d.rdb.Del(ctx, d.keys.APIKey(old)).Err(); err != nil {
		return "", fmt.Errorf("revoking old api key: %w", err)
	}
	d.apiKeys.remove(old)
	return old, nil
}

// NextShunnoSeq returns the next number of the SNS integrations' shunno ids (INCR, from 1).
func (d *Directory) NextShunnoSeq(ctx context.Context) (int64, error) {
	n, err := d.rdb.Incr(ctx, d.keys.ShunnoSeq()).Result()
	if err != nil {
		return 0, fmt.Errorf("numbering integration: %w", err)
	}
	return n, nil
}

// CreateIntegration stores in, then its credential (the transaction-API key's hash, or the SNS
// shunno id) last, so the integration is usable only when complete.
func (d *Directory) CreateIntegration(ctx context.Context, in *pipeline.Integration, credential string) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding integration: %w", err)
	}
	if err := d.rdb.Set(ctx, d.keys.Integration(in.ID), b, 0).Err(); err != nil {
		return fmt.Errorf("storing integration: %w", err)
	}
	if err := d.rdb.Set(ctx, d.keys.IntegrationKey(in.Kind, credential), in.ID, 0).Err(); err != nil {
		return fmt.Errorf("storing integration credentials: %w", err)
	}
	return nil
}

// PinSNSTopic binds SNS integration in, created without a topic, to topic: only if it still has
// none (WATCH), so two confirmations cannot both pin. It drops the integration from this process's
// cache.
func (d *Directory) PinSNSTopic(ctx context.Context, in *pipeline.Integration, topic string) error {
	key := d.keys.Integration(in.ID)
	err := d.rdb.Watch(ctx, func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, key).Bytes()
		if err != nil {
			return fmt.Errorf("loading integration: %w", err)
		}
		var cur pipeline.Integration
		if err := json.Unmarshal(b, &cur); err != nil {
			return fmt.Errorf("decoding integration %s: %w", in.ID, err)
		}
		if cur.TopicArn != "" {
			return nil
		}
		cur.TopicArn = topic
		nb, _ := json.Marshal(&cur)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, key, nb, 0); return nil })
		return err
	}, key)
	if err != nil {
		return fmt.Errorf("pinning SNS topic: %w", err)
	}
	d.integrations.remove(string(pipeline.IntegrationSNS) + integrationCacheKeySep + in.ShunnoID)
	return nil
}
