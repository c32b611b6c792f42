package tokenized

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/state"
)

// Config turns on intents with paymentMethod "bkash_tokenized": paystream runs bKash Tokenized
// Checkout (create, execute, status, refund) on the merchant's behalf, with the merchant's own
// bKash account for the intent's environment (upstreams.go) or else the server's default upstream
// of that environment (Defaults). A SANDBOX intent only ever reaches a SANDBOX upstream and a LIVE
// one only a LIVE upstream; an environment without an upstream answers such intents 422. A nil
// Client turns bkash_tokenized off entirely: creates answer 422, the callback 404, refunds 409
// (the admin API of merchants' upstreams still works).
type Config struct {
	Client *bkash.Client
	// Defaults are the server-wide upstreams (the aggregator's own bKash accounts) by environment.
	// Each one's Environment must equal its key and it must pass Validate (cmd checks both at
	// start; a mismatch found later refuses the intent). Either may be absent.
	Defaults map[pipeline.Environment]*bkash.Credentials
	// QueryDelay is how long the callback waits, after an execute without a clear answer (timeout,
	// 2117, ...), before asking payment/status (default 1s).
	QueryDelay time.Duration
	// CallTimeout is the client's per-call timeout (bkash.Config.Timeout; default 30s): the
	// callback's budget is two calls plus QueryDelay.
	CallTimeout time.Duration
	// Keys is the Redis key layout (Keys.Prefix "" means "ps").
	Keys   pipeline.Keys
	Logger *slog.Logger // default slog.Default()
}

// Failures answers the edge's failures in the native shape (*ingest.Server).
type Failures interface {
	// Unavailable answers 503 + Retry-After for a Kafka publish that was not acknowledged.
	Unavailable(ctx *fasthttp.RequestCtx, what string, err error)
	// Internal logs a dependency (Redis) failure and answers 503 + Retry-After.
	Internal(ctx *fasthttp.RequestCtx, what string, err error)
}

// Publisher produces events under the Kafka-ack rule (*ingest.Server).
type Publisher interface {
	// Publish blocks until Kafka acknowledged ev; on an error answer Unavailable, never 2xx.
	Publish(ctx *fasthttp.RequestCtx, ev *pipeline.Event) error
}

// Admin authenticates the admin API (*admin.Surface, ingest/admin).
type Admin interface {
	// RequireAdmin checks the admin bearer token; false: it answered the refusal.
	RequireAdmin(ctx *fasthttp.RequestCtx) bool
	// AdminMerchant authenticates the admin and loads the path's merchant {id}; nil: answered.
	AdminMerchant(ctx *fasthttp.RequestCtx) *pipeline.Merchant
}

// Links makes the URLs the surface hands out (*ingest.Server).
type Links interface {
	// PublicURL is path under the edge's public base URL (bKash's callback URL).
	PublicURL(path string) string
	// CheckoutURL is the hosted checkout page of an intent (where the customer goes when the
	// merchant gave no URL).
	CheckoutURL(id string) string
}

// IntentReader reads an intent's current state (*state.Store); state.ErrNotFound if none.
type IntentReader interface {
	GetIntent(ctx context.Context, id string) (*pipeline.IntentRecord, error)
}

// Deps is what the surface needs; every field is required.
type Deps struct {
	Redis   redis.UniversalClient // payment records, refund locks, merchants' upstreams
	Fail    Failures
	Pub     Publisher
	Admin   Admin
	Links   Links
	Intents IntentReader
}

// Surface is bKash tokenized checkout. Its handlers are safe for concurrent use.
type Surface struct {
	cfg     Config
	log     *slog.Logger
	rdb     redis.UniversalClient
	fail    Failures
	pub     Publisher
	admin   Admin
	links   Links
	intents IntentReader
}

// New builds the surface; it starts nothing. It fails when a dependency is missing.
func New(cfg Config, d Deps) (*Surface, error) {
	if d.Redis == nil || d.Fail == nil || d.Pub == nil || d.Admin == nil || d.Links == nil || d.Intents == nil {
		return nil, errors.New("tokenized: every dependency is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.QueryDelay <= 0 {
		cfg.QueryDelay = time.Second
	}
	return &Surface{
		cfg: cfg, log: cfg.Logger.With("role", "ingest"), rdb: d.Redis, fail: d.Fail, pub: d.Pub, admin: d.Admin,
		links: d.Links, intents: d.Intents,
	}, nil
}

// on reports whether bkash_tokenized is configured (Config.Client).
func (s *Surface) on() bool { return s.cfg.Client != nil }

// Mount registers the payment method, bKash's callback, the admin refund and the admin API of a
// merchant's own bKash accounts (native error shape).
func (s *Surface) Mount(m *ingest.Mux) {
	m.PaymentMethod(pipeline.PaymentMethodBkashTokenized, s)
	m.Handle(http.MethodGet, "/v1/bkash/callback/{id}", "bkash_callback", s.handleTokenizedCallback)
	m.Handle(http.MethodPost, "/admin/v1/intents/{id}/refund", "admin_refund", s.handleTokenizedRefund)
	m.Handle(http.MethodGet, "/admin/v1/merchants/{id}/bkash", "admin_get_bkash", s.handleGetBkashUpstreams)
	m.Handle(http.MethodPut, "/admin/v1/merchants/{id}/bkash/{env}", "admin_set_bkash", s.handleSetBkashUpstream)
	m.Handle(http.MethodDelete, "/admin/v1/merchants/{id}/bkash/{env}", "admin_delete_bkash", s.handleDeleteBkashUpstream)
}

// Prepare is the payment method's first step (ingest.PaymentMethod): the upstream of merchant m's
// new intent in env (tokenizedUpstreamFor: 422 when none, 502 misconfigured, 503 Redis), then a
// PaymentStart that creates the bKash payment there (startTokenized).
func (s *Surface) Prepare(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment) ingest.PaymentStart {
	cr := s.tokenizedUpstreamFor(ctx, m, env)
	if cr == nil {
		return nil
	}
	return func(ctx *fasthttp.RequestCtx, in *pipeline.Intent) bool { return s.startTokenized(ctx, in, cr) }
}

// errNotFound is the native "no such intent" answer.
var errNotFound = &ingest.APIError{Status: http.StatusNotFound, Message: "Payment intent not found"}

// loadIntent reads intentID for a handler: on state.ErrNotFound it answers notFound, on another
// error 503, and returns nil (the request is answered).
func (s *Surface) loadIntent(ctx *fasthttp.RequestCtx, intentID string, notFound *ingest.APIError) *pipeline.IntentRecord {
	rec, err := s.intents.GetIntent(ingest.RequestContext(ctx), intentID)
	if errors.Is(err, state.ErrNotFound) {
		ingest.WriteError(ctx, notFound)
		return nil
	}
	if err != nil {
		s.fail.Internal(ctx, "loading intent", err)
		return nil
	}
	return rec
}
