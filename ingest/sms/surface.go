package sms

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

const (
	// deviceCacheTTL is how long a forwarding device resolved from its token is reused. Revoking a
	// device evicts it at once on the replica that revoked it; other replicas refuse its SMS
	// within this time.
	deviceCacheTTL  = 2 * time.Second
	maxCachedDevice = 50_000
)

// Config configures the surface.
type Config struct {
	// Keys names the Redis keys; the surface owns the device, device-token and SMS keys of it.
	Keys pipeline.Keys
	// TrustedSenders are the sender ids whose SMS may pay, per provider; a provider absent here
	// keeps pipeline/smsparse's defaults (bKash: "bKash"; nagad: "NAGAD"; rocket: "16216"; upay: "upay").
	TrustedSenders map[pipeline.Provider][]string
	Logger         *slog.Logger // default slog.Default()
	// Registerer takes the paystream_sms_* metrics (default: a registry of its own).
	Registerer prometheus.Registerer
}

// Publisher produces an accepted event under the Kafka-ack rule and answers the edge's failures
// (*ingest.Server).
type Publisher interface {
	// Publish blocks until Kafka acknowledged ev; on an error answer Unavailable, never 2xx.
	Publish(ctx *fasthttp.RequestCtx, ev *pipeline.Event) error
	// Unavailable answers 503 + Retry-After for a Publish failure.
	Unavailable(ctx *fasthttp.RequestCtx, what string, err error)
	// Internal logs a dependency (Redis) failure and answers 503 + Retry-After.
	Internal(ctx *fasthttp.RequestCtx, what string, err error)
}

// Limiter rate-limits a verified credential (*ingest.Server).
type Limiter interface {
	// AllowKey applies the per-credential rate limit; false: it answered 429.
	AllowKey(ctx *fasthttp.RequestCtx, identity string) bool
}

// Admin authenticates the admin API (*admin.Surface, ingest/admin).
type Admin interface {
	// RequireAdmin checks the admin bearer token; false: it answered 401.
	RequireAdmin(ctx *fasthttp.RequestCtx) bool
	// AdminMerchant authenticates the admin and loads the path's merchant; nil: it answered.
	AdminMerchant(ctx *fasthttp.RequestCtx) *pipeline.Merchant
	// PublicURL is path under the edge's public URL.
	PublicURL(path string) string
}

// Deps is what the surface needs; every field is required.
type Deps struct {
	// Redis holds the devices, their tokens, the SMS dedupe marks and the operators' SMS lists.
	Redis redis.UniversalClient
	Pub   Publisher
	Limit Limiter
	Admin Admin
}

// Surface serves SMS forwarding (/v1/sms/{token}…), the device admin API and the operators' SMS
// list. Its handlers are safe for concurrent use.
type Surface struct {
	rdb     redis.UniversalClient
	keys    pipeline.Keys
	trusted map[pipeline.Provider][]string
	log     *slog.Logger
	m       *smsMetrics
	devices *expirable.LRU[string, *pipeline.Device] // by token hash; active devices only
	pub     Publisher
	limit   Limiter
	admin   Admin
}

// New builds the surface and registers its metrics; it starts nothing. It fails when a dependency
// is missing.
func New(cfg Config, d Deps) (*Surface, error) {
	if d.Redis == nil || d.Pub == nil || d.Limit == nil || d.Admin == nil {
		return nil, errors.New("sms: every dependency is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	return &Surface{
		rdb: d.Redis, keys: cfg.Keys, trusted: cfg.TrustedSenders, log: cfg.Logger.With("role", "ingest"),
		m:       newSMSMetrics(cfg.Registerer),
		devices: expirable.NewLRU[string, *pipeline.Device](maxCachedDevice, nil, deviceCacheTTL),
		pub:     d.Pub, limit: d.Limit, admin: d.Admin,
	}, nil
}

// Mount registers the device admin API, the SMS ingest routes (one per forwarding format) and the
// operators' SMS list. They answer errors in the native shape.
func (s *Surface) Mount(m *ingest.Mux) {
	m.Handle(http.MethodPost, "/admin/v1/merchants/{id}/devices", "admin_create_device", s.handleCreateDevice)
	m.Handle(http.MethodGet, "/admin/v1/merchants/{id}/devices", "admin_list_devices", s.handleListDevices)
	m.Handle(http.MethodDelete, "/admin/v1/devices/{id}", "admin_revoke_device", s.handleRevokeDevice)
	m.Handle(http.MethodPost, "/v1/sms/{token}", "sms_native", s.smsHandler(smsFormatNative))
	m.Handle(http.MethodPost, "/v1/sms/{token}/forwarder", "sms_forwarder", s.smsHandler(smsFormatForwarder))
	m.Handle(http.MethodPost, "/v1/sms/{token}/smsgateway", "sms_smsgateway", s.smsHandler(smsFormatSMSGateway))
	m.Handle(http.MethodGet, "/admin/v1/merchants/{id}/sms", "admin_list_sms", s.handleListSMS)
}
