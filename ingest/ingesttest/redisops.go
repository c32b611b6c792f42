package ingesttest

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RedisOps counts what a Redis client sends: commands, and round trips (one per command sent on
// its own, one per pipeline or transaction whatever its length). Add it to a client with
// CountRedisOps; it counts every caller of that client, so measure one request at a time.
type RedisOps struct {
	trips, cmds atomic.Int64
}

// CountRedisOps adds a counting hook to rdb (for the rest of rdb's life) and returns its counter.
func CountRedisOps(rdb redis.UniversalClient) *RedisOps {
	o := &RedisOps{}
	rdb.AddHook(o)
	return o
}

// Snapshot returns the round trips and commands counted so far.
func (o *RedisOps) Snapshot() (trips, cmds int64) { return o.trips.Load(), o.cmds.Load() }

// Measure runs fn and returns the round trips and commands counted while it ran.
func (o *RedisOps) Measure(fn func()) (trips, cmds int64) {
	t0, c0 := o.Snapshot()
	fn()
	t1, c1 := o.Snapshot()
	return t1 - t0, c1 - c0
}

// DialHook passes dials on uncounted (a new connection's HELLO is the pool's, not a request's).
func (o *RedisOps) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

// ProcessHook counts a command sent on its own: one round trip.
func (o *RedisOps) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		o.trips.Add(1)
		o.cmds.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts a pipeline or transaction: one round trip, each of its commands (a
// transaction's MULTI and EXEC included).
func (o *RedisOps) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		o.trips.Add(1)
		o.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}
