package bkash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Secret holds a password or app secret. It never prints, marshals or logs its content: only
// Reveal returns it, and only the request that sends it to bKash calls Reveal.
type Secret struct{ v string }

// NewSecret wraps a secret value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.v }

// Empty reports whether the secret is unset.
func (s Secret) Empty() bool { return s.v == "" }

func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// maxSecretFile bounds a secret file read.
const maxSecretFile = 4096

// ResolveSecret loads a secret from a reference: "env:NAME" (the environment variable NAME) or
// "file:PATH" (the file's content, trailing newlines removed; at most 4 KiB; a mounted Kubernetes
// or Docker secret, for instance). Secrets are never given in clear in flags or config, so they do
// not leak through process listings or config dumps. It wraps ErrBadSecretRef.
func ResolveSecret(ref string) (Secret, error) {
	kind, arg, ok := strings.Cut(ref, ":")
	if !ok || arg == "" {
		return Secret{}, fmt.Errorf("%w (got %q)", ErrBadSecretRef, redactRef(ref))
	}
	var v string
	switch kind {
	case "env":
		v = os.Getenv(arg)
	case "file":
		fi, err := os.Stat(arg)
		if err != nil {
			return Secret{}, fmt.Errorf("%w: reading %s: %w", ErrBadSecretRef, arg, err)
		}
		if fi.Size() > maxSecretFile {
			return Secret{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrBadSecretRef, arg, maxSecretFile)
		}
		b, err := os.ReadFile(arg) //nolint:gosec // G304: the operator names the secret file on purpose
		if err != nil {
			return Secret{}, fmt.Errorf("%w: reading %s: %w", ErrBadSecretRef, arg, err)
		}
		v = strings.TrimRight(string(b), "\r\n")
	default:
		return Secret{}, fmt.Errorf("%w (got %q)", ErrBadSecretRef, redactRef(ref))
	}
	if v == "" {
		return Secret{}, fmt.Errorf("%w: %s is empty", ErrBadSecretRef, ref)
	}
	return Secret{v: v}, nil
}

// redactRef shows the kind of a malformed reference, not its text, in case a secret was pasted
// where a reference belongs.
func redactRef(ref string) string {
	if kind, _, ok := strings.Cut(ref, ":"); ok && (kind == "env" || kind == "file") {
		return ref
	}
	return fmt.Sprintf("<%d characters>", len(ref))
}

// Credentials is one bKash merchant credential set and the base URL it belongs to
// (https://tokenized.sandbox.bka.sh/v1.2.0-beta, https://tokenized.pay.bka.sh/v1.2.0-beta, or a
// simulator). Username and AppKey are identifiers (bKash sends the app key in every request
// header); Password and AppSecret are secrets. Printing or logging Credentials never shows them.
type Credentials struct {
	BaseURL   string
	Username  string
	AppKey    string
	Password  Secret
	AppSecret Secret
}

// ID is the credential set's cache identity: hex SHA-256 of base URL, username and app key (no
// secret), truncated to 32 characters. One token is cached per ID.
func (c *Credentials) ID() string {
	h := sha256.Sum256([]byte(strings.TrimRight(c.BaseURL, "/") + "\x00" + c.Username + "\x00" + c.AppKey))
	return hex.EncodeToString(h[:16])
}

// Validate checks that every field is set and the base URL is http(s).
func (c *Credentials) Validate() error {
	if c.BaseURL == "" || c.Username == "" || c.AppKey == "" || c.Password.Empty() || c.AppSecret.Empty() {
		return fmt.Errorf("%w: base URL, username, app key, password and app secret are all required", ErrCredentials)
	}
	if !strings.HasPrefix(c.BaseURL, "https://") && !strings.HasPrefix(c.BaseURL, "http://") {
		return fmt.Errorf("%w: base URL %q must be http(s)", ErrCredentials, c.BaseURL)
	}
	return nil
}

func (c Credentials) String() string {
	return fmt.Sprintf("bkash{base=%s user=%s app_key=%s}", c.BaseURL, c.Username, maskKey(c.AppKey))
}

// GoString keeps %#v from printing secrets.
func (c Credentials) GoString() string { return c.String() }

// LogValue logs the identifiers only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base", c.BaseURL), slog.String("user", c.Username),
		slog.String("app_key", maskKey(c.AppKey)), slog.String("id", c.ID()))
}

func maskKey(k string) string {
	if len(k) <= 6 {
		return strings.Repeat("*", len(k))
	}
	return k[:4] + "…" + k[len(k)-2:]
}
