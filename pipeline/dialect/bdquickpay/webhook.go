package bdquickpay

import (
	"encoding/json"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect"
)

// Webhook events: the seed's two, and paystream's refund.
const (
	EventCompleted = "payment.completed"
	EventFailed    = "payment.failed"
	EventRefunded  = "payment.refunded"
)

// WebhookEvent maps an intent status change to the dialect's webhook event and status, or "" when
// the dialect has no event for it. The seed has two events: payment.completed (PAID, also after an
// EXPIRED: a payment made in time and reported late) and payment.failed ("fails due to timeout or
// amount mismatch": EXPIRED, FAILED, REJECTED). A review (whatever its reason: an amount mismatch
// is no longer an intent's review but a payment held for an operator) sends nothing until an
// operator decides, because payment.failed is final for the merchant and the intent may still be
// paid; PENDING (a review's return to it) never sends anything.
func WebhookEvent(st pipeline.Status) (event, status string) {
	switch st {
	case pipeline.StatusPaid:
		return EventCompleted, StatusCompleted
	case pipeline.StatusExpired, pipeline.StatusFailed, pipeline.StatusRejected:
		return EventFailed, StatusFailed
	}
	return "", ""
}

// WebhookBody is seed 001's webhook payload, in the seed's field order, followed by paystream's
// additions: id (the outcome id, equal to webhook-id, for idempotent receivers) and trx_id (when a
// payment was involved).
type WebhookBody struct {
	Event             string      `json:"event"`
	InvoiceID         string      `json:"invoice_id"`
	PaymentID         uint64      `json:"payment_id"`
	CustomerReference string      `json:"customer_reference"`
	Amount            json.Number `json:"amount"`
	PaymentMethod     string      `json:"payment_method"`
	Status            string      `json:"status"`
	Timestamp         string      `json:"timestamp"`
	ID                string      `json:"id"`
	TrxID             string      `json:"trx_id,omitempty"`
}

// RefundBody is the payment.refunded webhook. The seed defines no refund event; paystream sends
// the seed's webhook fields (amount: this refund; trx_id: the refunded payment, always set) plus
// the refund's.
type RefundBody struct {
	WebhookBody
	RefundTrxID   string      `json:"refund_trx_id"`
	RefundedTotal json.Number `json:"refunded_total"`
}

// Webhook renders o (see dialect.Dialect): a WebhookBody for the status changes WebhookEvent has
// an event for, a RefundBody for a refund, nothing otherwise.
func (Dialect) Webhook(o *pipeline.Outcome) (dialect.Webhook, error) {
	switch o.Type {
	case pipeline.OutcomeIntentStatus:
		return statusWebhook(o)
	case pipeline.OutcomeRefund:
		return refundWebhook(o)
	}
	return dialect.Webhook{}, nil
}

func statusWebhook(o *pipeline.Outcome) (dialect.Webhook, error) {
	ev, status := WebhookEvent(o.Status)
	if ev == "" {
		return dialect.Webhook{}, nil
	}
	in := o.Intent
	b := WebhookBody{
		Event: ev, InvoiceID: in.ID, PaymentID: PaymentID(in.ID), CustomerReference: in.CustomerReference,
		Amount: Amount(in.Amount), PaymentMethod: PaymentMethod, Status: status,
		Timestamp: FormatTime(o.DecidedAt), ID: o.ID,
	}
	if o.Payment != nil {
		b.TrxID = o.Payment.TrxID
	}
	return dialect.EncodeBody(ev, &b, 320, "bdquickpay")
}

func refundWebhook(o *pipeline.Outcome) (dialect.Webhook, error) {
	in, r := o.Intent, o.Refund
	b := RefundBody{
		WebhookBody: WebhookBody{
			Event: EventRefunded, InvoiceID: in.ID, PaymentID: PaymentID(in.ID), CustomerReference: in.CustomerReference,
			Amount: Amount(r.Amount), PaymentMethod: PaymentMethod, Status: StatusRefunded,
			Timestamp: FormatTime(o.DecidedAt), ID: o.ID, TrxID: r.TrxID,
		},
		RefundTrxID: r.RefundTrxID, RefundedTotal: Amount(r.RefundedTotal),
	}
	return dialect.EncodeBody(EventRefunded, &b, 384, "refund")
}
