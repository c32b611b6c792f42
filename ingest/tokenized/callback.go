package tokenized

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

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
)

// Tokenized payment states paystream records (tokenizedRecord.Status). The failed ones are
// recorded only when bKash itself said so (settleTokenized), never from the callback's status.
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
	// Failure is set when bKash confirmed the payment will not complete (Status tokFailed,
	// tokCancelled or tokInsufficient); such a paymentID is never executed.
	Failure *tokenizedFailure `json:"failure,omitempty"`
	// Upstream is the upstream the payment was created at. Every later call for it (execute,
	// payment/status, refund) goes to that upstream or nowhere (recordedUpstream). Records from
	// before upstreams were per environment have none.
	Upstream  *tokenizedUpstream `json:"upstream,omitempty"`
	UpdatedAt time.Time          `json:"updatedAt"`

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

func (s *Surface) tokKey(intentID string) string {
	p := s.cfg.Keys.Prefix
	if p == "" {
		p = "ps"
	}
	return p + ":tokenized:" + intentID
}

func (s *Surface) loadTokenized(ctx context.Context, intentID string) (*tokenizedRecord, error) {
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

func (s *Surface) saveTokenized(ctx context.Context, r *tokenizedRecord) error {
	r.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding tokenized record: %w", err)
	}
	return s.rdb.Set(ctx, s.tokKey(r.IntentID), b, tokenizedTTL).Err()
}

func (s *Surface) callbackURL(intentID string) string {
	return s.links.PublicURL("") + "/v1/bkash/callback/" + intentID
}

// bkashCallTimeout is the budget of one bKash call plus its token renewal.
func (s *Surface) bkashCallTimeout() time.Duration {
	t := 30 * time.Second
	if s.on() && s.cfg.CallTimeout > 0 {
		t = s.cfg.CallTimeout
	}
	return 2*t + 5*time.Second
}

// upstreamError answers a bKash failure in the native shape: 503 + Retry-After when retrying may
// help (timeouts, bKash down, token renewal in progress), 502 otherwise (refused credentials or
// request: an operator must look).
func (s *Surface) upstreamError(ctx *fasthttp.RequestCtx, what string, err error) {
	if errors.Is(err, bkash.ErrTimeout) || errors.Is(err, bkash.ErrTransport) || errors.Is(err, bkash.ErrUnavailable) ||
		errors.Is(err, bkash.ErrTokenBusy) {
		s.fail.Unavailable(ctx, what, err)
		return
	}
	s.log.Error(what+" failed", "err", err, "request_id", ingest.RequestID(ctx))
	ingest.WriteError(ctx, ingest.Errf(http.StatusBadGateway, "bKash refused the request; an operator was told"))
}

// tokenizedUpstream names the bKash upstream a payment was created at: the intent's environment,
// the owner of the bKash account (the merchant's id for its own account, "" for the server's
// default) and the credential set's identity (bkash.Credentials.ID, which covers environment,
// owner, base URL, username and app key).
type tokenizedUpstream struct {
	Environment pipeline.Environment `json:"environment"`
	Owner       string               `json:"owner,omitempty"`
	ID          string               `json:"id"`
}

func (s *Surface) defaultUpstream(env pipeline.Environment) *bkash.Credentials {
	if !s.on() {
		return nil
	}
	return s.cfg.Defaults[env]
}

// upstreamFor returns the upstream serving merchantID's bkash_tokenized intents in env: the
// merchant's own bKash account for env, else the server's default for env, never another
// environment's; (nil, nil) when there is none. Errors are Redis failures or a misconfigured
// upstream (a secret reference that no longer resolves, an environment mismatch: wrapping
// bkash.ErrBadSecretRef, ErrCredentials or ErrEnvironment).
func (s *Surface) upstreamFor(ctx context.Context, merchantID string, env pipeline.Environment) (*bkash.Credentials, error) {
	if !s.on() || !env.Valid() {
		return nil, nil
	}
	u, err := s.bkashUpstream(ctx, merchantID, env)
	if err != nil {
		return nil, err
	}
	var cr *bkash.Credentials
	if u != nil {
		if cr, err = u.credentials(merchantID); err != nil {
			return nil, fmt.Errorf("resolving merchant %s's %s bkash upstream: %w", merchantID, env, err)
		}
	} else if cr = s.defaultUpstream(env); cr == nil {
		return nil, nil
	}
	if cr.Environment != env {
		return nil, fmt.Errorf("%w: the %s upstream %s is declared %s", bkash.ErrEnvironment, env, cr.BaseURL, cr.Environment)
	}
	return cr, nil
}

// tokenizedUpstreamFor picks the upstream of a new bkash_tokenized intent of merchant m in env
// (upstreamFor). It answers 422 in the native error shape when env has no upstream, 502 when the
// upstream is misconfigured, 503 when Redis fails, and returns nil then.
func (s *Surface) tokenizedUpstreamFor(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment) *bkash.Credentials {
	cr, err := s.upstreamFor(ingest.RequestContext(ctx), m.ID, env)
	switch {
	case err != nil && isUpstreamConfigErr(err):
		s.log.Error("bkash upstream misconfigured", "merchant", m.ID, "environment", env, "err", err, "request_id", ingest.RequestID(ctx))
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadGateway, "The bKash %s upstream of this merchant is misconfigured; an operator was told", env))
	case err != nil:
		s.fail.Internal(ctx, "loading bkash upstream", err)
	case cr == nil:
		ingest.WriteError(ctx, ingest.Errf(http.StatusUnprocessableEntity,
			"paymentMethod bkash_tokenized is not available in %s: no bKash upstream is configured for this merchant in %s", env, env))
	default:
		return cr
	}
	return nil
}

func isUpstreamConfigErr(err error) bool {
	return errors.Is(err, bkash.ErrEnvironment) || errors.Is(err, bkash.ErrBadSecretRef) || errors.Is(err, bkash.ErrCredentials)
}

// recordedUpstream returns the upstream rec's payment was created at, as configured now: the same
// owner's upstream of the intent's environment, with the same identity. When it is gone or changed
// (or rec names another environment or merchant than in), nothing is sent anywhere: it answers 502
// (an operator must restore the upstream) and returns nil. A record from before upstreams were
// per environment uses the server's default of the intent's environment.
func (s *Surface) recordedUpstream(ctx *fasthttp.RequestCtx, in *pipeline.Intent, rec *tokenizedRecord) *bkash.Credentials {
	ref := rec.Upstream
	if ref == nil {
		ref = &tokenizedUpstream{Environment: in.Environment}
	}
	var cr *bkash.Credentials
	var err error
	switch {
	case ref.Environment != in.Environment || (ref.Owner != "" && ref.Owner != in.MerchantID):
		err = fmt.Errorf("%w: the payment was recorded for %s/%q, the intent is %s/%s", bkash.ErrEnvironment,
			ref.Environment, ref.Owner, in.Environment, in.MerchantID)
	case ref.Owner != "":
		var u *merchantUpstream
		if u, err = s.bkashUpstream(ingest.RequestContext(ctx), ref.Owner, ref.Environment); err == nil && u != nil {
			cr, err = u.credentials(ref.Owner)
		}
	default:
		cr = s.defaultUpstream(ref.Environment)
	}
	if err != nil && !isUpstreamConfigErr(err) {
		s.fail.Internal(ctx, "loading bkash upstream", err)
		return nil
	}
	if err == nil && cr != nil && cr.Environment == in.Environment && (ref.ID == "" || cr.ID() == ref.ID) {
		return cr
	}
	s.log.Error("the bkash upstream this intent's payment was created at is gone or changed; not calling any other",
		"intent", in.ID, "environment", in.Environment, "owner", ref.Owner, "recorded_id", ref.ID, "err", err,
		"request_id", ingest.RequestID(ctx))
	ingest.WriteError(ctx, ingest.Errf(http.StatusBadGateway,
		"The bKash upstream this payment was created at is no longer configured; an operator was told"))
	return nil
}

// startTokenized creates the bKash payment of in (paymentMethod bkash_tokenized) at upstream cr
// (tokenizedUpstreamFor) and records it with cr's identity; in.CheckoutURL becomes bKash's
// bkashURL. It answers the request itself and returns false when it fails; nothing is produced to
// Kafka then.
func (s *Surface) startTokenized(ctx *fasthttp.RequestCtx, in *pipeline.Intent, cr *bkash.Credentials) bool {
	tc := &s.cfg
	if cr == nil || cr.Environment != in.Environment { // tokenizedUpstreamFor never gives one
		s.fail.Internal(ctx, "creating bkash payment", fmt.Errorf("%w: no %s upstream", bkash.ErrEnvironment, in.Environment))
		return false
	}
	cctx, cancel := context.WithTimeout(context.Background(), s.bkashCallTimeout())
	defer cancel()
	p, err := tc.Client.Create(cctx, cr, bkash.CreateRequest{
		Amount: in.Amount, PayerReference: in.CustomerReference, CallbackURL: s.callbackURL(in.ID),
		MerchantInvoiceNumber: in.ID,
	})
	if err != nil {
		s.upstreamError(ctx, "creating bkash payment", err)
		return false
	}
	in.PaymentMethod, in.CheckoutURL = pipeline.PaymentMethodBkashTokenized, p.BkashURL
	up := &tokenizedUpstream{Environment: cr.Environment, Owner: cr.Owner, ID: cr.ID()}
	if err := s.saveTokenized(ingest.RequestContext(ctx), &tokenizedRecord{IntentID: in.ID, PaymentID: p.PaymentID, BkashURL: p.BkashURL, Status: tokInitiated, Upstream: up}); err != nil {
		s.fail.Internal(ctx, "recording bkash payment", err)
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
// not authenticated, so it is never trusted; only bKash's own answer decides, asked of the upstream
// the payment was created at (recordedUpstream: same environment, same owner, same account; when
// that upstream is gone or changed nothing is called and the answer is 502):
//
//   - status=success: paystream executes the payment and, if bKash's answer is unclear, asks
//     payment/status (executeTokenized).
//   - status=failure|cancel: paystream asks payment/status and never executes (queryTokenized).
//
// A payment bKash reports Completed, for this intent, becomes a payment.reported event (Reference
// = intent id, so the matcher pays the intent by reference), whatever status the callback said. A
// payment bKash reports finally not completed (execute: insufficient balance, declined,
// cancelled; payment/status: Failed, Cancelled, Expired) is recorded and becomes a payment.failed
// event (the matcher fails a PENDING intent). Anything else (bKash still reports Initiated, or
// cannot be asked) changes nothing: the intent stays PENDING and may still be paid through the same
// bkashURL. Once a failure is recorded, paystream never executes that paymentID. Then the
// customer is redirected (303) to the merchant's success, failed or cancel URL (the hosted
// checkout page when the merchant gave none). Bad input is answered in the native error shape.
func (s *Surface) handleTokenizedCallback(ctx *fasthttp.RequestCtx) {
	id, _ := ctx.UserValue("id").(string)
	args := ctx.QueryArgs()
	paymentID, status := string(args.Peek("paymentID")), string(args.Peek("status"))
	if !ingest.IntentIDRE.MatchString(id) {
		ingest.WriteError(ctx, errNotFound)
		return
	}
	if !paymentIDRE.MatchString(paymentID) {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "paymentID is required"))
		return
	}
	if status != "success" && status != "failure" && status != "cancel" {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "status must be success, failure or cancel"))
		return
	}
	if !s.on() {
		ingest.WriteError(ctx, ingest.Errf(http.StatusNotFound, "bKash tokenized checkout is not configured"))
		return
	}
	rec, err := s.loadTokenized(ingest.RequestContext(ctx), id)
	if err != nil {
		s.fail.Internal(ctx, "loading tokenized record", err)
		return
	}
	if rec == nil || rec.PaymentID != paymentID {
		ingest.WriteError(ctx, ingest.Errf(http.StatusNotFound, "No bKash payment %s for this intent", paymentID))
		return
	}
	ir := s.loadIntent(ctx, id, errNotFound)
	if ir == nil {
		return
	}
	in := &ir.Intent
	// A completed or failed record is a reload of the callback (or a retry after Kafka did not
	// acknowledge): produce the recorded event again (same id), then redirect.
	if rec.Status != tokCompleted && rec.Failure == nil {
		cr := s.recordedUpstream(ctx, in, rec)
		if cr == nil {
			return
		}
		ask := s.executeTokenized
		if status != "success" {
			ask = s.queryTokenized
		}
		if !ask(ctx, cr, in, rec, status) {
			return
		}
	}
	switch {
	case rec.Status == tokCompleted:
		if !s.reportTokenized(ctx, in, rec) {
			return
		}
	case rec.Failure != nil:
		if !s.failTokenized(ctx, in, rec) {
			return
		}
	}
	s.redirectTokenized(ctx, in, rec.Status)
}

// tokenizedFailure is a failure bKash confirmed, as recorded: what the payment.failed event says,
// bKash's answer byte for byte (the event's Raw) and when it was recorded (the event's AcceptedAt),
// so a reload re-produces the same event.
type tokenizedFailure struct {
	pipeline.PaymentFailure
	Raw []byte    `json:"raw,omitempty"`
	At  time.Time `json:"at"`
}

// bKash calls whose answers settle a payment (PaymentFailure.Op).
const (
	opExecute = "execute"
	opQuery   = "query"
)

// settleTokenized reads bKash's answer (p, err) to op for intent in and records a final one on
// rec: Completed for this intent and paymentID (tokCompleted), or finally not completed (Failure
// set; tokFailed, tokCancelled or tokInsufficient). It returns settled=false when the answer
// leaves the payment open (Initiated, an answer about another payment, or a payment bKash does
// not know), and a non-nil error for answers that say nothing about the payment (transport,
// bKash down, a request bKash refused). Only execute's error answers can fail a payment:
// payment/status's error answers are about the query.
func settleTokenized(op string, in *pipeline.Intent, rec *tokenizedRecord, p *bkash.Payment, err error) (settled bool, _ error) {
	fail := func(reason, code, bkStatus string, raw []byte) (bool, error) {
		rec.Status = map[string]string{
			pipeline.ReasonBkashFailed: tokFailed, pipeline.ReasonBkashCancelled: tokCancelled,
			pipeline.ReasonBkashInsufficient: tokInsufficient,
		}[reason]
		rec.Code = code
		rec.Failure = &tokenizedFailure{
			PaymentFailure: pipeline.PaymentFailure{
				IntentID: in.ID, PaymentID: rec.PaymentID, Reason: reason, Code: code, BkashStatus: bkStatus, Op: op,
			},
			Raw: raw, At: time.Now().UTC(),
		}
		return true, nil
	}
	var se *bkash.StatusError
	switch {
	case err == nil:
		if p.PaymentID != rec.PaymentID || (p.Invoice() != "" && p.Invoice() != in.ID) {
			return false, nil
		}
		switch p.TransactionStatus {
		case bkash.StatusCompleted:
			if !p.Completed() || p.Invoice() != in.ID {
				return false, nil
			}
			rec.Status, rec.TrxID, rec.Paid, rec.Code = tokCompleted, p.TrxID, p.Money, ""
			rec.raw, rec.occurred, rec.payer = p.Raw, p.ExecutedAt, p.Payer()
			return true, nil
		case bkash.StatusFailed, bkash.StatusExpired:
			return fail(pipeline.ReasonBkashFailed, "", p.TransactionStatus, p.Raw)
		case bkash.StatusCancelled:
			return fail(pipeline.ReasonBkashCancelled, "", p.TransactionStatus, p.Raw)
		}
		return false, nil
	case errors.As(err, &se):
		if op == opExecute {
			switch se.Outcome {
			case bkash.OutcomeInsufficientBalance:
				return fail(pipeline.ReasonBkashInsufficient, se.Code, "", se.Raw)
			case bkash.OutcomeCancelled:
				return fail(pipeline.ReasonBkashCancelled, se.Code, "", se.Raw)
			case bkash.OutcomeFailed:
				return fail(pipeline.ReasonBkashFailed, se.Code, "", se.Raw)
			}
		}
		switch se.Outcome {
		case bkash.OutcomeNotFound, bkash.OutcomeFailed, bkash.OutcomeCancelled, bkash.OutcomeInsufficientBalance:
			return false, nil
		}
	}
	return false, err
}

// executeTokenized executes at upstream cr (the payment's own, recordedUpstream), or on an unclear answer waits QueryDelay and asks payment/status,
// and records what bKash said (settleTokenized). It answers the request and returns false on
// dependency failures and when the payment stays open (the customer goes to the failed URL).
func (s *Surface) executeTokenized(ctx *fasthttp.RequestCtx, cr *bkash.Credentials, in *pipeline.Intent, rec *tokenizedRecord, _ string) bool {
	tc := &s.cfg
	cctx, cancel := context.WithTimeout(context.Background(), 2*s.bkashCallTimeout()+tc.QueryDelay)
	defer cancel()
	op := opExecute
	p, err := tc.Client.Execute(cctx, cr, rec.PaymentID)
	if err != nil && bkash.Ambiguous(err) {
		s.log.Info("bkash execute gave no clear answer; asking payment/status", "intent", in.ID, "err", err, "request_id", ingest.RequestID(ctx))
		t := time.NewTimer(tc.QueryDelay)
		select {
		case <-t.C:
		case <-cctx.Done():
		}
		t.Stop()
		op = opQuery
		p, err = tc.Client.Query(cctx, cr, rec.PaymentID)
	}
	settled, err := settleTokenized(op, in, rec, p, err)
	if err != nil {
		s.upstreamError(ctx, "executing bkash payment", err)
		return false
	}
	if !settled {
		// Still Initiated (a forged or early callback), or an answer about something else: nothing changes.
		s.log.Warn("bkash callback said success but bKash does not report the payment completed", "intent", in.ID,
			"op", op, "bkash_status", bkashStatusOf(p), "request_id", ingest.RequestID(ctx))
		return s.redirectNotPaid(ctx, in)
	}
	if err := s.saveTokenized(ingest.RequestContext(ctx), rec); err != nil {
		s.fail.Internal(ctx, "recording bkash payment", err)
		return false
	}
	return true
}

// queryTokenized handles a failure or cancel callback: it asks payment/status at upstream cr (the
// payment's own, recordedUpstream; never execute) and
// records a final answer (settleTokenized). When bKash leaves the payment open, or cannot be asked,
// nothing is recorded and the customer goes to the URL the callback asked for: the intent stays
// PENDING. It answers the request and returns false unless a final answer was recorded.
func (s *Surface) queryTokenized(ctx *fasthttp.RequestCtx, cr *bkash.Credentials, in *pipeline.Intent, rec *tokenizedRecord, status string) bool {
	tc := &s.cfg
	cctx, cancel := context.WithTimeout(context.Background(), s.bkashCallTimeout())
	defer cancel()
	p, err := tc.Client.Query(cctx, cr, rec.PaymentID)
	settled, err := settleTokenized(opQuery, in, rec, p, err)
	if !settled {
		s.log.Warn("bkash callback said "+status+" but bKash does not report the payment final; the intent stays PENDING",
			"intent", in.ID, "bkash_status", bkashStatusOf(p), "err", err, "request_id", ingest.RequestID(ctx))
		s.redirectTokenized(ctx, in, map[string]string{"failure": tokFailed, "cancel": tokCancelled}[status])
		return false
	}
	if err := s.saveTokenized(ingest.RequestContext(ctx), rec); err != nil {
		s.fail.Internal(ctx, "recording bkash payment", err)
		return false
	}
	return true
}

func bkashStatusOf(p *bkash.Payment) string {
	if p == nil {
		return ""
	}
	return p.TransactionStatus
}

// failTokenized produces the recorded failure as payment.failed (deterministic id: one per
// paymentID, so a reload or a replay produces the same event). It answers 503 and returns false
// when Kafka did not acknowledge: the customer's reload of the callback retries.
func (s *Surface) failTokenized(ctx *fasthttp.RequestCtx, in *pipeline.Intent, rec *tokenizedRecord) bool {
	f := rec.Failure
	fl := f.PaymentFailure
	ev := &pipeline.Event{
		ID: tokenizedEventID("failed", rec.PaymentID), Kind: pipeline.KindPaymentFailed, Source: pipeline.SourceTokenized,
		Wallet: in.Wallet(), MerchantID: in.MerchantID, Environment: in.Environment, AcceptedAt: f.At,
		Intent: in, Failure: &fl, Raw: f.Raw, RequestID: ingest.RequestID(ctx),
	}
	if err := s.pub.Publish(ctx, ev); err != nil {
		s.fail.Unavailable(ctx, "producing payment.failed", err)
		return false
	}
	return true
}

// redirectNotPaid sends the customer to the failed URL without recording anything: a callback
// that says success for a payment bKash does not report Completed pays nothing.
func (s *Surface) redirectNotPaid(ctx *fasthttp.RequestCtx, in *pipeline.Intent) bool {
	s.redirectTokenized(ctx, in, tokFailed)
	return false
}

// reportTokenized produces the executed payment as payment.reported (deterministic id: a repeat
// produces the same event, and the TrxID dedupes it anyway). It answers 503 and returns false
// when Kafka did not acknowledge: the customer's reload of the callback retries.
func (s *Surface) reportTokenized(ctx *fasthttp.RequestCtx, in *pipeline.Intent, rec *tokenizedRecord) bool {
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
		Raw: rec.raw, RequestID: ingest.RequestID(ctx),
	}
	if err := s.pub.Publish(ctx, ev); err != nil {
		s.fail.Unavailable(ctx, "producing payment.reported", err)
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

func (s *Surface) redirectTokenized(ctx *fasthttp.RequestCtx, in *pipeline.Intent, status string) {
	to := s.links.CheckoutURL(in.ID)
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
