package snsverify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SignatureVersion 1 is SHA1withRSA by AWS's definition.
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/paystream/paystream/pipeline/netguard"
)

// The message types SNS sends to HTTP(S) endpoints.
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// Message is an SNS message's signed fields and signature, as received. Message is the text that
// was signed: for a real SNS delivery the decoded JSON string; a sender that put a JSON object there
// instead must have signed the object's exact text.
type Message struct {
	Type         string
	MessageID    string
	Message      string
	Subject      *string // signed only when present (SNS omits it when the publisher set none)
	Timestamp    string
	TopicArn     string
	Token        string // confirmations only
	SubscribeURL string // confirmations only

	SignatureVersion string
	Signature        string // base64
	SigningCertURL   string
}

// StringToSign returns the canonical string SNS signs for m: "Key\nvalue\n" for each signed field in
// AWS's order. A Notification signs Message, MessageId, Subject (if present), Timestamp, TopicArn and
// Type; a SubscriptionConfirmation or UnsubscribeConfirmation signs Message, MessageId,
// SubscribeURL, Timestamp, Token, TopicArn and Type. Other types give ErrUnknownType.
func StringToSign(m *Message) ([]byte, error) {
	var b bytes.Buffer
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	switch m.Type {
	case TypeNotification:
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		if m.Subject != nil {
			add("Subject", *m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	default:
		return nil, ErrUnknownType
	}
	return b.Bytes(), nil
}

// Config configures a Verifier. Zero values take the documented defaults.
type Config struct {
	// ExtraHosts are host:port pairs trusted like sns.<region>.amazonaws.com, over http or https and
	// on loopback/private addresses. For tests only.
	ExtraHosts []string
	// Timeout bounds each fetch as a whole (default 5s).
	Timeout time.Duration
	// MaxCerts bounds the certificate cache (default 64 entries).
	MaxCerts int
	// CertTTL is how long a fetched certificate is used before it is fetched again (default 1h).
	CertTTL time.Duration
	// MaxResponseBytes caps what is read of a certificate or confirmation answer (default 64 KiB).
	MaxResponseBytes int64
}

// Verifier verifies SNS signatures and confirms subscriptions. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	extra   map[string]bool
	public  *http.Client // AWS hosts: internal addresses refused
	private *http.Client // ExtraHosts only; nil without any
	certs   certCache
}

// New returns a Verifier. It starts nothing.
func New(cfg Config) *Verifier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxCerts <= 0 {
		cfg.MaxCerts = 64
	}
	if cfg.CertTTL <= 0 {
		cfg.CertTTL = time.Hour
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 64 << 10
	}
	v := &Verifier{
		cfg: cfg, extra: map[string]bool{}, public: netguard.NewHTTPClient(cfg.Timeout, false),
		certs: certCache{max: cfg.MaxCerts, ttl: cfg.CertTTL, m: map[string]certEntry{}},
	}
	for _, h := range cfg.ExtraHosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			v.extra[h] = true
		}
	}
	if len(v.extra) > 0 {
		v.private = netguard.NewHTTPClient(cfg.Timeout, true)
	}
	return v
}

// CloseIdleConnections closes the idle connections of the Verifier's HTTP clients.
func (v *Verifier) CloseIdleConnections() {
	v.public.CloseIdleConnections()
	if v.private != nil {
		v.private.CloseIdleConnections()
	}
}

// snsHostRE matches SNS's regional endpoints, including the China partition's.
var snsHostRE = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// Trusted reports whether raw may be fetched as an SNS endpoint: an https URL on
// sns.<region>.amazonaws.com(.cn) without port or user info, or an http(s) URL on one of
// Config.ExtraHosts. private says which client may fetch it. The error wraps ErrUntrustedURL.
func (v *Verifier) Trusted(raw string) (u *url.URL, private bool, err error) {
	u, err = url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return nil, false, ErrUntrustedURL
	}
	scheme := strings.ToLower(u.Scheme)
	if v.extra[strings.ToLower(u.Host)] && (scheme == "http" || scheme == "https") {
		return u, true, nil
	}
	if scheme != "https" || u.Port() != "" || !snsHostRE.MatchString(strings.ToLower(u.Hostname())) {
		return nil, false, ErrUntrustedURL
	}
	return u, false, nil
}

// Verify checks m's signature. It returns nil when it verifies; otherwise an error wrapping
// ErrMissingSignature, ErrUnsupportedVersion, ErrUnknownType, ErrUntrustedURL, ErrBadCertificate
// or ErrBadSignature (the message must be refused), or ErrUnreachable (the certificate could not be
// fetched now: the sender should retry). Cheap checks come first: a malformed signature or an
// untrusted certificate URL is refused without any fetch. Verify may block for up to
// Config.Timeout on a certificate fetch (or less, if ctx ends first).
func (v *Verifier) Verify(ctx context.Context, m *Message) error {
	if m.Signature == "" || m.SigningCertURL == "" {
		return ErrMissingSignature
	}
	var h crypto.Hash
	switch m.SignatureVersion {
	case "1":
		h = crypto.SHA1
	case "2":
		h = crypto.SHA256
	default:
		return ErrUnsupportedVersion
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("%w: Signature is not base64", ErrBadSignature)
	}
	s, err := StringToSign(m)
	if err != nil {
		return err
	}
	u, private, err := v.Trusted(m.SigningCertURL)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(u.Path, ".pem") {
		return fmt.Errorf("%w: a certificate URL's path ends in .pem", ErrUntrustedURL)
	}
	key, err := v.certificate(ctx, u, private)
	if err != nil {
		return err
	}
	var digest []byte
	if h == crypto.SHA1 {
		d := sha1.Sum(s) //nolint:gosec // see the import
		digest = d[:]
	} else {
		d := sha256.Sum256(s)
		digest = d[:]
	}
	if err := rsa.VerifyPKCS1v15(key, h, digest, sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// ConfirmSubscription confirms an SNS subscription by GETting its SubscribeURL, which must be
// Trusted and carry Action=ConfirmSubscription (anything else is refused with ErrUntrustedURL and
// never fetched). It returns nil on a 2xx answer; otherwise an error wrapping ErrUntrustedURL,
// ErrRefused (SNS answered 4xx, e.g. an expired token) or ErrUnreachable (retry later). It blocks
// for up to Config.Timeout.
func (v *Verifier) ConfirmSubscription(ctx context.Context, subscribeURL string) error {
	u, private, err := v.Trusted(subscribeURL)
	if err != nil {
		return err
	}
	if u.Query().Get("Action") != "ConfirmSubscription" {
		return fmt.Errorf("%w: a SubscribeURL carries Action=ConfirmSubscription", ErrUntrustedURL)
	}
	_, err = v.get(ctx, u, private)
	return err
}

// get fetches u with the client its trust level allows, reading at most MaxResponseBytes.
func (v *Verifier) get(ctx context.Context, u *url.URL, private bool) ([]byte, error) {
	c := v.public
	if private {
		c = v.private
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: building request", ErrUntrustedURL)
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the URL
			err = ue.Err
		}
		if errors.Is(err, netguard.ErrBlockedAddress) {
			return nil, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, v.cfg.MaxResponseBytes+1))
	switch {
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: it answered %d", ErrUnreachable, resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, fmt.Errorf("%w: it answered %d", ErrRefused, resp.StatusCode)
	case err != nil:
		return nil, fmt.Errorf("%w: reading the answer: %w", ErrUnreachable, err)
	case int64(len(b)) > v.cfg.MaxResponseBytes:
		return nil, fmt.Errorf("%w: the answer exceeds %d bytes", ErrRefused, v.cfg.MaxResponseBytes)
	}
	return b, nil
}

// certificate returns the RSA key of the certificate at u, from the cache or fetched.
func (v *Verifier) certificate(ctx context.Context, u *url.URL, private bool) (*rsa.PublicKey, error) {
	k := u.String()
	if key, ok := v.certs.get(k, time.Now()); ok {
		return key, nil
	}
	b, err := v.get(ctx, u, private)
	if errors.Is(err, ErrRefused) {
		return nil, fmt.Errorf("%w: fetching it: %w", ErrBadCertificate, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching the signing certificate: %w", err)
	}
	key, err := parseCertificate(b)
	if err != nil {
		return nil, err
	}
	v.certs.put(k, key, time.Now())
	return key, nil
}

func parseCertificate(b []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: not a PEM certificate", ErrBadCertificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: parsing it: %w", ErrBadCertificate, err)
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: its key is not RSA", ErrBadCertificate)
	}
	return key, nil
}

// certCache maps certificate URLs to their keys: at most max entries, each used for ttl. When full,
// expired entries go first, then the oldest.
type certCache struct {
	mu  sync.Mutex
	max int
	ttl time.Duration
	m   map[string]certEntry
}

type certEntry struct {
	key   *rsa.PublicKey
	added time.Time
}

func (c *certCache) get(k string, now time.Time) (*rsa.PublicKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil, false
	}
	if now.Sub(e.added) >= c.ttl {
		delete(c.m, k)
		return nil, false
	}
	return e.key, true
}

func (c *certCache) put(k string, key *rsa.PublicKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		oldest := ""
		for ek, e := range c.m {
			if now.Sub(e.added) >= c.ttl {
				delete(c.m, ek)
				continue
			}
			if oldest == "" || e.added.Before(c.m[oldest].added) {
				oldest = ek
			}
		}
		if len(c.m) >= c.max {
			delete(c.m, oldest)
		}
	}
	c.m[k] = certEntry{key: key, added: now}
}

// len reports how many certificates are cached.
func (c *certCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
