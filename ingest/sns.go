package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify"
)

// Seed 003: ShunnoIT's bKash webhook notifications, shaped like AWS SNS HTTP deliveries.
//
//	POST /webhooks/notifications?shunno_id=<id>&client_app=<app>   x-app-secret, x-client-secret
//
// Successes are {"status": 200, "message": ...}; errors {"code": <status>, "message": ...}.
//
// Order of checks (so that probing learns no more than the seed's own 404-versus-401 tells):
//
//  1. client_app must be one of the seed's values (snsClientApps, case-sensitive) and shunno_id
//     must be given: else 404 "Not Found". This depends on no tenant, so it tells nothing.
//  2. shunno_id must name an active SNS integration: else 404 "Not Found".
//  3. Both secrets must match (each SHA-256 compared in constant time, both always compared): else
//     401 "Invalid app or client secret", the same for either or both wrong or missing. Then the
//     integration's rate limit: 429 + Retry-After (limits.go; the per-address limit and the JSON
//     depth bound, which depend on no tenant, apply before check 1).
//  4. Only then is the body read: malformed JSON, wrong types or missing fields are 400. So an
//     unauthenticated caller never learns whether a body would have been valid, and never makes
//     paystream fetch anything.
//  5. The SNS signature, when the message carries one (or always, with SNSRequireSignature): 401
//     "Invalid SNS signature[: reason]"; 503 + Retry-After when the signing certificate could not
//     be fetched now.
//  6. The message itself, by Type (see handle).
//
// The seed lists 404, 401 and 409 only. The other statuses are paystream's: 400 for input that
// cannot be processed (including a SubscribeURL on a foreign host, which is refused and never
// fetched), 405 for another method, 413 for a body over PAYSTREAM_MAX_BODY_BYTES, and 503 with
// Retry-After when Kafka, Redis or SNS did not answer (retrying is safe). Never 500.

// Seed 003's answers (404, 401, 409) and paystream's additions.
var (
	errSNSNotFound     = &APIError{Status: http.StatusNotFound, Message: "Not Found"}
	errSNSSecret       = &APIError{Status: http.StatusUnauthorized, Message: "Invalid app or client secret"}
	errSNSDuplicate    = &APIError{Status: http.StatusConflict, Message: "Duplicate payment"}
	errSNSSignature    = &APIError{Status: http.StatusUnauthorized, Message: "Invalid SNS signature"}
	errSNSCertUnavail  = &APIError{Status: http.StatusServiceUnavailable, Message: "Could not fetch the SNS signing certificate, retry later", RetryAfter: 1}
	errSNSConfirmLater = &APIError{Status: http.StatusServiceUnavailable, Message: "Could not confirm subscription: SNS did not answer, retry later", RetryAfter: 1}
)

// snsDateTime is the layout of a notification's dateTime, in Asia/Dhaka time.
const snsDateTime = "20060102150405"

// snsDhaka is Asia/Dhaka, or its fixed offset (+06:00, no DST since 2009) where tzdata is missing.
var snsDhaka = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Dhaka"); err == nil {
		return l
	}
	return time.FixedZone("+06", 6*60*60)
}()

// snsHandler serves /webhooks/notifications. It holds the signature verifier (and its certificate
// cache) for the server's lifetime.
type snsHandler struct {
	s          *Server
	verify     *snsverify.Verifier
	requireSig bool
}

// snsRoutes registers seed 003's SNS-shaped notification endpoint.
func (s *Server) snsRoutes(route routeFunc) {
	h := &snsHandler{
		s: s, verify: snsverify.New(snsverify.Config{ExtraHosts: s.cfg.SNSExtraHosts}), requireSig: s.cfg.SNSRequireSignature,
	}
	route(http.MethodPost, prefixSNS, "sns_notifications", h.handle)
}

// snsEnvelope is an SNS HTTP delivery. Message stays raw: real SNS sends a JSON string (holding the
// notification's JSON), seed 003's sample a JSON object; both are accepted.
type snsEnvelope struct {
	Type             *string         `json:"Type"`
	MessageID        string          `json:"MessageId"`
	Token            string          `json:"Token"`
	TopicArn         string          `json:"TopicArn"`
	Subject          *string         `json:"Subject"`
	Message          json.RawMessage `json:"Message"`
	Timestamp        string          `json:"Timestamp"`
	SignatureVersion string          `json:"SignatureVersion"`
	Signature        string          `json:"Signature"`
	SigningCertURL   string          `json:"SigningCertURL"`
	SubscribeURL     string          `json:"SubscribeURL"`
	UnsubscribeURL   string          `json:"UnsubscribeURL"`
}

// snsPayment is a notification's Message: a bKash transaction. Fields paystream does not use
// (creditOrganizationName, creditShortCode, transactionType) are not decoded; they stay in the
// event's raw payload for the audit.
type snsPayment struct {
	DateTime              *string         `json:"dateTime"`
	DebitMSISDN           *string         `json:"debitMSISDN"`
	TrxID                 *string         `json:"trxID"`
	TransactionStatus     *string         `json:"transactionStatus"`
	Amount                json.RawMessage `json:"amount"` // "100.50" (as bKash sends it) or 100.5
	Currency              *string         `json:"currency"`
	TransactionReference  *string         `json:"transactionReference"`
	MerchantInvoiceNumber *string         `json:"merchantInvoiceNumber"`
}

// handle answers one SNS delivery after authenticating it (see the order of checks above):
//
//   - SubscriptionConfirmation: GET SubscribeURL (trusted SNS hosts only) → 200 "Subscription Confirmed".
//   - Notification: a "Completed" transaction becomes a payment.reported event → 200
//     "Notification processed." once Kafka acknowledged it; other transaction statuses are
//     acknowledged with the same answer and produce nothing.
//   - UnsubscribeConfirmation, or any other Type: 200 with a message; nothing is done.
func (h *snsHandler) handle(ctx *fasthttp.RequestCtx) {
	in := h.authenticate(ctx)
	if in == nil {
		return
	}
	var env snsEnvelope
	if ae := DecodeJSON(ctx.PostBody(), &env); ae != nil {
		WriteError(ctx, ae)
		return
	}
	if env.Type == nil || *env.Type == "" {
		WriteError(ctx, Errf(http.StatusBadRequest, "Type is required"))
		return
	}
	typ := *env.Type
	switch typ {
	case snsverify.TypeNotification, snsverify.TypeSubscriptionConfirmation, snsverify.TypeUnsubscribeConfirmation:
	default:
		h.s.log.Info("SNS message of an unknown type ignored", "integration", in.ID, "type", snsClip(typ, 40), "request_id", RequestID(ctx))
		WriteJSON(ctx, http.StatusOK, map[string]any{"status": http.StatusOK, "message": "Message type ignored."})
		return
	}
	text, obj, ae := snsMessageText(env.Message)
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	if !h.verified(ctx, in, &snsverify.Message{
		Type: typ, MessageID: env.MessageID, Message: text, Subject: env.Subject, Timestamp: env.Timestamp,
		TopicArn: env.TopicArn, Token: env.Token, SubscribeURL: env.SubscribeURL,
		SignatureVersion: env.SignatureVersion, Signature: env.Signature, SigningCertURL: env.SigningCertURL,
	}) {
		return
	}
	switch typ {
	case snsverify.TypeSubscriptionConfirmation:
		h.confirm(ctx, in, &env)
	case snsverify.TypeUnsubscribeConfirmation:
		h.s.log.Info("SNS unsubscribe confirmation received", "integration", in.ID, "topic", snsClip(env.TopicArn, 256))
		WriteJSON(ctx, http.StatusOK, map[string]any{"status": http.StatusOK, "message": "Unsubscribe confirmation received."})
	default:
		h.notification(ctx, in, text, obj)
	}
}

// authenticate runs checks 1-3 and the integration's rate limit, and answers the request itself
// when they fail (nil result).
func (h *snsHandler) authenticate(ctx *fasthttp.RequestCtx) *pipeline.Integration {
	args := ctx.QueryArgs()
	shunnoID := string(args.Peek("shunno_id"))
	if !snsClientApps[string(args.Peek("client_app"))] || shunnoID == "" || len(shunnoID) > 64 {
		WriteError(ctx, errSNSNotFound)
		return nil
	}
	in, err := h.s.Integration(RequestContext(ctx), pipeline.IntegrationSNS, shunnoID)
	if err != nil {
		h.s.Internal(ctx, "looking up SNS integration", err)
		return nil
	}
	if in == nil || in.Wallet == nil {
		WriteError(ctx, errSNSNotFound)
		return nil
	}
	appOK := equalHash(HashSecret(string(ctx.Request.Header.Peek("x-app-secret"))), in.AppSecretHash)
	clientOK := equalHash(HashSecret(string(ctx.Request.Header.Peek("x-client-secret"))), in.ClientSecretHash)
	if !appOK || !clientOK {
		WriteError(ctx, errSNSSecret)
		return nil
	}
	if !h.s.AllowKey(ctx, "sns:"+in.ID) {
		return nil
	}
	return in
}

// snsMessageText returns the text SNS signed for a Message (the decoded string, or an object's
// exact JSON text as sent) and, when it is or holds a JSON object, that object.
func snsMessageText(raw json.RawMessage) (text string, obj []byte, ae *APIError) {
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return "", nil, nil
	case raw[0] == '{':
		return string(raw), raw, nil
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", nil, Errf(http.StatusBadRequest, "Message must be a JSON object or a string")
		}
		if t := strings.TrimSpace(text); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
			obj = []byte(t)
		}
		return text, obj, nil
	}
	return "", nil, Errf(http.StatusBadRequest, "Message must be a JSON object or a string")
}

// SNS signatures bind a message to a topic and a time only if both are checked (snsBound).
// snsMaxAge is how old a signed message's Timestamp (the publish time, unchanged across SNS's
// retries) may be: SNS retries an HTTP delivery for at most an hour under any delivery policy
// (AWS caps a policy's total retry time at 3600 s; the default policy gives up within a minute),
// plus snsMaxSkew for the clocks. A Timestamp more than snsMaxSkew in the future is refused too.
const (
	snsMaxAge  = time.Hour + snsMaxSkew
	snsMaxSkew = 5 * time.Minute
)

// verified runs check 5 and answers the request itself when it fails. A message without signature
// fields passes only when signatures are not required: it is then authenticated by the secrets
// alone, and its TopicArn and Timestamp, which nobody signed, are not checked.
func (h *snsHandler) verified(ctx *fasthttp.RequestCtx, in *pipeline.Integration, m *snsverify.Message) bool {
	if m.Signature == "" && m.SigningCertURL == "" && !h.requireSig {
		return true
	}
	err := h.verify.Verify(RequestContext(ctx), m)
	if err == nil {
		err = snsBound(in, m, time.Now())
	}
	if err == nil {
		return true
	}
	if errors.Is(err, snsverify.ErrUnreachable) {
		h.s.log.Warn("fetching SNS signing certificate failed; answering 503", "err", err, "request_id", RequestID(ctx))
		WriteError(ctx, errSNSCertUnavail)
		return false
	}
	h.s.log.Info("SNS signature refused", "err", err, "request_id", RequestID(ctx))
	ae := errSNSSignature
	var be *snsBindingError
	if errors.As(err, &be) {
		ae = Errf(http.StatusUnauthorized, "%s: %s", errSNSSignature.Message, be.reason)
	}
	for _, reason := range []error{snsverify.ErrMissingSignature, snsverify.ErrUnsupportedVersion, snsverify.ErrUntrustedURL, snsverify.ErrBadCertificate} {
		if errors.Is(err, reason) {
			ae = Errf(http.StatusUnauthorized, "%s: %s", errSNSSignature.Message, reason)
			break
		}
	}
	WriteError(ctx, ae)
	return false
}

// snsBindingError is a validly signed message that is not this integration's: another topic, or
// outside the time SNS could still be delivering it.
type snsBindingError struct{ reason string }

func (e *snsBindingError) Error() string { return e.reason }

// snsBound checks a signed message against the integration's topic and against now: its TopicArn
// must be in.TopicArn (a SubscriptionConfirmation may pin it when none is set yet), and its
// Timestamp within snsMaxAge before and snsMaxSkew after now. Anyone can get messages signed by
// SNS for a topic of their own, and an old signed message replays forever otherwise.
func snsBound(in *pipeline.Integration, m *snsverify.Message, now time.Time) error {
	switch {
	case in.TopicArn == "" && m.Type != snsverify.TypeSubscriptionConfirmation:
		return &snsBindingError{"no SNS topic is bound to this integration yet; confirm the subscription first, or create the integration with its topicArn"}
	case in.TopicArn != "" && m.TopicArn != in.TopicArn:
		return &snsBindingError{"TopicArn is not this integration's topic"}
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	switch {
	case err != nil:
		return &snsBindingError{"Timestamp must be an RFC 3339 time"}
	case now.Sub(ts) > snsMaxAge:
		return &snsBindingError{"message is stale: its Timestamp is more than " + snsMaxAge.String() + " old"}
	case ts.Sub(now) > snsMaxSkew:
		return &snsBindingError{"Timestamp is more than " + snsMaxSkew.String() + " in the future"}
	}
	return nil
}

// confirm confirms the subscription by fetching SubscribeURL, which must be an SNS endpoint. An
// integration without a topic is bound to this one once SNS confirmed it, if the message was signed.
func (h *snsHandler) confirm(ctx *fasthttp.RequestCtx, in *pipeline.Integration, env *snsEnvelope) {
	if env.SubscribeURL == "" {
		WriteError(ctx, Errf(http.StatusBadRequest, "SubscribeURL is required"))
		return
	}
	err := h.verify.ConfirmSubscription(RequestContext(ctx), env.SubscribeURL)
	switch {
	case err == nil:
		if in.TopicArn == "" && env.Signature != "" {
			if perr := h.s.pinSNSTopic(RequestContext(ctx), in, env.TopicArn); perr != nil {
				h.s.Internal(ctx, "binding the SNS topic", perr)
				return
			}
		}
		h.s.log.Info("SNS subscription confirmed", "integration", in.ID, "topic", snsClip(env.TopicArn, 256), "request_id", RequestID(ctx))
		WriteJSON(ctx, http.StatusOK, map[string]any{"status": http.StatusOK, "message": "Subscription Confirmed"})
	case errors.Is(err, snsverify.ErrUntrustedURL):
		h.s.log.Warn("SNS SubscribeURL refused, not fetched", "integration", in.ID, "request_id", RequestID(ctx))
		WriteError(ctx, Errf(http.StatusBadRequest, "SubscribeURL refused, not fetched: %s", err))
	case errors.Is(err, snsverify.ErrUnreachable):
		h.s.log.Warn("confirming SNS subscription failed; answering 503", "integration", in.ID, "err", err, "request_id", RequestID(ctx))
		WriteError(ctx, errSNSConfirmLater)
	default:
		h.s.log.Warn("SNS refused the subscription confirmation", "integration", in.ID, "err", err, "request_id", RequestID(ctx))
		WriteError(ctx, Errf(http.StatusBadRequest, "Could not confirm subscription: %s", err))
	}
}

// notification turns a Completed transaction into a payment.reported event of the integration's
// wallet. Its TrxID is marked "pending" before producing and "done" after Kafka's ack (claimTrx):
// a repeat of a "done" (or decided) TrxID is answered 409 at once; one that finds it "pending"
// (in flight, 503, or a process that died) produces the same event (TrxEventID) and is answered
// 200, as the first would have been.
func (h *snsHandler) notification(ctx *fasthttp.RequestCtx, in *pipeline.Integration, text string, obj []byte) {
	switch {
	case obj == nil && text == "":
		WriteError(ctx, Errf(http.StatusBadRequest, "Message is required"))
		return
	case obj == nil:
		WriteError(ctx, Errf(http.StatusBadRequest, "Message must be a JSON object, or a string holding one"))
		return
	}
	var p snsPayment
	if ae := decodeSNSPayment(obj, &p); ae != nil {
		WriteError(ctx, ae)
		return
	}
	if p.TransactionStatus == nil || strings.TrimSpace(*p.TransactionStatus) == "" {
		WriteError(ctx, Errf(http.StatusBadRequest, "Message.transactionStatus is required"))
		return
	}
	if status := strings.TrimSpace(*p.TransactionStatus); !strings.EqualFold(status, "Completed") {
		trx := ""
		if p.TrxID != nil {
			trx = *p.TrxID
		}
		h.s.log.Info("SNS notification of a transaction that is not Completed; nothing produced", "integration", in.ID,
			"status", snsClip(status, 40), "trx", snsClip(trx, 40), "request_id", RequestID(ctx))
		WriteJSON(ctx, http.StatusOK, map[string]any{"status": http.StatusOK, "message": "Notification processed."})
		return
	}
	pay, ae := p.payment(in.Wallet.Provider)
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	ev := &pipeline.Event{
		ID: TrxEventID(pipeline.SourceSNS, *in.Wallet, pay.TrxID), Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSNS,
		Wallet: *in.Wallet, MerchantID: in.MerchantID, Environment: in.Wallet.Environment, AcceptedAt: time.Now().UTC(),
		Payment: pay, Raw: RawCopy(ctx.PostBody()), RequestID: RequestID(ctx),
	}
	dup, err := h.s.ClaimTrx(RequestContext(ctx), ev.Wallet, pay.TrxID)
	if err != nil {
		h.s.Internal(ctx, "claiming SNS trx", err)
		return
	}
	if dup {
		WriteError(ctx, errSNSDuplicate)
		return
	}
	if err := h.s.Publish(ctx, ev); err != nil {
		h.s.Unavailable(ctx, "producing SNS payment.reported", err) // the mark stays "pending": the retry produces the same event
		return
	}
	h.s.MarkTrxDone(RequestContext(ctx), ev.Wallet, pay.TrxID, RequestID(ctx))
	WriteJSON(ctx, http.StatusOK, map[string]any{"status": http.StatusOK, "message": "Notification processed."})
}

// decodeSNSPayment parses a notification's Message object, naming fields as Message.<field>.
func decodeSNSPayment(obj []byte, p *snsPayment) *APIError {
	err := json.Unmarshal(obj, p)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return Errf(http.StatusBadRequest, "Message.%s must be a %s", te.Field, jsonKind(te.Type.Kind().String()))
	}
	return Errf(http.StatusBadRequest, "Message must be a JSON object")
}

// payment validates a Completed notification and normalises it. The payment's reference is
// merchantInvoiceNumber, else transactionReference; an unparseable debitMSISDN (bKash masks some)
// is dropped rather than refusing the payment; dateTime is optional (the matcher then takes the
// time paystream accepted the report).
func (p *snsPayment) payment(provider pipeline.Provider) (*pipeline.Payment, *APIError) {
	if p.TrxID == nil || strings.TrimSpace(*p.TrxID) == "" {
		return nil, Errf(http.StatusBadRequest, "Message.trxID is required")
	}
	trx := strings.ToUpper(strings.TrimSpace(*p.TrxID))
	if !trxIDRE.MatchString(trx) {
		return nil, Errf(http.StatusBadRequest, "Message.trxID must be 6 to 32 letters and digits")
	}
	amt, ae := snsAmount(p.Amount)
	if ae != nil {
		return nil, ae
	}
	if p.Currency != nil && strings.ToUpper(strings.TrimSpace(*p.Currency)) != "BDT" {
		return nil, Errf(http.StatusBadRequest, "Message.currency must be BDT")
	}
	pay := &pipeline.Payment{Provider: provider, TrxID: trx, Amount: amt}
	if p.DateTime != nil && strings.TrimSpace(*p.DateTime) != "" {
		t, err := time.ParseInLocation(snsDateTime, strings.TrimSpace(*p.DateTime), snsDhaka)
		if err != nil {
			return nil, Errf(http.StatusBadRequest, "Message.dateTime must be yyyyMMddHHmmss (Asia/Dhaka time), such as 20180419122246")
		}
		pay.OccurredAt = t.UTC()
	}
	if p.DebitMSISDN != nil {
		if s, ok := pipeline.NormalizeMSISDN(*p.DebitMSISDN); ok {
			pay.Sender = s
		}
	}
	field, ref := "merchantInvoiceNumber", ""
	if p.MerchantInvoiceNumber != nil {
		ref = strings.TrimSpace(*p.MerchantInvoiceNumber)
	}
	if ref == "" && p.TransactionReference != nil {
		field, ref = "transactionReference", strings.TrimSpace(*p.TransactionReference)
	}
	if len(ref) > maxRefLen || !Printable(ref) {
		return nil, Errf(http.StatusBadRequest, "Message.%s must be at most %d printable characters", field, maxRefLen)
	}
	pay.Reference = ref
	return pay, nil
}

// snsAmount parses Message.amount: a decimal string as bKash sends it ("100", "100.50"), or a JSON
// number.
func snsAmount(raw json.RawMessage) (pipeline.Money, *APIError) {
	var s string
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return 0, Errf(http.StatusBadRequest, "Message.amount is required")
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, Errf(http.StatusBadRequest, "Message.amount must be a string")
		}
	case raw[0] >= '0' && raw[0] <= '9':
		s = string(raw)
	default:
		return 0, Errf(http.StatusBadRequest, "Message.amount must be a string such as \"100.50\"")
	}
	amt, err := pipeline.ParseMoney(s)
	if err != nil || amt <= 0 {
		return 0, Errf(http.StatusBadRequest, "Message.amount must be a positive amount of BDT with at most two decimals, such as \"100.50\"")
	}
	return amt, nil
}

// snsClip bounds an untrusted string before it is logged.
func snsClip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
