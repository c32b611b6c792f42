// Package bdquickpay is the home of the bdQuickPay merchant dialect (seed 001): X-App-Key and
// X-Secret-Key credentials, snake_case bodies, {"status": bool, ...} answers, Laravel-style
// validation errors, invoice ids of 20 upper-case letters and digits (the intent id), and two
// webhook events (payment.completed, payment.failed) to which paystream adds payment.refunded.
//
// The bdQuickPay ingest surface and the webhook sink both speak it from here. Everything is pure;
// see package dialect for the contract.
package bdquickpay

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// Name is the dialect's name on merchants and intents.
const Name = pipeline.DialectBDQuickPay

// TimeFormat is how the dialect writes time: ISO 8601 in UTC with "+00:00", whole seconds.
const TimeFormat = "2006-01-02T15:04:05-07:00"

// FormatTime writes t in TimeFormat, in UTC ("2026-03-21T10:30:00+00:00").
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// RetryDelay is seed 001's webhook retry delay ("retried after 5 minutes"): the first backoff of
// the webhook endpoints of merchants of this dialect (pipeline.WebhookEndpoint.BackoffBase, set
// when the merchant is created).
const RetryDelay = 5 * time.Minute

// PaymentMethod is the payment_method of every payment and webhook: the dialect is bKash only.
const PaymentMethod = "bkash"

// HeaderAppKey carries the merchant's App Key: on every request (with HeaderSecretKey) and on
// every webhook, where the seed tells receivers to check it.
const (
	HeaderAppKey    = "X-App-Key"
	HeaderSecretKey = "X-Secret-Key"
)

// Amount writes m as a JSON number of taka without trailing zeros (500, 500.5, 500.05).
func Amount(m pipeline.Money) json.Number {
	s := m.String()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
	}
	return json.Number(s)
}

// Status maps an intent status to the dialect's payment status, as create and verify answer it:
// PENDING and REVIEW_REQUIRED (an operator has not decided yet) are pending, PAID is completed,
// EXPIRED is expired, REJECTED and FAILED are failed. Webhooks say less (see WebhookEvent): the
// seed's payment.failed also covers a timeout, so an expired invoice's webhook says failed.
func Status(st pipeline.Status) string {
	switch st {
	case pipeline.StatusPaid:
		return StatusCompleted
	case pipeline.StatusExpired:
		return StatusExpired
	case pipeline.StatusRejected, pipeline.StatusFailed:
		return StatusFailed
	default:
		return StatusPending
	}
}

// Payment statuses, and a refund webhook's status.
const (
	StatusPending   = "pending"
	StatusCompleted = "completed"
	StatusExpired   = "expired"
	StatusFailed    = "failed"
	StatusRefunded  = "refunded"
)

// InvoiceIDLen is the length of an invoice id ("GALQYVTGASTRGOISR1FO").
const InvoiceIDLen = 20

const invoiceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

var invoiceIDRE = regexp.MustCompile(`^[A-Z0-9]{20}$`)

// ValidInvoiceID reports whether id has the form of an invoice id. Anything else is an unknown
// invoice, answered as such without a lookup.
func ValidInvoiceID(id string) bool { return invoiceIDRE.MatchString(id) }

// NewInvoiceID returns InvoiceIDLen characters drawn uniformly from A-Z0-9 with crypto/rand (103
// bits): the id of a new bdQuickPay intent.
func NewInvoiceID() string {
	var out [InvoiceIDLen]byte
	var buf [32]byte
	for n := 0; n < len(out); {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never returns an error; it crashes the program instead
		for _, b := range buf {
			if b >= 252 { // 252 = 7*36: rejecting the rest keeps every character equally likely
				continue
			}
			out[n] = invoiceAlphabet[b%36]
			if n++; n == len(out) {
				break
			}
		}
	}
	return string(out[:])
}

// PaymentID is the seed's integer payment_id of invoice intentID, derived from the id so that it
// is stable across retries and replays: the first 6 bytes of SHA-256(intent id) as a big-endian
// unsigned integer (at most 2^48-1, exact in every JSON parser), never 0. Receivers store it:
// never change the derivation.
func PaymentID(intentID string) uint64 {
	sum := sha256.Sum256([]byte(intentID))
	var b [8]byte
	copy(b[2:], sum[:6])
	return max(binary.BigEndian.Uint64(b[:]), 1)
}

// Dialect is the bdQuickPay dialect as the webhook sink uses it (dialect.Dialect).
type Dialect struct{}

// Name returns Name.
func (Dialect) Name() pipeline.Dialect { return Name }

// Headers is X-App-Key: the merchant's App Key of env; nil when the merchant has none for env.
func (Dialect) Headers(m *pipeline.Merchant, env pipeline.Environment) http.Header {
	if m == nil {
		return nil
	}
	k := m.AppKeys[env]
	if k == "" {
		return nil
	}
	return http.Header{HeaderAppKey: {k}}
}
