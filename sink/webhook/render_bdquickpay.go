package webhook

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/paystream/paystream/pipeline"
)

// bdquickpayTimeFormat is how seed 001 writes time: ISO 8601 in UTC with "+00:00", whole seconds.
const bdquickpayTimeFormat = "2006-01-02T15:04:05-07:00"

// bdquickpayBody is seed 001's webhook payload, in the seed's field order, followed by paystream's
// additions: id (the outcome id, equal to webhook-id, for idempotent receivers) and trx_id (when a
// payment was involved).
type bdquickpayBody struct {
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

// bdquickpayEvent maps an intent status change to the dialect's event and status, or "" when the
// dialect has no event for it. The seed has two events: payment.completed (PAID, also after an
// EXPIRED: a payment made in time and reported late) and payment.failed ("fails due to timeout or
// amount mismatch": EXPIRED, FAILED, REJECTED). A review (whatever its reason: an amount
// mismatch is no longer an intent's review but a payment held for an operator) sends nothing until
// an operator decides, because payment.failed is final for the merchant and the intent may still
// be paid; PENDING (a review's return to it) never sends anything.
func bdquickpayEvent(o *pipeline.Outcome) (event, status string) {
	switch o.Status {
	case pipeline.StatusPaid:
		return "payment.completed", "completed"
	case pipeline.StatusExpired, pipeline.StatusFailed, pipeline.StatusRejected:
		return "payment.failed", "failed"
	}
	return "", ""
}

// bdquickpayPaymentID is the seed's integer payment_id, derived from the intent id so that it is
// stable across retries and replays: the first 6 bytes of SHA-256(intent id) as a big-endian
// unsigned integer (at most 2^48-1, exact in every JSON parser), never 0.
func bdquickpayPaymentID(intentID string) uint64 {
	sum := sha256.Sum256([]byte(intentID))
	var b [8]byte
	copy(b[2:], sum[:6])
	return max(binary.BigEndian.Uint64(b[:]), 1)
}

// bdquickpayAmount writes m as a JSON number of taka without trailing zeros (500, 500.5).
func bdquickpayAmount(m pipeline.Money) json.Number {
	s := m.String()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
	}
	return json.Number(s)
}

// renderBDQuickPay writes seed 001's payload (see bdquickpayBody); rendered.Event is "" for
// changes the dialect has no event for.
func renderBDQuickPay(o *pipeline.Outcome) (rendered, error) {
	ev, status := bdquickpayEvent(o)
	if ev == "" {
		return rendered{}, nil
	}
	in := o.Intent
	b := bdquickpayBody{
		Event:             ev,
		InvoiceID:         in.ID,
		PaymentID:         bdquickpayPaymentID(in.ID),
		CustomerReference: in.CustomerReference,
		Amount:            bdquickpayAmount(in.Amount),
		PaymentMethod:     "bkash",
		Status:            status,
		Timestamp:         o.DecidedAt.UTC().Format(bdquickpayTimeFormat),
		ID:                o.ID,
	}
	if o.Payment != nil {
		b.TrxID = o.Payment.TrxID
	}
	return encodeBody(ev, &b, 320, "bdquickpay")
}

// bdquickpayHeaders is X-App-Key: the merchant's App Key of env, which the seed tells receivers to
// check on every webhook; nil when the merchant has none for env.
func bdquickpayHeaders(m *pipeline.Merchant, env pipeline.Environment) http.Header {
	k := m.AppKeys[env]
	if k == "" {
		return nil
	}
	return http.Header{"X-App-Key": {k}}
}
