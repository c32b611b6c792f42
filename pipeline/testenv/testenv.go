// Package testenv gives integration tests the real services deploy/local/services.sh starts, and
// decides in one place what a test does when one of them is missing. Only tests import it.
//
// The test tiers: `go test ./...` on a machine with nothing running runs the pure and component
// tests (embedded Kafka, httptest) and skips every test that needs Redis, ClickHouse, a test tool
// (chromium, promtool, redis-server) or the built binary, naming the command that runs them
// (deploy/local/test.sh). That command, which CI runs, sets PAYSTREAM_TEST_SERVICES=1: then a
// missing service or tool fails the test instead, so CI never passes by skipping.
//
// A service that answers is used whether or not the switch is set, so a developer with the
// services up runs every tier with plain `go test ./...`.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// Switch is the environment variable that makes a missing service or tool fail the test instead
// of skipping it; deploy/local/test.sh (and so CI) sets it to 1.
const Switch = "PAYSTREAM_TEST_SERVICES"

// RunCommand is the command, named in every skip message, that starts the services and tools and
// runs every test.
const RunCommand = "deploy/local/test.sh"

// probeTimeout bounds how long a service has to answer before it counts as missing.
const probeTimeout = 2 * time.Second

// Required reports whether the switch is set: missing services fail the tests that need them.
func Required() bool { return os.Getenv(Switch) == "1" }

// Missing skips t, or fails it when Required, saying what it needs (e.g. "Redis at
// 127.0.0.1:6379"), why it is missing, and which command provides it (RunCommand, which
// "starts it", "installs it", "builds it"…, as provides says). It does not return.
func Missing(t testing.TB, what, provides string, why error) {
	t.Helper()
	if Required() {
		t.Fatalf("needs %s, which is missing (%v); %s=1 makes this a failure, not a skip", what, why, Switch)
	}
	t.Skipf("needs %s: run %s, which %s (%v)", what, RunCommand, provides, why)
}

// RedisAddr returns the address of the test Redis (PAYSTREAM_TEST_REDIS_ADDR, default
// 127.0.0.1:6379) after checking that it answers PING; otherwise it calls Missing.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := envOr("PAYSTREAM_TEST_REDIS_ADDR", "127.0.0.1:6379")
	if err := probe("redis "+addr, func(ctx context.Context) error {
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: probeTimeout})
		defer rdb.Close()
		return rdb.Ping(ctx).Err()
	}); err != nil {
		Missing(t, "Redis at "+addr, "starts it", err)
	}
	return addr
}

// ClickHouseAddr returns the native-protocol address of the test ClickHouse
// (PAYSTREAM_TEST_CLICKHOUSE_ADDR, default 127.0.0.1:9000) after checking that it accepts a
// connection; otherwise it calls Missing. Whether it speaks ClickHouse is the test's own check.
func ClickHouseAddr(t testing.TB) string {
	t.Helper()
	addr := envOr("PAYSTREAM_TEST_CLICKHOUSE_ADDR", "127.0.0.1:9000")
	if err := probe("clickhouse "+addr, func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}); err != nil {
		Missing(t, "ClickHouse at "+addr, "starts it", err)
	}
	return addr
}

// Tool returns the path of the executable name (chromium, promtool, redis-server…) or calls
// Missing; deploy/local/test.sh installs the tools the tests use.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "the program "+name, "installs it", err)
	}
	return p
}

// Redis connects to the real Redis (see RedisAddr) and returns keys under a prefix unique to the
// test; the keys are deleted and the client closed when the test ends. A missing Redis skips the
// test, or fails it when Required.
func Redis(t testing.TB) (*redis.Client, pipeline.Keys) {
	t.Helper()
	addr := RedisAddr(t)
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
		if err := DropRedisPrefix(rdb, keys.Prefix); err != nil {
			t.Errorf("cleaning up test keys: %v", err)
		}
		_ = rdb.Close()
	})
	return rdb, keys
}

// DropRedisPrefix deletes every key a paystream process or test wrote under prefix: the keys
// under "<prefix>:" and the rate-limit buckets under "rate:<prefix>:". It scans in large steps and
// unlinks in batches, so a shared Redis that holds hundreds of thousands of other keys (an earlier
// crash test's) is cleaned within its bound.
func DropRedisPrefix(rdb redis.UniversalClient, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, match := range []string{prefix + ":*", "rate:" + prefix + ":*"} {
		var batch []string
		iter := rdb.Scan(ctx, 0, match, 10000).Iterator()
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
					return fmt.Errorf("unlinking keys under %s: %w", match, err)
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("scanning keys under %s: %w", match, err)
		}
		if len(batch) > 0 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("unlinking keys under %s: %w", match, err)
			}
		}
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var (
	probeMu  sync.Mutex
	probeErr = map[string]error{}
)

// probe runs check once per key and process, bounded by probeTimeout, and remembers the result, so
// a package of skipped tests waits for a missing service at most once.
func probe(key string, check func(context.Context) error) error {
	probeMu.Lock()
	defer probeMu.Unlock()
	if err, ok := probeErr[key]; ok {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	err := check(ctx)
	probeErr[key] = err
	return err
}
