package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// DefaultHistoryHorizon is Config.HistoryHorizon's default: the merchant APIs answer for an intent
// for at least 180 days after its creation, from Redis while it is there (pipeline/state's final
// intent retention), else from the audit history.
const DefaultHistoryHorizon = 180 * 24 * time.Hour

// historyTimeout bounds one history read, so that a slow ClickHouse answers 503 rather than
// holding the request.
const historyTimeout = 3 * time.Second

// IntentHistory is where an intent that left Redis is read from (cmd wires sink/audit's History:
// the latest row of intent_status_changes). Intent returns intent intentID of merchantID in env
// with its current status, or nil and no error when the history has none; an error is the history
// store's failure. Implementations are safe for concurrent use.
type IntentHistory interface {
	Intent(ctx context.Context, merchantID string, env pipeline.Environment, intentID string) (*pipeline.IntentRecord, error)
}

// HorizonError is MerchantIntent's answer for an intent that is not in Redis and was created
// longer ago than the history horizon: paystream keeps no answer for it. It wraps
// state.ErrNotFound, so a caller that only knows "not found" still answers 404.
type HorizonError struct {
	Horizon time.Duration
}

func (e *HorizonError) Error() string {
	return fmt.Sprintf("it was created more than %d days ago, beyond paystream's history horizon", int(e.Horizon/(24*time.Hour)))
}

// Unwrap makes errors.Is(err, state.ErrNotFound) hold.
func (e *HorizonError) Unwrap() error { return state.ErrNotFound }

// MerchantIntent is intent id as merchant m sees it in env, for the merchant APIs' reads (native
// GET, bdQuickPay verify). It reads Redis first; an intent found there is answered from there and
// the history is never consulted. An intent Redis does not hold is read from the history
// (Deps.History) unless its creation time, embedded in the id (a UUIDv7 native id) or read from
// the history, is older than Config.HistoryHorizon. Errors:
//   - *HorizonError (wrapping state.ErrNotFound): not in Redis and beyond the horizon;
//   - state.ErrNotFound: no such intent, or it is another merchant's or environment's;
//   - anything else: Redis or the history failed (answer 503).
func (s *Server) MerchantIntent(ctx context.Context, m *pipeline.Merchant, env pipeline.Environment, id string) (*pipeline.IntentRecord, error) {
	rec, err := s.state.GetIntent(ctx, id)
	if err == nil {
		if rec.MerchantID != m.ID || rec.Environment != env {
			return nil, state.ErrNotFound
		}
		return rec, nil
	}
	if !errors.Is(err, state.ErrNotFound) {
		return nil, err
	}
	res, err := s.intentFromHistory(ctx, m, env, id)
	s.m.history.WithLabelValues(historyResult(res, err)).Inc()
	return res, err
}

// intentFromHistory is MerchantIntent past Redis.
func (s *Server) intentFromHistory(ctx context.Context, m *pipeline.Merchant, env pipeline.Environment, id string) (*pipeline.IntentRecord, error) {
	horizon := time.Now().Add(-s.cfg.HistoryHorizon)
	if created, ok := idTime(id); ok && created.Before(horizon) {
		return nil, &HorizonError{Horizon: s.cfg.HistoryHorizon}
	}
	if s.history == nil {
		return nil, state.ErrNotFound
	}
	hctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	rec, err := s.history.Intent(hctx, m.ID, env, id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading intent history: %w", err)
	case rec == nil || rec.MerchantID != m.ID || rec.Environment != env:
		return nil, state.ErrNotFound
	case rec.CreatedAt.Before(horizon):
		return nil, &HorizonError{Horizon: s.cfg.HistoryHorizon}
	}
	return rec, nil
}

// historyResult is the metrics label of an intentFromHistory answer.
func historyResult(rec *pipeline.IntentRecord, err error) string {
	var he *HorizonError
	switch {
	case rec != nil:
		return "found"
	case errors.As(err, &he):
		return "beyond_horizon"
	case errors.Is(err, state.ErrNotFound):
		return "not_found"
	default:
		return "error"
	}
}

// idTime is the creation time a UUIDv7 id carries (native intent ids are uuid.NewV7 at creation);
// false for any other id (bdQuickPay invoice ids are random).
func idTime(id string) (time.Time, bool) {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	sec, nsec := u.Time().UnixTime()
	return time.Unix(sec, nsec).UTC(), true
}
