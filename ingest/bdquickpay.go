package ingest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/netguard"
	"github.com/paystream/paystream/pipeline/state"
)

// Seed 001 (bdQuickPay) speaks its own dialect: X-App-Key/X-Secret-Key credentials, snake_case
// bodies, {"status": bool, ...} answers, Laravel-style validation errors and 200 for every success.
// Its invoice_id is the intent id (20 upper-case letters and digits instead of a UUID), so the rest
// of the pipeline treats these intents like any other.

const (
	// bqpTTL is how long a bdQuickPay payment can be paid (the seed's examples show 30 minutes).
	bqpTTL = 30 * time.Minute
	// bqpTimeFormat is how the dialect writes times: ISO 8601 in UTC, seconds, "+00:00".
	bqpTimeFormat = "2006-01-02T15:04:05-07:00"
	// invoiceIDLen is the length of an invoice id ("GALQYVTGASTRGOISR1FO").
	invoiceIDLen = 20
	// maxBQPURL bounds success_url, cancel_url and webhook_url.
	maxBQPURL = 2048
	// maxBQPMetadata bounds the metadata object (encoded), as the native API does.
	maxBQPMetadata = 4096
)

const invoiceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

var invoiceIDRE = regexp.MustCompile(`^[A-Z0-9]{20}$`)

// The dialect's fixed answers.
var (
	errBQPUnauthorized = &APIError{Status: http.StatusUnauthorized, Message: "Unauthorized. Invalid App Key or Secret Key."}
	errBQPInactive     = &APIError{Status: http.StatusForbidden, Message: "Forbidden. bKash merchant account is inactive."}
	errBQPNotFound     = &APIError{Status: http.StatusNotFound, Message: "Invoice not found."}
	errBQPLiveSim      = &APIError{Status: http.StatusForbidden, Message: "Forbidden. The payment simulator is available with SANDBOX App Keys only."}
)

// bdquickpayRoutes registers seed 001's bdQuickPay-compatible merchant API.
func (s *Server) bdquickpayRoutes(route routeFunc) {
	route(http.MethodPost, prefixBDQuickPay+"payment/create", "bdquickpay_create", s.handleBQPCreate)
	route(http.MethodPost, prefixBDQuickPay+"payment/verify", "bdquickpay_verify", s.handleBQPVerify)
	route(http.MethodPost, prefixBDQuickPay+"sandbox/simulate", "bdquickpay_sandbox_simulate", s.handleBQPSimulate)
}

// newInvoiceID returns 20 characters drawn uniformly from A-Z0-9 with crypto/rand (103 bits).
func newInvoiceID() string {
	var out [invoiceIDLen]byte
	var buf [32]byte
	for n := 0; n < len(out); {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never returns an error; it crashes the program instead
		for _, b := range buf {
			if b >= 252 { // 252 = 7*36: rejecting the rest keeps every character equally likely
				continue
			}
			out[n] = invoiceAlphabet[b%36]
			if n++; n == len(out) {
				break
			}
		}
	}
	return string(out[:])
}

// bqpTime writes t the way the dialect does ("2026-03-21T10:30:00+00:00").
func bqpTime(t time.Time) string { return t.UTC().Format(bqpTimeFormat) }

// bqpAmount writes m as a JSON number of taka without trailing zeros (500, 500.5, 500.05).
func bqpAmount(m pipeline.Money) json.Number {
	s := m.String()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
	}
	return json.Number(s)
}

// authAppKey resolves X-App-Key/X-Secret-Key to a bdQuickPay merchant and environment. It answers
// 401 (unknown or mismatched pair, a native sk_ key, a merchant of another dialect), 403 (inactive
// merchant), 429 (the key's rate limit) or 503 (Redis) itself and then returns nil.
func (s *Server) authAppKey(ctx *fasthttp.RequestCtx) (*pipeline.Merchant, pipeline.Environment) {
	appKey := strings.TrimSpace(string(ctx.Request.Header.Peek("X-App-Key")))
	secretKey := strings.TrimSpace(string(ctx.Request.Header.Peek("X-Secret-Key")))
	if appKey == "" || secretKey == "" || strings.HasPrefix(appKey, "sk_") {
		WriteError(ctx, errBQPUnauthorized)
		return nil, ""
	}
	m, env, err := s.dir.appKey(RequestContext(ctx), appKey, secretKey)
	if err != nil {
		s.Internal(ctx, "authenticating app key", err)
		return nil, ""
	}
	if m == nil || m.Dialect != pipeline.DialectBDQuickPay || !env.Valid() {
		WriteError(ctx, errBQPUnauthorized)
		return nil, ""
	}
	if m.Status != pipeline.MerchantActive {
		WriteError(ctx, errBQPInactive)
		return nil, ""
	}
	if !s.AllowKey(ctx, "appkey:"+m.ID+":"+string(env)) {
		return nil, ""
	}
	return m, env
}

// fieldErrors are Laravel-style validation errors: field → messages.
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, format string, args ...any) {
	fe[field] = append(fe[field], fmt.Sprintf(format, args...))
}

// writeValidation answers 422 {"status": false, "message": "Validation error", "errors": {...}}.
func writeValidation(ctx *fasthttp.RequestCtx, fe fieldErrors) {
	WriteJSON(ctx, http.StatusUnprocessableEntity, struct {
		Status  bool        `json:"status"`
		Message string      `json:"message"`
		Errors  fieldErrors `json:"errors"`
	}{false, "Validation error", fe})
}

// bqpFields parses a request body into its top-level fields. An empty body is an empty object (every
// required field then reports "is required"); anything but a JSON object is a validation error on
// "body", answered as 422 like every other input error of the dialect.
func bqpFields(body []byte) (map[string]json.RawMessage, fieldErrors) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, fieldErrors{"body": {"The request body must be a JSON object."}}
	}
	return obj, nil
}

// label is how Laravel names a field in its messages ("success_url" → "success url").
func label(field string) string { return strings.ReplaceAll(field, "_", " ") }

// stringField reads an optional string field the Laravel way: surrounding spaces are trimmed and an
// empty string counts as absent. ok is false (with the error added) for a non-string value.
func stringField(obj map[string]json.RawMessage, field string, fe fieldErrors) (v string, ok bool) {
	raw, present := obj[field]
	if !present || string(raw) == "null" {
		return "", true
	}
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		fe.add(field, "The %s must be a string.", label(field))
		return "", false
	}
	return strings.TrimSpace(v), true
}

// requiredString is stringField plus "is required".
func requiredString(obj map[string]json.RawMessage, field string, fe fieldErrors) (string, bool) {
	v, ok := stringField(obj, field, fe)
	if ok && v == "" {
		fe.add(field, "The %s field is required.", label(field))
		return "", false
	}
	return v, ok
}

// urlField validates an optional http(s) URL field; required adds "is required" when absent.
func urlField(obj map[string]json.RawMessage, field string, required bool, fe fieldErrors) string {
	var v string
	var ok bool
	if required {
		v, ok = requiredString(obj, field, fe)
	} else {
		v, ok = stringField(obj, field, fe)
	}
	if !ok || v == "" {
		return ""
	}
	if len(v) > maxBQPURL {
		fe.add(field, "The %s must not be greater than %d characters.", label(field), maxBQPURL)
		return ""
	}
	if validURL(field, v) != nil {
		fe.add(field, "The %s must be a valid URL.", label(field))
		return ""
	}
	return v
}

// amountField reads a required amount in taka under ParseAmount's rule, with paisa allowed.
func amountField(obj map[string]json.RawMessage, field string, fe fieldErrors) (pipeline.Money, bool) {
	m, p := ParseAmount(obj[field], WithPaisa)
	if p != AmountOK {
		fe.add(field, bqpAmountMessage(p), label(field))
		return 0, false
	}
	return m, true
}

// bqpCreateReq is a validated create request.
type bqpCreateReq struct {
	Amount            pipeline.Money
	CustomerReference string
	SuccessURL        string
	CancelURL         string
	WebhookURL        string
	Metadata          json.RawMessage
}

// validateBQPCreate checks a create body field by field, collecting every error as Laravel does.
// The webhook URL's host is resolved (netguard.CheckURL) only when everything else is valid.
func (s *Server) validateBQPCreate(ctx context.Context, obj map[string]json.RawMessage) (bqpCreateReq, fieldErrors) {
	fe := fieldErrors{}
	var r bqpCreateReq
	r.Amount, _ = amountField(obj, "amount", fe)
	if ref, ok := requiredString(obj, "customer_reference", fe); ok {
		switch {
		case utf8.RuneCountInString(ref) > MaxRefLen:
			fe.add("customer_reference", "The customer reference must not be greater than %d characters.", MaxRefLen)
		case !Printable(ref):
			fe.add("customer_reference", "The customer reference format is invalid.")
		default:
			r.CustomerReference = ref
		}
	}
	r.SuccessURL = urlField(obj, "success_url", true, fe)
	r.CancelURL = urlField(obj, "cancel_url", true, fe)
	r.WebhookURL = urlField(obj, "webhook_url", false, fe)
	if raw, ok := obj["metadata"]; ok && string(raw) != "null" {
		switch {
		case len(raw) == 0 || raw[0] != '{':
			fe.add("metadata", "The metadata must be an object.")
		case len(raw) > maxBQPMetadata:
			fe.add("metadata", "The metadata must not be greater than %d bytes.", maxBQPMetadata)
		default:
			r.Metadata = raw
		}
	}
	if len(fe) == 0 && r.WebhookURL != "" {
		if err := netguard.CheckURL(ctx, r.WebhookURL, s.cfg.AllowPrivateWebhooks); err != nil {
			fe.add("webhook_url", "%s", webhookURLMessage(err))
		}
	}
	return r, fe
}

// webhookURLMessage explains a refused webhook_url in the dialect's words.
func webhookURLMessage(err error) string {
	switch {
	case errors.Is(err, netguard.ErrUserinfo):
		return "The webhook url must not contain a user name or password."
	case errors.Is(err, netguard.ErrUnresolvable):
		return "The webhook url host does not resolve."
	case errors.Is(err, netguard.ErrBlockedAddress):
		return "The webhook url must not point at an internal address."
	default:
		return "The webhook url must be a valid URL."
	}
}

// bqpCreateResp is the create answer, in the seed's field order.
type bqpCreateResp struct {
	Status            bool        `json:"status"`
	InvoiceID         string      `json:"invoice_id"`
	Amount            json.Number `json:"amount"`
	CustomerReference string      `json:"customer_reference"`
	PaymentURL        string      `json:"payment_url"`
	ExpiresAt         string      `json:"expires_at"`
}

// handleBQPCreate is POST /api/bkash/v1/payment/create: a bKash payment of the merchant's key
// environment on one of its bKash wallets, answered only after Kafka acknowledged intent.created.
// The dialect has no idempotency key: a retry after a 503 creates another invoice.
func (s *Server) handleBQPCreate(ctx *fasthttp.RequestCtx) {
	m, env := s.authAppKey(ctx)
	if m == nil {
		return
	}
	obj, fe := bqpFields(ctx.PostBody())
	if fe != nil {
		writeValidation(ctx, fe)
		return
	}
	req, fe := s.validateBQPCreate(RequestContext(ctx), obj)
	if len(fe) > 0 {
		writeValidation(ctx, fe)
		return
	}
	var wallets []pipeline.Wallet
	for _, w := range m.WalletsIn(env) {
		if w.Provider == pipeline.BKash {
			wallets = append(wallets, w)
		}
	}
	if len(wallets) == 0 {
		WriteError(ctx, Errf(http.StatusUnprocessableEntity, "No bKash wallet is configured for this merchant in %s.", env))
		return
	}
	wallet, err := s.pickWallet(RequestContext(ctx), wallets, req.Amount)
	if err != nil {
		s.Internal(ctx, "choosing wallet", err)
		return
	}
	// Whole seconds, so expires_at as shown is exactly when the invoice expires.
	now := time.Now().UTC().Truncate(time.Second)
	in := &pipeline.Intent{
		ID: newInvoiceID(), MerchantID: m.ID, Environment: env, Amount: req.Amount, Currency: "BDT",
		CustomerReference: req.CustomerReference, Provider: wallet.Provider, ReceiverMsisdn: wallet.Account,
		// cancel_url is where the seed sends the customer when the payment is cancelled or fails.
		SuccessURL: req.SuccessURL, FailedURL: req.CancelURL, CancelURL: req.CancelURL, ExpiredURL: req.CancelURL,
		WebhookURL: req.WebhookURL, Dialect: pipeline.DialectBDQuickPay, Metadata: req.Metadata,
		CreatedAt: now, ExpiresAt: now.Add(bqpTTL),
	}
	ev := &pipeline.Event{
		ID: intentEventID(in.ID), Kind: pipeline.KindIntentCreated, Source: pipeline.SourceMerchantAPI,
		Wallet: in.Wallet(), MerchantID: in.MerchantID, Environment: in.Environment,
		AcceptedAt: time.Now().UTC(), Intent: in, Raw: RawCopy(ctx.PostBody()), RequestID: RequestID(ctx),
	}
	if err := s.Publish(ctx, ev); err != nil {
		s.Unavailable(ctx, "producing intent.created", err)
		return
	}
	// Read-your-writes, as in acceptIntent: verify finds the invoice as soon as this answer is out.
	if err := s.state.CreateIntent(RequestContext(ctx), in); err != nil {
		s.log.Warn("recording intent for reads failed; the matcher will record it", "intent", in.ID, "err", err)
	}
	s.look.rememberIntent(in)
	WriteJSON(ctx, http.StatusOK, bqpCreateResp{
		Status: true, InvoiceID: in.ID, Amount: bqpAmount(in.Amount), CustomerReference: in.CustomerReference,
		PaymentURL: s.checkoutURL(in.ID), ExpiresAt: bqpTime(in.ExpiresAt),
	})
}

// bqpStatus maps an intent status to the dialect's: PENDING and REVIEW_REQUIRED (an operator has
// not decided yet) are pending, PAID is completed, EXPIRED is expired, REJECTED and FAILED are failed.
func bqpStatus(st pipeline.Status) string {
	switch st {
	case pipeline.StatusPaid:
		return "completed"
	case pipeline.StatusExpired:
		return "expired"
	case pipeline.StatusRejected, pipeline.StatusFailed:
		return "failed"
	default:
		return "pending"
	}
}

// bqpOK is the dialect's success envelope with data, in the seed's field order.
type bqpOK struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

// bqpSimulated is the data of a simulator answer.
type bqpSimulated struct {
	InvoiceID string      `json:"invoice_id"`
	TrxID     string      `json:"trx_id"`
	Amount    json.Number `json:"amount"`
	EventID   string      `json:"event_id"`
}

// bqpPayment is verify's data: the seed's fields, always all of them.
type bqpPayment struct {
	InvoiceID         string          `json:"invoice_id"`
	CustomerReference string          `json:"customer_reference"`
	Amount            json.Number     `json:"amount"`
	Status            string          `json:"status"`
	CreatedAt         string          `json:"created_at"`
	ExpiresAt         string          `json:"expires_at"`
	Transaction       *bqpTransaction `json:"transaction"` // null unless completed
}

type bqpTransaction struct {
	TrxID         string      `json:"trx_id"`
	PaymentMethod string      `json:"payment_method"`
	Amount        json.Number `json:"amount"`
	Status        string      `json:"status"`
	VerifiedAt    string      `json:"verified_at"`
}

func bqpView(rec *state.IntentRecord) bqpPayment {
	p := bqpPayment{
		InvoiceID: rec.ID, CustomerReference: rec.CustomerReference, Amount: bqpAmount(rec.Amount),
		Status: bqpStatus(rec.Status), CreatedAt: bqpTime(rec.CreatedAt), ExpiresAt: bqpTime(rec.ExpiresAt),
	}
	if rec.Status == pipeline.StatusPaid {
		p.Transaction = &bqpTransaction{
			TrxID: rec.TrxID, PaymentMethod: "bkash", Amount: bqpAmount(rec.Amount), Status: "completed",
			VerifiedAt: bqpTime(rec.UpdatedAt),
		}
	}
	return p
}

// loadInvoice loads invoice id of merchant m in env. It answers 404 (unknown, malformed, another
// merchant's or environment's) or 503 itself and then returns nil.
func (s *Server) loadInvoice(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment, id string) *state.IntentRecord {
	if !invoiceIDRE.MatchString(id) {
		WriteError(ctx, errBQPNotFound)
		return nil
	}
	rec, err := s.state.GetIntent(RequestContext(ctx), id)
	if errors.Is(err, state.ErrNotFound) || (err == nil && (rec.MerchantID != m.ID || rec.Environment != env)) {
		WriteError(ctx, errBQPNotFound)
		return nil
	}
	if err != nil {
		s.Internal(ctx, "loading intent", err)
		return nil
	}
	return rec
}

// handleBQPVerify is POST /api/bkash/v1/payment/verify {"invoice_id"}: the invoice's current state.
func (s *Server) handleBQPVerify(ctx *fasthttp.RequestCtx) {
	m, env := s.authAppKey(ctx)
	if m == nil {
		return
	}
	obj, fe := bqpFields(ctx.PostBody())
	if fe != nil {
		writeValidation(ctx, fe)
		return
	}
	fe = fieldErrors{}
	id, _ := requiredString(obj, "invoice_id", fe)
	if len(fe) > 0 {
		writeValidation(ctx, fe)
		return
	}
	rec := s.loadInvoice(ctx, m, env, id)
	if rec == nil {
		return
	}
	WriteJSON(ctx, http.StatusOK, bqpOK{Status: true, Message: "Payment retrieved successfully.", Data: bqpView(rec)})
}

// handleBQPSimulate is POST /api/bkash/v1/sandbox/simulate, a paystream extension for SANDBOX App
// Keys: {"invoice_id", "amount", "trx_id", optional "sender_msisdn", "reference"} reports a payment
// to the invoice's wallet exactly like the native simulator (reportSandboxPayment); the matcher
// decides as for a real payment, so verify and the webhook show the result moments later.
func (s *Server) handleBQPSimulate(ctx *fasthttp.RequestCtx) {
	m, env := s.authAppKey(ctx)
	if m == nil {
		return
	}
	if env != pipeline.Sandbox {
		WriteError(ctx, errBQPLiveSim)
		return
	}
	obj, fe := bqpFields(ctx.PostBody())
	if fe != nil {
		writeValidation(ctx, fe)
		return
	}
	fe = fieldErrors{}
	var p sandboxPayment
	p.IntentID, _ = requiredString(obj, "invoice_id", fe)
	p.Amount, _ = amountField(obj, "amount", fe)
	if trx, ok := requiredString(obj, "trx_id", fe); ok {
		p.TrxID = strings.ToUpper(trx)
		if !TrxIDRE.MatchString(p.TrxID) {
			fe.add("trx_id", "The trx id must be 6 to 32 letters and digits.")
		}
	}
	if sender, ok := stringField(obj, "sender_msisdn", fe); ok && sender != "" {
		if p.Sender, ok = pipeline.NormalizeMSISDN(sender); !ok {
			fe.add("sender_msisdn", "The sender msisdn must be a Bangladeshi mobile number such as 01711111111.")
		}
	}
	if ref, ok := stringField(obj, "reference", fe); ok {
		if utf8.RuneCountInString(ref) > MaxRefLen || !Printable(ref) {
			fe.add("reference", "The reference must be at most %d printable characters.", MaxRefLen)
		}
		p.Reference = ref
	}
	if len(fe) > 0 {
		writeValidation(ctx, fe)
		return
	}
	if !invoiceIDRE.MatchString(p.IntentID) {
		WriteError(ctx, errBQPNotFound)
		return
	}
	ev, _ := s.reportSandboxPayment(ctx, m, env, p, errBQPNotFound)
	if ev == nil {
		return
	}
	WriteJSON(ctx, http.StatusOK, bqpOK{Status: true, Message: "Payment reported. Verify the invoice for its status.", Data: bqpSimulated{
		InvoiceID: p.IntentID, TrxID: p.TrxID, Amount: bqpAmount(p.Amount), EventID: ev.ID,
	}})
}
