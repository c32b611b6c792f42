package bkash

import (
	"errors"
	"fmt"
)

// Transport and configuration errors.
var (
	// ErrCredentials: bKash refused the credentials (token grant without a token, or 403 on a call).
	// Fix the username, password, app key or app secret; retrying does not help.
	ErrCredentials = errors.New("bkash refused the credentials")
	// ErrTokenRejected: bKash refused a freshly refreshed token too (401 twice in a row).
	ErrTokenRejected = errors.New("bkash refused the access token after a refresh")
	// ErrTokenBusy: another replica held the token lock and no valid token appeared in time.
	ErrTokenBusy = errors.New("bkash token is being renewed by another replica; retry shortly")
	// ErrTimeout: no answer before the call's deadline. The call may have taken effect at bKash.
	ErrTimeout = errors.New("bkash did not answer in time")
	// ErrTransport: the connection failed or bKash answered 5xx or garbage. The call may have taken
	// effect at bKash.
	ErrTransport = errors.New("bkash could not be reached")
	// ErrResponseTooLarge: the answer exceeded Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("bkash answer is too large")
	// ErrBadResponse: bKash answered 200 with JSON that lacks what the operation must return.
	ErrBadResponse = errors.New("bkash answer is malformed")
	// ErrEnvironment: an upstream does not fit the environment it is declared for (a LIVE base URL
	// at bKash's sandbox or plain http, a SANDBOX one at bKash production, an undeclared
	// environment), or a LIVE call was answered by a simulator. Fix the configuration.
	ErrEnvironment = errors.New("bkash upstream does not belong to the environment it serves")
	// ErrBadSecretRef: a secret reference is neither env:NAME nor file:PATH, or points at nothing.
	ErrBadSecretRef = errors.New("secret reference must be env:NAME or file:PATH naming a non-empty value")
)

// Outcome is what a bKash statusCode means for the payment (or refund) concerned.
type Outcome string

// Outcomes of bKash status codes (see Classify).
const (
	OutcomeOK                  Outcome = "ok"
	OutcomeFailed              Outcome = "failed"               // declined: wrong PIN/OTP, limits, unknown codes
	OutcomeCancelled           Outcome = "cancelled"            // the payment was cancelled
	OutcomeInsufficientBalance Outcome = "insufficient_balance" // 2023
	OutcomeDuplicate           Outcome = "duplicate"            // 2029, 2117: already requested; ask payment/status
	OutcomeInvalidState        Outcome = "invalid_state"        // 2056: e.g. execute before the customer approved
	OutcomeAlreadyCompleted    Outcome = "already_completed"    // 2062, 2068
	OutcomeInvalidRequest      Outcome = "invalid_request"      // 2001, 2006, 2007, ...: a bug or bad input on our side
	OutcomeNotFound            Outcome = "not_found"            // 2002, 2033
	OutcomeRefundRefused       Outcome = "refund_refused"       // 2026, 2034, ...
	OutcomeUnavailable         Outcome = "unavailable"          // 503, 9999: bKash is down; retry later
)

// Sentinels matching a *StatusError of each outcome through errors.Is.
var (
	ErrDeclined            = errors.New("bkash declined the payment")
	ErrCancelled           = errors.New("bkash payment was cancelled")
	ErrInsufficientBalance = errors.New("bkash: insufficient balance")
	ErrDuplicate           = errors.New("bkash: duplicate request")
	ErrInvalidState        = errors.New("bkash: invalid payment state")
	ErrAlreadyCompleted    = errors.New("bkash: payment already completed")
	ErrInvalidRequest      = errors.New("bkash: invalid request")
	ErrNotFound            = errors.New("bkash: payment or transaction not found")
	ErrRefundRefused       = errors.New("bkash refused the refund")
	ErrUnavailable         = errors.New("bkash is unavailable")
)

var outcomeErr = map[Outcome]error{
	OutcomeFailed: ErrDeclined, OutcomeCancelled: ErrCancelled, OutcomeInsufficientBalance: ErrInsufficientBalance,
	OutcomeDuplicate: ErrDuplicate, OutcomeInvalidState: ErrInvalidState, OutcomeAlreadyCompleted: ErrAlreadyCompleted,
	OutcomeInvalidRequest: ErrInvalidRequest, OutcomeNotFound: ErrNotFound, OutcomeRefundRefused: ErrRefundRefused,
	OutcomeUnavailable: ErrUnavailable,
}

// codeOutcome is bKash's published error code list (Tokenized Checkout), reduced to outcomes.
// Codes not listed are OutcomeFailed.
var codeOutcome = map[string]Outcome{
	"0000": OutcomeOK,
	"2001": OutcomeInvalidRequest, // Invalid App Key
	"2002": OutcomeNotFound,       // Invalid Payment ID
	"2003": OutcomeFailed,         // Process failed
	"2006": OutcomeInvalidRequest, // Invalid amount
	"2007": OutcomeInvalidRequest, // Invalid currency
	"2008": OutcomeInvalidRequest, // Invalid intent
	"2009": OutcomeFailed,         // Invalid Wallet
	"2010": OutcomeFailed,         // Invalid OTP
	"2011": OutcomeFailed,         // Invalid PIN
	"2014": OutcomeFailed,         // Wrong PIN
	"2015": OutcomeFailed,         // Wrong PIN count exceeded
	"2018": OutcomeFailed,         // OTP verification time expired
	"2019": OutcomeFailed,         // PIN verification time expired
	"2023": OutcomeInsufficientBalance,
	"2025": OutcomeInvalidRequest, // Invalid request body
	"2026": OutcomeRefundRefused,  // reversal amount greater than the original amount
	"2028": OutcomeRefundRefused,  // reverse failed: transaction does not exist
	"2029": OutcomeDuplicate,      // Duplicate for all transactions
	"2031": OutcomeInvalidRequest, // Invalid merchant invoice number
	"2033": OutcomeNotFound,       // Transaction not found
	"2034": OutcomeRefundRefused,  // original transaction already reversed
	"2035": OutcomeRefundRefused,  // no permission to reverse
	"2048": OutcomeInvalidRequest, // Invalid Payer Reference
	"2049": OutcomeInvalidRequest, // Invalid Merchant Callback URL
	"2056": OutcomeInvalidState,   // Invalid Payment State
	"2060": OutcomeInvalidState,   // Payment execution pre-requisite hasn't been met
	"2062": OutcomeAlreadyCompleted,
	"2063": OutcomeInvalidRequest, // Mode is not valid as per request data
	"2065": OutcomeInvalidRequest, // Mandatory field missing
	"2068": OutcomeAlreadyCompleted,
	"2069": OutcomeCancelled, // Transaction has already been cancelled
	"2117": OutcomeDuplicate, // Payment execution already been called before
	"503":  OutcomeUnavailable,
	"9999": OutcomeUnavailable,
}

// Classify maps a bKash statusCode to its outcome ("" and "0000" are OutcomeOK).
func Classify(code string) Outcome {
	if code == "" {
		return OutcomeOK
	}
	if o, ok := codeOutcome[code]; ok {
		return o
	}
	return OutcomeFailed
}

// metricCode bounds the statusCode label: known codes as is, others "other".
func metricCode(code string) string {
	if code == "" {
		return "none"
	}
	if _, ok := codeOutcome[code]; ok {
		return code
	}
	return "other"
}

// StatusError is bKash's answer with a statusCode other than "0000". Raw is the answer byte for
// byte, for the audit.
type StatusError struct {
	Op         string // grant, refresh, create, execute, query, refund, refund_status, search
	Code       string
	Message    string
	Outcome    Outcome
	HTTPStatus int
	Raw        []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("bkash %s: %s %s", e.Op, e.Code, e.Message)
}

// Unwrap returns the outcome's sentinel, so errors.Is(err, ErrInsufficientBalance) works.
func (e *StatusError) Unwrap() error { return outcomeErr[e.Outcome] }

// Ambiguous reports whether err leaves the payment's fate unknown, so that the caller must ask
// payment/status (Client.Query) before deciding: a timeout, a transport failure, bKash down, or an
// answer saying execute already happened or the state is not what the caller thought.
func Ambiguous(err error) bool {
	return errors.Is(err, ErrTimeout) || errors.Is(err, ErrTransport) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, ErrDuplicate) || errors.Is(err, ErrAlreadyCompleted) || errors.Is(err, ErrInvalidState) ||
		errors.Is(err, ErrTokenBusy)
}
