package bdquickpay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/bdquickpay"
)

const (
	// bqpTTL is how long a bdQuickPay payment can be paid (the seed's examples show 30 minutes).
	bqpTTL = 30 * time.Minute
	// maxBQPURL bounds success_url, cancel_url and webhook_url.
	maxBQPURL = 2048
	// maxBQPMetadata bounds the metadata object (encoded), as the native API does.
	maxBQPMetadata = 4096
)

// The dialect's fixed answers: its messages, with the status codes this surface answers them with.
var (
	errBQPUnauthorized = &ingest.APIError{Status: http.StatusUnauthorized, Message: dialect.MessageUnauthorized}
	errBQPInactive     = &ingest.APIError{Status: http.StatusForbidden, Message: dialect.MessageInactive}
	errBQPNotFound     = &ingest.APIError{Status: http.StatusNotFound, Message: dialect.MessageNotFound}
	errBQPLiveSim      = &ingest.APIError{Status: http.StatusForbidden, Message: dialect.MessageLiveSimulate}
)

// writeValidation answers 422 {"status": false, "message": "Validation error", "errors": {...}}
// (dialect.NewValidationError).
func writeValidation(ctx *fasthttp.RequestCtx, fe dialect.FieldErrors) {
	ingest.WriteJSON(ctx, http.StatusUnprocessableEntity, dialect.NewValidationError(fe))
}

// bqpFields parses a request body into its top-level fields. An empty body is an empty object (every
// required field then reports "is required"); anything but a JSON object is a validation error on
// "body", answered as 422 like every other input error of the dialect.
func bqpFields(body []byte) (map[string]json.RawMessage, dialect.FieldErrors) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, dialect.FieldErrors{"body": {"The request body must be a JSON object."}}
	}
	return obj, nil
}

// label is how Laravel names a field in its messages ("success_url" → "success url").
func label(field string) string { return strings.ReplaceAll(field, "_", " ") }

// stringField reads an optional string field the Laravel way: surrounding spaces are trimmed and an
// empty string counts as absent. ok is false (with the error added) for a non-string value.
func stringField(obj map[string]json.RawMessage, field string, fe dialect.FieldErrors) (v string, ok bool) {
	raw, present := obj[field]
	if !present || string(raw) == "null" {
		return "", true
	}
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		fe.Add(field, "The %s must be a string.", label(field))
		return "", false
	}
	return strings.TrimSpace(v), true
}

// requiredString is stringField plus "is required".
func requiredString(obj map[string]json.RawMessage, field string, fe dialect.FieldErrors) (string, bool) {
	v, ok := stringField(obj, field, fe)
	if ok && v == "" {
		fe.Add(field, "The %s field is required.", label(field))
		return "", false
	}
	return v, ok
}

// urlField validates an optional http(s) URL field; required adds "is required" when absent.
func urlField(obj map[string]json.RawMessage, field string, required bool, fe dialect.FieldErrors) string {
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
		fe.Add(field, "The %s must not be greater than %d characters.", label(field), maxBQPURL)
		return ""
	}
	if ingest.ValidURL(field, v) != nil {
		fe.Add(field, "The %s must be a valid URL.", label(field))
		return ""
	}
	return v
}

// amountField reads a required amount in taka under ParseAmount's rule, with paisa allowed.
func amountField(obj map[string]json.RawMessage, field string, fe dialect.FieldErrors) (pipeline.Money, bool) {
	m, p := ingest.ParseAmount(obj[field], ingest.WithPaisa)
	if p != ingest.AmountOK {
		fe.Add(field, amountMessage(p), label(field))
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
