package bdquickpay

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/bdquickpay"
)

// handleBQPSimulate is POST /api/bkash/v1/sandbox/simulate, a paystream extension for SANDBOX App
// Keys: {"invoice_id", "amount", "trx_id", optional "sender_msisdn", "reference"} reports a payment
// to the invoice's wallet exactly like the native simulator (ReportSandboxPayment); the matcher
// decides as for a real payment, so verify and the webhook show the result moments later.
func (s *Surface) handleBQPSimulate(ctx *fasthttp.RequestCtx) {
	m, env := s.authAppKey(ctx)
	if m == nil {
		return
	}
	if env != pipeline.Sandbox {
		ingest.WriteError(ctx, errBQPLiveSim)
		return
	}
	obj, fe := bqpFields(ctx.PostBody())
	if fe != nil {
		writeValidation(ctx, fe)
		return
	}
	fe = dialect.FieldErrors{}
	var p ingest.SandboxPayment
	p.IntentID, _ = requiredString(obj, "invoice_id", fe)
	p.Amount, _ = amountField(obj, "amount", fe)
	if trx, ok := requiredString(obj, "trx_id", fe); ok {
		p.TrxID = strings.ToUpper(trx)
		if !ingest.TrxIDRE.MatchString(p.TrxID) {
			fe.Add("trx_id", "The trx id must be 6 to 32 letters and digits.")
		}
	}
	if sender, ok := stringField(obj, "sender_msisdn", fe); ok && sender != "" {
		if p.Sender, ok = pipeline.NormalizeMSISDN(sender); !ok {
			fe.Add("sender_msisdn", "The sender msisdn must be a Bangladeshi mobile number such as 01711111111.")
		}
	}
	if ref, ok := stringField(obj, "reference", fe); ok {
		if utf8.RuneCountInString(ref) > ingest.MaxRefLen || !ingest.Printable(ref) {
			fe.Add("reference", "The reference must be at most %d printable characters.", ingest.MaxRefLen)
		}
		p.Reference = ref
	}
	if len(fe) > 0 {
		writeValidation(ctx, fe)
		return
	}
	if !dialect.ValidInvoiceID(p.IntentID) {
		ingest.WriteError(ctx, errBQPNotFound)
		return
	}
	ev, _ := s.sim.ReportSandboxPayment(ctx, m, env, p, errBQPNotFound)
	if ev == nil {
		return
	}
	ingest.WriteJSON(ctx, http.StatusOK, dialect.OK{Status: true, Message: "Payment reported. Verify the invoice for its status.", Data: dialect.Simulated{
		InvoiceID: p.IntentID, TrxID: p.TrxID, Amount: dialect.Amount(p.Amount), EventID: ev.ID,
	}})
}
