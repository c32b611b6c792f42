package sns

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify"
)

// snsClientApps are the client_app values seed 003 lists; any other value is answered 404.
var snsClientApps = map[string]bool{
	"NETFEE": true, "HISABNIKASH": true, "BAYANNOPAY": true, "SHUNNOIT": true, "ROOT_BILLING": true, "SILICON_ISP": true,
}

// Seed 003's answers (404, 401, 409) and paystream's additions.
var (
	errSNSNotFound     = &ingest.APIError{Status: http.StatusNotFound, Message: "Not Found"}
	errSNSSecret       = &ingest.APIError{Status: http.StatusUnauthorized, Message: "Invalid app or client secret"}
	errSNSDuplicate    = &ingest.APIError{Status: http.StatusConflict, Message: "Duplicate payment"}
	errSNSSignature    = &ingest.APIError{Status: http.StatusUnauthorized, Message: "Invalid SNS signature"}
	errSNSCertUnavail  = &ingest.APIError{Status: http.StatusServiceUnavailable, Message: "Could not fetch the SNS signing certificate, retry later", RetryAfter: 1}
	errSNSConfirmLater = &ingest.APIError{Status: http.StatusServiceUnavailable, Message: "Could not confirm subscription: SNS did not answer, retry later", RetryAfter: 1}
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
func (h *Surface) handle(ctx *fasthttp.RequestCtx) {
	in := h.authenticate(ctx)
	if in == nil {
		return
	}
	var env snsEnvelope
	if ae := ingest.DecodeJSON(ctx.PostBody(), &env); ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	if env.Type == nil || *env.Type == "" {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "Type is required"))
		return
	}
	typ := *env.Type
	switch typ {
	case snsverify.TypeNotification, snsverify.TypeSubscriptionConfirmation, snsverify.TypeUnsubscribeConfirmation:
	default:
		h.log.Info("SNS message of an unknown type ignored", "integration", in.ID, "type", snsClip(typ, 40), "request_id", ingest.RequestID(ctx))
		ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"status": http.StatusOK, "message": "Message type ignored."})
		return
	}
	text, obj, ae := snsMessageText(env.Message)
	if ae != nil {
		ingest.WriteError(ctx, ae)
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
		h.log.Info("SNS unsubscribe confirmation received", "integration", in.ID, "topic", snsClip(env.TopicArn, 256))
		ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"status": http.StatusOK, "message": "Unsubscribe confirmation received."})
	default:
		h.notification(ctx, in, text, obj)
	}
}

// authenticate runs checks 1-3 and the integration's rate limit, and answers the request itself
// when they fail (nil result).
func (h *Surface) authenticate(ctx *fasthttp.RequestCtx) *pipeline.Integration {
	args := ctx.QueryArgs()
	shunnoID := string(args.Peek("shunno_id"))
	if !snsClientApps[string(args.Peek("client_app"))] || shunnoID == "" || len(shunnoID) > 64 {
		ingest.WriteError(ctx, errSNSNotFound)
		return nil
	}
	in, err := h.auth.Integration(ingest.RequestContext(ctx), pipeline.IntegrationSNS, shunnoID)
	if err != nil {
		h.pub.Internal(ctx, "looking up SNS integration", err)
		return nil
	}
	if in == nil || in.Wallet == nil {
		ingest.WriteError(ctx, errSNSNotFound)
		return nil
	}
	appOK := ingest.EqualHash(ingest.HashSecret(string(ctx.Request.Header.Peek("x-app-secret"))), in.AppSecretHash)
	clientOK := ingest.EqualHash(ingest.HashSecret(string(ctx.Request.Header.Peek("x-client-secret"))), in.ClientSecretHash)
	if !appOK || !clientOK {
		ingest.WriteError(ctx, errSNSSecret)
		return nil
	}
	if !h.auth.AllowKey(ctx, "sns:"+in.ID) {
		return nil
	}
	return in
}

// snsMessageText returns the text SNS signed for a Message (the decoded string, or an object's
// exact JSON text as sent) and, when it is or holds a JSON object, that object.
func snsMessageText(raw json.RawMessage) (text string, obj []byte, ae *ingest.APIError) {
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return "", nil, nil
	case raw[0] == '{':
		return string(raw), raw, nil
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", nil, ingest.Errf(http.StatusBadRequest, "Message must be a JSON object or a string")
		}
		if t := strings.TrimSpace(text); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
			obj = []byte(t)
		}
		return text, obj, nil
	}
	return "", nil, ingest.Errf(http.StatusBadRequest, "Message must be a JSON object or a string")
}
