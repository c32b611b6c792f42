package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/redis/go-redis/v9"
)

// newTestStore returns a store on the real Redis (PAYSTREAM_TEST_REDIS_ADDR, default
// 127.0.0.1:6379) under a unique prefix whose keys are deleted when the test ends.
func newTestStore(t *testing.T) (*Store, *redis.Client) {
	t.Helper()
	addr := os.Getenv("PAYSTREAM_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		t.Fatalf("redis at %s is unreachable (%v): start it with deploy/local/services.sh", addr, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	keys := pipeline.Keys{Prefix: "test-" + hex.EncodeToString(b)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, keys.Prefix+":*", 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
		}
		if len(batch) > 0 {
			if err := rdb.Del(ctx, batch...).Err(); err != nil {
				t.Errorf("cleaning up test keys: %v", err)
			}
		}
		_ = rdb.Close()
	})
	return New(rdb, keys), rdb
}

var (
	walletA = pipeline.Wallet{Provider: pipeline.BKash, Account: "01711111111", Environment: pipeline.Sandbox}
	walletB = pipeline.Wallet{Provider: pipeline.Nagad, Account: "01822222222", Environment: pipeline.Sandbox}
)

// t0 is a fixed instant with sub-millisecond precision, to catch ms rounding mistakes.
var t0 = time.Date(2026, 5, 5, 10, 0, 0, 123456789, time.UTC)

func testIntent(id string, w pipeline.Wallet, amount pipeline.Money, ref string, created time.Time) *pipeline.Intent {
	return &pipeline.Intent{
		ID: id, MerchantID: "m1", Environment: w.Environment, Amount: amount, Currency: "BDT",
		CustomerReference: ref, Provider: w.Provider, ReceiverMsisdn: w.Account, Dialect: pipeline.DialectNative,
		CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute),
	}
}
