package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// backoff is the delay after the failed-th failed attempt (1-based): base*3^(failed-1), scaled by
// 1+0.2*jitter (jitter in [-1, 1]), capped at MaxBackoff.
func backoff(base time.Duration, failed int, jitter float64) time.Duration {
	d := float64(base)
	for i := 1; i < failed && d < float64(MaxBackoff); i++ {
		d *= 3
	}
	d = min(d, float64(MaxBackoff)) * (1 + 0.2*max(-1, min(1, jitter)))
	return min(time.Duration(d), MaxBackoff)
}

// randJitter is a uniform value in [-1, 1).
func randJitter() float64 { return rand.Float64()*2 - 1 } //nolint:gosec // jitter, not a secret

// retryAfter parses a Retry-After header (delay seconds or an HTTP date) relative to now, bounded
// to [0, MaxBackoff]. ok is false when the header is absent or unparseable.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return min(time.Duration(min(secs, int64(MaxBackoff/time.Second)))*time.Second, MaxBackoff), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, min(t.Sub(now), MaxBackoff)), true
	}
	return 0, false
}
