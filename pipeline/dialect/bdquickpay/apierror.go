package bdquickpay

import "fmt"

// Error is the dialect's error answer (seed 001): {"status": false, "message": "..."}, with the
// HTTP status the ingest surface chooses.
type Error struct {
	Status  bool   `json:"status"` // always false
	Message string `json:"message"`
}

// NewError is the error answer with message.
func NewError(message string) Error { return Error{Message: message} }

// The seed's fixed error messages, and paystream's for what the seed does not cover.
const (
	MessageUnauthorized = "Unauthorized. Invalid App Key or Secret Key."
	MessageInactive     = "Forbidden. bKash merchant account is inactive."
	MessageNotFound     = "Invoice not found."
	MessageLiveSimulate = "Forbidden. The payment simulator is available with SANDBOX App Keys only."
	MessageValidation   = "Validation error"
)

// FieldErrors are Laravel-style validation errors: field → messages, in the order found.
type FieldErrors map[string][]string

// Add adds a message about field, formatted as fmt.Sprintf(format, args...).
func (fe FieldErrors) Add(field, format string, args ...any) {
	fe[field] = append(fe[field], fmt.Sprintf(format, args...))
}

// ValidationError is the 422 answer to invalid input: {"status": false, "message": "Validation
// error", "errors": {field: [messages]}}.
type ValidationError struct {
	Status  bool        `json:"status"` // always false
	Message string      `json:"message"`
	Errors  FieldErrors `json:"errors"`
}

// NewValidationError is the validation answer listing fe.
func NewValidationError(fe FieldErrors) ValidationError {
	return ValidationError{Message: MessageValidation, Errors: fe}
}
