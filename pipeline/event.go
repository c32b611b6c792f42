package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// EventKind names what an inbound event reports.
type EventKind string

// The inbound event kinds carried on the inbound topic.
const (
	// KindIntentCreated opens a payment intent on a wallet.
	KindIntentCreated EventKind = "intent.created"
	// KindPaymentReported reports money received by a wallet (SMS, SNS, txn API, simulator, tokenized).
	KindPaymentReported EventKind = "payment.reported"
	// KindClaimSubmitted is a customer's claim, from the hosted checkout page, that they paid
	// intent Claim.IntentID with transaction Claim.TrxID (SPEC rule 3).
	KindClaimSubmitted EventKind = "claim.submitted"
	// KindReviewDecided is an operator's decision on an intent under review, or an unmatched
	// payment attached to an intent (SPEC rule 6).
	KindReviewDecided EventKind = "review.decided"
	// KindSMSReceived is a forwarded wallet SMS that pays nothing (outgoing, OTP, promo,
	// unparseable, untrusted sender, ...): kept for the audit, review and re-parsing, and for the
	// wallet's balance chain. A paying SMS is a KindPaymentReported with SMS set.
	KindSMSReceived EventKind = "sms.received"
	// KindPaymentRefunded is a refund that bKash confirmed (tokenized checkout, through the admin
	// API): Intent is the refunded intent as ingest loaded it, Refund what was refunded.
	KindPaymentRefunded EventKind = "payment.refunded"
	// KindPaymentFailed is bKash's own confirmation that an intent's tokenized payment will not
	// complete (it failed, was cancelled, or the customer lacked balance): Intent is the intent as
	// ingest loaded it, Failure what bKash said, Raw bKash's answer byte for byte. A PENDING intent
	// becomes FAILED (matcher/decide_failed.go). Never produced from the customer's redirect alone.
	KindPaymentFailed EventKind = "payment.failed"
)

// RulePaymentFailed is the rule of the FAILED change a KindPaymentFailed event causes.
const RulePaymentFailed Rule = "payment_failed"

// Reasons of FAILED changes caused by KindPaymentFailed (PaymentFailure.Reason). The outcome's
// Reason is the reason, followed by ":" and bKash's statusCode when an error answer gave one
// (for example "bkash_insufficient_balance:2023").
const (
	ReasonBkashFailed       = "bkash_failed"               // declined (PIN/OTP, limits, ...) or bKash reports Failed/Expired
	ReasonBkashCancelled    = "bkash_cancelled"            // bKash reports the payment Cancelled (2069 or transactionStatus)
	ReasonBkashInsufficient = "bkash_insufficient_balance" // 2023
)

// PaymentFailure is what bKash said about a tokenized payment that will not complete.
type PaymentFailure struct {
	IntentID  string `json:"intentId"`
	PaymentID string `json:"paymentId"` // bKash paymentID
	// Reason is one of the ReasonBkash* values.
	Reason string `json:"reason"`
	// Code is bKash's statusCode when an error answer said it ("" when payment/status or execute
	// answered 0000 with a transactionStatus).
	Code string `json:"code,omitempty"`
	// BkashStatus is bKash's transactionStatus (Failed, Cancelled, Expired), when the answer had one.
	BkashStatus string `json:"bkashStatus,omitempty"`
	// Op is the bKash call whose answer confirmed it: execute or query (payment/status).
	Op string `json:"op"`
}

// OutcomeReason is the Reason of the FAILED change f causes: Reason, plus ":" and Code if any.
func (f *PaymentFailure) OutcomeReason() string {
	if f.Code == "" || f.Code == "0000" {
		return f.Reason
	}
	return f.Reason + ":" + f.Code
}

// validFailureReason reports whether r is one of the ReasonBkash* values.
func validFailureReason(r string) bool {
	return r == ReasonBkashFailed || r == ReasonBkashCancelled || r == ReasonBkashInsufficient
}

// PaymentMethodBkashTokenized is Intent.PaymentMethod of intents paid through bKash Tokenized
// Checkout, which paystream drives on the merchant's behalf (pipeline/bkash).
const PaymentMethodBkashTokenized = "bkash_tokenized" //nolint:gosec // G101: a payment method name, not a credential

// Refund is a refund bKash confirmed of a tokenized payment.
type Refund struct {
	IntentID      string `json:"intentId"`
	PaymentID     string `json:"paymentId"` // bKash paymentID
	TrxID         string `json:"trxId"`     // the refunded payment's TrxID
	RefundTrxID   string `json:"refundTrxId"`
	Amount        Money  `json:"amount"`        // this refund
	RefundedTotal Money  `json:"refundedTotal"` // every refund of the payment so far, this one included
	Reason        string `json:"reason,omitempty"`
	Operator      string `json:"operator,omitempty"`
}

// SourceCheckout is the hosted checkout page (claims); SourceOperator the admin API (reviews).
const (
	SourceCheckout Source = "checkout"
	SourceOperator Source = "operator"
)

// Claim is a customer's statement that they paid an intent with a transaction.
type Claim struct {
	IntentID     string `json:"intentId"`
	TrxID        string `json:"trxId"`
	SenderMsisdn string `json:"senderMsisdn,omitempty"`
}

// Review actions.
const (
	ReviewApprove = "approve" // the intent under review is PAID (MANUAL)
	ReviewReject  = "reject"  // the intent under review is REJECTED
	ReviewAttach  = "attach"  // the unmatched payment PaymentEventID pays the PENDING or REVIEW_REQUIRED intent (MANUAL)
)

// ReviewDecision is an operator's decision, made through the admin API.
type ReviewDecision struct {
	IntentID       string `json:"intentId"`
	Action         string `json:"action"`
	PaymentEventID string `json:"paymentEventId,omitempty"` // attach: the unmatched payment's event id
	TrxID          string `json:"trxId,omitempty"`          // approve: the payment the operator accepts, if known
	Operator       string `json:"operator,omitempty"`
	Note           string `json:"note,omitempty"`
}

// SMS describes a forwarded wallet SMS: who sent it, through which device, and what the parser
// read. Parsed holds pipeline/smsparse's Result as JSON (this package does not import the parser).
type SMS struct {
	Sender     string          `json:"sender"`
	Text       string          `json:"text"`
	DeviceID   string          `json:"deviceId"`
	SIM        string          `json:"sim,omitempty"`
	ReceivedAt time.Time       `json:"receivedAt,omitempty"`
	Trusted    bool            `json:"trusted"` // the sender is the provider's own
	Kind       string          `json:"kind"`
	Direction  string          `json:"direction"` // credit, debit, none
	Balance    *Money          `json:"balance,omitempty"`
	Amount     *Money          `json:"amount,omitempty"`
	TrxID      string          `json:"trxId,omitempty"`
	Parsed     json.RawMessage `json:"parsed,omitempty"`
}

// Source names the inbound surface an event came through.
type Source string

// Inbound surfaces.
const (
	SourceMerchantAPI Source = "merchant_api"
	SourceSandboxSim  Source = "sandbox_simulator"
	SourceSMS         Source = "sms"
	SourceSNS         Source = "sns"
	SourceTxnAPI      Source = "bkash_txn_api"
	SourceTokenized   Source = "bkash_tokenized" //nolint:gosec // G101: a source name, not a credential
)

// Dialect is the webhook and API flavour a merchant speaks.
type Dialect string

// Dialects.
const (
	DialectNative     Dialect = "native"     // SMS-Pay style (seed 004)
	DialectBDQuickPay Dialect = "bdquickpay" // bdQuickPay style (seed 001)
)

// Event is the canonical inbound fact. Ingest builds one per accepted request, gives it a fresh
// unique ID, and produces it to the inbound topic keyed by Wallet.Key(); the matcher, audit sink and
// anything else read it from there. Events are immutable once produced: a replayed record carries
// the same ID, so consumers use ID to recognise work they already did.
type Event struct {
	ID         string          `json:"id"`
	Kind       EventKind       `json:"kind"`
	Source     Source          `json:"source"`
	Wallet     Wallet          `json:"wallet"`
	MerchantID string          `json:"merchantId"`
	AcceptedAt time.Time       `json:"acceptedAt"`
	Intent     *Intent         `json:"intent,omitempty"`
	Payment    *Payment        `json:"payment,omitempty"`
	Claim      *Claim          `json:"claim,omitempty"`
	Review     *ReviewDecision `json:"review,omitempty"`
	SMS        *SMS            `json:"sms,omitempty"`
	Refund     *Refund         `json:"refund,omitempty"`
	Failure    *PaymentFailure `json:"failure,omitempty"`
	// Raw is the request body exactly as received (byte for byte, base64 in the JSON record), so the
	// audit keeps what the upstream sent, not a re-encoding of it.
	Raw         []byte      `json:"raw,omitempty"`
	RequestID   string      `json:"requestId,omitempty"`
	Environment Environment `json:"environment"`
}

// Intent is a payment intent as created. Its status lives in the matcher's state, not here.
type Intent struct {
	ID                string          `json:"id"`
	MerchantID        string          `json:"merchantId"`
	Environment       Environment     `json:"environment"`
	Amount            Money           `json:"amount"`
	Currency          string          `json:"currency"`
	CustomerReference string          `json:"customerReference"`
	Provider          Provider        `json:"provider"`
	ReceiverMsisdn    string          `json:"receiverMsisdn"`
	IdempotencyKey    string          `json:"idempotencyKey,omitempty"`
	SuccessURL        string          `json:"successUrl,omitempty"`
	FailedURL         string          `json:"failedUrl,omitempty"`
	CancelURL         string          `json:"cancelUrl,omitempty"`
	ExpiredURL        string          `json:"expiredUrl,omitempty"`
	WebhookURL        string          `json:"webhookUrl,omitempty"` // per-intent override (bdQuickPay dialect)
	Dialect           Dialect         `json:"dialect"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
	// PaymentMethod is "" (the customer pays the wallet; SMS, SNS, ... report it) or
	// PaymentMethodBkashTokenized; CheckoutURL, when set, is where the customer pays (bKash's
	// bkashURL) instead of paystream's hosted checkout page.
	PaymentMethod string    `json:"paymentMethod,omitempty"`
	CheckoutURL   string    `json:"checkoutUrl,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	ExpiresAt     time.Time `json:"expiresAt"`
}

// Wallet returns the receiving wallet the intent was assigned.
func (in *Intent) Wallet() Wallet {
	return Wallet{Provider: in.Provider, Account: in.ReceiverMsisdn, Environment: in.Environment}
}

// Payment is money received by a wallet, as one surface reported it.
type Payment struct {
	Provider   Provider  `json:"provider"`
	TrxID      string    `json:"trxId"`
	Amount     Money     `json:"amount"`
	Sender     string    `json:"sender,omitempty"`
	Reference  string    `json:"reference,omitempty"`
	OccurredAt time.Time `json:"occurredAt"`
}

// ErrBadEvent reports an inbound record that cannot be a valid event.
var ErrBadEvent = errors.New("malformed event")

// Validate checks the invariants every consumer relies on.
func (e *Event) Validate() error {
	if e.ID == "" || !e.Wallet.Environment.Valid() || !e.Wallet.Provider.Valid() || e.Wallet.Account == "" {
		return fmt.Errorf("%w: missing id or wallet", ErrBadEvent)
	}
	switch e.Kind {
	case KindIntentCreated:
		if e.Intent == nil || e.Intent.ID == "" || e.Intent.Amount <= 0 || e.Intent.ExpiresAt.IsZero() {
			return fmt.Errorf("%w: intent.created without a valid intent", ErrBadEvent)
		}
	case KindPaymentReported:
		if e.Payment == nil || e.Payment.TrxID == "" || e.Payment.Amount <= 0 {
			return fmt.Errorf("%w: payment.reported without a valid payment", ErrBadEvent)
		}
	case KindClaimSubmitted:
		if e.Claim == nil || e.Claim.IntentID == "" || e.Claim.TrxID == "" {
			return fmt.Errorf("%w: claim.submitted without an intent and a TrxID", ErrBadEvent)
		}
	case KindReviewDecided:
		r := e.Review
		if r == nil || r.IntentID == "" || (r.Action != ReviewApprove && r.Action != ReviewReject && r.Action != ReviewAttach) ||
			(r.Action == ReviewAttach && r.PaymentEventID == "") {
			return fmt.Errorf("%w: review.decided without an intent and a valid action", ErrBadEvent)
		}
	case KindPaymentRefunded:
		r := e.Refund
		if r == nil || e.Intent == nil || r.IntentID != e.Intent.ID || r.RefundTrxID == "" || r.Amount <= 0 {
			return fmt.Errorf("%w: payment.refunded without the intent and a valid refund", ErrBadEvent)
		}
	case KindPaymentFailed:
		f := e.Failure
		if f == nil || e.Intent == nil || f.IntentID != e.Intent.ID || f.IntentID == "" || f.PaymentID == "" ||
			!validFailureReason(f.Reason) || len(f.Code) > 16 {
			return fmt.Errorf("%w: payment.failed without the intent and a valid failure", ErrBadEvent)
		}
	case KindSMSReceived:
		if e.SMS == nil {
			return fmt.Errorf("%w: sms.received without the SMS", ErrBadEvent)
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrBadEvent, e.Kind)
	}
	return nil
}

// EncodeEvent returns the JSON record value of e (as encoding/json writes it; see codec.go).
func EncodeEvent(e *Event) ([]byte, error) { return marshalRecord(e) }

// DecodeEvent parses and validates a record value (as encoding/json reads it; see codec.go).
func DecodeEvent(b []byte) (*Event, error) {
	var e Event
	if err := unmarshalRecord(b, &e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}
