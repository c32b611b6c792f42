package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/lifecycle"
	"github.com/paystream/paystream/pipeline/state"
)

// Config configures the HTTP edge. Zero values take the documented defaults.
type Config struct {
	Addr           string // listen address (default 127.0.0.1:8080)
	PublicURL      string // base of checkoutUrl (default http://<Addr>)
	Topics         pipeline.Topics
	Keys           pipeline.Keys
	MaxBodyBytes   int           // request body limit (default 64 KiB); larger bodies get 413
	MaxInFlight    int           // concurrent requests (default 4096); beyond it 503 + Retry-After
	ProduceTimeout time.Duration // how long a request waits for Kafka's ack (default 5s)
	// RateLimitKey and RateLimitIP are requests per second (burst twice that) per verified
	// credential and per client address (every route but /admin), shared by every replica through
	// Redis; over them 429 + Retry-After. Unlike the other fields, 0 disables the limit (cmd's
	// defaults are 200 and 1000). See limits.go.
	RateLimitKey int
	RateLimitIP  int
	Logger       *slog.Logger
	// HistoryHorizon is how far back the merchant APIs answer for an intent that has left Redis
	// (Deps.History); an older one is answered 404 "beyond paystream's history horizon". Default
	// DefaultHistoryHorizon (180 days). See history.go.
	HistoryHorizon time.Duration
}

// Publisher is what ingest needs of Kafka: send one record and wait for its acknowledgement.
// *bus.Producer implements it.
type Publisher interface {
	Send(ctx context.Context, topic string, key, value []byte) error
}

// Server is the ingest role. New starts nothing; Run serves until its context ends.
type Server struct {
	cfg     Config
	rdb     redis.UniversalClient
	pub     Publisher
	state   *state.Store
	dir     *directory.Directory
	log     *slog.Logger
	m       *metrics
	srv     *fasthttp.Server
	rtr     *router.Router // the route table, for tests that walk every route
	sem     chan struct{}
	limit   *rateLimiter
	inbound string // cfg.Topics.Inbound(), made once
	look    *lookups
	// shapes are the error writers of the mounted surfaces, by path prefix (Mux.ErrorShape).
	shapes []errorShape
	// refusalHeaders are the surfaces' extra headers on the edge's own refusals, by path prefix
	// (Mux.RefusalHeaders).
	refusalHeaders []refusalHeaders
	// methods are the payment methods plugged into intent acceptance, by name (Mux.PaymentMethod).
	methods map[string]PaymentMethod
	// history answers for intents that left Redis (Deps.History); nil: off.
	history IntentHistory

	life      *lifecycle.Group // Run's body and the HTTP server's goroutine
	served    atomic.Bool      // Run's body ran: it shuts the HTTP server down itself
	closeOnce sync.Once
	ln        net.Listener
}

// Deps are the clients the kernel is built with.
type Deps struct {
	// Redis holds the idempotency claims, the TrxID marks and the rate-limit buckets (required).
	Redis redis.UniversalClient
	// Pub sends events to Kafka and waits for their acknowledgement (required).
	Pub Publisher
	// State is the matcher's state, read through its owner's named reads (required).
	State *state.Store
	// Directory is the merchant directory (merchants, API keys, integrations) and its cache. cmd
	// passes the process's one directory; nil builds one over Redis with Config.Keys.
	Directory *directory.Directory
	// History is the audit history the merchant APIs read an intent from once it left Redis
	// (MerchantIntent); nil: off, such an intent is not found.
	History IntentHistory
}

// New builds the server: it validates cfg and d (ErrConfig names what is missing), registers the
// metrics on reg (nil: not registered) and starts nothing.
func New(cfg Config, d Deps, reg prometheus.Registerer) (*Server, error) {
	switch {
	case d.Redis == nil:
		return nil, fmt.Errorf("%w: a Redis client is required", ErrConfig)
	case d.Pub == nil:
		return nil, fmt.Errorf("%w: a publisher (Kafka producer) is required", ErrConfig)
	case d.State == nil:
		return nil, fmt.Errorf("%w: the state store is required", ErrConfig)
	}
	if d.Directory == nil {
		dir, err := directory.New(directory.Config{Keys: cfg.Keys}, d.Redis)
		if err != nil {
			return nil, fmt.Errorf("building the merchant directory: %w", err)
		}
		d.Directory = dir
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Addr
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4096
	}
	if cfg.ProduceTimeout <= 0 {
		cfg.ProduceTimeout = 5 * time.Second
	}
	cfg.ProduceTimeout = max(cfg.ProduceTimeout, time.Second) // franz-go's floor for a record timeout
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HistoryHorizon <= 0 {
		cfg.HistoryHorizon = DefaultHistoryHorizon
	}
	s := &Server{
		cfg: cfg, rdb: d.Redis, pub: d.Pub, state: d.State, dir: d.Directory, history: d.History,
		log: cfg.Logger.With("role", "ingest"), m: newMetrics(reg, cfg.MaxInFlight),
		sem: make(chan struct{}, cfg.MaxInFlight), look: newLookups(), life: lifecycle.New(),
	}
	s.limit = newRateLimiter(d.Redis, cfg.Keys.Prefix, cfg.RateLimitKey, cfg.RateLimitIP, s.log, reg)
	s.inbound = cfg.Topics.Inbound()
	s.srv = &fasthttp.Server{
		Handler:            s.routes(),
		Name:               "paystream",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		ReadTimeout:        10 * time.Second,
		WriteTimeout:       10 * time.Second,
		IdleTimeout:        60 * time.Second,
		ReadBufferSize:     8 << 10, // also bounds the request line + headers
		NoDefaultDate:      false,
		ErrorHandler:       s.transportError,
		Logger:             slogAdapter{s.log},
	}
	return s, nil
}

func (s *Server) routes() fasthttp.RequestHandler {
	r := router.New()
	s.rtr = r
	r.RedirectTrailingSlash = false
	r.HandleMethodNotAllowed = true
	route := func(method, path, name string, h fasthttp.RequestHandler) { // name: the metrics label
		r.Handle(method, path, s.instrument(name, path, h))
	}
	s.openapiRoutes(route)
	r.NotFound = s.instrument("not_found", "", func(ctx *fasthttp.RequestCtx) {
		WriteError(ctx, Errf(http.StatusNotFound, "Cannot %s %s", ctx.Method(), ctx.Path()))
	})
	r.MethodNotAllowed = s.instrument("method_not_allowed", "", func(ctx *fasthttp.RequestCtx) {
		WriteError(ctx, Errf(http.StatusMethodNotAllowed, "Method %s is not allowed on %s", ctx.Method(), ctx.Path()))
	})
	r.PanicHandler = func(ctx *fasthttp.RequestCtx, v any) {
		s.log.Error("handler panic", "route", logPath(ctx), "panic", redactLog(fmt.Sprint(v)), "request_id", RequestID(ctx))
		s.m.panics.Inc()
		WriteError(ctx, ErrUnavailable)
	}
	return r.Handler
}

// instrument adds the request id, the in-flight bound, the shared request limits (admit) and the
// per-route metrics, and records the route's pattern ("" none) for logPath where the router's
// SaveMatchedRoutePath would (under router.MatchedRoutePathParam), without its allocations.
func (s *Server) instrument(route, pattern string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	// Resolved once, on the route's first request (no empty series for routes never called).
	duration := sync.OnceValue(func() prometheus.Observer { return s.m.duration.WithLabelValues(route) })
	var saved any // the pattern, boxed once
	if pattern != "" {
		saved = pattern
	}
	return func(ctx *fasthttp.RequestCtx) {
		if saved != nil {
			ctx.SetUserValue(router.MatchedRoutePathParam, saved)
		}
		start := time.Now()
		rid := string(ctx.Request.Header.Peek("X-Request-Id"))
		if rid == "" || len(rid) > 128 {
			rid = uuid.Must(uuid.NewV7()).String()
		}
		ctx.SetUserValue(ridKey{}, rid)
		ctx.SetUserValue(serverKey{}, s) // WriteError finds the path's error shape through it
		// fasthttp's RequestCtx is a poor context.Context (Done only fires at server shutdown):
		// every dependency call gets this bounded one instead.
		reqCtx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		ctx.SetUserValue(ctxKey{}, reqCtx)
		ctx.Response.Header.Set("X-Request-Id", rid)
		select {
		case s.sem <- struct{}{}:
			s.m.inflight.Inc()
			func() {
				// Released even when h panics (the router's PanicHandler answers it): a panic
				// must not keep an in-flight slot for good.
				defer func() { <-s.sem; s.m.inflight.Dec() }()
				if s.admit(ctx) {
					h(ctx)
				}
			}()
		default:
			s.m.shed.Inc()
			WriteError(ctx, errBusy)
		}
		s.m.requests.WithLabelValues(route, statusLabel(ctx.Response.StatusCode())).Inc()
		duration().Observe(time.Since(start).Seconds())
	}
}

// transportError answers fasthttp's own failures (oversized body, malformed request) in our shape.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	var status int
	var msg string
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body exceeds %d bytes", s.cfg.MaxBodyBytes)
	case isTimeout(err):
		status, msg = http.StatusRequestTimeout, "Request was not received in time"
	default:
		var sizeErr *fasthttp.ErrSmallBuffer
		if errors.As(err, &sizeErr) {
			status, msg = http.StatusRequestHeaderFieldsTooLarge, "Request headers are too large"
			restorePath(ctx, err) // so that WriteError picks the surface's shape
		} else {
			status, msg = http.StatusBadRequest, "Malformed HTTP request"
		}
	}
	s.m.requests.WithLabelValues("transport_error", strconv.Itoa(status)).Inc()
	ctx.SetUserValue(serverKey{}, s)
	WriteError(ctx, Errf(status, "%s", msg))
	ctx.SetConnectionClose()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// statusLabels are the status codes 100-599 as metric labels, made once.
var statusLabels = func() (l [500]string) {
	for i := range l {
		l[i] = strconv.Itoa(100 + i)
	}
	return l
}()

// statusLabel is code as a metric label (allocated only outside 100-599).
func statusLabel(code int) string {
	if code >= 100 && code < 600 {
		return statusLabels[code-100]
	}
	return strconv.Itoa(code)
}

type ridKey struct{}

type ctxKey struct{}

// requestTimeout bounds every dependency call a request makes (Redis, Kafka).
const requestTimeout = 10 * time.Second

// RequestContext returns the request's bounded context (requestTimeout from the request's start):
// the context every dependency call of a handler takes. Never nil.
func RequestContext(ctx *fasthttp.RequestCtx) context.Context {
	if c, ok := ctx.UserValue(ctxKey{}).(context.Context); ok {
		return c
	}
	return context.Background()
}

// RequestID returns the request's id (X-Request-Id, echoed in the answer): for logs and events.
func RequestID(ctx *fasthttp.RequestCtx) string {
	s, _ := ctx.UserValue(ridKey{}).(string)
	return s
}

// Publish produces ev to the inbound topic keyed by its wallet and blocks until Kafka acknowledged
// it (acks=all) or ProduceTimeout passed. The Kafka-ack rule: a handler answers 2xx only after
// Publish returned nil; on an error it answers Unavailable (503 + Retry-After), never 2xx, and the
// client's retry is safe because events carry deterministic ids.
func (s *Server) Publish(ctx *fasthttp.RequestCtx, ev *pipeline.Event) error {
	b, err := pipeline.EncodeEvent(ev)
	if err != nil {
		return fmt.Errorf("encoding event: %w", err)
	}
	pctx, cancel := context.WithTimeout(RequestContext(ctx), s.cfg.ProduceTimeout)
	defer cancel()
	if err := s.pub.Send(pctx, s.inbound, []byte(ev.Wallet.Key()), b); err != nil {
		return err
	}
	s.m.accepted.WithLabelValues(string(ev.Kind), string(ev.Source), string(ev.Environment)).Inc()
	return nil
}

// Internal logs err and answers a dependency failure (Redis) as 503 + Retry-After in the path's
// error shape: the request did nothing irreversible.
func (s *Server) Internal(ctx *fasthttp.RequestCtx, what string, err error) {
	s.log.Error(what+" failed", "err", err, "request_id", RequestID(ctx))
	WriteError(ctx, ErrUnavailable)
}

// Unavailable answers "Kafka did not acknowledge" (Publish failed): 503 + Retry-After in the path's
// error shape, never 2xx, and counts it in paystream_ingest_unavailable_total.
func (s *Server) Unavailable(ctx *fasthttp.RequestCtx, what string, err error) {
	s.log.Warn(what+" failed; answering 503", "err", err, "request_id", RequestID(ctx))
	s.m.unavailable.Inc()
	WriteError(ctx, ErrUnavailable)
}

// CountUnavailable counts, in paystream_ingest_unavailable_total, a request answered 503 because
// Kafka did not acknowledge, for a surface that writes that answer itself (the hosted checkout's
// page) instead of calling Unavailable.
func (s *Server) CountUnavailable() { s.m.unavailable.Inc() }

// Listen binds the address; Run then serves. Splitting them lets callers learn a :0 port.
func (s *Server) Listen() (net.Addr, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Run serves until ctx is done or Close is called, then stops accepting and waits (up to 10 s) for
// in-flight requests, and returns nil. It may be called once: later calls return
// lifecycle.ErrStarted, calls after Close lifecycle.ErrClosed.
func (s *Server) Run(ctx context.Context) error {
	return s.life.Run(ctx, "ingest", s.serve)
}

// serve is Run's body, tracked by s.life; ctx ends at Run's context's end or at Close.
func (s *Server) serve(ctx context.Context) error {
	s.served.Store(true)
	if s.ln == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	if err := s.life.Go("http server", func(context.Context) { errc <- s.srv.Serve(s.ln) }); err != nil {
		s.shutdown() // Close came first
		return nil
	}
	s.log.Info("ingest listening", "addr", s.ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serving http: %w", err)
	case <-ctx.Done():
	}
	s.shutdown()
	return nil
}

// shutdown stops the HTTP server, waiting up to 10 s for in-flight requests, and closes the
// listener, so that a Serve that had not registered it yet returns too.
func (s *Server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.ShutdownWithContext(ctx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	if s.ln != nil {
		_ = s.ln.Close() // already closed by the shutdown when Serve had it
	}
}

// Close stops Run and waits for it (at most 15 s: 10 for in-flight requests, and room), or, if Run
// never ran, closes the listener Listen opened. Idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.life.Close(ctx); err != nil {
			s.log.Warn("ingest did not stop in time", "err", err)
		}
		if !s.served.Load() {
			s.shutdown()
		}
	})
}

type slogAdapter struct{ l *slog.Logger }

// Printf logs fasthttp's messages, whose errors may quote the raw request (redactLog).
func (a slogAdapter) Printf(format string, args ...any) {
	a.l.Debug(redactLog(fmt.Sprintf(format, args...)))
}

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inflight    prometheus.Gauge
	shed        prometheus.Counter
	accepted    *prometheus.CounterVec
	unavailable prometheus.Counter
	panics      prometheus.Counter
	// history counts MerchantIntent's reads past Redis, by result (history.go).
	history *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, capacity int) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paystream_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 17),
		}, []string{"route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_http_inflight_requests", Help: "Requests being handled now.",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_http_shed_total", Help: "Requests answered 503 because the in-flight bound was reached.",
		}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_ingest_events_accepted_total", Help: "Inbound events acknowledged by Kafka, by kind, source and environment.",
		}, []string{"kind", "source", "environment"}),
		unavailable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_ingest_unavailable_total", Help: "Requests answered 503 because Kafka did not acknowledge.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_http_panics_total", Help: "Handler panics (bugs); answered 503.",
		}),
		history: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_ingest_intent_history_reads_total",
			Help: "Merchant API intent reads not answered by Redis, by result: found (answered from the audit history), not_found, beyond_horizon, error.",
		}, []string{"result"}),
	}
	capG := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "paystream_http_inflight_capacity", Help: "Maximum concurrent requests before shedding.",
	})
	capG.Set(float64(capacity))
	reg.MustRegister(m.requests, m.duration, m.inflight, m.shed, m.accepted, m.unavailable, m.panics, m.history, capG)
	return m
}

// Handler is the route table with its instrumentation: for serving in memory (tests, benchmarks).
func (s *Server) Handler() fasthttp.RequestHandler { return s.srv.Handler }

// RouteList is the route table: paths by method, as registered (for the check against
// openapi.json).
func (s *Server) RouteList() map[string][]string { return s.rtr.List() }
