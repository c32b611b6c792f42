// Package testenv gives integration tests the real services deploy/local/services.sh starts. Only
// tests import it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// Redis connects to the real Redis (PAYSTREAM_TEST_REDIS_ADDR, default 127.0.0.1:6379) and returns
// keys under a prefix unique to the test; the keys are deleted and the client closed when the test
// ends. If Redis is unreachable the test fails (it does not skip) and says how to start it.
func Redis(t testing.TB) (*redis.Client, pipeline.Keys) {
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
		var batch []string
		iter := rdb.Scan(ctx, 0, keys.Prefix+":*", 1000).Iterator()
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
	return rdb, keys
}
