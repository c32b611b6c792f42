// Package dialect is the contract every merchant dialect implements, and what the dialects share.
//
// A dialect is the flavour of API and webhook a merchant speaks (pipeline.Merchant.Dialect, copied
// onto each of its intents): native (seed 004, SMS-Pay style) or bdQuickPay (seed 001). Each has one
// home, a package beside this one (pipeline/dialect/native, pipeline/dialect/bdquickpay), holding
// everything the dialect puts on the wire: its wire types, time format, status mapping, webhook
// event names and bodies, webhook headers and error shape. Its ingest surface and the webhook sink
// both use that package, so the two ends cannot drift apart. pipeline/dialect/dialects lists the
// dialects paystream speaks.
//
// Like the rest of pipeline, dialect packages hold vocabulary only: pure functions and types, no
// client library, no I/O. Writing an error or a webhook to the network stays with the stages.
//
// # Adding a dialect
//
// Write a package pipeline/dialect/<name> with a Dialect value, list it in dialects.All, and mount
// its ingest surface (its routes, answering in the package's wire types and error shape).
package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/paystream/paystream/pipeline"
)

// ErrUnknown reports a dialect name no dialect answers to (see dialects.For).
var ErrUnknown = errors.New("unknown merchant dialect")

// Webhook is a webhook as every attempt will send it: its event name and exact body bytes. The sink
// renders it once, when it stores the job, so every retry sends the same bytes (signatures and
// receivers' dedupe rely on it). An empty Event means the dialect sends no webhook for the outcome.
type Webhook struct {
	Event string
	Body  []byte
}

// Dialect is what the webhook sink needs of a dialect. Implementations are stateless values, safe
// for concurrent use.
type Dialect interface {
	// Name is the dialect's name as stored on merchants and intents.
	Name() pipeline.Dialect
	// Webhook renders o, an intent status change (pipeline.OutcomeIntentStatus) or a refund
	// (pipeline.OutcomeRefund) of an intent of this dialect, as DecodeOutcome returns it (Intent,
	// and Refund for a refund, are set). It is pure and deterministic: the same outcome always
	// gives the same bytes. It returns Webhook{} (no error) for an outcome the dialect tells the
	// merchant nothing about, and an error only when the body cannot be encoded.
	Webhook(o *pipeline.Outcome) (Webhook, error)
	// Headers returns the request headers the dialect adds to every webhook of merchant m in env,
	// or nil. The sink calls it at delivery with the merchant record as it is then, so the headers
	// follow the merchant's current credentials; they are not covered by the signatures.
	Headers(m *pipeline.Merchant, env pipeline.Environment) http.Header
}

// EncodeBody encodes v as a webhook body of event: JSON without HTML escaping (customer references
// may hold & < >; they are sent as typed) and without the encoder's trailing newline. size is a
// capacity hint, what names the body in the error.
func EncodeBody(event string, v any, size int, what string) (Webhook, error) {
	var buf bytes.Buffer
	buf.Grow(size)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Webhook{}, fmt.Errorf("encoding %s webhook: %w", what, err)
	}
	return Webhook{Event: event, Body: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}, nil
}
