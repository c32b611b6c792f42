package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/valyala/fasthttp"
)

// apiError is an error answered to a client in the native shape of seed 004:
// {"statusCode": 400, "message": "...", "error": "Bad Request"}.
type apiError struct {
	Status     int
	Message    string
	RetryAfter int // seconds; set on 429/503
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

func errf(status int, format string, args ...any) *apiError {
	return &apiError{Status: status, Message: fmt.Sprintf(format, args...)}
}

var (
	errUnauthorized = &apiError{Status: http.StatusUnauthorized, Message: "Missing or invalid API key"}
	errNotFound     = &apiError{Status: http.StatusNotFound, Message: "Payment intent not found"}
	errUnavailable  = &apiError{Status: http.StatusServiceUnavailable, Message: "Service temporarily unavailable, retry later", RetryAfter: 1}
	errBusy         = &apiError{Status: http.StatusServiceUnavailable, Message: "Too many requests in flight, retry later", RetryAfter: 1}
)

// errRotationRace reports a key rotation that lost to a concurrent one: the key it would have
// replaced was replaced first (directory.rotateKey).
var errRotationRace = errors.New("api key rotated concurrently")

type nativeError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
}

// surface is the API dialect a path belongs to; each answers errors in its seed's own shape.
type surface int

const (
	surfaceNative     surface = iota // seed 004: {"statusCode","message","error"}
	surfaceBDQuickPay                // seed 001: {"status": false, "message"}
	surfaceTxnAPI                    // seed 002: {"code","message","type":"error"}
	surfaceSNS                       // seed 003: {"code","message"}
)

// Path prefixes of the seed surfaces.
const (
	prefixBDQuickPay = "/api/bkash/v1/"
	prefixTxnAPI     = "/api/external/v1/bkash/"
	prefixSNS        = "/webhooks/notifications"
)

func surfaceOf(path []byte) surface {
	switch {
	case bytes.HasPrefix(path, []byte(prefixBDQuickPay)):
		return surfaceBDQuickPay
	case bytes.HasPrefix(path, []byte(prefixTxnAPI)):
		return surfaceTxnAPI
	case bytes.HasPrefix(path, []byte(prefixSNS)):
		return surfaceSNS
	}
	return surfaceNative
}

// writeError answers err in the error shape of the surface the request's path belongs to. Errors
// that are not *apiError are internal: they are logged by the caller and answered as 503 (a
// dependency failed: retrying is safe), never with their text. Surfaces with richer error bodies
// (per-field validation errors) write those themselves.
func writeError(ctx *fasthttp.RequestCtx, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errUnavailable
	}
	if ae.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", fmt.Sprint(ae.RetryAfter))
	}
	switch surfaceOf(ctx.Path()) {
	case surfaceBDQuickPay:
		writeJSON(ctx, ae.Status, map[string]any{"status": false, "message": ae.Message})
	case surfaceTxnAPI:
		writeJSON(ctx, ae.Status, map[string]any{"code": ae.Status, "message": ae.Message, "type": "error"})
	case surfaceSNS:
		writeJSON(ctx, ae.Status, map[string]any{"code": ae.Status, "message": ae.Message})
	default:
		writeJSON(ctx, ae.Status, nativeError{StatusCode: ae.Status, Message: ae.Message, Error: http.StatusText(ae.Status)})
	}
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusServiceUnavailable, []byte(`{"statusCode":503,"message":"encoding response failed","error":"Service Unavailable"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

// decodeJSON parses a JSON object body into v, answering clear 400s for the usual mistakes.
func decodeJSON(body []byte, v any) *apiError {
	if len(body) == 0 {
		return errf(http.StatusBadRequest, "Request body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return errf(http.StatusBadRequest, "%s must be a %s", te.Field, jsonKind(te.Type.Kind().String()))
		case errors.As(err, &te):
			return errf(http.StatusBadRequest, "Request body must be a JSON object")
		case errors.As(err, &se):
			return errf(http.StatusBadRequest, "Malformed JSON at byte %d", se.Offset)
		default:
			return errf(http.StatusBadRequest, "Malformed JSON: %s", trimErr(err.Error()))
		}
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	default:
		return "valid value"
	}
}

func trimErr(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
