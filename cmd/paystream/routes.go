package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/admin"
	"github.com/paystream/paystream/ingest/surfaces"
	"github.com/paystream/paystream/ingest/tokenized"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
)

// surfaceDeps are the clients the surfaces are given besides the edge.
type surfaceDeps struct {
	st    *state.Store
	dir   *directory.Directory  // the process's merchant directory (the admin API's writes)
	hooks admin.WebhookAdmin    // the webhook sink's queue, for the admin API's dead letters
	rdb   redis.UniversalClient // the SMS surface's devices and SMS lists, the checkout's claim limits, the tokenized payments
	keys  pipeline.Keys
	reg   prometheus.Registerer
	tok   tokenized.Config // bKash client and default upstreams (tokenizedConfig)
}

// mountSurfaces builds the API surfaces that live in their own packages and mounts them on the
// edge (ingest/surfaces, the one mounting the bench and the cross-surface tests share): the route
// table, with ingest's own route (GET /openapi.json, ingest.New). Each surface gets only what its
// constructor declares it needs.
func mountSurfaces(edge *ingest.Server, d surfaceDeps, cfg *Config, log *slog.Logger) error {
	trusted, err := parseTrustedSenders(cfg.SMSTrustedSenders) // validated in Config.Validate
	if err != nil {
		return err
	}
	return surfaces.Mount(edge, surfaces.Config{
		AdminToken: cfg.AdminToken, AllowPrivateWebhooks: cfg.AllowPrivateWebhooks,
		SNSRequireSignature: cfg.SNSRequireSignature, SNSExtraHosts: cfg.SNSTestHosts,
		SMSTrustedSenders: trusted, Tokenized: d.tok, Keys: d.keys, Logger: log, Registerer: d.reg,
	}, surfaces.Deps{State: d.st, Directory: d.dir, Webhooks: d.hooks, Redis: d.rdb})
}
