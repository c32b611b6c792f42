package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// DeadLetter is a webhook that exhausted its attempts, as the admin API lists it. It never carries
// the body, the URL or the secret.
type DeadLetter struct {
	OutcomeID      string               `json:"outcomeId"`
	MerchantID     string               `json:"merchantId"`
	Environment    pipeline.Environment `json:"environment"`
	EventType      string               `json:"eventType"`
	IntentID       string               `json:"intentId"`
	Attempts       int                  `json:"attempts"`      // failed attempts in the last round
	TotalAttempts  int                  `json:"totalAttempts"` // attempts ever, across redeliveries
	LastHTTPStatus int                  `json:"lastHttpStatus"`
	LastError      string               `json:"lastError,omitempty"`
	LastAttemptAt  time.Time            `json:"lastAttemptAt"`
	DeadAt         time.Time            `json:"deadAt"`
	AcceptedAt     time.Time            `json:"acceptedAt"`
}

// Redeliver puts a dead-lettered webhook back in the queue, due now, with its attempt count reset
// (its attempt record numbering continues). A running sink picks it up within its poll interval.
// It fails with ErrNotDeadLettered (still being retried), ErrAlreadyDelivered or ErrJobNotFound,
// or with the Redis error. Safe to call concurrently with running sinks; one Redis round trip.
func Redeliver(ctx context.Context, rdb redis.UniversalClient, keys pipeline.Keys, outcomeID string) error {
	return newStore(rdb, keys).redeliver(ctx, outcomeID, time.Now())
}

// DeadLetters lists up to limit dead letters, most recently dead-lettered first (limit <= 0 means
// 100; at most 1000). Two Redis round trips; entries removed concurrently are skipped.
func DeadLetters(ctx context.Context, rdb redis.UniversalClient, keys pipeline.Keys, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	s := newStore(rdb, keys)
	zs, err := rdb.ZRevRangeWithScores(ctx, s.dead, 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("listing webhook dead letters: %w", err)
	}
	if len(zs) == 0 {
		return []DeadLetter{}, nil
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(zs))
	for i, z := range zs {
		id, _ := z.Member.(string)
		cmds[i] = pipe.HMGet(ctx, s.jobKey(id), fMerchant, fEnv, fEvent, fIntent, fAttempts, fSeq,
			fLastStatus, fLastError, fLastAttemptAt, fAcceptedAt)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("reading webhook dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(zs))
	for i, z := range zs {
		v := cmds[i].Val()
		str := func(k int) string { s, _ := v[k].(string); return s }
		if str(0) == "" {
			continue // redelivered or deleted meanwhile
		}
		id, _ := z.Member.(string)
		out = append(out, DeadLetter{
			OutcomeID:      id,
			MerchantID:     str(0),
			Environment:    pipeline.Environment(str(1)),
			EventType:      str(2),
			IntentID:       str(3),
			Attempts:       atoi(str(4)),
			TotalAttempts:  atoi(str(5)),
			LastHTTPStatus: atoi(str(6)),
			LastError:      str(7),
			LastAttemptAt:  fromMS(str(8)),
			AcceptedAt:     parseTime(str(9)),
			DeadAt:         time.UnixMilli(int64(z.Score)).UTC(),
		})
	}
	return out, nil
}
