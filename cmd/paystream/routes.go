package main

import (
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
// edge: the route table, with ingest's own route (GET /openapi.json, ingest.New). Each surface gets only what its
// constructor declares it needs.
func mountSurfaces(edge *ingest.Server, d surfaceDeps, cfg *Config, log *slog.Logger) error {
	st := d.st
	adm, err := admin.New(admin.Config{Token: cfg.AdminToken, AllowPrivateWebhooks: cfg.AllowPrivateWebhooks, Logger: log},
		admin.Deps{Directory: d.dir, State: st, Edge: edge, Webhooks: d.hooks})
	if err != nil {
		return fmt.Errorf("building the admin API: %w", err)
	}
	nat, err := native.New(native.Deps{Auth: edge, Accept: edge, Reader: st, Fail: edge, Sim: edge})
	if err != nil {
		return fmt.Errorf("building the native merchant API: %w", err)
	}
	txn, err := txnapi.New(txnapi.Deps{Auth: edge, Trx: edge, Pub: edge, Intents: st})
	if err != nil {
		return fmt.Errorf("building the transaction API: %w", err)
	}
	notifications, err := sns.New(sns.Config{RequireSignature: cfg.SNSRequireSignature, ExtraHosts: cfg.SNSTestHosts, Logger: log},
		sns.Deps{Auth: edge, Trx: edge, Pub: edge, Topics: edge})
	if err != nil {
		return fmt.Errorf("building the SNS notifications: %w", err)
	}
	bqp, err := bdquickpay.New(bdquickpay.Config{AllowPrivateWebhooks: cfg.AllowPrivateWebhooks},
		bdquickpay.Deps{Auth: edge, Fail: edge, Intents: edge, Reader: st, Sim: edge})
	if err != nil {
		return fmt.Errorf("building the bdQuickPay API: %w", err)
	}
	trusted, err := parseTrustedSenders(cfg.SMSTrustedSenders) // validated in Config.Validate
	if err != nil {
		return err
	}
	forwarding, err := sms.New(sms.Config{Keys: d.keys, TrustedSenders: trusted, Logger: log, Registerer: d.reg},
		sms.Deps{Redis: d.rdb, Pub: edge, Limit: edge, Admin: adm})
	if err != nil {
		return fmt.Errorf("building SMS forwarding: %w", err)
	}
	co, err := checkout.New(checkout.Config{Keys: d.keys, Logger: log},
		checkout.Deps{Redis: d.rdb, Intents: st, Merchants: edge, Pub: edge, Links: edge})
	if err != nil {
		return fmt.Errorf("building the hosted checkout: %w", err)
	}
	tcfg := d.tok
	tcfg.Keys, tcfg.Logger = d.keys, log
	tok, err := tokenized.New(tcfg, tokenized.Deps{Redis: d.rdb, Fail: edge, Pub: edge, Admin: adm, Links: edge, Intents: st})
	if err != nil {
		return fmt.Errorf("building bKash tokenized checkout: %w", err)
	}
	edge.Mount(adm, nat, txn, notifications, bqp, forwarding, co, tok)
	return nil
}
