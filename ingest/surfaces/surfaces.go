// Package surfaces builds every API surface of the ingest edge (ingest/admin, ingest/native,
// ingest/txnapi, ingest/sns, ingest/bdquickpay, ingest/sms, ingest/checkout, ingest/tokenized) and
// mounts them on an edge kernel (ingest.Server): the one route table that cmd serves
// (cmd/paystream/routes.go), that the bench's ingest stage measures (bench/stages/ingest.go) and
// that the kernel's cross-surface tests walk (ingest/fixture_test.go's mountAll, on
// ingest/ingesttest's fixture). Each surface is given only what its constructor declares it needs.
package surfaces

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/admin"
	"github.com/paystream/paystream/ingest/bdquickpay"
	"github.com/paystream/paystream/ingest/checkout"
	"github.com/paystream/paystream/ingest/native"
	"github.com/paystream/paystream/ingest/sms"
	"github.com/paystream/paystream/ingest/sns"
	"github.com/paystream/paystream/ingest/tokenized"
	"github.com/paystream/paystream/ingest/txnapi"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
)

// Config is the surfaces' settings (cmd's flags).
type Config struct {
	// AdminToken is the admin API's bearer token (unused when Deps.Admin is given).
	AdminToken string
	// AllowPrivateWebhooks lets merchants register webhook URLs on private addresses (the admin
	// API and bdQuickPay's per-invoice webhook_url): for local runs and tests.
	AllowPrivateWebhooks bool
	// SNSRequireSignature refuses SNS messages without a valid AWS signature (sns.Config).
	SNSRequireSignature bool
	// SNSExtraHosts are hosts trusted like SNS's own (sns.Config.ExtraHosts): for tests only.
	SNSExtraHosts []string
	// SMSTrustedSenders are the sender ids whose SMS may pay, per provider (sms.Config).
	SMSTrustedSenders map[pipeline.Provider][]string
	// Tokenized configures bKash tokenized checkout (Client nil: off); its Keys and Logger are
	// set from this Config.
	Tokenized tokenized.Config
	// Keys is the Redis key layout of the surfaces that own keys (SMS, checkout, tokenized).
	Keys pipeline.Keys
	// Logger is the surfaces' logger (default slog.Default()).
	Logger *slog.Logger
	// Registerer takes the SMS surface's metrics (default: a registry of its own).
	Registerer prometheus.Registerer
}

// Deps are the clients the surfaces are given besides the edge.
type Deps struct {
	// State is the matcher's state, read through its owner's named reads (required).
	State *state.Store
	// Directory is the merchant directory the admin API writes through (required unless Admin is
	// given); pass the edge's own (ingest.Deps.Directory) so that both share one cache.
	Directory *directory.Directory
	// Webhooks is the webhook sink's queue, for the admin API's dead letters (nil: 501).
	Webhooks admin.WebhookAdmin
	// Redis holds the SMS surface's devices and SMS lists, the checkout's claim limits and the
	// tokenized payments (required).
	Redis redis.UniversalClient
	// Admin is an admin API already built and mounted on the edge; nil: Build builds one from
	// Config.AdminToken and returns it first.
	Admin *admin.Surface
}

// ErrConfig reports a Deps that the surfaces cannot be built from.
var ErrConfig = errors.New("surfaces: invalid configuration")

// Build builds every surface on edge, in mounting order (the admin API first when it builds it),
// without mounting them. It starts nothing and calls no client.
func Build(edge *ingest.Server, cfg Config, d Deps) ([]ingest.Surface, error) {
	if edge == nil || d.State == nil || d.Redis == nil || (d.Admin == nil && d.Directory == nil) {
		return nil, fmt.Errorf("%w: the edge, State, Redis and a Directory (or an Admin) are required", ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	st := d.State
	var out []ingest.Surface
	adm := d.Admin
	if adm == nil {
		var err error
		adm, err = admin.New(admin.Config{Token: cfg.AdminToken, AllowPrivateWebhooks: cfg.AllowPrivateWebhooks, Logger: log},
			admin.Deps{Directory: d.Directory, State: st, Edge: edge, Webhooks: d.Webhooks})
		if err != nil {
			return nil, fmt.Errorf("building the admin API: %w", err)
		}
		out = append(out, adm)
	}
	nat, err := native.New(native.Deps{Auth: edge, Accept: edge, Reader: st, Fail: edge, Sim: edge})
	if err != nil {
		return nil, fmt.Errorf("building the native merchant API: %w", err)
	}
	txn, err := txnapi.New(txnapi.Deps{Auth: edge, Trx: edge, Pub: edge, Intents: st})
	if err != nil {
		return nil, fmt.Errorf("building the transaction API: %w", err)
	}
	notifications, err := sns.New(sns.Config{RequireSignature: cfg.SNSRequireSignature, ExtraHosts: cfg.SNSExtraHosts, Logger: log},
		sns.Deps{Auth: edge, Trx: edge, Pub: edge, Topics: edge})
	if err != nil {
		return nil, fmt.Errorf("building the SNS notifications: %w", err)
	}
	bqp, err := bdquickpay.New(bdquickpay.Config{AllowPrivateWebhooks: cfg.AllowPrivateWebhooks},
		bdquickpay.Deps{Auth: edge, Fail: edge, Intents: edge, Reader: st, Sim: edge})
	if err != nil {
		return nil, fmt.Errorf("building the bdQuickPay API: %w", err)
	}
	forwarding, err := sms.New(sms.Config{Keys: cfg.Keys, TrustedSenders: cfg.SMSTrustedSenders, Logger: log, Registerer: cfg.Registerer},
		sms.Deps{Redis: d.Redis, Pub: edge, Limit: edge, Admin: adm})
	if err != nil {
		return nil, fmt.Errorf("building SMS forwarding: %w", err)
	}
	co, err := checkout.New(checkout.Config{Keys: cfg.Keys, Logger: log},
		checkout.Deps{Redis: d.Redis, Intents: st, Merchants: edge, Pub: edge, Links: edge})
	if err != nil {
		return nil, fmt.Errorf("building the hosted checkout: %w", err)
	}
	tcfg := cfg.Tokenized
	tcfg.Keys, tcfg.Logger = cfg.Keys, log
	tok, err := tokenized.New(tcfg, tokenized.Deps{Redis: d.Redis, Fail: edge, Pub: edge, Admin: adm, Links: edge, Intents: st})
	if err != nil {
		return nil, fmt.Errorf("building bKash tokenized checkout: %w", err)
	}
	return append(out, nat, txn, notifications, bqp, forwarding, co, tok), nil
}

// Mount builds every surface (Build) and mounts them on edge.
func Mount(edge *ingest.Server, cfg Config, d Deps) error {
	ss, err := Build(edge, cfg, d)
	if err != nil {
		return err
	}
	edge.Mount(ss...)
	return nil
}
