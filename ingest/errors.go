package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline/dialect/native"
)

// APIError is an error answered to a client with its status and message, in the error shape of
// the surface the request's path belongs to (native, seed 004: {"statusCode": 400, "message":
// "...", "error": "Bad Request"}). Handlers return or answer it; it never carries internal detail.
type APIError struct {
	Status     int
	Message    string
	RetryAfter int // seconds; set on 429/503
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// Errf returns an *APIError of status with a formatted message (shown to the client as is).
func Errf(status int, format string, args ...any) *APIError {
	return &APIError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// ErrConfig reports a Config or Deps that New cannot build a server from.
var ErrConfig = errors.New("ingest: invalid configuration")

var (
	errUnauthorized = &APIError{Status: http.StatusUnauthorized, Message: "Missing or invalid API key"}
	// ErrUnavailable is the answer when a dependency (Redis, Kafka) failed: 503 + Retry-After;
	// retrying is safe.
	ErrUnavailable = &APIError{Status: http.StatusServiceUnavailable, Message: "Service temporarily unavailable, retry later", RetryAfter: 1}
	errBusy        = &APIError{Status: http.StatusServiceUnavailable, Message: "Too many requests in flight, retry later", RetryAfter: 1}
)

// WriteError answers err in the error shape of the surface the request's path belongs to (the
// ErrorWriter a mounted surface registered for it, else the shapes below). Errors that are not
// *APIError are internal: they are logged by the caller and answered as 503 (a dependency failed:
// retrying is safe), never with their text. Surfaces with richer error bodies (per-field
// validation errors) write those themselves.
func WriteError(ctx *fasthttp.RequestCtx, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = ErrUnavailable
	}
	if ae.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", fmt.Sprint(ae.RetryAfter))
	}
	if s, ok := ctx.UserValue(serverKey{}).(*Server); ok {
		s.shapeFor(ctx.Path())(ctx, ae)
		return
	}
	writeNativeError(ctx, ae)
}

// writeNativeError is the edge's own ErrorWriter, for paths of no mounted surface: the native
// dialect's error (pipeline/dialect/native.Error).
func writeNativeError(ctx *fasthttp.RequestCtx, ae *APIError) {
	WriteJSON(ctx, ae.Status, native.NewError(ae.Status, ae.Message))
}

// WriteJSON answers status with v as JSON (a 503 if v does not encode).
func WriteJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusServiceUnavailable, []byte(`{"statusCode":503,"message":"encoding response failed","error":"Service Unavailable"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

// MustJSON encodes v, which must encode (a fixed answer), once: for WriteJSONBytes. It panics
// otherwise, at start.
func MustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding a fixed answer: %v", err))
	}
	return b
}

// WriteJSONBytes answers status with b, a JSON document encoded once (MustJSON): the fixed answers
// of the hot routes, without encoding them on every request.
func WriteJSONBytes(ctx *fasthttp.RequestCtx, status int, b []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

// DecodeJSON parses a JSON object body into v; nil, or a clear 400 for the usual mistakes.
func DecodeJSON(body []byte, v any) *APIError {
	if len(body) == 0 {
		return Errf(http.StatusBadRequest, "Request body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return Errf(http.StatusBadRequest, "%s must be a %s", te.Field, JSONKind(te.Type.Kind().String()))
		case errors.As(err, &te):
			return Errf(http.StatusBadRequest, "Request body must be a JSON object")
		case errors.As(err, &se):
			return Errf(http.StatusBadRequest, "Malformed JSON at byte %d", se.Offset)
		default:
			return Errf(http.StatusBadRequest, "Malformed JSON: %s", trimErr(err.Error()))
		}
	}
	return nil
}

// JSONKind names a Go kind (reflect.Kind.String) as the JSON type a client must send: for
// "<field> must be a <kind>" messages.
func JSONKind(k string) string {
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
