package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// Operators (SPEC rule 6), admin API:
//
//	GET  /admin/v1/merchants/:id/review?env=&page=&limit=             intents under review, with reason and candidate payments
//	POST /admin/v1/intents/:id/approve {"trxId"?, "operator"?, "note"?} → 202; the matcher makes it PAID (MANUAL)
//	POST /admin/v1/intents/:id/reject  {"operator"?, "note"?}           → 202; the matcher makes it REJECTED
//	GET  /admin/v1/merchants/:id/payments/unmatched?env=&page=&limit= payments that matched no intent
//	POST /admin/v1/intents/:id/attach {"paymentEventId", "operator"?, "note"?} → 202; the payment pays the PENDING, REVIEW_REQUIRED or EXPIRED intent (MANUAL)
//
// Decisions are events (review.decided, source operator) on the intent's wallet, so the matcher
// applies them in order with everything else that happens to that wallet; ingest checks only what
// it can see now (the intent exists and is in a status the action applies to; an attached payment
// is kept, unmatched or under review, on the intent's wallet) and answers 409 otherwise. The event id
// is derived from (intent, its version, action, payment), so repeating a request (after a 503, or
// a double click) is the same decision; a decision the matcher finds stale (the intent changed in
// between) changes nothing.

// errIntentNotFound is the answer of a decision on an intent that does not exist (the native
// shape's message of seed 004).
var errIntentNotFound = ingest.Errf(http.StatusNotFound, "Payment intent not found")

const (
	maxOperatorLen = 100
	maxNoteLen     = 1000
)

// paymentView is a payment the matcher kept for operators.
type paymentView struct {
	EventID     string               `json:"eventId"`
	Source      pipeline.Source      `json:"source"`
	Environment pipeline.Environment `json:"environment"`
	Provider    pipeline.Provider    `json:"provider"`
	Wallet      string               `json:"receiverMsisdn"`
	TrxID       string               `json:"trxId"`
	Amount      string               `json:"amount"`
	Sender      string               `json:"senderMsisdn,omitempty"`
	Reference   string               `json:"reference,omitempty"`
	OccurredAt  string               `json:"occurredAt,omitempty"`
	AcceptedAt  string               `json:"acceptedAt"`
	Disposition pipeline.Disposition `json:"disposition"`
	Reason      string               `json:"reason,omitempty"`
	IntentIDs   []string             `json:"intentIds,omitempty"`
}

func viewPayment(r *pipeline.PaymentRecord) paymentView {
	v := paymentView{
		EventID: r.EventID, Source: r.Source, Environment: r.Wallet.Environment, Provider: r.Wallet.Provider,
		Wallet: r.Wallet.Account, TrxID: r.Payment.TrxID, Amount: r.Payment.Amount.String(), Sender: r.Payment.Sender,
		Reference: r.Payment.Reference, AcceptedAt: pipeline.FormatTime(r.AcceptedAt), Disposition: r.Disposition,
		Reason: r.Reason, IntentIDs: r.IntentIDs,
	}
	if !r.Payment.OccurredAt.IsZero() {
		v.OccurredAt = pipeline.FormatTime(r.Payment.OccurredAt)
	}
	return v
}

// reviewItem is one intent under review with the payments that concern it.
type reviewItem struct {
	Intent     ingest.IntentView `json:"intent"`
	Reason     string            `json:"reason"`
	Candidates []paymentView     `json:"candidates"`
}

// adminWallets returns the merchant's wallets of env ("" = all).
func adminWallets(m *pipeline.Merchant, env pipeline.Environment) []pipeline.Wallet {
	if env == "" {
		return m.Wallets
	}
	return m.WalletsIn(env)
}

// pageArgs reads page and limit (default 20, at most 100, at most state.MaxListOffset deep).
func pageArgs(args *fasthttp.Args) (page, limit int, ae *ingest.APIError) {
	if page, ae = ingest.IntArg(args, "page", 1, 1, 1_000_000); ae != nil {
		return 0, 0, ae
	}
	if limit, ae = ingest.IntArg(args, "limit", 20, 1, state.MaxListLimit); ae != nil {
		return 0, 0, ae
	}
	if (page-1)*limit > state.MaxListOffset {
		return 0, 0, ingest.Errf(http.StatusBadRequest, "page is too deep: at most %d results can be paged", state.MaxListOffset)
	}
	return page, limit, nil
}

// adminListing is what every admin list of one merchant starts with: the admin token, the
// merchant (:id), ?env= and ?page=&limit=.
type adminListing struct {
	m           *pipeline.Merchant
	env         pipeline.Environment
	page, limit int
}

func (s *Surface) adminListing(ctx *fasthttp.RequestCtx) (adminListing, error) {
	m, err := s.merchant(ctx)
	if err != nil {
		return adminListing{}, err
	}
	env, ae := ingest.EnvArg(ctx.QueryArgs())
	if ae != nil {
		return adminListing{}, ae
	}
	page, limit, ae := pageArgs(ctx.QueryArgs())
	if ae != nil {
		return adminListing{}, ae
	}
	return adminListing{m: m, env: env, page: page, limit: limit}, nil
}

// handleReviewQueue lists the merchant's REVIEW_REQUIRED intents, newest first, each with its
// reason and candidate payments (state.Store.ReviewQueue: the kept payments that put it under
// review, or that carry the TrxID its review recorded), oldest payment first.
func (s *Surface) handleReviewQueue(ctx *fasthttp.RequestCtx) error {
	l, err := s.adminListing(ctx)
	if err != nil {
		return err
	}
	m, env, page, limit := l.m, l.env, l.page, l.limit
	items, total, err := s.d.State.ReviewQueue(ingest.RequestContext(ctx), adminWallets(m, env), (page-1)*limit, limit)
	if err != nil {
		return fmt.Errorf("listing the review queue: %w", err)
	}
	data := make([]reviewItem, 0, len(items))
	for _, it := range items {
		ri := reviewItem{Intent: s.d.Edge.View(it.IntentRecord), Reason: it.Reason, Candidates: make([]paymentView, 0, len(it.Payments))}
		for _, p := range it.Payments {
			ri.Candidates = append(ri.Candidates, viewPayment(p))
		}
		data = append(data, ri)
	}
	ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"data": data, "total": total, "page": page, "limit": limit})
	return nil
}

// handleUnmatchedPayments lists the payments the matcher kept as unmatched, newest first.
func (s *Surface) handleUnmatchedPayments(ctx *fasthttp.RequestCtx) error {
	l, err := s.adminListing(ctx)
	if err != nil {
		return err
	}
	m, env, page, limit := l.m, l.env, l.page, l.limit
	recs, total, err := s.d.State.ListPayments(ingest.RequestContext(ctx), adminWallets(m, env), pipeline.DispositionUnmatched, (page-1)*limit, limit)
	if err != nil {
		return fmt.Errorf("listing unmatched payments: %w", err)
	}
	data := make([]paymentView, 0, len(recs))
	for _, r := range recs {
		data = append(data, viewPayment(r))
	}
	ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"data": data, "total": total, "page": page, "limit": limit})
	return nil
}

// handleBalanceGaps lists the "possible missed SMS" signals of the merchant's wallets: SMS whose
// balance did not follow from the previous SMS's balance and amount, newest first (at most limit,
// default 20, up to 100).
func (s *Surface) handleBalanceGaps(ctx *fasthttp.RequestCtx) error {
	l, err := s.adminListing(ctx)
	if err != nil {
		return err
	}
	m, env, limit := l.m, l.env, l.limit
	gaps, err := s.d.State.BalanceGaps(ingest.RequestContext(ctx), adminWallets(m, env), limit)
	if err != nil {
		return fmt.Errorf("listing balance gaps: %w", err)
	}
	if gaps == nil {
		gaps = []pipeline.BalanceGap{}
	}
	ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"data": gaps, "total": len(gaps), "limit": limit})
	return nil
}

// reviewReq is the body of approve, reject and attach (each uses its own fields; an empty body is {}).
type reviewReq struct {
	TrxID          *string `json:"trxId"`
	PaymentEventID *string `json:"paymentEventId"`
	Operator       string  `json:"operator"`
	Note           string  `json:"note"`
}

var reviewEventNS = uuid.MustParse("a3c5e1d2-4b6f-4a8e-9c0d-7e2f1b3a5c69")

// reviewEventID is deterministic: the same decision on the same version of an intent is one event.
func reviewEventID(intentID string, version int, action, trxID, paymentEventID string) string {
	return uuid.NewSHA1(reviewEventNS, []byte("review/"+intentID+"/"+strconv.Itoa(version)+"/"+action+"/"+trxID+"/"+paymentEventID)).String()
}

// reviewDecision returns the handler of one operator action.
func (s *Surface) reviewDecision(action string) func(ctx *fasthttp.RequestCtx) error {
	return func(ctx *fasthttp.RequestCtx) error {
		if err := s.authorize(ctx); err != nil {
			return err
		}
		var req reviewReq
		if body := ctx.PostBody(); len(strings.TrimSpace(string(body))) > 0 {
			if ae := ingest.DecodeJSON(body, &req); ae != nil {
				return ae
			}
		}
		d := pipeline.ReviewDecision{Action: action, Operator: strings.TrimSpace(req.Operator), Note: strings.TrimSpace(req.Note)}
		if utf8.RuneCountInString(d.Operator) > maxOperatorLen || !ingest.Printable(d.Operator) {
			return ingest.Errf(http.StatusBadRequest, "operator must be at most %d printable characters", maxOperatorLen)
		}
		if utf8.RuneCountInString(d.Note) > maxNoteLen || !ingest.Printable(strings.ReplaceAll(d.Note, "\n", " ")) {
			return ingest.Errf(http.StatusBadRequest, "note must be at most %d printable characters", maxNoteLen)
		}
		switch action {
		case pipeline.ReviewApprove:
			if req.TrxID != nil && strings.TrimSpace(*req.TrxID) != "" {
				d.TrxID = strings.ToUpper(strings.TrimSpace(*req.TrxID))
				if !ingest.TrxIDRE.MatchString(d.TrxID) {
					return ingest.Errf(http.StatusBadRequest, "trxId must be 6 to 32 letters and digits")
				}
			}
		case pipeline.ReviewAttach:
			if req.PaymentEventID == nil || strings.TrimSpace(*req.PaymentEventID) == "" {
				return ingest.Errf(http.StatusBadRequest, "paymentEventId is required: the eventId of an unmatched payment (GET /admin/v1/merchants/:id/payments/unmatched)")
			}
			d.PaymentEventID = strings.TrimSpace(*req.PaymentEventID)
			if len(d.PaymentEventID) > 128 || !ingest.Printable(d.PaymentEventID) {
				return ingest.Errf(http.StatusBadRequest, "paymentEventId must be at most 128 printable characters")
			}
		}
		id, _ := ctx.UserValue("id").(string)
		if !ingest.IntentIDRE.MatchString(id) {
			return errIntentNotFound
		}
		c := ingest.RequestContext(ctx)
		rec, err := s.d.State.GetIntent(c, id)
		if errors.Is(err, state.ErrNotFound) {
			return errIntentNotFound
		}
		if err != nil {
			return fmt.Errorf("loading intent: %w", err)
		}
		d.IntentID = rec.ID
		if ae := reviewAllowed(action, rec.Status); ae != nil {
			return ae
		}
		w := rec.Wallet()
		if action == pipeline.ReviewAttach {
			if err := s.checkAttachable(c, rec, d.PaymentEventID); err != nil {
				return err
			}
		}
		ev := &pipeline.Event{
			ID: reviewEventID(rec.ID, rec.Version, action, d.TrxID, d.PaymentEventID), Kind: pipeline.KindReviewDecided,
			Source: pipeline.SourceOperator, Wallet: w, MerchantID: rec.MerchantID, Environment: rec.Environment,
			AcceptedAt: time.Now().UTC(), Review: &d, Raw: ingest.RawCopy(ctx.PostBody()), RequestID: ingest.RequestID(ctx),
		}
		if err := s.d.Edge.Publish(ctx, ev); err != nil {
			s.d.Edge.Unavailable(ctx, "producing review.decided", err)
			return nil
		}
		s.log.Info("review decision accepted", "intent", rec.ID, "action", action, "operator", d.Operator, "event", ev.ID)
		ingest.WriteJSON(ctx, http.StatusAccepted, map[string]any{
			"accepted": true, "eventId": ev.ID, "intentId": rec.ID, "action": action, "status": rec.Status,
		})
		return nil
	}
}

// reviewAllowed says whether action applies to an intent in status now.
func reviewAllowed(action string, now pipeline.Status) *ingest.APIError {
	switch action {
	case pipeline.ReviewAttach:
		// EXPIRED too: a payment made in time but reported late (after the matcher's late-payment
		// grace) is held for review, and the operator who checks it pays the intent with it.
		if now != pipeline.StatusPending && now != pipeline.StatusReviewRequired && now != pipeline.StatusExpired {
			return ingest.Errf(http.StatusConflict, "Intent is %s: a payment can be attached only to a PENDING, REVIEW_REQUIRED or EXPIRED intent", now)
		}
	default:
		if now != pipeline.StatusReviewRequired {
			hint := ""
			if now == pipeline.StatusPending {
				hint = " (to pay a PENDING intent with a payment that matched nothing, attach it)"
			}
			done := action + "d" // approved
			if action == pipeline.ReviewReject {
				done = "rejected"
			}
			return ingest.Errf(http.StatusConflict, "Intent is %s: only REVIEW_REQUIRED intents can be %s%s", now, done, hint)
		}
	}
	return nil
}

// checkAttachable checks that paymentEventID is a payment the matcher kept (unmatched or under
// review) on the intent's wallet. Errors: *APIError (409 on another wallet of the merchant, 404
// not kept anywhere) or a Redis error.
func (s *Surface) checkAttachable(c context.Context, rec *pipeline.IntentRecord, paymentEventID string) error {
	w := rec.Wallet()
	kept, err := s.d.State.PaymentKept(c, w, paymentEventID)
	if err != nil {
		return fmt.Errorf("loading payment: %w", err)
	}
	if kept {
		return nil
	}
	// Not on the intent's wallet: say whether it is on another wallet of the merchant.
	m, err := s.d.Directory.CurrentMerchant(c, rec.MerchantID)
	if err != nil {
		return err
	}
	if m != nil {
		for _, other := range m.Wallets {
			if other == w {
				continue
			}
			kept, err := s.d.State.PaymentKept(c, other, paymentEventID)
			if err != nil {
				return fmt.Errorf("loading payment: %w", err)
			}
			if kept {
				return ingest.Errf(http.StatusConflict, "Payment %s was received by %s wallet %s (%s), not by the intent's wallet %s",
					paymentEventID, other.Provider, other.Account, other.Environment, w.Account)
			}
		}
	}
	return ingest.Errf(http.StatusNotFound, "Payment %s not found: only unmatched payments and payments under review can be attached", paymentEventID)
}
