package bkash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// KeyPrefix is the Redis key prefix (pipeline.Keys.Prefix; default "ps").
	KeyPrefix string
	// HTTPClient sends the requests (default: a client with sane transport timeouts). Each call is
	// bounded by Timeout through its context either way.
	HTTPClient *http.Client
	// Timeout bounds one HTTP call (default 30s, bKash's own execute budget).
	Timeout time.Duration
	// RefreshBefore renews a token this long before it expires (default 5m).
	RefreshBefore time.Duration
	// RefreshTokenTTL is how long a cached refresh token is trusted (default 24h); after it a new
	// token is granted.
	RefreshTokenTTL time.Duration
	// MaxResponseBytes caps an answer (default 64 KiB); larger ones fail with ErrResponseTooLarge.
	MaxResponseBytes int64
	// Metrics (default: unregistered metrics).
	Metrics *Metrics
	Logger  *slog.Logger
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// Client calls bKash Tokenized Checkout. It is safe for concurrent use and shares its tokens with
// every Client on the same Redis and KeyPrefix (other replicas).
type Client struct {
	cfg Config
	rdb redis.UniversalClient
	m   *Metrics
}

// New returns a client caching tokens in rdb. It starts nothing.
func New(cfg Config, rdb redis.UniversalClient) *Client {
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "ps"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = 5 * time.Minute
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = 24 * time.Hour
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 64 << 10
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, rdb: rdb, m: cfg.Metrics}
}

// envelope is what every bKash answer may carry: statusCode/statusMessage (API), message (the API
// gateway's 401/403), errorCode/errorMessage (older answers).
type envelope struct {
	StatusCode    string `json:"statusCode"`
	StatusMessage string `json:"statusMessage"`
	ErrorCode     string `json:"errorCode"`
	ErrorMessage  string `json:"errorMessage"`
	Message       string `json:"message"`
}

func (e *envelope) code() (string, string) {
	if e.StatusCode != "" {
		return e.StatusCode, e.StatusMessage
	}
	return e.ErrorCode, e.ErrorMessage
}

// answer is one HTTP exchange's result.
type answer struct {
	status int
	raw    []byte
	env    envelope
}

// post sends body as JSON to base+path with headers and reads a capped answer. It records the
// request metrics. Transport failures wrap ErrTimeout or ErrTransport; a simulator's answer to a
// LIVE credential set (cr) is ErrEnvironment, whatever it says.
func (c *Client) post(ctx context.Context, cr *Credentials, op, url string, hdr http.Header, body any) (*answer, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding bkash %s request: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("building bkash %s request: %w", op, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	start := c.cfg.Now()
	res, err := c.cfg.HTTPClient.Do(req)
	defer func() { c.m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds()) }()
	if err != nil {
		return nil, c.transportErr(op, ctx, err)
	}
	defer res.Body.Close()
	if cr.Environment == pipeline.Live && res.Header.Get(SimulatorHeader) != "" {
		c.m.requests.WithLabelValues(op, "simulator").Inc()
		return nil, fmt.Errorf("%w: bkash %s at %s was answered by a simulator, which can never serve LIVE", ErrEnvironment, op, cr.BaseURL)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, c.transportErr(op, ctx, err)
	}
	if int64(len(raw)) > c.cfg.MaxResponseBytes {
		c.m.requests.WithLabelValues(op, "too_large").Inc()
		return nil, fmt.Errorf("%w: bkash %s answered more than %d bytes", ErrResponseTooLarge, op, c.cfg.MaxResponseBytes)
	}
	a := &answer{status: res.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &a.env) // a non-JSON answer is judged by its HTTP status below
	code, _ := a.env.code()
	if res.StatusCode == http.StatusOK {
		c.m.requests.WithLabelValues(op, metricCode(code)).Inc()
	} else {
		c.m.requests.WithLabelValues(op, "http_"+strconv.Itoa(res.StatusCode)).Inc()
	}
	return a, nil
}

func (c *Client) transportErr(op string, ctx context.Context, err error) error {
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		c.m.requests.WithLabelValues(op, "timeout").Inc()
		return fmt.Errorf("%w: bkash %s: %w", ErrTimeout, op, err)
	}
	c.m.requests.WithLabelValues(op, "transport").Inc()
	return fmt.Errorf("%w: bkash %s: %w", ErrTransport, op, err)
}

// judge turns an answer into an error, or nil when it is a success to decode.
func judge(op string, a *answer) error {
	code, msg := a.env.code()
	switch {
	case a.status == http.StatusForbidden:
		return fmt.Errorf("%w: bkash %s answered 403 %s", ErrCredentials, op, trim(a.env.Message))
	case a.status >= 500 || a.status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: bkash %s answered HTTP %d", ErrTransport, op, a.status)
	case code != "" && code != "0000":
		return &StatusError{Op: op, Code: code, Message: msg, Outcome: Classify(code), HTTPStatus: a.status, Raw: a.raw}
	case a.status != http.StatusOK:
		return fmt.Errorf("%w: bkash %s answered HTTP %d %s", ErrBadResponse, op, a.status, trim(a.env.Message))
	}
	return nil
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// tokenRejected reports an API gateway 401: the id_token is expired or invalid.
func tokenRejected(a *answer) bool { return a.status == http.StatusUnauthorized }

// call posts an authenticated request: with the cached token, and on a 401 once more with a
// renewed one. out receives the decoded answer; the raw answer is returned.
func (c *Client) call(ctx context.Context, cr *Credentials, op, path string, body, out any) ([]byte, error) {
	if err := cr.Validate(); err != nil {
		return nil, err
	}
	tok, err := c.token(ctx, cr, "")
	if err != nil {
		return nil, err
	}
	url := strings.TrimRight(cr.BaseURL, "/") + path
	hdr := func(t string) http.Header { return http.Header{"Authorization": {t}, "X-App-Key": {cr.AppKey}} }
	a, err := c.post(ctx, cr, op, url, hdr(tok), body)
	if err != nil {
		return nil, err
	}
	if tokenRejected(a) {
		c.cfg.Logger.Info("bkash refused the cached token; renewing it once", "op", op, "credentials", cr)
		if tok, err = c.token(ctx, cr, tok); err != nil {
			return nil, err
		}
		if a, err = c.post(ctx, cr, op, url, hdr(tok), body); err != nil {
			return nil, err
		}
		if tokenRejected(a) {
			return a.raw, fmt.Errorf("%w (%s: %s)", ErrTokenRejected, op, trim(a.env.Message))
		}
	}
	if err := judge(op, a); err != nil {
		return a.raw, err
	}
	if err := json.Unmarshal(a.raw, out); err != nil {
		return a.raw, fmt.Errorf("%w: decoding bkash %s answer: %w", ErrBadResponse, op, err)
	}
	return a.raw, nil
}
