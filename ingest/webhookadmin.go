package ingest

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"github.com/valyala/fasthttp"
)

// WebhookAdmin is what the admin API needs of the webhook sink's queue: list dead letters and put
// one back for delivery. Ingest does not import the sink (stages meet only through pipeline
// types and shared stores); cmd wires sink/webhook's implementation in through Config.Webhooks.
type WebhookAdmin interface {
	// DeadLetters returns at most limit dead-lettered webhooks, newest first, as JSON-encodable
	// values that carry at least "outcomeId" and "merchantId".
	DeadLetters(ctx context.Context, limit int) ([]DeadLetterView, error)
	// Redeliver schedules a dead-lettered webhook for delivery now, with its attempts reset. It
	// returns ErrWebhookNotFound or ErrWebhookNotDead (wrapped) when that is why it refused.
	Redeliver(ctx context.Context, outcomeID string) error
}

// DeadLetterView is one dead-lettered webhook as the admin API shows it.
type DeadLetterView struct {
	OutcomeID  string `json:"outcomeId"`
	MerchantID string `json:"merchantId"`
	Details    any    `json:"details"`
}

// Errors a WebhookAdmin returns for requests it refuses.
var (
	ErrWebhookNotFound = errors.New("no webhook for this outcome id")
	ErrWebhookNotDead  = errors.New("webhook is not dead-lettered (delivered, or still being retried)")
)

var outcomeIDRE = regexp.MustCompile(`^[0-9a-f-]{36}$`)

func (s *Server) webhookAdminRoutes(route routeFunc) {
	route(http.MethodGet, "/admin/v1/webhooks/dead-letters", "admin_dead_letters", s.handleDeadLetters)
	route(http.MethodPost, "/admin/v1/webhooks/{outcomeId}/redeliver", "admin_redeliver", s.handleRedeliver)
}

// handleDeadLetters lists dead-lettered webhooks, newest first; ?merchant= narrows to one merchant.
func (s *Server) handleDeadLetters(ctx *fasthttp.RequestCtx) {
	if !s.RequireAdmin(ctx) {
		return
	}
	if s.cfg.Webhooks == nil {
		WriteError(ctx, Errf(http.StatusNotImplemented, "Webhook administration is not available in this process"))
		return
	}
	_, limit, ae := pageArgs(ctx.QueryArgs())
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	all, err := s.cfg.Webhooks.DeadLetters(RequestContext(ctx), 1000)
	if err != nil {
		s.Internal(ctx, "listing dead letters", err)
		return
	}
	merchant := string(ctx.QueryArgs().Peek("merchant"))
	data := make([]DeadLetterView, 0, limit)
	for _, d := range all {
		if (merchant == "" || d.MerchantID == merchant) && len(data) < limit {
			data = append(data, d)
		}
	}
	WriteJSON(ctx, http.StatusOK, map[string]any{"data": data, "limit": limit})
}

// handleRedeliver puts one dead-lettered webhook back for delivery.
func (s *Server) handleRedeliver(ctx *fasthttp.RequestCtx) {
	if !s.RequireAdmin(ctx) {
		return
	}
	if s.cfg.Webhooks == nil {
		WriteError(ctx, Errf(http.StatusNotImplemented, "Webhook administration is not available in this process"))
		return
	}
	id, _ := ctx.UserValue("outcomeId").(string)
	if !outcomeIDRE.MatchString(id) {
		WriteError(ctx, Errf(http.StatusNotFound, "No webhook for this outcome id"))
		return
	}
	switch err := s.cfg.Webhooks.Redeliver(RequestContext(ctx), id); {
	case errors.Is(err, ErrWebhookNotFound):
		WriteError(ctx, Errf(http.StatusNotFound, "No webhook for this outcome id"))
	case errors.Is(err, ErrWebhookNotDead):
		WriteError(ctx, Errf(http.StatusConflict, "%v", err))
	case err != nil:
		s.Internal(ctx, "redelivering webhook", err)
	default:
		WriteJSON(ctx, http.StatusAccepted, map[string]any{"accepted": true, "outcomeId": id})
	}
}
