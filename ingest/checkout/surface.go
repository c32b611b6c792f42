package checkout

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// Prefix is the path prefix of the hosted checkout: /v1/checkout/<intent id>[/status|/claim].
const Prefix = "/v1/checkout/"

// Config configures the surface. Zero values take the documented defaults.
type Config struct {
	// Keys is the Redis key layout; the claim rate limits live under
	// rate:<Keys.Prefix>:checkout:claims:… (Prefix "" means "ps").
	Keys   pipeline.Keys
	Logger *slog.Logger // default slog.Default()
}

// IntentState reads what the matcher's state knows of an intent and a TrxID (*state.Store).
type IntentState interface {
	// GetIntent returns the intent's current record; state.ErrNotFound if none.
	GetIntent(ctx context.Context, id string) (*pipeline.IntentRecord, error)
	// TrxUse reports whether a payment of w carrying trx was reported, and the intent it paid ("" if
	// none).
	TrxUse(ctx context.Context, w pipeline.Wallet, trx string) (seen bool, paidIntent string, err error)
}

// Merchants reads the merchant directory without a cache, so that a deactivated merchant's page
// closes at once (*ingest.Server).
type Merchants interface {
	// CurrentMerchant returns the merchant as stored now, nil if none; err is a Redis failure.
	CurrentMerchant(ctx context.Context, id string) (*pipeline.Merchant, error)
}

// Publisher produces claims under the Kafka-ack rule (*ingest.Server).
type Publisher interface {
	// Publish blocks until Kafka acknowledged ev; on an error the claim is answered 503.
	Publish(ctx *fasthttp.RequestCtx, ev *pipeline.Event) error
	// CountUnavailable counts a 503 answered because Kafka did not acknowledge.
	CountUnavailable()
	// Internal logs a dependency (Redis) failure and answers 503 + Retry-After.
	Internal(ctx *fasthttp.RequestCtx, what string, err error)
}

// Links makes the URLs the surface hands out (*ingest.Server).
type Links interface {
	// PublicURL is path under the edge's public base URL; the page's links and redirects use the
	// path of PublicURL(""), so they work behind a reverse proxy that serves paystream under a
	// prefix.
	PublicURL(path string) string
}

// Deps is what the surface needs; every field is required.
type Deps struct {
	Redis     redis.UniversalClient // the claim rate limits' buckets
	Intents   IntentState
	Merchants Merchants
	Pub       Publisher
	Links     Links
}

// Surface is the hosted checkout. Its handlers are safe for concurrent use.
type Surface struct {
	log       *slog.Logger
	keyPrefix string // Redis key prefix of the claim limits
	publicURL string
	claims    *redis_rate.Limiter
	intents   IntentState
	merchants Merchants
	pub       Publisher
}

// New builds the surface; it starts nothing. It fails when a dependency is missing.
func New(cfg Config, d Deps) (*Surface, error) {
	if d.Redis == nil || d.Intents == nil || d.Merchants == nil || d.Pub == nil || d.Links == nil {
		return nil, errors.New("checkout: every dependency is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	prefix := cfg.Keys.Prefix
	if prefix == "" {
		prefix = "ps"
	}
	return &Surface{
		log: cfg.Logger.With("role", "ingest"), keyPrefix: prefix, publicURL: d.Links.PublicURL(""),
		claims: redis_rate.NewLimiter(d.Redis), intents: d.Intents, merchants: d.Merchants, pub: d.Pub,
	}, nil
}

// Mount registers the page, its status poll and the claim form, and the checkout's security
// headers on the edge's own refusals under Prefix (its errors are in the native shape). All three
// routes are public (no key): an intent id is unguessable (UUIDv7 or 103 random bits) and the page
// shows only what the customer needs to pay.
func (s *Surface) Mount(m *ingest.Mux) {
	m.RefusalHeaders(Prefix, func(ctx *fasthttp.RequestCtx) { coSecurityHeaders(ctx, "", nil) })
	m.Handle(http.MethodGet, Prefix+"{id}", "checkout_page", s.handleCheckoutPage)
	m.Handle(http.MethodGet, Prefix+"{id}/status", "checkout_status", s.handleCheckoutStatus)
	m.Handle(http.MethodPost, Prefix+"{id}/claim", "checkout_claim", s.handleCheckoutClaim)
}

// errNotFound is the native "no such intent" answer of the status poll and JSON claims.
var errNotFound = &ingest.APIError{Status: http.StatusNotFound, Message: "Payment intent not found"}
