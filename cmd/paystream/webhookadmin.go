package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest/admin"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/sink/webhook"
)

// webhookAdmin gives the admin API (ingest/admin) the webhook sink's queue (ingest does not import the sink).
type webhookAdmin struct {
	rdb  redis.UniversalClient
	keys pipeline.Keys
}

func (w webhookAdmin) DeadLetters(ctx context.Context, limit int) ([]admin.DeadLetterView, error) {
	dls, err := webhook.DeadLetters(ctx, w.rdb, w.keys, limit)
	if err != nil {
		return nil, err
	}
	out := make([]admin.DeadLetterView, 0, len(dls))
	for _, d := range dls {
		out = append(out, admin.DeadLetterView{OutcomeID: d.OutcomeID, MerchantID: d.MerchantID, Details: d})
	}
	return out, nil
}

func (w webhookAdmin) Redeliver(ctx context.Context, outcomeID string) error {
	err := webhook.Redeliver(ctx, w.rdb, w.keys, outcomeID)
	switch {
	case errors.Is(err, webhook.ErrJobNotFound):
		return fmt.Errorf("%w: %w", admin.ErrWebhookNotFound, err)
	case errors.Is(err, webhook.ErrAlreadyDelivered), errors.Is(err, webhook.ErrNotDeadLettered):
		return fmt.Errorf("%w: %w", admin.ErrWebhookNotDead, err)
	}
	return err
}
