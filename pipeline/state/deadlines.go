package state

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/redis/go-redis/v9"
)

// Deadline is the expiry of one intent, kept per inbound partition (Keys.Deadlines).
type Deadline struct {
	Wallet   pipeline.Wallet
	IntentID string
	At       time.Time // the expiry as stored (ms, rounded up)
	member   string
}

// AddDeadline adds (or keeps) the expiry of intentID at to the partition's deadlines. Idempotent;
// one round trip.
func (s *Store) AddDeadline(ctx context.Context, partition int32, w pipeline.Wallet, intentID string, at time.Time) error {
	err := s.rdb.ZAdd(ctx, s.keys.Deadlines(partition), redis.Z{Score: float64(msCeil(at)), Member: deadlineMember(w, intentID)}).Err()
	if err != nil {
		return fmt.Errorf("adding deadline of intent %s: %w", intentID, err)
	}
	return nil
}

// AddDeadlines adds (or keeps) the deadlines ds (Wallet, IntentID, At) to the partition's
// deadlines: the matcher's way to register again the expiry of an intent that returned to PENDING
// (a review released after an expiry tick removed its deadline). Idempotent (a ZADD of the same
// member and score); one round trip, none for an empty ds.
func (s *Store) AddDeadlines(ctx context.Context, partition int32, ds []Deadline) error {
	if len(ds) == 0 {
		return nil
	}
	zs := make([]redis.Z, len(ds))
	for i, d := range ds {
		zs[i] = redis.Z{Score: float64(msCeil(d.At)), Member: deadlineMember(d.Wallet, d.IntentID)}
	}
	if err := s.rdb.ZAdd(ctx, s.keys.Deadlines(partition), zs...).Err(); err != nil {
		return fmt.Errorf("adding %d deadlines of partition %d: %w", len(ds), partition, err)
	}
	return nil
}

// DueDeadlines returns at most limit (default 500 when <= 0) deadlines of the partition that are
// due at now, earliest first. Malformed entries (which this package never writes) are removed and not returned. It
// blocks for one round trip (two when it removes malformed entries).
func (s *Store) DueDeadlines(ctx context.Context, partition int32, now time.Time, limit int) ([]Deadline, error) {
	if limit <= 0 {
		limit = 500
	}
	key := s.keys.Deadlines(partition)
	zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
		Key: key, ByScore: true, Start: "-inf", Stop: strconv.FormatInt(ms(now), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("reading due deadlines of partition %d: %w", partition, err)
	}
	out := make([]Deadline, 0, len(zs))
	var bad []any
	for _, z := range zs {
		m, _ := z.Member.(string)
		wk, id, ok := strings.Cut(m, "|")
		w, err := pipeline.ParseWalletKey(wk)
		if !ok || id == "" || err != nil {
			bad = append(bad, m)
			continue
		}
		out = append(out, Deadline{Wallet: w, IntentID: id, At: time.UnixMilli(int64(z.Score)).UTC(), member: m})
	}
	if len(bad) > 0 {
		if err := s.rdb.ZRem(ctx, key, bad...).Err(); err != nil {
			return nil, fmt.Errorf("removing malformed deadlines of partition %d: %w", partition, err)
		}
	}
	return out, nil
}

// RemoveDeadlines removes deadlines (as returned by DueDeadlines) once they were handled. One round trip.
func (s *Store) RemoveDeadlines(ctx context.Context, partition int32, ds []Deadline) error {
	if len(ds) == 0 {
		return nil
	}
	members := make([]any, len(ds))
	for i, d := range ds {
		members[i] = d.member
		if d.member == "" {
			members[i] = deadlineMember(d.Wallet, d.IntentID)
		}
	}
	if err := s.rdb.ZRem(ctx, s.keys.Deadlines(partition), members...).Err(); err != nil {
		return fmt.Errorf("removing deadlines of partition %d: %w", partition, err)
	}
	return nil
}
