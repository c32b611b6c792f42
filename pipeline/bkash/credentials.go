package bkash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/paystream/paystream/pipeline"
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

// Credentials is one bKash merchant credential set, the base URL it belongs to
// (https://tokenized.sandbox.bka.sh/v1.2.0-beta, https://tokenized.pay.bka.sh/v1.2.0-beta, or a
// simulator) and the environment it serves. Username and AppKey are identifiers (bKash sends the
// app key in every request header); Password and AppSecret are secrets. Printing or logging
// Credentials never shows them.
type Credentials struct {
	// Environment is the paystream environment these credentials serve: pipeline.Sandbox (bKash's
	// sandbox or a simulator) or pipeline.Live (bKash production). It must be declared: Validate
	// refuses a base URL of the other environment, and a LIVE client refuses simulator answers.
	Environment pipeline.Environment
	// Owner is whose bKash merchant account this is: a paystream merchant id, or "" for the
	// server's default upstream. It scopes the token cache, so two owners never share a token even
	// when they name the same username and app key.
	Owner     string
	BaseURL   string
	Username  string
	AppKey    string
	Password  Secret
	AppSecret Secret
}

// ID is the credential set's cache identity: hex SHA-256 of environment, owner, base URL,
// username and app key (no secret), truncated to 32 characters. One token is cached per ID.
func (c *Credentials) ID() string {
	h := sha256.Sum256([]byte(string(c.Environment) + "\x00" + c.Owner + "\x00" + strings.TrimRight(c.BaseURL, "/") +
		"\x00" + c.Username + "\x00" + c.AppKey))
	return hex.EncodeToString(h[:16])
}

// Validate checks that every field is set, the base URL is http(s), and the base URL fits the
// declared environment (CheckUpstream). Errors wrap ErrCredentials or ErrEnvironment.
func (c *Credentials) Validate() error {
	if c.BaseURL == "" || c.Username == "" || c.AppKey == "" || c.Password.Empty() || c.AppSecret.Empty() {
		return fmt.Errorf("%w: base URL, username, app key, password and app secret are all required", ErrCredentials)
	}
	if !strings.HasPrefix(c.BaseURL, "https://") && !strings.HasPrefix(c.BaseURL, "http://") {
		return fmt.Errorf("%w: base URL %q must be http(s)", ErrCredentials, c.BaseURL)
	}
	return CheckUpstream(c.Environment, c.BaseURL)
}

// CheckUpstream refuses a base URL that cannot serve env:
//
//   - env must be pipeline.Sandbox or pipeline.Live (declared, never guessed);
//   - LIVE needs https and a host that is not one of bKash's sandbox hosts (*.sandbox.bka.sh);
//     the simulator is refused at run time too (it marks its answers with SimulatorHeader);
//   - SANDBOX refuses bKash's production hosts (any other *.bka.sh host), so a sandbox intent can
//     never charge real money.
//
// Errors wrap ErrEnvironment and say how to fix the configuration.
func CheckUpstream(env pipeline.Environment, baseURL string) error {
	if !env.Valid() {
		return fmt.Errorf("%w: the upstream's environment must be declared SANDBOX or LIVE (got %q)", ErrEnvironment, env)
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%w: base URL %q is not an absolute http(s) URL", ErrEnvironment, baseURL)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	bkashHost := host == "bka.sh" || strings.HasSuffix(host, ".bka.sh")
	sandboxHost := bkashHost && strings.Contains(host, "sandbox")
	switch env {
	case pipeline.Live:
		if u.Scheme != "https" {
			return fmt.Errorf("%w: a LIVE upstream must use https (got %q); bKash production is %s", ErrEnvironment, baseURL, ProductionBaseURL)
		}
		if sandboxHost {
			return fmt.Errorf("%w: %q is bKash's sandbox, which cannot serve LIVE intents; use %s or declare the upstream SANDBOX", ErrEnvironment, baseURL, ProductionBaseURL)
		}
	case pipeline.Sandbox:
		if bkashHost && !sandboxHost {
			return fmt.Errorf("%w: %q is bKash production, which would charge real money for SANDBOX intents; use %s or declare the upstream LIVE", ErrEnvironment, baseURL, SandboxBaseURL)
		}
	}
	return nil
}

// bKash's published base URLs.
const (
	SandboxBaseURL    = "https://tokenized.sandbox.bka.sh/v1.2.0-beta"
	ProductionBaseURL = "https://tokenized.pay.bka.sh/v1.2.0-beta"
)

// SimulatorHeader is set on every answer of a simulator (bkashsim). A client refuses such an
// answer for LIVE credentials (ErrEnvironment): a simulated approval must never pay a LIVE intent.
const SimulatorHeader = "X-Bkash-Simulator"

func (c Credentials) String() string {
	return fmt.Sprintf("bkash{env=%s owner=%s base=%s user=%s app_key=%s}", c.Environment, c.Owner, c.BaseURL, c.Username, MaskKey(c.AppKey))
}

// GoString keeps %#v from printing secrets.
func (c Credentials) GoString() string { return c.String() }

// LogValue logs the identifiers only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("env", string(c.Environment)), slog.String("owner", c.Owner),
		slog.String("base", c.BaseURL), slog.String("user", c.Username),
		slog.String("app_key", MaskKey(c.AppKey)), slog.String("id", c.ID()))
}

// MaskKey shows the first four and last two characters of an app key (all stars when short), for
// logs and admin views.
func MaskKey(k string) string {
	if len(k) <= 6 {
		return strings.Repeat("*", len(k))
	}
	return k[:4] + "…" + k[len(k)-2:]
}
