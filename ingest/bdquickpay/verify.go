package bdquickpay

import (
	"errors"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/bdquickpay"
	"github.com/paystream/paystream/pipeline/state"
)

// paymentOf is verify's data of rec (dialect.NewPayment).
func paymentOf(rec *pipeline.IntentRecord) dialect.Payment {
	return dialect.NewPayment(&rec.Intent, rec.Status, rec.TrxID, rec.UpdatedAt)
}

// loadInvoice loads invoice id of merchant m in env. It answers 404 (unknown, malformed, another
// merchant's or environment's) or 503 itself and then returns nil.
func (s *Surface) loadInvoice(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment, id string) *pipeline.IntentRecord {
	if !dialect.ValidInvoiceID(id) {
		ingest.WriteError(ctx, errBQPNotFound)
		return nil
	}
	rec, err := s.intents.MerchantIntent(ingest.RequestContext(ctx), m, env, id)
	var he *ingest.HorizonError
	switch {
	case errors.As(err, &he):
		ingest.WriteError(ctx, ingest.Errf(http.StatusNotFound, "%s: %s.", strings.TrimSuffix(errBQPNotFound.Message, "."), he))
		return nil
	case errors.Is(err, state.ErrNotFound):
		ingest.WriteError(ctx, errBQPNotFound) // another merchant's (or environment's) invoice does not exist for you
		return nil
	case err != nil:
		s.fail.Internal(ctx, "loading intent", err)
		return nil
	}
	return rec
}

// handleBQPVerify is POST /api/bkash/v1/payment/verify {"invoice_id"}: the invoice's current state.
func (s *Surface) handleBQPVerify(ctx *fasthttp.RequestCtx) {
	m, env := s.authAppKey(ctx)
	if m == nil {
		return
	}
	obj, fe := bqpFields(ctx.PostBody())
	if fe != nil {
		writeValidation(ctx, fe)
		return
	}
	fe = dialect.FieldErrors{}
	id, _ := requiredString(obj, "invoice_id", fe)
	if len(fe) > 0 {
		writeValidation(ctx, fe)
		return
	}
	rec := s.loadInvoice(ctx, m, env, id)
	if rec == nil {
		return
	}
	ingest.WriteJSON(ctx, http.StatusOK, dialect.OK{Status: true, Message: "Payment retrieved successfully.", Data: paymentOf(rec)})
}
