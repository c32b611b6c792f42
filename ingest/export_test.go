package ingest

import (
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

// Accessors of internals that the external tests of this directory (package ingest_test, on
// ingest/ingesttest with every surface mounted) need and cannot observe through HTTP answers or
// metrics.

// SetLimiterRedisForTest points s's rate limiter at rdb and ends any bypass a Redis failure
// started, and drops the leases and refusals it holds (TestRateLimiterFailsOpen: a Redis that is
// down, then the real one back).
func (s *Server) SetLimiterRedisForTest(rdb redis.UniversalClient) {
	s.limit.lim = redis_rate.NewLimiter(rdb)
	s.limit.bypassUntil.Store(0)
	s.limit.resetLocal()
}

// SetLimiterClockForTest makes now the clock of s's rate-limit leases and remembered refusals.
func (s *Server) SetLimiterClockForTest(now func() time.Time) { s.limit.now = now }

// WriteErrorForTest answers err as WriteError does inside a request s serves: in the error shape
// of the surface mounted on ctx's path (TestRateLimit429Shapes, which needs no Redis).
func (s *Server) WriteErrorForTest(ctx *fasthttp.RequestCtx, err error) {
	ctx.SetUserValue(serverKey{}, s)
	WriteError(ctx, err)
}
