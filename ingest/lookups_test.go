package ingest

import (
	"context"
	"testing"

	"github.com/paystream/paystream/pipeline"
)

// TestIntegrationAndMerchantLookupsAreCachedBriefly: the SNS and transaction-API routes resolve
// their credential from the cache for authCacheTTL; an unknown credential is never cached.
func TestIntegrationAndMerchantLookupsAreCachedBriefly(t *testing.T) {
	f := newSNSFixture(t, nil)
	ctx := context.Background()
	in, err := f.s.Integration(ctx, pipeline.IntegrationSNS, f.shunnoID)
	if err != nil || in == nil || in.MerchantID != f.merchantID {
		t.Fatalf("integration = %+v, %v", in, err)
	}
	m, err := f.s.Merchant(ctx, f.merchantID)
	if err != nil || m == nil || m.ID != f.merchantID {
		t.Fatalf("merchant = %+v, %v", m, err)
	}

	// Gone from Redis: still served from the cache within its TTL.
	if err := f.s.rdb.Del(ctx, f.keys.IntegrationKey(pipeline.IntegrationSNS, f.shunnoID), f.keys.Merchant(f.merchantID)).Err(); err != nil {
		t.Fatal(err)
	}
	if in2, err := f.s.Integration(ctx, pipeline.IntegrationSNS, f.shunnoID); err != nil || in2 != in {
		t.Errorf("within the TTL: %+v, %v; want the cached integration", in2, err)
	}
	if m2, err := f.s.Merchant(ctx, f.merchantID); err != nil || m2 != m {
		t.Errorf("within the TTL: %+v, %v; want the cached merchant", m2, err)
	}

	// Unknown credentials are looked up every time and never cached.
	before := f.s.look.integrations.Len()
	for range 3 {
		if in, err := f.s.Integration(ctx, pipeline.IntegrationSNS, "99999999"); err != nil || in != nil {
			t.Fatalf("unknown shunno_id: %+v, %v", in, err)
		}
	}
	if got := f.s.look.integrations.Len(); got != before {
		t.Errorf("cache grew from %d to %d on unknown credentials", before, got)
	}

	// Once expired (purged here), the deletion shows.
	f.s.look.integrations.Purge()
	f.s.look.merchants.Purge()
	if in, err := f.s.Integration(ctx, pipeline.IntegrationSNS, f.shunnoID); err != nil || in != nil {
		t.Errorf("after expiry: %+v, %v; want none", in, err)
	}
	if m, err := f.s.Merchant(ctx, f.merchantID); err != nil || m != nil {
		t.Errorf("after expiry: %+v, %v; want none", m, err)
	}
}
