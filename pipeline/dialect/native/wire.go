package native

import (
	"encoding/json"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// CreateIntentRequest is seed 004's create body (POST /v1/payments/intents). Pointers tell
// "missing" from "zero"; the ingest surface validates it.
type CreateIntentRequest struct {
	Amount            json.RawMessage `json:"amount"` // taka; whole taka only (see ingest's amount rule)
	Currency          *string         `json:"currency"`
	CustomerReference *string         `json:"customerReference"`
	IdempotencyKey    string          `json:"idempotencyKey"`
	TTLSeconds        *int64          `json:"ttlSeconds"`
	SuccessURL        string          `json:"successUrl"`
	FailedURL         string          `json:"failedUrl"`
	CancelURL         string          `json:"cancelUrl"`
	ExpiredURL        string          `json:"expiredUrl"`
	Provider          string          `json:"provider"`      // paystream extension: pick a wallet of this provider
	PaymentMethod     string          `json:"paymentMethod"` // paystream extension: "" or "bkash_tokenized"
	Metadata          json.RawMessage `json:"metadata"`
}

// Intent is seed 004's PaymentIntent object, plus what paystream knows beyond it. Field order is
// the JSON order.
type Intent struct {
	ID                string          `json:"id"`
	MerchantID        string          `json:"merchantId"`
	Environment       string          `json:"environment"`
	Amount            string          `json:"amount"`
	Currency          string          `json:"currency"`
	Status            string          `json:"status"`
	CustomerReference string          `json:"customerReference"`
	Provider          string          `json:"provider"`
	ReceiverMsisdn    string          `json:"receiverMsisdn"`
	PaymentMethod     string          `json:"paymentMethod,omitempty"`
	CheckoutURL       string          `json:"checkoutUrl"`
	ExpiresAt         string          `json:"expiresAt"`
	CreatedAt         string          `json:"createdAt"`
	UpdatedAt         string          `json:"updatedAt,omitempty"`
	TrxID             string          `json:"trxId,omitempty"`
	MatchType         string          `json:"matchType,omitempty"`
	Reason            string          `json:"reason,omitempty"`
	SuccessURL        string          `json:"successUrl,omitempty"`
	FailedURL         string          `json:"failedUrl,omitempty"`
	CancelURL         string          `json:"cancelUrl,omitempty"`
	ExpiredURL        string          `json:"expiredUrl,omitempty"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
}

// IntentState is what became of an intent since its creation, as the matcher recorded it.
type IntentState struct {
	Status    pipeline.Status
	UpdatedAt time.Time // zero: never changed
	TrxID     string    // the payment that decided it, if any
	MatchType pipeline.MatchType
	Reason    string
}

// NewIntent is the Intent object of in in state st. checkoutURL is paystream's hosted checkout
// page of the intent; an intent paid at the provider's own page (bKash tokenized: in.CheckoutURL
// set) shows that page and its payment method instead.
func NewIntent(in *pipeline.Intent, st IntentState, checkoutURL string) Intent {
	v := Intent{
		ID: in.ID, MerchantID: in.MerchantID, Environment: string(in.Environment), Amount: in.Amount.String(),
		Currency: in.Currency, Status: string(st.Status), CustomerReference: in.CustomerReference,
		Provider: string(in.Provider), ReceiverMsisdn: in.ReceiverMsisdn, CheckoutURL: checkoutURL,
		ExpiresAt: FormatTime(in.ExpiresAt), CreatedAt: FormatTime(in.CreatedAt),
		TrxID: st.TrxID, MatchType: string(st.MatchType), Reason: st.Reason,
		SuccessURL: in.SuccessURL, FailedURL: in.FailedURL, CancelURL: in.CancelURL, ExpiredURL: in.ExpiredURL,
		Metadata: in.Metadata,
	}
	if !st.UpdatedAt.IsZero() {
		v.UpdatedAt = FormatTime(st.UpdatedAt)
	}
	if in.CheckoutURL != "" {
		v.CheckoutURL, v.PaymentMethod = in.CheckoutURL, in.PaymentMethod
	}
	return v
}
