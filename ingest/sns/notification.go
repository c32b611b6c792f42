package sns

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// notification turns a Completed transaction into a payment.reported event of the integration's
// wallet. Its TrxID is marked "pending" before producing and "done" after Kafka's ack (ingest.Server.ClaimTrx, MarkTrxDone):
// a repeat of a "done" (or decided) TrxID is answered 409 at once; one that finds it "pending"
// (in flight, 503, or a process that died) produces the same event (TrxEventID) and is answered
// 200, as the first would have been.
func (h *Surface) notification(ctx *fasthttp.RequestCtx, in *pipeline.Integration, text string, obj []byte) {
	switch {
	case obj == nil && text == "":
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "Message is required"))
		return
	case obj == nil:
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "Message must be a JSON object, or a string holding one"))
		return
	}
	var p snsPayment
	if ae := decodeSNSPayment(obj, &p); ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	if p.TransactionStatus == nil || strings.TrimSpace(*p.TransactionStatus) == "" {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "Message.transactionStatus is required"))
		return
	}
	if status := strings.TrimSpace(*p.TransactionStatus); !strings.EqualFold(status, "Completed") {
		trx := ""
		if p.TrxID != nil {
			trx = *p.TrxID
		}
		h.log.Info("SNS notification of a transaction that is not Completed; nothing produced", "integration", in.ID,
			"status", snsClip(status, 40), "trx", snsClip(trx, 40), "request_id", ingest.RequestID(ctx))
		ingest.WriteJSONBytes(ctx, http.StatusOK, snsProcessed)
		return
	}
	pay, ae := p.payment(in.Wallet.Provider)
	if ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	ev := &pipeline.Event{
		ID: ingest.TrxEventID(pipeline.SourceSNS, *in.Wallet, pay.TrxID), Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSNS,
		Wallet: *in.Wallet, MerchantID: in.MerchantID, Environment: in.Wallet.Environment, AcceptedAt: time.Now().UTC(),
		Payment: pay, Raw: ingest.RawCopy(ctx.PostBody()), RequestID: ingest.RequestID(ctx),
	}
	dup, err := h.trx.ClaimTrx(ingest.RequestContext(ctx), ev.Wallet, pay.TrxID)
	if err != nil {
		h.pub.Internal(ctx, "claiming SNS trx", err)
		return
	}
	if dup {
		ingest.WriteError(ctx, errSNSDuplicate)
		return
	}
	if err := h.pub.Publish(ctx, ev); err != nil {
		h.pub.Unavailable(ctx, "producing SNS payment.reported", err) // the mark stays "pending": the retry produces the same event
		return
	}
	h.trx.MarkTrxDone(ingest.RequestContext(ctx), ev.Wallet, pay.TrxID, ingest.RequestID(ctx))
	ingest.WriteJSONBytes(ctx, http.StatusOK, snsProcessed)
}

// decodeSNSPayment parses a notification's Message object, naming fields as Message.<field>.
func decodeSNSPayment(obj []byte, p *snsPayment) *ingest.APIError {
	err := json.Unmarshal(obj, p)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return ingest.Errf(http.StatusBadRequest, "Message.%s must be a %s", te.Field, ingest.JSONKind(te.Type.Kind().String()))
	}
	return ingest.Errf(http.StatusBadRequest, "Message must be a JSON object")
}

// payment validates a Completed notification and normalises it. The payment's reference is
// merchantInvoiceNumber, else transactionReference; an unparseable debitMSISDN (bKash masks some)
// is dropped rather than refusing the payment; dateTime is optional (the matcher then takes the
// time paystream accepted the report).
func (p *snsPayment) payment(provider pipeline.Provider) (*pipeline.Payment, *ingest.APIError) {
	if p.TrxID == nil || strings.TrimSpace(*p.TrxID) == "" {
		return nil, ingest.Errf(http.StatusBadRequest, "Message.trxID is required")
	}
	trx := strings.ToUpper(strings.TrimSpace(*p.TrxID))
	if !ingest.TrxIDRE.MatchString(trx) {
		return nil, ingest.Errf(http.StatusBadRequest, "Message.trxID must be 6 to 32 letters and digits")
	}
	amt, ae := snsAmount(p.Amount)
	if ae != nil {
		return nil, ae
	}
	if p.Currency != nil && strings.ToUpper(strings.TrimSpace(*p.Currency)) != "BDT" {
		return nil, ingest.Errf(http.StatusBadRequest, "Message.currency must be BDT")
	}
	pay := &pipeline.Payment{Provider: provider, TrxID: trx, Amount: amt}
	if p.DateTime != nil && strings.TrimSpace(*p.DateTime) != "" {
		t, err := time.ParseInLocation(snsDateTime, strings.TrimSpace(*p.DateTime), snsDhaka)
		if err != nil {
			return nil, ingest.Errf(http.StatusBadRequest, "Message.dateTime must be yyyyMMddHHmmss (Asia/Dhaka time), such as 20180419122246")
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
	if len(ref) > ingest.MaxRefLen || !ingest.Printable(ref) {
		return nil, ingest.Errf(http.StatusBadRequest, "Message.%s must be at most %d printable characters", field, ingest.MaxRefLen)
	}
	pay.Reference = ref
	return pay, nil
}

// snsAmount parses Message.amount: a decimal string as bKash sends it ("100", "100.50"), or a JSON
// number.
func snsAmount(raw json.RawMessage) (pipeline.Money, *ingest.APIError) {
	var s string
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return 0, ingest.Errf(http.StatusBadRequest, "Message.amount is required")
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, ingest.Errf(http.StatusBadRequest, "Message.amount must be a string")
		}
	case raw[0] >= '0' && raw[0] <= '9':
		s = string(raw)
	default:
		return 0, ingest.Errf(http.StatusBadRequest, "Message.amount must be a string such as \"100.50\"")
	}
	amt, err := pipeline.ParseMoney(s)
	if err != nil || amt <= 0 {
		return 0, ingest.Errf(http.StatusBadRequest, "Message.amount must be a positive amount of BDT with at most two decimals, such as \"100.50\"")
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

// snsProcessed is the answer to a notification that was handled, encoded once (keys by name, as the
// map it replaced encoded them).
var snsProcessed = ingest.MustJSON(map[string]any{"status": http.StatusOK, "message": "Notification processed."})
