package bdquickpay

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

const (
	// bqpTTL is how long a bdQuickPay payment can be paid (the seed's examples show 30 minutes).
	bqpTTL = 30 * time.Minute
	// bqpTimeFormat is how the dialect writes times: ISO 8601 in UTC, seconds, "+00:00".
	bqpTimeFormat = "2006-01-02T15:04:05-07:00"
	// invoiceIDLen is the length of an invoice id ("GALQYVTGASTRGOISR1FO").
	invoiceIDLen = 20
	// maxBQPURL bounds success_url, cancel_url and webhook_url.
	maxBQPURL = 2048
	// maxBQPMetadata bounds the metadata object (encoded), as the native API does.
	maxBQPMetadata = 4096
)

const invoiceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// The dialect's fixed answers.
var (
	errBQPUnauthorized = &ingest.APIError{Status: http.StatusUnauthorized, Message: "Unauthorized. Invalid App Key or Secret Key."}
	errBQPInactive     = &ingest.APIError{Status: http.StatusForbidden, Message: "Forbidden. bKash merchant account is inactive."}
	errBQPNotFound     = &ingest.APIError{Status: http.StatusNotFound, Message: "Invoice not found."}
	errBQPLiveSim      = &ingest.APIError{Status: http.StatusForbidden, Message: "Forbidden. The payment simulator is available with SANDBOX App Keys only."}
)

// newInvoiceID returns 20 characters drawn uniformly from A-Z0-9 with crypto/rand (103 bits).
func newInvoiceID() string {
	var out [invoiceIDLen]byte
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

// bqpTime writes t the way the dialect does ("2026-03-21T10:30:00+00:00").
func bqpTime(t time.Time) string { return t.UTC().Format(bqpTimeFormat) }

// bqpAmount writes m as a JSON number of taka without trailing zeros (500, 500.5, 500.05).
func bqpAmount(m pipeline.Money) json.Number {
	s := m.String()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
	}
	return json.Number(s)
}

// fieldErrors are Laravel-style validation errors: field → messages.
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, format string, args ...any) {
	fe[field] = append(fe[field], fmt.Sprintf(format, args...))
}

// writeValidation answers 422 {"status": false, "message": "Validation error", "errors": {...}}.
func writeValidation(ctx *fasthttp.RequestCtx, fe fieldErrors) {
	ingest.WriteJSON(ctx, http.StatusUnprocessableEntity, struct {
		Status  bool        `json:"status"`
		Message string      `json:"message"`
		Errors  fieldErrors `json:"errors"`
	}{false, "Validation error", fe})
}

// bqpFields parses a request body into its top-level fields. An empty body is an empty object (every
// required field then reports "is required"); anything but a JSON object is a validation error on
// "body", answered as 422 like every other input error of the dialect.
func bqpFields(body []byte) (map[string]json.RawMessage, fieldErrors) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, fieldErrors{"body": {"The request body must be a JSON object."}}
	}
	return obj, nil
}

// label is how Laravel names a field in its messages ("success_url" → "success url").
func label(field string) string { return strings.ReplaceAll(field, "_", " ") }

// stringField reads an optional string field the Laravel way: surrounding spaces are trimmed and an
// empty string counts as absent. ok is false (with the error added) for a non-string value.
func stringField(obj map[string]json.RawMessage, field string, fe fieldErrors) (v string, ok bool) {
	raw, present := obj[field]
	if !present || string(raw) == "null" {
		return "", true
	}
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		fe.add(field, "The %s must be a string.", label(field))
		return "", false
	}
	return strings.TrimSpace(v), true
}

// requiredString is stringField plus "is required".
func requiredString(obj map[string]json.RawMessage, field string, fe fieldErrors) (string, bool) {
	v, ok := stringField(obj, field, fe)
	if ok && v == "" {
		fe.add(field, "The %s field is required.", label(field))
		return "", false
	}
	return v, ok
}

// urlField validates an optional http(s) URL field; required adds "is required" when absent.
func urlField(obj map[string]json.RawMessage, field string, required bool, fe fieldErrors) string {
	var v string
	var ok bool
	if required {
		v, ok = requiredString(obj, field, fe)
	} else {
		v, ok = stringField(obj, field, fe)
	}
	if !ok || v == "" {
		return ""
	}
	if len(v) > maxBQPURL {
		fe.add(field, "The %s must not be greater than %d characters.", label(field), maxBQPURL)
		return ""
	}
	if ingest.ValidURL(field, v) != nil {
		fe.add(field, "The %s must be a valid URL.", label(field))
		return ""
	}
	return v
}

// amountField reads a required amount in taka under ParseAmount's rule, with paisa allowed.
func amountField(obj map[string]json.RawMessage, field string, fe fieldErrors) (pipeline.Money, bool) {
	m, p := ingest.ParseAmount(obj[field], ingest.WithPaisa)
	if p != ingest.AmountOK {
		fe.add(field, amountMessage(p), label(field))
		return 0, false
	}
	return m, true
}

// amountMessage words p as a Laravel validation message of seed 001 (one %s: the field's
// label), "" for ingest.AmountOK.
func amountMessage(p ingest.AmountProblem) string {
	switch p {
	case ingest.AmountMissing:
		return "The %s field is required."
	case ingest.AmountNotNumber:
		return "The %s must be a number."
	case ingest.AmountNotPositive:
		return "The %s must be greater than 0."
	case ingest.AmountTooLarge:
		return "The %s must not be greater than " + ingest.MaxAmountText + "."
	case ingest.AmountTooPrecise:
		return "The %s must have at most 2 decimal places."
	}
	return ""
}
