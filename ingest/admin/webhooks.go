package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
)

// Webhook dead letters:
//
//	GET  /admin/v1/webhooks/dead-letters?merchant=&limit=   dead-lettered webhooks, newest first
//	POST /admin/v1/webhooks/:outcomeId/redeliver            → 202; put one back for delivery

// WebhookAdmin is what the admin API needs of the webhook sink's queue: list dead letters and put
// one back for delivery. Ingest does not import the sink (stages meet only through pipeline
// types and shared stores); cmd wires sink/webhook's implementation in through Deps.Webhooks.
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

var (
	errNoWebhookAdmin = ingest.Errf(http.StatusNotImplemented, "Webhook administration is not available in this process")
	errNoWebhook      = ingest.Errf(http.StatusNotFound, "No webhook for this outcome id")
)

// handleDeadLetters lists dead-lettered webhooks, newest first; ?merchant= narrows to one merchant.
func (s *Surface) handleDeadLetters(ctx *fasthttp.RequestCtx) error {
	if err := s.authorize(ctx); err != nil {
		return err
	}
	if s.d.Webhooks == nil {
		return errNoWebhookAdmin
	}
	_, limit, ae := pageArgs(ctx.QueryArgs())
	if ae != nil {
		return ae
	}
	all, err := s.d.Webhooks.DeadLetters(ingest.RequestContext(ctx), 1000)
	if err != nil {
		return fmt.Errorf("listing dead letters: %w", err)
	}
	merchant := string(ctx.QueryArgs().Peek("merchant"))
	data := make([]DeadLetterView, 0, limit)
	for _, d := range all {
		if (merchant == "" || d.MerchantID == merchant) && len(data) < limit {
			data = append(data, d)
		}
	}
	ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"data": data, "limit": limit})
	return nil
}

// handleRedeliver puts one dead-lettered webhook back for delivery.
func (s *Surface) handleRedeliver(ctx *fasthttp.RequestCtx) error {
	if err := s.authorize(ctx); err != nil {
		return err
	}
	if s.d.Webhooks == nil {
		return errNoWebhookAdmin
	}
	id, _ := ctx.UserValue("outcomeId").(string)
	if !outcomeIDRE.MatchString(id) {
		return errNoWebhook
	}
	switch err := s.d.Webhooks.Redeliver(ingest.RequestContext(ctx), id); {
	case errors.Is(err, ErrWebhookNotFound):
		return errNoWebhook
	case errors.Is(err, ErrWebhookNotDead):
		return ingest.Errf(http.StatusConflict, "%v", err)
	case err != nil:
		return fmt.Errorf("redelivering webhook: %w", err)
	}
	ingest.WriteJSON(ctx, http.StatusAccepted, map[string]any{"accepted": true, "outcomeId": id})
	return nil
}
