package directory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/testenv"
)

// clock is a manual clock for the caches: tests move it instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// newDirectory builds a directory on the test Redis under a fresh prefix, on a manual clock. del
// deletes keys behind its back (as another process would); another builds a second directory on
// the same keys (another replica, its own cache and clock).
func newDirectory(t *testing.T, cfg directory.Config) (d *directory.Directory, clk *clock, keys pipeline.Keys, del func(keys ...string), another func() *directory.Directory) {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	clk = &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Keys, cfg.Now = keys, clk.Now
	d, err := directory.New(cfg, rdb)
	if err != nil {
		t.Fatal(err)
	}
	del = func(ks ...string) {
		if err := rdb.Del(context.Background(), ks...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	another = func() *directory.Directory {
		o, err := directory.New(directory.Config{Keys: keys}, rdb)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	return d, clk, keys, del, another
}

var seq int

// merchant creates a merchant with a SANDBOX bKash wallet and its SANDBOX API key.
func merchant(t *testing.T, d *directory.Directory) (*pipeline.Merchant, string) {
	t.Helper()
	seq++
	m := &pipeline.Merchant{
		ID: fmt.Sprintf("mch_test%d", seq), Name: "Shop", Status: pipeline.MerchantActive, Dialect: pipeline.DialectNative,
		Wallets: []pipeline.Wallet{{Provider: pipeline.BKash, Account: fmt.Sprintf("017%08d", time.Now().UnixNano()%1e8), Environment: pipeline.Sandbox}},
	}
	key := fmt.Sprintf("sk_test_%024d", time.Now().UnixNano())
	if err := d.Create(t.Context(), m, map[pipeline.Environment]string{pipeline.Sandbox: key}, nil); err != nil {
		t.Fatal(err)
	}
	return m, key
}

func TestNewRefusesNoRedis(t *testing.T) {
	if _, err := directory.New(directory.Config{}, nil); !errors.Is(err, directory.ErrConfig) {
		t.Fatalf("New without Redis: %v, want ErrConfig", err)
	}
}

// TestIntegrationAndMerchantLookupsAreCachedBriefly (moved from ingest's lookups_test.go; the cache
// is the directory's now, on an injected clock instead of a purge): the SNS and transaction-API
// routes resolve their credential from the cache for the TTL; an unknown credential is never
// cached.
func TestIntegrationAndMerchantLookupsAreCachedBriefly(t *testing.T) {
	d, clk, keys, del, _ := newDirectory(t, directory.Config{})
	ctx := t.Context()
	mm, _ := merchant(t, d)
	w := mm.Wallets[0]
	n, err := d.NextShunnoSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shunnoID := fmt.Sprint(1000 + n)
	if err := d.CreateIntegration(ctx, &pipeline.Integration{ID: "int_" + shunnoID, Kind: pipeline.IntegrationSNS, MerchantID: mm.ID,
		Environment: pipeline.Sandbox, Status: pipeline.MerchantActive, ShunnoID: shunnoID, Wallet: &w}, shunnoID); err != nil {
		t.Fatal(err)
	}

	in, err := d.Integration(ctx, pipeline.IntegrationSNS, shunnoID)
	if err != nil || in == nil || in.MerchantID != mm.ID {
		t.Fatalf("integration = %+v, %v", in, err)
	}
	m, err := d.Merchant(ctx, mm.ID)
	if err != nil || m == nil || m.ID != mm.ID {
		t.Fatalf("merchant = %+v, %v", m, err)
	}

	// Gone from Redis: still served from the cache within its TTL.
	del(keys.IntegrationKey(pipeline.IntegrationSNS, shunnoID), keys.Merchant(mm.ID))
	clk.Add(directory.DefaultTTL - time.Millisecond)
	if in2, err := d.Integration(ctx, pipeline.IntegrationSNS, shunnoID); err != nil || in2 != in {
		t.Errorf("within the TTL: %+v, %v; want the cached integration", in2, err)
	}
	if m2, err := d.Merchant(ctx, mm.ID); err != nil || m2 != m {
		t.Errorf("within the TTL: %+v, %v; want the cached merchant", m2, err)
	}

	// Unknown credentials are looked up every time and never cached: once one is created it is
	// found at once.
	for range 3 {
		if in, err := d.Integration(ctx, pipeline.IntegrationSNS, "99999999"); err != nil || in != nil {
			t.Fatalf("unknown shunno_id: %+v, %v", in, err)
		}
	}
	if err := d.CreateIntegration(ctx, &pipeline.Integration{ID: "int_99999999", Kind: pipeline.IntegrationSNS, MerchantID: mm.ID,
		Environment: pipeline.Sandbox, Status: pipeline.MerchantActive, ShunnoID: "99999999", Wallet: &w}, "99999999"); err != nil {
		t.Fatal(err)
	}
	if in, err := d.Integration(ctx, pipeline.IntegrationSNS, "99999999"); err != nil || in == nil {
		t.Errorf("an unknown credential was cached: after its creation %+v, %v", in, err)
	}

	// Once expired, the deletion shows.
	clk.Add(time.Millisecond)
	if in, err := d.Integration(ctx, pipeline.IntegrationSNS, shunnoID); err != nil || in != nil {
		t.Errorf("after expiry: %+v, %v; want none", in, err)
	}
	if m, err := d.Merchant(ctx, mm.ID); err != nil || m != nil {
		t.Errorf("after expiry: %+v, %v; want none", m, err)
	}
}

// TestRevokedKeyStopsWithinTheTTL: a key revoked by another process (its record deleted) still
// works from the cache until the TTL and never after it; a key revoked by RotateKey on this
// process stops at once; an unknown key is never cached.
func TestRevokedKeyStopsWithinTheTTL(t *testing.T) {
	if directory.DefaultTTL > 2*time.Second {
		t.Fatalf("DefaultTTL %v: a revoked API key must stop within 2 s", directory.DefaultTTL)
	}
	d, clk, keys, del, _ := newDirectory(t, directory.Config{})
	ctx := t.Context()
	m, key := merchant(t, d)
	if got, env, err := d.MerchantByAPIKey(ctx, key); err != nil || got == nil || got.ID != m.ID || env != pipeline.Sandbox {
		t.Fatalf("MerchantByAPIKey = %+v %q %v", got, env, err)
	}
	del(keys.APIKey(directory.HashSecret(key)))
	clk.Add(directory.DefaultTTL - time.Millisecond)
	if got, _, err := d.MerchantByAPIKey(ctx, key); err != nil || got == nil {
		t.Errorf("within the TTL: %+v %v; want the cached merchant", got, err)
	}
	clk.Add(time.Millisecond)
	if got, _, err := d.MerchantByAPIKey(ctx, key); err != nil || got != nil {
		t.Errorf("at the TTL: %+v %v; want the revoked key refused", got, err)
	}

	// Unknown keys: not cached, so a key created afterwards works at once.
	m2, _ := merchant(t, d)
	newKey := "sk_test_" + fmt.Sprintf("%024d", 42)
	if got, _, _ := d.MerchantByAPIKey(ctx, newKey); got != nil {
		t.Fatalf("unknown key resolved to %+v", got)
	}
	if old, err := d.RotateKey(ctx, m2.ID, pipeline.Sandbox, m2.APIKeyHashes[pipeline.Sandbox], newKey); err != nil || old == "" {
		t.Fatalf("RotateKey = %q, %v", old, err)
	}
	if got, _, err := d.MerchantByAPIKey(ctx, newKey); err != nil || got == nil || got.ID != m2.ID {
		t.Errorf("a key unknown before was cached as unknown: %+v %v", got, err)
	}

	// A rotation here drops the old key at once; a rotation that lost the race changes nothing.
	m3, k3 := merchant(t, d)
	if got, _, _ := d.MerchantByAPIKey(ctx, k3); got == nil {
		t.Fatal("fresh key refused")
	}
	if _, err := d.RotateKey(ctx, m3.ID, pipeline.Sandbox, "not-the-current-hash", "sk_test_"+fmt.Sprintf("%024d", 43)); !errors.Is(err, directory.ErrRotationRace) {
		t.Fatalf("stale rotation: %v, want ErrRotationRace", err)
	}
	if got, _, _ := d.MerchantByAPIKey(ctx, "sk_test_"+fmt.Sprintf("%024d", 43)); got != nil {
		t.Error("the key of a rotation that lost works")
	}
	if _, err := d.RotateKey(ctx, m3.ID, pipeline.Sandbox, m3.APIKeyHashes[pipeline.Sandbox], "sk_test_"+fmt.Sprintf("%024d", 44)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := d.MerchantByAPIKey(ctx, k3); got != nil {
		t.Error("the rotated key still works on the process that rotated it")
	}
}

// TestWebhookEndpointChangeSeenWithinFiveSeconds: the webhook sink reads a merchant's endpoint
// through the cache; a change written by another process is used within the TTL (at most the
// 5 s the sink documents), and a change written through this directory at once.
func TestWebhookEndpointChangeSeenWithinFiveSeconds(t *testing.T) {
	if directory.DefaultTTL > 5*time.Second {
		t.Fatalf("DefaultTTL %v: a webhook endpoint change must be used within 5 s", directory.DefaultTTL)
	}
	d, clk, _, _, another := newDirectory(t, directory.Config{})
	ctx := t.Context()
	m, _ := merchant(t, d)
	if got, _ := d.Merchant(ctx, m.ID); got == nil || got.Webhooks[pipeline.Sandbox].URL != "" {
		t.Fatalf("merchant = %+v", got)
	}
	setURL := func(d *directory.Directory, u string) {
		t.Helper()
		if _, err := d.Update(ctx, m.ID, func(m *pipeline.Merchant) error {
			m.Webhooks = map[pipeline.Environment]pipeline.WebhookEndpoint{pipeline.Sandbox: {URL: u}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setURL(another(), "https://a.example.test/hook")
	if got, _ := d.Merchant(ctx, m.ID); got.Webhooks[pipeline.Sandbox].URL != "" {
		t.Errorf("within the TTL: %q, want the cached endpoint", got.Webhooks[pipeline.Sandbox].URL)
	}
	clk.Add(directory.DefaultTTL)
	if got, _ := d.Merchant(ctx, m.ID); got.Webhooks[pipeline.Sandbox].URL != "https://a.example.test/hook" {
		t.Errorf("after the TTL: %q, want the new endpoint", got.Webhooks[pipeline.Sandbox].URL)
	}
	setURL(d, "https://b.example.test/hook")
	if got, _ := d.Merchant(ctx, m.ID); got.Webhooks[pipeline.Sandbox].URL != "https://b.example.test/hook" {
		t.Errorf("written here: %q, want the new endpoint at once", got.Webhooks[pipeline.Sandbox].URL)
	}
}

// TestCachesAreBounded: however many merchants and keys are read, each cache holds at most
// MaxEntries; the entries pushed out are read again from Redis.
func TestCachesAreBounded(t *testing.T) {
	d, _, _, _, _ := newDirectory(t, directory.Config{MaxEntries: 3})
	ctx := t.Context()
	var ms []*pipeline.Merchant
	var keys []string
	for range 5 {
		m, k := merchant(t, d)
		ms, keys = append(ms, m), append(keys, k)
	}
	for i := range ms {
		if got, _ := d.Merchant(ctx, ms[i].ID); got == nil {
			t.Fatalf("merchant %d not found", i)
		}
		if got, _, _ := d.MerchantByAPIKey(ctx, keys[i]); got == nil {
			t.Fatalf("key %d refused", i)
		}
	}
	if n := directory.CachedForTest(d); n.Merchants > 3 || n.APIKeys > 3 || n.Integrations > 3 {
		t.Fatalf("cache sizes %+v exceed MaxEntries 3", n)
	}
	if got, _ := d.Merchant(ctx, ms[0].ID); got == nil || got.ID != ms[0].ID {
		t.Fatalf("an evicted merchant is not read again: %+v", got)
	}
}
