package webhooksig

import "errors"

// Errors returned by Sign and the verifiers. Verification failures wrap exactly one of
// ErrMissingSignature, ErrMalformedSignature, ErrSignatureMismatch or ErrTimestampOutOfTolerance,
// so receivers can answer 401 for all of them and log which one it was.
var (
	// ErrBadSecret reports a secret that is not "whsec_" followed by standard base64 of at least
	// MinSecretBytes bytes. Generate secrets with NewSecret.
	ErrBadSecret = errors.New(`webhook secret must be "whsec_" followed by base64 of at least 24 random bytes (generate one with webhooksig.NewSecret)`)
	// ErrMissingMessageID reports an empty webhook-id: Standard Webhooks requires one.
	ErrMissingMessageID = errors.New("webhook message id is empty")
	// ErrMissingSignature reports a request without the signature header(s).
	ErrMissingSignature = errors.New("webhook signature header missing")
	// ErrMalformedSignature reports a signature header that cannot be parsed
	// (X-Signature not "sha256=<hex>", webhook-timestamp not unix seconds).
	ErrMalformedSignature = errors.New("webhook signature header malformed")
	// ErrSignatureMismatch reports a well-formed signature that does not match the body and secret.
	ErrSignatureMismatch = errors.New("webhook signature does not match")
	// ErrTimestampOutOfTolerance reports a webhook-timestamp too far from the receiver's clock
	// (a replayed or delayed message, or a skewed clock).
	ErrTimestampOutOfTolerance = errors.New("webhook timestamp outside the allowed tolerance")
)
