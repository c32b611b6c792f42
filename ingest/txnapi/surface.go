package txnapi

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// Prefix is the path prefix of the transaction API; every path under it answers errors in seed
// 002's {"code","message","type":"error"} shape.
const Prefix = "/api/external/v1/bkash/"

// Credentials resolves a transaction-API key and rate-limits it (*ingest.Server).
type Credentials interface {
	// Integration returns the integration of kind whose key hashes (ingest.HashSecret) to
	// credential, nil if none; the result must not be modified. err is a Redis failure.
	Integration(ctx context.Context, kind pipeline.IntegrationKind, credential string) (*pipeline.Integration, error)
	// Merchant returns merchant id, nil if none; the result must not be modified.
	Merchant(ctx context.Context, id string) (*pipeline.Merchant, error)
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

// IntentReader finds open intents by customer reference (*state.Store).
type IntentReader interface {
	OpenIntentsByReference(ctx context.Context, wallets []pipeline.Wallet, reference string) ([]*pipeline.IntentRecord, error)
}

// Deps is what the surface needs; every field is required.
type Deps struct {
	Auth    Credentials
	Trx     TrxClaims
	Pub     Publisher
	Intents IntentReader
}

// Surface is the transaction API. Its handlers are safe for concurrent use.
type Surface struct {
	auth    Credentials
	trx     TrxClaims
	pub     Publisher
	fail    Publisher
	intents IntentReader
}

// New builds the surface; it starts nothing. It fails when a dependency is missing.
func New(d Deps) (*Surface, error) {
	if d.Auth == nil || d.Trx == nil || d.Pub == nil || d.Intents == nil {
		return nil, errors.New("txnapi: every dependency is required")
	}
	return &Surface{auth: d.Auth, trx: d.Trx, pub: d.Pub, fail: d.Pub, intents: d.Intents}, nil
}

// Mount registers POST transactions/check and transactions/complete, and the seed's error shape
// for every path under Prefix.
func (s *Surface) Mount(m *ingest.Mux) {
	m.ErrorShape(Prefix, writeError)
	m.Handle("POST", Prefix+"transactions/check", "bkash_txn_check", s.handleTxnCheck)
	m.Handle("POST", Prefix+"transactions/complete", "bkash_txn_complete", s.handleTxnComplete)
}

// writeError is the surface's ingest.ErrorWriter: seed 002's {"code","message","type":"error"}.
func writeError(ctx *fasthttp.RequestCtx, ae *ingest.APIError) {
	ingest.WriteJSON(ctx, ae.Status, map[string]any{"code": ae.Status, "message": ae.Message, "type": "error"})
}
