package main

import (
	"fmt"
	"log/slog"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/bdquickpay"
	"github.com/paystream/paystream/ingest/sns"
	"github.com/paystream/paystream/ingest/txnapi"
	"github.com/paystream/paystream/pipeline/state"
)

// mountSurfaces builds the API surfaces that live in their own packages and mounts them on the
// edge: the route table, with ingest's own routes (ingest.New). Each surface gets only what its
// constructor declares it needs.
func mountSurfaces(edge *ingest.Server, st *state.Store, cfg *Config, log *slog.Logger) error {
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
	edge.Mount(txn, notifications, bqp)
	return nil
}
