package bdquickpay

import (
	"encoding/json"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// CreateResponse is the answer to POST /api/bkash/v1/payment/create, in the seed's field order.
type CreateResponse struct {
	Status            bool        `json:"status"` // always true
	InvoiceID         string      `json:"invoice_id"`
	Amount            json.Number `json:"amount"`
	CustomerReference string      `json:"customer_reference"`
	PaymentURL        string      `json:"payment_url"`
	ExpiresAt         string      `json:"expires_at"`
}

// OK is the dialect's success envelope with data, in the seed's field order.
type OK struct {
	Status  bool   `json:"status"` // always true
	Message string `json:"message"`
	Data    any    `json:"data"`
}

// Payment is verify's data: the seed's fields, always all of them.
type Payment struct {
	InvoiceID         string       `json:"invoice_id"`
	CustomerReference string       `json:"customer_reference"`
	Amount            json.Number  `json:"amount"`
	Status            string       `json:"status"`
	CreatedAt         string       `json:"created_at"`
	ExpiresAt         string       `json:"expires_at"`
	Transaction       *Transaction `json:"transaction"` // null unless completed
}

// Transaction is the payment that completed an invoice.
type Transaction struct {
	TrxID         string      `json:"trx_id"`
	PaymentMethod string      `json:"payment_method"`
	Amount        json.Number `json:"amount"`
	Status        string      `json:"status"`
	VerifiedAt    string      `json:"verified_at"`
}

// NewPayment is verify's data for invoice in in status st; trxID and updatedAt (when the status
// last changed) are the deciding payment's, used when st is PAID.
func NewPayment(in *pipeline.Intent, st pipeline.Status, trxID string, updatedAt time.Time) Payment {
	p := Payment{
		InvoiceID: in.ID, CustomerReference: in.CustomerReference, Amount: Amount(in.Amount),
		Status: Status(st), CreatedAt: FormatTime(in.CreatedAt), ExpiresAt: FormatTime(in.ExpiresAt),
	}
	if st == pipeline.StatusPaid {
		p.Transaction = &Transaction{
			TrxID: trxID, PaymentMethod: PaymentMethod, Amount: Amount(in.Amount), Status: StatusCompleted,
			VerifiedAt: FormatTime(updatedAt),
		}
	}
	return p
}

// Simulated is the data of a sandbox simulator answer (a paystream extension).
type Simulated struct {
	InvoiceID string      `json:"invoice_id"`
	TrxID     string      `json:"trx_id"`
	Amount    json.Number `json:"amount"`
	EventID   string      `json:"event_id"`
}
