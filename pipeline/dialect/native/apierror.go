package native

import "net/http"

// Error is the dialect's error answer (seed 004): {"statusCode": 400, "message": "...", "error":
// "Bad Request"}. The ingest surface writes it with the status code it carries.
type Error struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
}

// NewError is the answer of HTTP status code status with message: error is the status's text.
func NewError(status int, message string) Error {
	return Error{StatusCode: status, Message: message, Error: http.StatusText(status)}
}
