package bdquickpay

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

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

func bqpView(rec *pipeline.IntentRecord) bqpPayment {
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
func (s *Surface) loadInvoice(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment, id string) *pipeline.IntentRecord {
	if !ingest.InvoiceIDRE.MatchString(id) {
		ingest.WriteError(ctx, errBQPNotFound)
		return nil
	}
	rec, err := s.reader.GetIntent(ingest.RequestContext(ctx), id)
	if errors.Is(err, state.ErrNotFound) || (err == nil && (rec.MerchantID != m.ID || rec.Environment != env)) {
		ingest.WriteError(ctx, errBQPNotFound)
		return nil
	}
	if err != nil {
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
	ingest.WriteJSON(ctx, http.StatusOK, bqpOK{Status: true, Message: "Payment retrieved successfully.", Data: bqpView(rec)})
}
