package bkash

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// Transaction statuses bKash reports (transactionStatus).
const (
	StatusInitiated = "Initiated"
	StatusCompleted = "Completed"
	StatusCancelled = "Cancelled"
	StatusFailed    = "Failed"
	StatusExpired   = "Expired"
)

// CreateRequest is a tokenized checkout payment to create. Mode is always "0011" (checkout
// without agreement), currency BDT and intent "sale".
type CreateRequest struct {
	Amount                pipeline.Money // positive
	PayerReference        string         // shown to the customer; bKash prefills the wallet number with it if it is one
	CallbackURL           string         // where bKash sends the customer back (?paymentID=&status=)
	MerchantInvoiceNumber string         // paystream's intent id
}

// Payment is bKash's view of a payment (create, execute, payment/status). Raw is bKash's answer
// byte for byte, for the audit.
type Payment struct {
	PaymentID             string         `json:"paymentID"`
	BkashURL              string         `json:"bkashURL,omitempty"`
	CallbackURL           string         `json:"callbackURL,omitempty"`
	TrxID                 string         `json:"trxID,omitempty"`
	TransactionStatus     string         `json:"transactionStatus"`
	Amount                string         `json:"amount"`
	Currency              string         `json:"currency"`
	Intent                string         `json:"intent"`
	MerchantInvoiceNumber string         `json:"merchantInvoiceNumber"`
	MerchantInvoice       string         `json:"merchantInvoice,omitempty"` // payment/status spells it so
	PayerReference        string         `json:"payerReference,omitempty"`
	CustomerMsisdn        string         `json:"customerMsisdn,omitempty"`
	PayerAccount          string         `json:"payerAccount,omitempty"`
	PaymentCreateTime     string         `json:"paymentCreateTime,omitempty"`
	PaymentExecuteTime    string         `json:"paymentExecuteTime,omitempty"`
	StatusCode            string         `json:"statusCode"`
	StatusMessage         string         `json:"statusMessage"`
	Money                 pipeline.Money `json:"-"` // Amount parsed
	ExecutedAt            time.Time      `json:"-"` // PaymentExecuteTime parsed (zero if absent)
	Raw                   []byte         `json:"-"`
}

// Invoice returns the merchant invoice number whichever field carried it.
func (p *Payment) Invoice() string {
	if p.MerchantInvoiceNumber != "" {
		return p.MerchantInvoiceNumber
	}
	return p.MerchantInvoice
}

// Completed reports whether the money moved (transactionStatus Completed with a TrxID).
func (p *Payment) Completed() bool { return p.TransactionStatus == StatusCompleted && p.TrxID != "" }

// Payer returns the customer's wallet number, whichever field carried it.
func (p *Payment) Payer() string {
	if p.CustomerMsisdn != "" {
		return p.CustomerMsisdn
	}
	return p.PayerAccount
}

func (p *Payment) finish(op string, raw []byte) error {
	p.Raw = raw
	if p.PaymentID == "" {
		return fmt.Errorf("%w: bkash %s answered without paymentID", ErrBadResponse, op)
	}
	if p.Amount != "" {
		m, err := pipeline.ParseMoney(p.Amount)
		if err != nil {
			return fmt.Errorf("%w: bkash %s amount %q: %w", ErrBadResponse, op, p.Amount, err)
		}
		p.Money = m
	}
	t, err := ParseTime(p.PaymentExecuteTime)
	if err != nil {
		return fmt.Errorf("%w: bkash %s paymentExecuteTime: %w", ErrBadResponse, op, err)
	}
	p.ExecutedAt = t
	return nil
}

// Create creates a payment (POST tokenized/checkout/create). The customer pays at BkashURL.
func (c *Client) Create(ctx context.Context, cr *Credentials, r CreateRequest) (*Payment, error) {
	if r.Amount <= 0 || r.CallbackURL == "" || r.MerchantInvoiceNumber == "" {
		return nil, fmt.Errorf("%w: create needs a positive amount, a callback URL and an invoice number", ErrInvalidRequest)
	}
	payer := r.PayerReference
	if payer == "" {
		payer = r.MerchantInvoiceNumber
	}
	var p Payment
	raw, err := c.call(ctx, cr, "create", "/tokenized/checkout/create", map[string]string{
		"mode": "0011", "payerReference": payer, "callbackURL": r.CallbackURL, "amount": r.Amount.String(),
		"currency": "BDT", "intent": "sale", "merchantInvoiceNumber": r.MerchantInvoiceNumber,
	}, &p)
	if err != nil {
		return nil, err
	}
	if err := p.finish("create", raw); err != nil {
		return nil, err
	}
	if p.BkashURL == "" {
		return nil, fmt.Errorf("%w: bkash create answered without bkashURL", ErrBadResponse)
	}
	return &p, nil
}

// Execute executes an approved payment (POST tokenized/checkout/execute). On success the payment
// is Completed with a TrxID. If the answer is ambiguous (Ambiguous(err): a timeout, 2117 "already
// called", ...), the payment may or may not have completed: ask Query.
func (c *Client) Execute(ctx context.Context, cr *Credentials, paymentID string) (*Payment, error) {
	return c.paymentOp(ctx, cr, "execute", "/tokenized/checkout/execute", paymentID)
}

// Query asks for a payment's status (POST tokenized/checkout/payment/status). bKash asks
// integrators to wait before querying after an execute without answer; callers do that wait.
func (c *Client) Query(ctx context.Context, cr *Credentials, paymentID string) (*Payment, error) {
	return c.paymentOp(ctx, cr, "query", "/tokenized/checkout/payment/status", paymentID)
}

func (c *Client) paymentOp(ctx context.Context, cr *Credentials, op, path, paymentID string) (*Payment, error) {
	if paymentID == "" {
		return nil, fmt.Errorf("%w: %s needs a paymentID", ErrInvalidRequest, op)
	}
	var p Payment
	raw, err := c.call(ctx, cr, op, path, map[string]string{"paymentID": paymentID}, &p)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) {
			se.Raw = raw
		}
		return nil, err
	}
	if err := p.finish(op, raw); err != nil {
		return nil, err
	}
	return &p, nil
}

// RefundRequest refunds all or part of a completed payment.
type RefundRequest struct {
	PaymentID string
	TrxID     string         // the payment's TrxID
	Amount    pipeline.Money // positive, at most what is left to refund
	SKU       string         // what is refunded (bKash requires it; at most 255 characters)
	Reason    string         // at most 255 characters
}

// Refund is bKash's answer to a refund (or refund status) request.
type Refund struct {
	OriginalTrxID     string         `json:"originalTrxID"`
	RefundTrxID       string         `json:"refundTrxID"`
	TransactionStatus string         `json:"transactionStatus"`
	Amount            string         `json:"amount"`
	Currency          string         `json:"currency"`
	Charge            string         `json:"charge"`
	CompletedTime     string         `json:"completedTime"`
	StatusCode        string         `json:"statusCode"`
	StatusMessage     string         `json:"statusMessage"`
	Money             pipeline.Money `json:"-"`
	CompletedAt       time.Time      `json:"-"`
	Raw               []byte         `json:"-"`
}

func (r *Refund) finish(op string, raw []byte) error {
	r.Raw = raw
	if r.RefundTrxID == "" || r.TransactionStatus != StatusCompleted {
		return fmt.Errorf("%w: bkash %s answered without a completed refund", ErrBadResponse, op)
	}
	m, err := pipeline.ParseMoney(r.Amount)
	if err != nil {
		return fmt.Errorf("%w: bkash %s amount %q: %w", ErrBadResponse, op, r.Amount, err)
	}
	r.Money = m
	if r.CompletedAt, err = ParseTime(r.CompletedTime); err != nil {
		return fmt.Errorf("%w: bkash %s completedTime: %w", ErrBadResponse, op, err)
	}
	return nil
}

// Refund refunds (POST tokenized/checkout/payment/refund with paymentID, amount, trxID, sku,
// reason). A refund that times out may have happened: ask RefundStatus before refunding again.
func (c *Client) Refund(ctx context.Context, cr *Credentials, r RefundRequest) (*Refund, error) {
	if r.PaymentID == "" || r.TrxID == "" || r.Amount <= 0 {
		return nil, fmt.Errorf("%w: refund needs a paymentID, a trxID and a positive amount", ErrInvalidRequest)
	}
	sku, reason := r.SKU, r.Reason
	if sku == "" {
		sku = "refund"
	}
	if reason == "" {
		reason = "refund"
	}
	var out Refund
	raw, err := c.call(ctx, cr, "refund", "/tokenized/checkout/payment/refund", map[string]string{
		"paymentID": r.PaymentID, "amount": r.Amount.String(), "trxID": r.TrxID, "sku": limit(sku, 255), "reason": limit(reason, 255),
	}, &out)
	if err != nil {
		return nil, err
	}
	if err := out.finish("refund", raw); err != nil {
		return nil, err
	}
	return &out, nil
}

// RefundStatus asks for a payment's refund (the same endpoint with paymentID and trxID only).
func (c *Client) RefundStatus(ctx context.Context, cr *Credentials, paymentID, trxID string) (*Refund, error) {
	if paymentID == "" || trxID == "" {
		return nil, fmt.Errorf("%w: refund status needs a paymentID and a trxID", ErrInvalidRequest)
	}
	var out Refund
	raw, err := c.call(ctx, cr, "refund_status", "/tokenized/checkout/payment/refund", map[string]string{
		"paymentID": paymentID, "trxID": trxID,
	}, &out)
	if err != nil {
		return nil, err
	}
	if err := out.finish("refund_status", raw); err != nil {
		return nil, err
	}
	return &out, nil
}

// Transaction is bKash's answer to a transaction search.
type Transaction struct {
	TrxID             string `json:"trxID"`
	TransactionStatus string `json:"transactionStatus"`
	TransactionType   string `json:"transactionType"`
	Amount            string `json:"amount"`
	Currency          string `json:"currency"`
	CustomerMsisdn    string `json:"customerMsisdn"`
	InitiationTime    string `json:"initiationTime"`
	CompletedTime     string `json:"completedTime"`
	StatusCode        string `json:"statusCode"`
	StatusMessage     string `json:"statusMessage"`
	Raw               []byte `json:"-"`
}

// SearchTransaction looks a TrxID up (POST tokenized/checkout/general/searchTransaction).
func (c *Client) SearchTransaction(ctx context.Context, cr *Credentials, trxID string) (*Transaction, error) {
	if trxID == "" {
		return nil, fmt.Errorf("%w: search needs a trxID", ErrInvalidRequest)
	}
	var out Transaction
	raw, err := c.call(ctx, cr, "search", "/tokenized/checkout/general/searchTransaction", map[string]string{"trxID": trxID}, &out)
	if err != nil {
		return nil, err
	}
	out.Raw = raw
	if out.TrxID == "" {
		return nil, fmt.Errorf("%w: bkash search answered without trxID", ErrBadResponse)
	}
	return &out, nil
}

func limit(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
