package testenv

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RedisOps counts a Redis client's round trips and commands: a command sent on its own is one
// round trip, a pipeline or transaction is one round trip whatever its length (each of its
// commands counted, a transaction's MULTI and EXEC included). The commands a new connection sends
// before its first use (HELLO, CLIENT SETINFO) are the pool's, not the caller's, and are not
// counted. It counts every caller of the client: measure one thing at a time.
type RedisOps struct {
	trips, cmds atomic.Int64
}

// CountRedisOps adds a counting hook to rdb (for the rest of rdb's life) and returns its counter.
func CountRedisOps(rdb redis.UniversalClient) *RedisOps {
	o := &RedisOps{}
	rdb.AddHook(o)
	return o
}

// Trips returns the round trips counted so far.
func (o *RedisOps) Trips() int64 { return o.trips.Load() }

// Snapshot returns the round trips and commands counted so far.
func (o *RedisOps) Snapshot() (trips, cmds int64) { return o.trips.Load(), o.cmds.Load() }

// Measure runs fn and returns the round trips and commands counted while it ran.
func (o *RedisOps) Measure(fn func()) (trips, cmds int64) {
	t0, c0 := o.Snapshot()
	fn()
	t1, c1 := o.Snapshot()
	return t1 - t0, c1 - c0
}

// DialHook passes dials on uncounted.
func (o *RedisOps) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

// ProcessHook counts a command sent on its own.
func (o *RedisOps) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !connInit(cmd) {
			o.trips.Add(1)
			o.cmds.Add(1)
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts a pipeline or transaction.
func (o *RedisOps) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 || !connInit(cmds[0]) {
			o.trips.Add(1)
			o.cmds.Add(int64(len(cmds)))
		}
		return next(ctx, cmds)
	}
}

// connInit tells the commands a new connection sends before its first use.
func connInit(cmd redis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }
