package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/state"
)

// TokenizedConfig turns on intents with paymentMethod "bkash_tokenized": paystream runs bKash
// Tokenized Checkout (create, execute, status, refund) with the aggregator's own credentials on the
// merchant's behalf. Nil (Config.Tokenized) answers such intents 422.
type TokenizedConfig struct {
	Client      *bkash.Client
	Credentials *bkash.Credentials
	// QueryDelay is how long the callback waits, after an execute without a clear answer (timeout,
	// 2117, ...), before asking payment/status (default 1s).
	QueryDelay time.Duration
	// CallTimeout is the client's per-call timeout (bkash.Config.Timeout; default 30s): the
	// callback's budget is two calls plus QueryDelay.
	CallTimeout time.Duration
}

// Tokenized payment states paystream records (tokenizedRecord.Status).
const (
	tokInitiated    = "initiated"
	tokCompleted    = "completed"
	tokFailed       = "failed"
	tokCancelled    = "cancelled"
	tokInsufficient = "insufficient_balance"
)

// tokenizedRecord is what paystream knows of an intent's bKash payment, under Keys prefix
// "tokenized:<intent id>" (single key, JSON, TTL 90 days).
type tokenizedRecord struct {
	IntentID  string           `json:"intentId"`
	PaymentID string           `json:"paymentId"`
	BkashURL  string           `json:"bkashUrl"`
	Status    string           `json:"status"`
	Code      string           `json:"code,omitempty"` // bKash's last non-success statusCode
	TrxID     string           `json:"trxId,omitempty"`
	Paid      pipeline.Money   `json:"paid,omitempty"`
	Refunded  pipeline.Money   `json:"refunded,omitempty"`
	Refunds   []tokenizedRefnd `json:"refunds,omitempty"`
	UpdatedAt time.Time        `json:"updatedAt"`

	// What the execute or status answer said, for the event (not stored).
	raw      []byte
	occurred time.Time
	payer    string
}

type tokenizedRefnd struct {
	RefundTrxID string         `json:"refundTrxId"`
	Amount      pipeline.Money `json:"amount"`
	Reason      string         `json:"reason,omitempty"`
	EventID     string         `json:"eventId"`
	Published   bool           `json:"published"` // its payment.refunded event was acknowledged by Kafka
	At          time.Time      `json:"at"`
}

const tokenizedTTL = 90 * 24 * time.Hour

func (s *Server) tokKey(intentID string) string {
	p := s.cfg.Keys.Prefix
	if p == "" {
		p = "ps"
	}
	return p + ":tokenized:" + intentID
}

func (s *Server) loadTokenized(ctx context.Context, intentID string) (*tokenizedRecord, error) {
	b, err := s.rdb.Get(ctx, s.tokKey(intentID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading tokenized record: %w", err)
	}
	var r tokenizedRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding tokenized record: %w", err)
	}
	return &r, nil
}

func (s *Server) saveTokenized(ctx context.Context, r *tokenizedRecord) error {
	r.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding tokenized record: %w", err)
	}
	return s.rdb.Set(ctx, s.tokKey(r.IntentID), b, tokenizedTTL).Err()
}

func (s *Server) callbackURL(intentID string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/v1/bkash/callback/" + intentID
}

func (s *Server) tokenizedRoutes(route routeFunc) {
	route(http.MethodGet, "/v1/bkash/callback/{id}", "bkash_callback", s.handleTokenizedCallback)
	route(http.MethodPost, "/admin/v1/intents/{id}/refund", "admin_refund", s.handleTokenizedRefund)
}

// bkashCallTimeout is the budget of one bKash call plus its token renewal.
func (s *Server) bkashCallTimeout() time.Duration {
	t := 30 * time.Second
	if s.cfg.Tokenized != nil && s.cfg.Tokenized.CallTimeout > 0 {
		t = s.cfg.Tokenized.CallTimeout
	}
	return 2*t + 5*time.Second
}

// upstreamError answers a bKash failure in the native shape: 503 + Retry-After when retrying may
// help (timeouts, bKash down, token renewal in progress), 502 otherwise (refused credentials or
// request: an operator must look).
func (s *Server) upstreamError(ctx *fasthttp.RequestCtx, what string, err error) {
	if errors.Is(err, bkash.ErrTimeout) || errors.Is(err, bkash.ErrTransport) || errors.Is(err, bkash.ErrUnavailable) ||
		errors.Is(err, bkash.ErrTokenBusy) {
		s.unavailable(ctx, what, err)
		return
	}
	s.log.Error(what+" failed", "err", err, "request_id", requestID(ctx))
	writeError(ctx, errf(http.StatusBadGateway, "bKash refused the request; an operator was told"))
}

// startTokenized creates the bKash payment of in (paymentMethod bkash_tokenized) and records it;
// in.CheckoutURL becomes bKash's bkashURL. It answers the request itself and returns false when it
// fails; nothing is produced to Kafka then.
func (s *Server) startTokenized(ctx *fasthttp.RequestCtx, in *pipeline.Intent) bool {
	tc := s.cfg.Tokenized
	cctx, cancel := context.WithTimeout(context.Background(), s.bkashCallTimeout())
	defer cancel()
	p, err := tc.Client.Create(cctx, tc.Credentials, bkash.CreateRequest{
		Amount: in.Amount, PayerReference: in.CustomerReference, CallbackURL: s.callbackURL(in.ID),
		MerchantInvoiceNumber: in.ID,
	})
	if err != nil {
		s.upstreamError(ctx, "creating bkash payment", err)
		return false
	}
	in.PaymentMethod, in.CheckoutURL = pipeline.PaymentMethodBkashTokenized, p.BkashURL
	if err := s.saveTokenized(rc(ctx), &tokenizedRecord{IntentID: in.ID, PaymentID: p.PaymentID, BkashURL: p.BkashURL, Status: tokInitiated}); err != nil {
		s.internal(ctx, "recording bkash payment", err)
		return false
	}
	return true
}

var (
	paymentIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	tokEventNS  = uuid.MustParse("3c4b7b86-3f0e-4f55-9a57-0e9d3c8f2b71")
)

// tokenizedEventID is deterministic, so a repeated callback re-produces the same event.
func tokenizedEventID(kind, id string) string {
	return uuid.NewSHA1(tokEventNS, []byte(kind+"/"+id)).String()
}

// handleTokenizedCallback is where bKash sends the customer back:
// GET /v1/bkash/callback/{intent id}?paymentID=...&status=success|failure|cancel. The callback is
// not authenticated, so it is never trusted: on "success" paystream executes the payment and, if
// bKash's answer is unclear, asks payment/status; only a payment bKash itself reports Completed,
// for this intent, becomes a payment.reported event (Reference = intent id, so the matcher pays
// the intent by reference). Then the customer is redirected (303) to the merchant's success,
// failed or cancel URL (the hosted checkout page when the merchant gave none). Bad input is
// answered in the native error shape.
func (s *Server) handleTokenizedCallback(ctx *fasthttp.RequestCtx) {
	id, _ := ctx.UserValue("id").(string)
	args := ctx.QueryArgs()
	paymentID, status := string(args.Peek("paymentID")), string(args.Peek("status"))
	if !intentIDRE.MatchString(id) {
		writeError(ctx, errNotFound)
		return
	}
	if !paymentIDRE.MatchString(paymentID) {
		writeError(ctx, errf(http.StatusBadRequest, "paymentID is required"))
		return
	}
	if status != "success" && status != "failure" && status != "cancel" {
		writeError(ctx, errf(http.StatusBadRequest, "status must be success, failure or cancel"))
		return
	}
	if s.cfg.Tokenized == nil {
		writeError(ctx, errf(http.StatusNotFound, "bKash tokenized checkout is not configured"))
		return
	}
	rec, err := s.loadTokenized(rc(ctx), id)
	if err != nil {
		s.internal(ctx, "loading tokenized record", err)
		return
	}
	if rec == nil || rec.PaymentID != paymentID {
		writeError(ctx, errf(http.StatusNotFound, "No bKash payment %s for this intent", paymentID))
		return
	}
	ir, err := s.state.GetIntent(rc(ctx), id)
	if errors.Is(err, state.ErrNotFound) {
		writeError(ctx, errNotFound)
		return
	}
	if err != nil {
		s.internal(ctx, "loading intent", err)
		return
	}
	in := &ir.Intent
	switch {
	case rec.Status == tokCompleted:
		// Already executed (a reload of the callback): make sure the event exists, then redirect.
	case status == "success":
		if !s.executeTokenized(ctx, in, rec) {
			return
		}
	default:
		// failure/cancel: bKash moves no money on these; say so on the record unless it completed.
		rec.Status = map[string]string{"failure": tokFailed, "cancel": tokCancelled}[status]
		if err := s.saveTokenized(rc(ctx), rec); err != nil {
			s.internal(ctx, "recording bkash payment", err)
			return
		}
	}
	if rec.Status == tokCompleted {
		if !s.reportTokenized(ctx, in, rec) {
			return
		}
	}
	s.redirectTokenized(ctx, in, rec.Status)
}

// executeTokenized executes, or on an unclear answer waits QueryDelay and asks payment/status,
// and records what bKash said. It answers the request and returns false on dependency failures.
func (s *Server) executeTokenized(ctx *fasthttp.RequestCtx, in *pipeline.Intent, rec *tokenizedRecord) bool {
	tc := s.cfg.Tokenized
	cctx, cancel := context.WithTimeout(context.Background(), 2*s.bkashCallTimeout()+tc.QueryDelay)
	defer cancel()
	p, err := tc.Client.Execute(cctx, tc.Credentials, rec.PaymentID)
	if err != nil && bkash.Ambiguous(err) {
		s.log.Info("bkash execute gave no clear answer; asking payment/status", "intent", in.ID, "err", err, "request_id", requestID(ctx))
		t := time.NewTimer(tc.QueryDelay)
		select {
		case <-t.C:
		case <-cctx.Done():
		}
		t.Stop()
		p, err = tc.Client.Query(cctx, tc.Credentials, rec.PaymentID)
	}
	var se *bkash.StatusError
	switch {
	case err == nil && p.Completed() && p.Invoice() == in.ID && p.PaymentID == rec.PaymentID:
		rec.Status, rec.TrxID, rec.Paid, rec.Code = tokCompleted, p.TrxID, p.Money, ""
		rec.raw = p.Raw
		rec.occurred, rec.payer = p.ExecutedAt, p.Payer()
	case err == nil && (p.TransactionStatus == bkash.StatusFailed || p.TransactionStatus == bkash.StatusExpired):
		rec.Status = tokFailed
	case err == nil && p.TransactionStatus == bkash.StatusCancelled:
		rec.Status = tokCancelled
	case err == nil:
		// Still Initiated: the customer did not pay (a forged or early callback). Nothing changes.
		s.log.Warn("bkash callback said success but the payment is not completed", "intent", in.ID,
			"bkash_status", p.TransactionStatus, "request_id", requestID(ctx))
		return s.redirectNotPaid(ctx, in)
	case errors.As(err, &se) && se.Outcome == bkash.OutcomeInsufficientBalance:
		rec.Status, rec.Code = tokInsufficient, se.Code
	case errors.As(err, &se) && se.Outcome == bkash.OutcomeCancelled:
		rec.Status, rec.Code = tokCancelled, se.Code
	case errors.As(err, &se) && (se.Outcome == bkash.OutcomeFailed || se.Outcome == bkash.OutcomeNotFound):
		rec.Status, rec.Code = tokFailed, se.Code
	default:
		s.upstreamError(ctx, "executing bkash payment", err)
		return false
	}
	if err := s.saveTokenized(rc(ctx), rec); err != nil {
		s.internal(ctx, "recording bkash payment", err)
		return false
	}
	return true
}

// redirectNotPaid sends the customer to the failed URL without recording anything: a callback
// that says success for a payment bKash does not report Completed pays nothing.
func (s *Server) redirectNotPaid(ctx *fasthttp.RequestCtx, in *pipeline.Intent) bool {
	s.redirectTokenized(ctx, in, tokFailed)
	return false
}

// reportTokenized produces the executed payment as payment.reported (deterministic id: a repeat
// produces the same event, and the TrxID dedupes it anyway). It answers 503 and returns false
// when Kafka did not acknowledge: the customer's reload of the callback retries.
func (s *Server) reportTokenized(ctx *fasthttp.RequestCtx, in *pipeline.Intent, rec *tokenizedRecord) bool {
	now := time.Now().UTC()
	occurred := rec.occurred
	if occurred.IsZero() {
		occurred = now
	}
	ev := &pipeline.Event{
		ID: tokenizedEventID("payment", rec.PaymentID), Kind: pipeline.KindPaymentReported, Source: pipeline.SourceTokenized,
		Wallet: in.Wallet(), MerchantID: in.MerchantID, Environment: in.Environment, AcceptedAt: now,
		Payment: &pipeline.Payment{
			Provider: pipeline.BKash, TrxID: strings.ToUpper(rec.TrxID), Amount: rec.Paid, Sender: normalizedOrEmpty(rec.payer),
			Reference: in.ID, OccurredAt: occurred.UTC(),
		},
		Raw: rec.raw, RequestID: requestID(ctx),
	}
	if err := s.publish(ctx, ev); err != nil {
		s.unavailable(ctx, "producing payment.reported", err)
		return false
	}
	return true
}

func normalizedOrEmpty(msisdn string) string {
	if n, ok := pipeline.NormalizeMSISDN(msisdn); ok {
		return n
	}
	return ""
}

func (s *Server) redirectTokenized(ctx *fasthttp.RequestCtx, in *pipeline.Intent, status string) {
	to := s.checkoutURL(in.ID)
	switch status {
	case tokCompleted:
		to = firstNonEmpty(in.SuccessURL, to)
	case tokCancelled:
		to = firstNonEmpty(in.CancelURL, in.FailedURL, to)
	default:
		to = firstNonEmpty(in.FailedURL, to)
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Redirect(to, http.StatusSeeOther)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
