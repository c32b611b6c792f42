package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/sink/webhook"
)

// webhookAdmin gives ingest's admin API the webhook sink's queue (ingest does not import the sink).
type webhookAdmin struct {
	rdb  redis.UniversalClient
	keys pipeline.Keys
}

func (w webhookAdmin) DeadLetters(ctx context.Context, limit int) ([]ingest.DeadLetterView, error) {
	dls, err := webhook.DeadLetters(ctx, w.rdb, w.keys, limit)
	if err != nil {
		return nil, err
	}
	out := make([]ingest.DeadLetterView, 0, len(dls))
	for _, d := range dls {
		out = append(out, ingest.DeadLetterView{OutcomeID: d.OutcomeID, MerchantID: d.MerchantID, Details: d})
	}
	return out, nil
}

func (w webhookAdmin) Redeliver(ctx context.Context, outcomeID string) error {
	err := webhook.Redeliver(ctx, w.rdb, w.keys, outcomeID)
	switch {
	case errors.Is(err, webhook.ErrJobNotFound):
		return fmt.Errorf("%w: %w", ingest.ErrWebhookNotFound, err)
	case errors.Is(err, webhook.ErrAlreadyDelivered), errors.Is(err, webhook.ErrNotDeadLettered):
		return fmt.Errorf("%w: %w", ingest.ErrWebhookNotDead, err)
	}
	return err
}
