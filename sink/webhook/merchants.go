package webhook

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
)

// MerchantReader is what the sink needs of the merchant directory: a merchant's webhook endpoints,
// secrets and dialect. *directory.Directory implements it, behind its cache: an endpoint or secret
// change is used within its TTL (directory.DefaultTTL, 2 s; the sink's bound is 5 s).
type MerchantReader interface {
	// Merchant returns merchant id, (nil, nil) when it does not exist, or a Redis or decoding
	// error (transient). The result is shared and must not be modified.
	Merchant(ctx context.Context, id string) (*pipeline.Merchant, error)
}

// merchantCache is the sink's view of the directory.
type merchantCache struct {
	r   MerchantReader
	err error // why no reader could be built (New refuses a nil Redis client before)
}

// newMerchantCache reads through r, or, if r is nil, through a directory of its own over rdb.
func newMerchantCache(r MerchantReader, rdb redis.UniversalClient, keys pipeline.Keys) *merchantCache {
	if r != nil {
		return &merchantCache{r: r}
	}
	d, err := directory.New(directory.Config{Keys: keys}, rdb)
	if err != nil {
		return &merchantCache{err: err}
	}
	return &merchantCache{r: d}
}

// get returns the merchant, errMerchantNotFound, or a Redis/decoding error (transient: the caller
// retries without counting an attempt).
func (c *merchantCache) get(ctx context.Context, id string) (*pipeline.Merchant, error) {
	if c.err != nil {
		return nil, c.err
	}
	m, err := c.r.Merchant(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading merchant %s: %w", id, err)
	}
	if m == nil {
		return nil, errMerchantNotFound
	}
	return m, nil
}
