package webhook

import (
	"encoding/json"
	"fmt"

	"github.com/paystream/paystream/pipeline"
)

// refundEvent is the webhook event of a refund, in both dialects.
const refundEvent = "payment.refunded"

// refundData is the data of a native payment.refunded webhook: the intent, the refunded payment's
// trx_id, this refund's amount and refund_trx_id, and the total refunded so far.
type refundData struct {
	PaymentIntentID   string          `json:"payment_intent_id"`
	Amount            pipeline.Money  `json:"amount"` // this refund
	Currency          string          `json:"currency"`
	CustomerReference string          `json:"customer_reference"`
	Status            pipeline.Status `json:"status"` // the intent stays PAID
	TrxID             string          `json:"trx_id"`
	RefundTrxID       string          `json:"refund_trx_id"`
	RefundedTotal     pipeline.Money  `json:"refunded_total"`
	IntentAmount      pipeline.Money  `json:"intent_amount"`
	Reason            string          `json:"reason,omitempty"`
}

type refundBody struct {
	ID          string               `json:"id"`
	Event       string               `json:"event"`
	Environment pipeline.Environment `json:"environment"`
	Timestamp   string               `json:"timestamp"`
	Data        refundData           `json:"data"`
}

// bdquickpayRefundBody follows seed 001's webhook fields (it defines no refund event; paystream
// adds payment.refunded with the same fields, trx_id always set, plus the refund's).
type bdquickpayRefundBody struct {
	bdquickpayBody
	RefundTrxID   string      `json:"refund_trx_id"`
	RefundedTotal json.Number `json:"refunded_total"`
}

// renderRefund renders an OutcomeRefund in the intent's dialect. It is pure.
func renderRefund(o *pipeline.Outcome) (rendered, error) {
	in, r := o.Intent, o.Refund
	var v any
	switch in.Dialect {
	case pipeline.DialectBDQuickPay:
		v = bdquickpayRefundBody{
			bdquickpayBody: bdquickpayBody{
				Event: refundEvent, InvoiceID: in.ID, PaymentID: bdquickpayPaymentID(in.ID), CustomerReference: in.CustomerReference,
				Amount: bdquickpayAmount(r.Amount), PaymentMethod: "bkash", Status: "refunded",
				Timestamp: o.DecidedAt.UTC().Format(bdquickpayTimeFormat), ID: o.ID, TrxID: r.TrxID,
			},
			RefundTrxID: r.RefundTrxID, RefundedTotal: bdquickpayAmount(r.RefundedTotal),
		}
	case pipeline.DialectNative, "":
		v = refundBody{
			ID: o.ID, Event: refundEvent, Environment: o.Environment, Timestamp: pipeline.FormatTime(o.DecidedAt),
			Data: refundData{
				PaymentIntentID: in.ID, Amount: r.Amount, Currency: "BDT", CustomerReference: in.CustomerReference,
				Status: pipeline.StatusPaid, TrxID: r.TrxID, RefundTrxID: r.RefundTrxID, RefundedTotal: r.RefundedTotal,
				IntentAmount: in.Amount, Reason: r.Reason,
			},
		}
	default:
		return rendered{}, fmt.Errorf("%w %q", ErrUnsupportedDialect, in.Dialect)
	}
	return encodeBody(refundEvent, v, 384, "refund")
}

// refundJob is the delivery job of an OutcomeRefund (DecodeOutcome guarantees Intent and Refund).
func refundJob(o *pipeline.Outcome) (*job, error) {
	if !o.Environment.Valid() {
		o.Environment = o.Intent.Environment
	}
	if !o.Environment.Valid() {
		return nil, fmt.Errorf("%w: outcome %s has no valid environment", pipeline.ErrBadOutcome, o.ID)
	}
	r, err := renderRefund(o)
	if err != nil {
		return nil, fmt.Errorf("rendering webhook of outcome %s: %w", o.ID, err)
	}
	return &job{
		OutcomeID: o.ID, MerchantID: o.MerchantID, Env: o.Environment, Event: r.Event, IntentID: o.Intent.ID,
		URL: o.Intent.WebhookURL, Body: r.Body, AcceptedAt: o.AcceptedAt,
	}, nil
}
