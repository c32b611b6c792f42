package bdquickpay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/bdquickpay"
	"github.com/paystream/paystream/pipeline/netguard"
)

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
func (s *Surface) validateBQPCreate(ctx context.Context, obj map[string]json.RawMessage) (bqpCreateReq, dialect.FieldErrors) {
	fe := dialect.FieldErrors{}
	var r bqpCreateReq
	r.Amount, _ = amountField(obj, "amount", fe)
	if ref, ok := requiredString(obj, "customer_reference", fe); ok {
		switch {
		case utf8.RuneCountInString(ref) > ingest.MaxRefLen:
			fe.Add("customer_reference", "The customer reference must not be greater than %d characters.", ingest.MaxRefLen)
		case !ingest.Printable(ref):
			fe.Add("customer_reference", "The customer reference format is invalid.")
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
			fe.Add("metadata", "The metadata must be an object.")
		case len(raw) > maxBQPMetadata:
			fe.Add("metadata", "The metadata must not be greater than %d bytes.", maxBQPMetadata)
		default:
			r.Metadata = raw
		}
	}
	if len(fe) == 0 && r.WebhookURL != "" {
		if err := netguard.CheckURL(ctx, r.WebhookURL, s.cfg.AllowPrivateWebhooks); err != nil {
			fe.Add("webhook_url", "%s", webhookURLMessage(err))
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

// handleBQPCreate is POST /api/bkash/v1/payment/create: a bKash payment of the merchant's key
// environment on one of its bKash wallets, answered only after Kafka acknowledged intent.created.
// The dialect has no idempotency key: a retry after a 503 creates another invoice.
func (s *Surface) handleBQPCreate(ctx *fasthttp.RequestCtx) {
	m, env := s.authAppKey(ctx)
	if m == nil {
		return
	}
	obj, fe := bqpFields(ctx.PostBody())
	if fe != nil {
		writeValidation(ctx, fe)
		return
	}
	req, fe := s.validateBQPCreate(ingest.RequestContext(ctx), obj)
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
		ingest.WriteError(ctx, ingest.Errf(http.StatusUnprocessableEntity, "No bKash wallet is configured for this merchant in %s.", env))
		return
	}
	wallet, err := s.intents.PickWallet(ingest.RequestContext(ctx), wallets, req.Amount)
	if err != nil {
		s.fail.Internal(ctx, "choosing wallet", err)
		return
	}
	// Whole seconds, so expires_at as shown is exactly when the invoice expires.
	now := time.Now().UTC().Truncate(time.Second)
	in := &pipeline.Intent{
		ID: dialect.NewInvoiceID(), MerchantID: m.ID, Environment: env, Amount: req.Amount, Currency: "BDT",
		CustomerReference: req.CustomerReference, Provider: wallet.Provider, ReceiverMsisdn: wallet.Account,
		// cancel_url is where the seed sends the customer when the payment is cancelled or fails.
		SuccessURL: req.SuccessURL, FailedURL: req.CancelURL, CancelURL: req.CancelURL, ExpiredURL: req.CancelURL,
		WebhookURL: req.WebhookURL, Dialect: dialect.Name, Metadata: req.Metadata,
		CreatedAt: now, ExpiresAt: now.Add(bqpTTL),
	}
	if err := s.intents.AcceptIntent(ctx, in, ctx.PostBody()); err != nil {
		s.fail.Unavailable(ctx, "producing intent.created", err)
		return
	}
	ingest.WriteJSON(ctx, http.StatusOK, dialect.CreateResponse{
		Status: true, InvoiceID: in.ID, Amount: dialect.Amount(in.Amount), CustomerReference: in.CustomerReference,
		PaymentURL: s.intents.CheckoutURL(in.ID), ExpiresAt: dialect.FormatTime(in.ExpiresAt),
	})
}
