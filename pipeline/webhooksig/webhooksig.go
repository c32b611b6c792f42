package webhooksig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Header names. Go canonicalises header keys on the wire ("Webhook-Id"); HTTP header names are
// case-insensitive, and http.Header.Get finds them under either spelling.
const (
	HeaderXSignature       = "X-Signature"
	HeaderWebhookID        = standardwebhooks.HeaderWebhookID
	HeaderWebhookTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderWebhookSignature = standardwebhooks.HeaderWebhookSignature
)

const (
	// SecretPrefix starts every signing secret.
	SecretPrefix = "whsec_"
	// SecretBytes is how many random bytes NewSecret draws.
	SecretBytes = 32
	// MinSecretBytes is the shortest decoded secret CheckSecret and Sign accept.
	MinSecretBytes = 24
	// DefaultTolerance is how far webhook-timestamp may be from now in VerifyStandard by default
	// (the Standard Webhooks recommendation).
	DefaultTolerance = 5 * time.Minute

	xSigPrefix = "sha256="
)

// NewSecret returns a fresh signing secret: "whsec_" + standard base64 of 32 random bytes.
// It panics only if the operating system's random source fails, as crypto/rand does.
func NewSecret() string {
	b := make([]byte, SecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error; it crashes the program instead
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// CheckSecret reports (ErrBadSecret) whether secret is not a usable signing secret.
func CheckSecret(secret string) error {
	_, err := standardKey(secret)
	return err
}

func standardKey(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) < MinSecretBytes {
		return nil, ErrBadSecret
	}
	return key, nil
}

// XSignature returns the X-Signature header value for body: "sha256=" + lowercase hex of
// HMAC-SHA256(body) keyed with the secret string's UTF-8 bytes as given. It never fails: any
// string is an HMAC key, which is what the seed's Node.js verifier does.
func XSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	var sum [sha256.Size]byte
	out := make([]byte, len(xSigPrefix)+hex.EncodedLen(sha256.Size))
	copy(out, xSigPrefix)
	hex.Encode(out[len(xSigPrefix):], m.Sum(sum[:0]))
	return string(out)
}

// Sign returns the headers that sign body: X-Signature, webhook-id (msgID), webhook-timestamp
// (ts in unix seconds) and webhook-signature ("v1,<base64>", by the standard-webhooks library).
// msgID must be stable across retries of one message (paystream uses the outcome id).
// It fails with ErrBadSecret or ErrMissingMessageID; it does no I/O and is safe for concurrent use.
func Sign(secret, msgID string, ts time.Time, body []byte) (http.Header, error) {
	if msgID == "" {
		return nil, ErrMissingMessageID
	}
	key, err := standardKey(secret)
	if err != nil {
		return nil, err
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return nil, fmt.Errorf("building standard webhook signer: %w", err)
	}
	sig, err := wh.Sign(msgID, ts, body)
	if err != nil {
		return nil, fmt.Errorf("signing standard webhook: %w", err)
	}
	h := make(http.Header, 4)
	h.Set(HeaderXSignature, XSignature(secret, body))
	h.Set(HeaderWebhookID, msgID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, sig)
	return h, nil
}

// VerifyXSignature checks an X-Signature header value ("sha256=<hex>"; hex of either case, the
// prefix case-insensitive, surrounding spaces ignored) against body, in constant time with respect
// to the expected digest. It returns nil, or an error wrapping ErrMissingSignature,
// ErrMalformedSignature or ErrSignatureMismatch.
func VerifyXSignature(secret string, body []byte, header string) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	if len(header) < len(xSigPrefix) || !strings.EqualFold(header[:len(xSigPrefix)], xSigPrefix) {
		return fmt.Errorf("%w: X-Signature must start with %q", ErrMalformedSignature, xSigPrefix)
	}
	enc := header[len(xSigPrefix):]
	if len(enc) != hex.EncodedLen(sha256.Size) {
		return fmt.Errorf("%w: X-Signature digest must be %d hex digits", ErrMalformedSignature, hex.EncodedLen(sha256.Size))
	}
	var got [sha256.Size]byte
	if _, err := hex.Decode(got[:], []byte(enc)); err != nil {
		return fmt.Errorf("%w: X-Signature digest is not hex", ErrMalformedSignature)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), got[:]) {
		return ErrSignatureMismatch
	}
	return nil
}

// VerifyStandard checks the Standard Webhooks headers (webhook-id, webhook-timestamp,
// webhook-signature, which may list several space-separated "v1,<base64>" signatures) against
// body, using the standard-webhooks library. tolerance bounds |now - webhook-timestamp|: omitted it
// is DefaultTolerance; a value <= 0 disables the timestamp check (for replaying stored messages).
// It returns nil, ErrBadSecret, or an error wrapping ErrMissingSignature, ErrMalformedSignature,
// ErrSignatureMismatch or ErrTimestampOutOfTolerance.
func VerifyStandard(secret string, body []byte, h http.Header, tolerance ...time.Duration) error {
	tol := DefaultTolerance
	if len(tolerance) > 0 {
		tol = tolerance[0]
	}
	key, err := standardKey(secret)
	if err != nil {
		return err
	}
	if h.Get(HeaderWebhookID) == "" || h.Get(HeaderWebhookTimestamp) == "" || h.Get(HeaderWebhookSignature) == "" {
		return fmt.Errorf("%w: webhook-id, webhook-timestamp and webhook-signature are required", ErrMissingSignature)
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(h.Get(HeaderWebhookTimestamp)), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp must be unix seconds", ErrMalformedSignature)
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return fmt.Errorf("building standard webhook verifier: %w", err)
	}
	// The library's own tolerance is a fixed package variable; check ours after the signature so
	// that a forged message is reported as a mismatch, not as stale.
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		switch {
		case errors.Is(err, standardwebhooks.ErrRequiredHeaders):
			return fmt.Errorf("%w: %w", ErrMissingSignature, err)
		case errors.Is(err, standardwebhooks.ErrInvalidHeaders):
			return fmt.Errorf("%w: %w", ErrMalformedSignature, err)
		default:
			return fmt.Errorf("%w: %w", ErrSignatureMismatch, err)
		}
	}
	if tol > 0 {
		skew := time.Since(time.Unix(ts, 0))
		if skew > tol || skew < -tol {
			return fmt.Errorf("%w: %s away from now (tolerance %s)", ErrTimestampOutOfTolerance, skew.Round(time.Second), tol)
		}
	}
	return nil
}
