package webhook

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// Config configures a Sink. Zero values take the documented defaults.
type Config struct {
	Bus    bus.Config      // Kafka; Brokers is required
	Topics pipeline.Topics // reads Outcomes(), writes WebhookAttempts()
	Keys   pipeline.Keys   // Redis key prefix (jobs under Keys.WebhookTag())
	// AllowPrivate lets webhooks go to loopback and private addresses: local development only.
	AllowPrivate bool
	// Timeout bounds one HTTP attempt as a whole (default 10s).
	Timeout time.Duration
	// MaxAttempts is how many attempts a webhook gets before it is dead-lettered (default 5).
	// A merchant endpoint's MaxAttempts overrides it when > 0.
	MaxAttempts int
	// BackoffBase is the delay before the second attempt (default 10s); the delay before attempt
	// n+1 is BackoffBase*3^(n-1) ±20% jitter, capped at 1h. An endpoint's BackoffBase overrides it.
	BackoffBase time.Duration
	// PerMerchantConcurrency bounds concurrent attempts per merchant and environment (default 4).
	PerMerchantConcurrency int
	// MaxInFlight bounds concurrent attempts in this process (default 256).
	MaxInFlight int
	// Merchants reads the merchants' webhook endpoints (cmd passes the process's one
	// *directory.Directory). Default: a directory of the sink's own over its Redis client, with
	// directory.DefaultTTL: an endpoint or secret change is used within 2 s (the sink's documented
	// bound is 5 s).
	Merchants MerchantReader
	// Logger receives operational logs (never URLs beyond the host, never secrets). Default slog.Default().
	Logger *slog.Logger
	// Now is the clock the sink decides by (default time.Now): when a job is due, claimed, retried
	// or dead-lettered, an attempt's time and signature timestamp, Retry-After dates, lane and lease
	// ages. Durations of HTTP exchanges are measured on the real clock regardless, and the done
	// marker's DoneTTL is a Redis expiry. A test injects its own clock to drive time without sleeping.
	Now func() time.Time
}

// Defaults.
const (
	DefaultTimeout                = 10 * time.Second
	DefaultMaxAttempts            = 5
	DefaultBackoffBase            = 10 * time.Second
	DefaultPerMerchantConcurrency = 4
	DefaultMaxInFlight            = 256

	// MaxBackoff caps every retry delay, Retry-After included.
	MaxBackoff = time.Hour
	// DoneTTL is how long a delivered outcome id is remembered, so that replays of it are no-ops.
	DoneTTL = 30 * 24 * time.Hour
	// MaxResponseBytes is how much of a receiver's response is read (the rest is dropped).
	MaxResponseBytes = 64 << 10
	// UserAgent is sent with every webhook.
	UserAgent = "paystream-webhooks/1"
)

func (c *Config) withDefaults() error {
	if len(c.Bus.Brokers) == 0 {
		return fmt.Errorf("%w: Bus.Brokers is empty; set the Kafka seed brokers", ErrConfig)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.PerMerchantConcurrency <= 0 {
		c.PerMerchantConcurrency = DefaultPerMerchantConcurrency
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// lease is how long a claimed job stays invisible to other claims: one attempt's timeout plus room
// for producing its record and storing the result. A sink that dies mid-attempt loses its jobs for
// this long, then any sink claims them again.
func (c *Config) lease() time.Duration { return c.Timeout + 30*time.Second }
