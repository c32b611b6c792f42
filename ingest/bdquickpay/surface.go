package bdquickpay

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/bdquickpay"
)

// Prefix is the path prefix of the dialect; every path under it answers errors in seed 001's
// {"status": false, "message"} shape.
const Prefix = "/api/bkash/v1/"

// Config configures the surface.
type Config struct {
	// AllowPrivateWebhooks accepts webhook_url values resolving to loopback/private addresses.
	AllowPrivateWebhooks bool
}

// Credentials authenticates an X-App-Key/X-Secret-Key pair and rate-limits it (*ingest.Server).
type Credentials interface {
	// AppKey returns the pair's merchant and environment, nil if unknown; err is a Redis failure.
	AppKey(ctx context.Context, appKey, secretKey string) (*pipeline.Merchant, pipeline.Environment, error)
	// AllowKey applies the per-credential rate limit; false: it answered 429.
	AllowKey(ctx *fasthttp.RequestCtx, identity string) bool
}

// Failures answers the edge's failures in the path's shape (*ingest.Server).
type Failures interface {
	// Unavailable answers 503 + Retry-After for a Kafka publish that was not acknowledged.
	Unavailable(ctx *fasthttp.RequestCtx, what string, err error)
	// Internal logs a dependency (Redis) failure and answers 503 + Retry-After.
	Internal(ctx *fasthttp.RequestCtx, what string, err error)
}

// Intents is the edge's intent-acceptance service (*ingest.Server).
type Intents interface {
	// PickWallet chooses the wallet of a new intent of amt among ws (non-empty).
	PickWallet(ctx context.Context, ws []pipeline.Wallet, amt pipeline.Money) (pipeline.Wallet, error)
	// AcceptIntent produces intent.created under the Kafka-ack rule and records the intent for
	// reads; an error means: answer Unavailable.
	AcceptIntent(ctx *fasthttp.RequestCtx, in *pipeline.Intent, raw []byte) error
	// CheckoutURL is the hosted checkout page of an intent.
	CheckoutURL(id string) string
	// MerchantIntent reads an intent as merchant m sees it in env: Redis, else the audit history
	// (ingest.Server.MerchantIntent); state.ErrNotFound, or *ingest.HorizonError wrapping it.
	MerchantIntent(ctx context.Context, m *pipeline.Merchant, env pipeline.Environment, id string) (*pipeline.IntentRecord, error)
}

// IntentReader reads an intent's current state (*state.Store); state.ErrNotFound if none.
type IntentReader interface {
	GetIntent(ctx context.Context, id string) (*pipeline.IntentRecord, error)
}

// Simulator reports a sandbox payment to an intent's wallet (*ingest.Server): see
// ingest.Server.ReportSandboxPayment.
type Simulator interface {
	ReportSandboxPayment(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment, p ingest.SandboxPayment, notFound *ingest.APIError) (*pipeline.Event, ingest.IntentIdentity)
}

// Deps is what the surface needs; every field is required.
type Deps struct {
	Auth    Credentials
	Fail    Failures
	Intents Intents
	Reader  IntentReader
	Sim     Simulator
}

// Surface is seed 001's merchant API. Its handlers are safe for concurrent use.
type Surface struct {
	cfg     Config
	auth    Credentials
	fail    Failures
	intents Intents
	reader  IntentReader
	sim     Simulator
}

// New builds the surface; it starts nothing. It fails when a dependency is missing.
func New(cfg Config, d Deps) (*Surface, error) {
	if d.Auth == nil || d.Fail == nil || d.Intents == nil || d.Reader == nil || d.Sim == nil {
		return nil, errors.New("bdquickpay: every dependency is required")
	}
	return &Surface{cfg: cfg, auth: d.Auth, fail: d.Fail, intents: d.Intents, reader: d.Reader, sim: d.Sim}, nil
}

// Mount registers payment/create, payment/verify and sandbox/simulate, and the dialect's error
// shape for every path under Prefix.
func (s *Surface) Mount(m *ingest.Mux) {
	m.ErrorShape(Prefix, writeError)
	m.Handle("POST", Prefix+"payment/create", "bdquickpay_create", s.handleBQPCreate)
	m.Handle("POST", Prefix+"payment/verify", "bdquickpay_verify", s.handleBQPVerify)
	m.Handle("POST", Prefix+"sandbox/simulate", "bdquickpay_sandbox_simulate", s.handleBQPSimulate)
}

// writeError is the surface's ingest.ErrorWriter: seed 001's {"status": false, "message"}
// (dialect.NewError), in the seed's key order.
func writeError(ctx *fasthttp.RequestCtx, ae *ingest.APIError) {
	ingest.WriteJSON(ctx, ae.Status, dialect.NewError(ae.Message))
}
