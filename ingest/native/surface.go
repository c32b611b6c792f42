package native

import (
	"context"
	"errors"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/native"
)

// Auth authenticates a native request by its API key (*ingest.Server).
type Auth interface {
	// AuthMerchant returns the key's merchant and environment; nil: it answered 401/403/429/503.
	AuthMerchant(ctx *fasthttp.RequestCtx) (*pipeline.Merchant, pipeline.Environment)
}

// Acceptance is the edge's intent-acceptance service (*ingest.Server).
type Acceptance interface {
	// PaymentMethodFor returns the mounted payment method of that name, nil if none.
	PaymentMethodFor(name string) ingest.PaymentMethod
	// IdempotencyKey is the Redis key of a merchant's idempotency key in env.
	IdempotencyKey(merchantID string, env pipeline.Environment, raw string) string
	// LoadIdempotent returns what an idempotency key holds, nil if unused.
	LoadIdempotent(ctx context.Context, key string) (*ingest.IdempotentIntent, error)
	// ClaimIdempotent stores c under key unless it holds something; false: another request won.
	ClaimIdempotent(ctx context.Context, key string, c *ingest.IdempotentIntent) (bool, error)
	// PickWallet chooses the wallet of a new intent of amt among ws (non-empty).
	PickWallet(ctx context.Context, ws []pipeline.Wallet, amt pipeline.Money) (pipeline.Wallet, error)
	// AcceptIntent produces intent.created under the Kafka-ack rule and records the intent for
	// reads; an error means: answer Unavailable.
	AcceptIntent(ctx *fasthttp.RequestCtx, in *pipeline.Intent, raw []byte) error
	// View is an intent as seed 004's PaymentIntent object, with its checkout URL.
	View(rec *pipeline.IntentRecord) dialect.Intent
	// MerchantIntent reads an intent as merchant m sees it in env: Redis, else the audit history
	// (ingest.Server.MerchantIntent); state.ErrNotFound, or *ingest.HorizonError wrapping it.
	MerchantIntent(ctx context.Context, m *pipeline.Merchant, env pipeline.Environment, id string) (*pipeline.IntentRecord, error)
}

// IntentReader reads intents (*state.Store).
type IntentReader interface {
	// GetIntent returns the intent's current record; state.ErrNotFound if none.
	GetIntent(ctx context.Context, id string) (*pipeline.IntentRecord, error)
	// ListIntents pages the intents on wallets, newest first, optionally of one status.
	ListIntents(ctx context.Context, wallets []pipeline.Wallet, status pipeline.Status, offset, limit int) ([]*pipeline.IntentRecord, int, error)
}

// Failures answers the edge's failures in the native shape (*ingest.Server).
type Failures interface {
	// Unavailable answers 503 + Retry-After for a Kafka publish that was not acknowledged.
	Unavailable(ctx *fasthttp.RequestCtx, what string, err error)
	// Internal logs a dependency (Redis) failure and answers 503 + Retry-After.
	Internal(ctx *fasthttp.RequestCtx, what string, err error)
}

// Simulator reports a sandbox payment to an intent's wallet (*ingest.Server): see
// ingest.Server.ReportSandboxPayment.
type Simulator interface {
	ReportSandboxPayment(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment, p ingest.SandboxPayment, notFound *ingest.APIError) (*pipeline.Event, ingest.IntentIdentity)
}

// Deps is what the surface needs; every field is required.
type Deps struct {
	Auth   Auth
	Accept Acceptance
	Reader IntentReader
	Fail   Failures
	Sim    Simulator
}

// Surface is the native merchant API. Its handlers are safe for concurrent use.
type Surface struct {
	auth   Auth
	accept Acceptance
	reader IntentReader
	fail   Failures
	sim    Simulator
}

// New builds the surface; it starts nothing. It fails when a dependency is missing.
func New(d Deps) (*Surface, error) {
	if d.Auth == nil || d.Accept == nil || d.Reader == nil || d.Fail == nil || d.Sim == nil {
		return nil, errors.New("native: every dependency is required")
	}
	return &Surface{auth: d.Auth, accept: d.Accept, reader: d.Reader, fail: d.Fail, sim: d.Sim}, nil
}

// Mount registers the intents routes and the simulator; their errors are in the native shape
// (the edge's default, so no error shape is registered).
func (s *Surface) Mount(m *ingest.Mux) {
	m.Handle(http.MethodPost, "/v1/payments/intents", "create_intent", s.handleCreateIntent)
	m.Handle(http.MethodGet, "/v1/payments/intents", "list_intents", s.handleListIntents)
	m.Handle(http.MethodGet, "/v1/payments/intents/{id}", "get_intent", s.handleGetIntent)
	m.Handle(http.MethodPost, "/v1/sandbox/sms-events/simulate", "sandbox_simulate", s.handleSimulate)
}

// errNotFound is the native "no such intent" answer.
var errNotFound = &ingest.APIError{Status: http.StatusNotFound, Message: "Payment intent not found"}
