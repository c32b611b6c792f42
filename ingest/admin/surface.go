package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect/native"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
)

// Prefix is the path prefix of the admin API (and of its error shape).
const Prefix = "/admin/"

// Config configures the admin API.
type Config struct {
	// Token is the bearer token of /admin; empty closes the admin API (every request 401).
	Token string
	// AllowPrivateWebhooks accepts webhook URLs resolving to loopback/private addresses (local
	// development and tests only).
	AllowPrivateWebhooks bool
	// Logger receives the admin API's logs (default slog.Default()).
	Logger *slog.Logger
}

// Directory is what the admin API needs of the merchant directory (*directory.Directory): its
// uncached reads and its writes.
type Directory interface {
	// CurrentMerchant loads a merchant as stored now; (nil, nil) when it does not exist.
	CurrentMerchant(ctx context.Context, id string) (*pipeline.Merchant, error)
	// MerchantIDs lists every merchant's id, unsorted.
	MerchantIDs(ctx context.Context) ([]string, error)
	// Create stores a merchant and its credentials (directory.ErrWalletTaken: a wallet is taken).
	Create(ctx context.Context, m *pipeline.Merchant, apiKeys map[pipeline.Environment]string, appKeys map[pipeline.Environment]directory.AppKeyPair) error
	// Update applies fn to the stored merchant atomically; (nil, nil) when it is gone.
	Update(ctx context.Context, id string, fn func(*pipeline.Merchant) error) (*pipeline.Merchant, error)
	// RotateKey replaces the environment's API key if its hash is still expected
	// (directory.ErrRotationRace otherwise); it returns the revoked key's hash, "" if none known.
	RotateKey(ctx context.Context, id string, env pipeline.Environment, expected, newKey string) (string, error)
	// NextShunnoSeq numbers the next SNS integration.
	NextShunnoSeq(ctx context.Context) (int64, error)
	// CreateIntegration stores an integration, its credential last.
	CreateIntegration(ctx context.Context, in *pipeline.Integration, credential string) error
}

// ReviewState is what the operators' API reads of the matcher's state (*state.Store): its named
// reads, never its keys.
type ReviewState interface {
	// GetIntent loads an intent (state.ErrNotFound when there is none).
	GetIntent(ctx context.Context, intentID string) (*pipeline.IntentRecord, error)
	// ReviewQueue lists the REVIEW_REQUIRED intents of wallets with their candidate payments.
	ReviewQueue(ctx context.Context, wallets []pipeline.Wallet, offset, limit int) ([]state.ReviewItem, int, error)
	// ListPayments lists the kept payments of wallets with a disposition.
	ListPayments(ctx context.Context, wallets []pipeline.Wallet, disposition pipeline.Disposition, offset, limit int) ([]*pipeline.PaymentRecord, int, error)
	// BalanceGaps lists the "possible missed SMS" signals of wallets, newest first.
	BalanceGaps(ctx context.Context, wallets []pipeline.Wallet, limit int) ([]pipeline.BalanceGap, error)
	// PaymentKept says whether the matcher keeps payment eventID (unmatched or under review) on w.
	PaymentKept(ctx context.Context, w pipeline.Wallet, eventID string) (bool, error)
}

// Edge is what the admin API needs of the ingest kernel (*ingest.Server).
type Edge interface {
	// Publish produces an event and waits for Kafka's acknowledgement (the Kafka-ack rule).
	Publish(ctx *fasthttp.RequestCtx, ev *pipeline.Event) error
	// Unavailable answers "Kafka did not acknowledge" (503 + Retry-After) and counts it.
	Unavailable(ctx *fasthttp.RequestCtx, what string, err error)
	// View is an intent as seed 004's PaymentIntent object.
	View(rec *pipeline.IntentRecord) ingest.IntentView
	// PublicURL is a path under the edge's public base URL: the URLs the API hands out.
	PublicURL(path string) string
}

// Deps are what the admin API is built with. Webhooks may be nil (the dead-letter routes then
// answer 501); the others are required.
type Deps struct {
	Directory Directory
	State     ReviewState
	Edge      Edge
	Webhooks  WebhookAdmin
}

// Surface is the admin API (see the package documentation). Build it with New, mount it with
// (*ingest.Server).Mount.
type Surface struct {
	cfg Config
	d   Deps
	log *slog.Logger
}

// New builds the admin API; it fails when a required dependency is missing.
func New(cfg Config, d Deps) (*Surface, error) {
	if d.Directory == nil || d.State == nil || d.Edge == nil {
		return nil, errors.New("admin: Directory, State and Edge are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Surface{cfg: cfg, d: d, log: cfg.Logger.With("role", "ingest", "surface", "admin")}, nil
}

// Mount registers the admin routes and the admin error shape on m.
func (s *Surface) Mount(m *ingest.Mux) {
	m.ErrorShape(Prefix, writeError)
	m.HandleErr(http.MethodPost, "/admin/v1/merchants", "admin_create_merchant", s.handleCreateMerchant)
	m.HandleErr(http.MethodGet, "/admin/v1/merchants/{id}", "admin_get_merchant", s.handleGetMerchant)
	m.HandleErr(http.MethodPost, "/admin/v1/merchants/{id}/integrations", "admin_create_integration", s.handleCreateIntegration)
	m.HandleErr(http.MethodGet, "/admin/v1/webhooks/dead-letters", "admin_dead_letters", s.handleDeadLetters)
	m.HandleErr(http.MethodPost, "/admin/v1/webhooks/{outcomeId}/redeliver", "admin_redeliver", s.handleRedeliver)
	m.HandleErr(http.MethodGet, "/admin/v1/merchants/{id}/review", "admin_review_queue", s.handleReviewQueue)
	m.HandleErr(http.MethodGet, "/admin/v1/merchants/{id}/payments/unmatched", "admin_unmatched_payments", s.handleUnmatchedPayments)
	m.HandleErr(http.MethodGet, "/admin/v1/merchants/{id}/balance-gaps", "admin_balance_gaps", s.handleBalanceGaps)
	m.HandleErr(http.MethodPost, "/admin/v1/intents/{id}/approve", "admin_review_approve", s.reviewDecision(pipeline.ReviewApprove))
	m.HandleErr(http.MethodPost, "/admin/v1/intents/{id}/reject", "admin_review_reject", s.reviewDecision(pipeline.ReviewReject))
	m.HandleErr(http.MethodPost, "/admin/v1/intents/{id}/attach", "admin_review_attach", s.reviewDecision(pipeline.ReviewAttach))
	m.HandleErr(http.MethodGet, "/admin/v1/merchants", "admin_list_merchants", s.handleListMerchants)
	m.HandleErr(http.MethodPost, "/admin/v1/merchants/{id}/keys/rotate", "admin_rotate_key", s.handleRotateKey)
	m.HandleErr(http.MethodPut, "/admin/v1/merchants/{id}/webhooks/{env}", "admin_set_webhook", s.handleSetWebhook)
}

// writeError is the admin API's error shape: the native dialect's error of seed 004, as every
// /admin answer has always been.
func writeError(ctx *fasthttp.RequestCtx, ae *ingest.APIError) {
	ingest.WriteJSON(ctx, ae.Status, native.NewError(ae.Status, ae.Message))
}

var errBadToken = ingest.Errf(http.StatusUnauthorized, "Missing or invalid admin token")

// authorize checks "Authorization: Bearer <admin token>" in constant time. With no admin token
// configured the admin API is closed to everyone.
func (s *Surface) authorize(ctx *fasthttp.RequestCtx) error {
	auth := string(ctx.Request.Header.Peek("Authorization"))
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if s.cfg.Token == "" || !ok ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.Token)) != 1 {
		return errBadToken
	}
	return nil
}

// merchant authenticates the admin and loads the merchant named by the path's id (404 if none).
func (s *Surface) merchant(ctx *fasthttp.RequestCtx) (*pipeline.Merchant, error) {
	if err := s.authorize(ctx); err != nil {
		return nil, err
	}
	id, _ := ctx.UserValue("id").(string)
	m, err := s.d.Directory.CurrentMerchant(ingest.RequestContext(ctx), id)
	if err != nil {
		return nil, fmt.Errorf("loading merchant: %w", err)
	}
	if m == nil {
		return nil, ingest.Errf(http.StatusNotFound, "Merchant not found")
	}
	return m, nil
}

// RequireAdmin checks the admin bearer token for the admin routes other surfaces mount (SMS
// devices, tokenized refunds); false: it answered 401 in the path's error shape.
func (s *Surface) RequireAdmin(ctx *fasthttp.RequestCtx) bool {
	if err := s.authorize(ctx); err != nil {
		ingest.WriteError(ctx, err)
		return false
	}
	return true
}

// AdminMerchant authenticates the admin and loads the merchant named by the path's id, for the
// admin routes other surfaces mount; it answers the request itself (401, 404, 503) and returns nil
// when it cannot go on.
func (s *Surface) AdminMerchant(ctx *fasthttp.RequestCtx) *pipeline.Merchant {
	m, err := s.merchant(ctx)
	if err != nil {
		s.fail(ctx, err)
		return nil
	}
	return m
}

// fail answers err as Mux.HandleErr does: an *ingest.APIError with its status, anything else
// logged and answered 503.
func (s *Surface) fail(ctx *fasthttp.RequestCtx, err error) {
	var ae *ingest.APIError
	if !errors.As(err, &ae) {
		s.log.Error("request failed", "err", err, "request_id", ingest.RequestID(ctx))
	}
	ingest.WriteError(ctx, err)
}

// PublicURL is path under the edge's public base URL, for the admin routes other surfaces mount
// (the SMS devices' forwarding URLs).
func (s *Surface) PublicURL(path string) string { return s.d.Edge.PublicURL(path) }
