package native

import (
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect"
)

// Webhook events. Every intent status has one (WebhookEvent); a refund is EventRefunded.
const (
	EventPending        = "payment.pending"
	EventPaid           = "payment.paid"
	EventExpired        = "payment.expired"
	EventRejected       = "payment.rejected"
	EventReviewRequired = "payment.review_required"
	EventFailed         = "payment.failed"
	EventRefunded       = "payment.refunded"
)

// WebhookEvent maps an intent status to its webhook event, "" for an unknown status. PENDING is
// payment.pending: the only change to PENDING is a review's return to it (the payment it waited
// on paid another intent; the matcher's reason candidate_used), which the merchant, told
// payment.review_required before, must learn of. A creation is not an outcome and sends nothing.
func WebhookEvent(s pipeline.Status) string {
	switch s {
	case pipeline.StatusPending:
		return EventPending
	case pipeline.StatusPaid:
		return EventPaid
	case pipeline.StatusExpired:
		return EventExpired
	case pipeline.StatusRejected:
		return EventRejected
	case pipeline.StatusReviewRequired:
		return EventReviewRequired
	case pipeline.StatusFailed:
		return EventFailed
	}
	return ""
}

// StatusBody is the webhook of an intent status change (seed 004's payload plus id, the outcome id
// and webhook-id, for idempotent receivers; status; and trx_id, match_type and reason when they
// apply). Field order is the JSON order.
type StatusBody struct {
	ID          string               `json:"id"`
	Event       string               `json:"event"`
	Environment pipeline.Environment `json:"environment"`
	Timestamp   string               `json:"timestamp"`
	Data        StatusData           `json:"data"`
}

// StatusData is StatusBody's data.
type StatusData struct {
	PaymentIntentID   string             `json:"payment_intent_id"`
	Amount            pipeline.Money     `json:"amount"`
	Currency          string             `json:"currency"`
	CustomerReference string             `json:"customer_reference"`
	Status            pipeline.Status    `json:"status"`
	TrxID             string             `json:"trx_id,omitempty"`
	MatchType         pipeline.MatchType `json:"match_type,omitempty"`
	Reason            string             `json:"reason,omitempty"`
}

// RefundBody is the payment.refunded webhook.
type RefundBody struct {
	ID          string               `json:"id"`
	Event       string               `json:"event"`
	Environment pipeline.Environment `json:"environment"`
	Timestamp   string               `json:"timestamp"`
	Data        RefundData           `json:"data"`
}

// RefundData is RefundBody's data: the intent, the refunded payment's trx_id, this refund's amount
// and refund_trx_id, and the total refunded so far.
type RefundData struct {
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

// Webhook renders o (see dialect.Dialect): a StatusBody for every intent status change, a
// RefundBody for a refund, nothing for any other outcome.
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
	ev := WebhookEvent(o.Status)
	if ev == "" {
		return dialect.Webhook{}, nil
	}
	in := o.Intent
	cur := in.Currency
	if cur == "" {
		cur = Currency
	}
	b := StatusBody{
		ID: o.ID, Event: ev, Environment: o.Environment, Timestamp: FormatTime(o.DecidedAt),
		Data: StatusData{
			PaymentIntentID: in.ID, Amount: in.Amount, Currency: cur, CustomerReference: in.CustomerReference,
			Status: o.Status, MatchType: o.MatchType, Reason: o.Reason,
		},
	}
	if o.Payment != nil {
		b.Data.TrxID = o.Payment.TrxID
	}
	return dialect.EncodeBody(ev, &b, 384, "native")
}

func refundWebhook(o *pipeline.Outcome) (dialect.Webhook, error) {
	in, r := o.Intent, o.Refund
	b := RefundBody{
		ID: o.ID, Event: EventRefunded, Environment: o.Environment, Timestamp: FormatTime(o.DecidedAt),
		Data: RefundData{
			PaymentIntentID: in.ID, Amount: r.Amount, Currency: Currency, CustomerReference: in.CustomerReference,
			Status: pipeline.StatusPaid, TrxID: r.TrxID, RefundTrxID: r.RefundTrxID, RefundedTotal: r.RefundedTotal,
			IntentAmount: in.Amount, Reason: r.Reason,
		},
	}
	return dialect.EncodeBody(EventRefunded, &b, 384, "refund")
}
