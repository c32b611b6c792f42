package txnapi

import (
	"net/http"
	"regexp"
	"time"

	"github.com/paystream/paystream/ingest"
)

// Field limits of seed 002 (in characters, after trimming spaces) and of paystream.
const (
	txnMaxAccNo     = 11
	txnMaxTrxID     = 32
	txnMaxAccount   = 32
	txnMaxReference = 255
	// txnEarliest is the earliest transaction_datetime accepted: 2000-01-01T00:00:00Z.
	txnEarliest = 946684800
	// txnFutureSkew is how far ahead of ingest's clock a transaction_datetime may be. It allows for
	// clock skew, and refuses milliseconds sent where seconds are expected.
	txnFutureSkew = 24 * time.Hour
	// txnMaxSignature bounds the X-Signature value decoded (hex of 32 bytes is 64 characters).
	txnMaxSignature = 128
)

// txnIDRE is what a transaction_id may contain. bKash TrxIDs are letters and digits; dots, dashes
// and underscores are let through for aggregators that prefix them.
var txnIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// txnAnswer is seed 002's {"code","message","type"} answer.
type txnAnswer struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type"`
}

// txnDeniedAnswer is seed 002's 401 answer, fields in the seed's order.
type txnDeniedAnswer struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
	Errors  string `json:"errors"`
}

// txnInvalidAnswer is seed 002's 422 answer: messages per field.
type txnInvalidAnswer struct {
	Code    int                 `json:"code"`
	Message string              `json:"message"`
	Type    string              `json:"type"`
	Errors  map[string][]string `json:"errors"`
}

var (
	txnAllowed   = txnAnswer{Code: http.StatusOK, Message: "transaction allowed", Type: "success"} // sent with HTTP 202, as the seed shows
	txnAccepted  = txnAnswer{Code: http.StatusAccepted, Message: "transaction accepted", Type: "success"}
	txnRefused   = txnAnswer{Code: http.StatusForbidden, Message: "transaction not allowed", Type: "error"}
	txnDuplicate = txnAnswer{Code: http.StatusBadRequest, Message: "duplicate transaction id", Type: "error"}
	txnDenied    = txnDeniedAnswer{Message: "access denied", Type: "error", Code: http.StatusUnauthorized, Errors: "access denied"}
)

// The answers of the complete route, encoded once.
var (
	txnAcceptedJSON  = ingest.MustJSON(txnAccepted)
	txnDuplicateJSON = ingest.MustJSON(txnDuplicate)
)
