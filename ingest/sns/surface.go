package sns

import (
	"context"
	"errors"
	"log/slog"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify"
)

// Prefix is the path of the notification endpoint; every path under it answers errors in seed
// 003's {"code","message"} shape.
const Prefix = "/webhooks/notifications"

// Config configures the surface. Zero values are the production defaults.
type Config struct {
	// RequireSignature refuses SNS messages without a valid AWS signature (seed 003 senders that
	// relay notifications without SNS's signature fields then get 401).
	RequireSignature bool
	// ExtraHosts are hosts trusted like sns.<region>.amazonaws.com for SubscribeURL and
	// SigningCertURL (and fetched over plain http if so given): for tests only.
	ExtraHosts []string
	Logger     *slog.Logger // default slog.Default()
}

// Credentials resolves an SNS integration and rate-limits it (*ingest.Server).
type Credentials interface {
	// Integration returns the integration of kind whose credential (for SNS: the shunno_id) is
	// given, nil if none; the result must not be modified. err is a Redis failure.
	Integration(ctx context.Context, kind pipeline.IntegrationKind, credential string) (*pipeline.Integration, error)
	// AllowKey applies the per-credential rate limit; false: it answered 429.
	AllowKey(ctx *fasthttp.RequestCtx, identity string) bool
}

// TrxClaims marks reported TrxIDs so that a repeat is answered "duplicate" (*ingest.Server).
type TrxClaims interface {
	ClaimTrx(ctx context.Context, w pipeline.Wallet, trxID string) (dup bool, err error)
	MarkTrxDone(ctx context.Context, w pipeline.Wallet, trxID, requestID string)
}

// Publisher produces an accepted event under the Kafka-ack rule and answers the edge's failures
// (*ingest.Server).
type Publisher interface {
	// Publish blocks until Kafka acknowledged ev; on an error answer Unavailable, never 2xx.
	Publish(ctx *fasthttp.RequestCtx, ev *pipeline.Event) error
	// Unavailable answers 503 + Retry-After for a Publish failure.
	Unavailable(ctx *fasthttp.RequestCtx, what string, err error)
	// Internal logs a dependency (Redis) failure and answers 503 + Retry-After.
	Internal(ctx *fasthttp.RequestCtx, what string, err error)
}

// TopicPinner binds an integration created without a topic to the topic of its first signed
// subscription confirmation, once (*ingest.Server).
type TopicPinner interface {
	PinSNSTopic(ctx context.Context, in *pipeline.Integration, topic string) error
}

// Deps is what the surface needs; every field is required.
type Deps struct {
	Auth   Credentials
	Trx    TrxClaims
	Pub    Publisher
	Topics TopicPinner
}

// Surface serves POST /webhooks/notifications. It holds the signature verifier (and its
// certificate cache) for its lifetime; its handlers are safe for concurrent use.
type Surface struct {
	auth       Credentials
	trx        TrxClaims
	pub        Publisher
	topics     TopicPinner
	log        *slog.Logger
	verify     *snsverify.Verifier
	requireSig bool
}

// New builds the surface; it starts nothing. It fails when a dependency is missing.
func New(cfg Config, d Deps) (*Surface, error) {
	if d.Auth == nil || d.Trx == nil || d.Pub == nil || d.Topics == nil {
		return nil, errors.New("sns: every dependency is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Surface{
		auth: d.Auth, trx: d.Trx, pub: d.Pub, topics: d.Topics, log: cfg.Logger.With("role", "ingest"),
		verify: snsverify.New(snsverify.Config{ExtraHosts: cfg.ExtraHosts}), requireSig: cfg.RequireSignature,
	}, nil
}

// Mount registers the endpoint and seed 003's error shape for every path under Prefix.
func (h *Surface) Mount(m *ingest.Mux) {
	m.ErrorShape(Prefix, writeError)
	m.Handle("POST", Prefix, "sns_notifications", h.handle)
}

// writeError is the surface's ingest.ErrorWriter: seed 003's {"code","message"}.
func writeError(ctx *fasthttp.RequestCtx, ae *ingest.APIError) {
	ingest.WriteJSON(ctx, ae.Status, map[string]any{"code": ae.Status, "message": ae.Message})
}
