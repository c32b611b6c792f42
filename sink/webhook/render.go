package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/paystream/paystream/pipeline"
)

// rendered is a webhook as every attempt will send it: its event name and exact body bytes.
// Rendering happens once, at enqueue, so retries are byte-identical (signatures and receivers'
// dedupe rely on it). An empty Event means the dialect sends no webhook for this change.
type rendered struct {
	Event string
	Body  []byte
}

// render turns an intent status change into the webhook of the intent's dialect. It is pure.
// To add a dialect, add a case here and a render<Dialect> function next to renderNative, and, if
// the dialect sends headers of its own, a case in dialectHeaders.
func render(o *pipeline.Outcome) (rendered, error) {
	d := o.Intent.Dialect
	switch d {
	case pipeline.DialectNative, "":
		return renderNative(o)
	case pipeline.DialectBDQuickPay:
		return renderBDQuickPay(o)
	default:
		return rendered{}, fmt.Errorf("%w %q", ErrUnsupportedDialect, d)
	}
}

// dialectHeaders returns the request headers a merchant's dialect adds to every webhook of env, or
// nil. They are read at delivery from the merchant record (m may be nil when it is gone), not
// frozen into the job at enqueue, so they follow the merchant's current credentials; they are not
// covered by the signatures. A merchant's intents all speak the merchant's dialect.
func dialectHeaders(m *pipeline.Merchant, env pipeline.Environment) http.Header {
	if m == nil {
		return nil
	}
	switch m.Dialect {
	case pipeline.DialectBDQuickPay:
		return bdquickpayHeaders(m, env)
	}
	return nil
}

// nativeBody is the SMS Pay webhook (seed 004). Field order is the JSON order.
type nativeBody struct {
	ID          string               `json:"id"`
	Event       string               `json:"event"`
	Environment pipeline.Environment `json:"environment"`
	Timestamp   string               `json:"timestamp"`
	Data        nativeData           `json:"data"`
}

type nativeData struct {
	PaymentIntentID   string             `json:"payment_intent_id"`
	Amount            pipeline.Money     `json:"amount"`
	Currency          string             `json:"currency"`
	CustomerReference string             `json:"customer_reference"`
	Status            pipeline.Status    `json:"status"`
	TrxID             string             `json:"trx_id,omitempty"`
	MatchType         pipeline.MatchType `json:"match_type,omitempty"`
	Reason            string             `json:"reason,omitempty"`
}

// renderNative writes {"id","event","environment","timestamp","data":{...}}: the seed's payload
// plus id (the outcome id, equal to webhook-id, for idempotent receivers), status, and trx_id,
// match_type and reason when they apply.
func renderNative(o *pipeline.Outcome) (rendered, error) {
	in := o.Intent
	ev := pipeline.WebhookEvent(o.Status)
	cur := in.Currency
	if cur == "" {
		cur = "BDT"
	}
	b := nativeBody{
		ID:          o.ID,
		Event:       ev,
		Environment: o.Environment,
		Timestamp:   pipeline.FormatTime(o.DecidedAt),
		Data: nativeData{
			PaymentIntentID:   in.ID,
			Amount:            in.Amount,
			Currency:          cur,
			CustomerReference: in.CustomerReference,
			Status:            o.Status,
			MatchType:         o.MatchType,
			Reason:            o.Reason,
		},
	}
	if o.Payment != nil {
		b.Data.TrxID = o.Payment.TrxID
	}
	return encodeBody(ev, &b, 384, "native")
}

// encodeBody encodes a webhook body without HTML escaping (customer references may hold & < >:
// they are sent as typed) and without the encoder's trailing newline; size is a capacity hint.
func encodeBody(event string, v any, size int, what string) (rendered, error) {
	var buf bytes.Buffer
	buf.Grow(size)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return rendered{}, fmt.Errorf("encoding %s webhook: %w", what, err)
	}
	return rendered{Event: event, Body: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}, nil
}
