package webhook

import (
	"context"
	"errors"
	"testing"

	"github.com/paystream/paystream/pipeline"
)

type fakeReader map[string]*pipeline.Merchant

var errFakeRedis = errors.New("redis down")

func (f fakeReader) Merchant(_ context.Context, id string) (*pipeline.Merchant, error) {
	if id == "down" {
		return nil, errFakeRedis
	}
	return f[id], nil
}

// TestMerchantsReadThroughTheDirectory: the sink reads merchants through the MerchantReader it is
// given (cmd's one directory); a missing merchant is errMerchantNotFound (a failed attempt), a
// reader error is transient (not errMerchantNotFound).
func TestMerchantsReadThroughTheDirectory(t *testing.T) {
	m := &pipeline.Merchant{ID: "mch_1"}
	c := newMerchantCache(fakeReader{"mch_1": m}, nil, pipeline.Keys{})
	if got, err := c.get(t.Context(), "mch_1"); err != nil || got != m {
		t.Fatalf("get = %v, %v", got, err)
	}
	if _, err := c.get(t.Context(), "mch_2"); !errors.Is(err, errMerchantNotFound) {
		t.Fatalf("missing merchant: %v, want errMerchantNotFound", err)
	}
	if _, err := c.get(t.Context(), "down"); !errors.Is(err, errFakeRedis) || errors.Is(err, errMerchantNotFound) {
		t.Fatalf("reader error: %v, want it transient", err)
	}
	// Without a reader and without Redis: an error, never a nil-pointer panic.
	if _, err := newMerchantCache(nil, nil, pipeline.Keys{}).get(t.Context(), "mch_1"); err == nil || errors.Is(err, errMerchantNotFound) {
		t.Fatalf("no reader: %v, want a transient error", err)
	}
}
