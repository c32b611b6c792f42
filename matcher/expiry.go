package matcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/state"
)

// idle is the consumer's Idle hook: at most every ExpiryInterval, expire what is due in every owned
// partition (concurrently, one goroutine per partition). It runs between batches, so it never races
// event processing in this process.
func (m *Matcher) idle(ctx context.Context) error {
	now := m.now()
	// A clock stepped back (since < 0) does not stall expiry until it catches up.
	if since := now.Sub(m.lastExpiry); !m.lastExpiry.IsZero() && since >= 0 && since < m.cfg.ExpiryInterval {
		return nil
	}
	m.lastExpiry = now
	cutoffs, err := m.expiryCutoffs(ctx, now)
	if err != nil {
		return err
	}
	parts := make([]int32, 0, len(cutoffs))
	for p := range cutoffs {
		parts = append(parts, p)
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			if err := m.expirePartition(ctx, p, cutoffs[p]); err != nil {
				errs[i] = fmt.Errorf("expiring deadlines of partition %d: %w", p, err)
				return
			}
			if err := m.retirePartition(ctx, p, now); err != nil {
				errs[i] = fmt.Errorf("retiring intents of partition %d: %w", p, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// expiryCutoffs returns, per owned partition, the time up to which deadlines may expire now. Expiry
// follows the partition's progress, not only the clock: while a partition has records not yet
// decided (a backlog after an outage or a restart), only deadlines up to the timestamp of the last
// decided record expire, so a payment accepted before an intent's deadline is always decided before
// the intent expires. A caught-up partition uses now. Both lag expiryGrace behind. A partition
// whose progress is unknown (backlog, nothing decided yet) is left out.
func (m *Matcher) expiryCutoffs(ctx context.Context, now time.Time) (map[int32]time.Time, error) {
	parts := m.ownedPartitions()
	if len(parts) == 0 {
		return nil, nil
	}
	backlog, err := m.co.Backlog(ctx, m.cfg.Topics.Inbound(), parts)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]time.Time, len(parts))
	for _, p := range parts {
		waiting, ok := backlog[p]
		if !ok {
			continue
		}
		cutoff := now
		if waiting {
			m.ownedMu.Lock()
			last, ok := m.lastSeen[p]
			m.ownedMu.Unlock()
			if !ok {
				continue
			}
			if last.Before(cutoff) {
				cutoff = last
			}
		}
		out[p] = cutoff.Add(-expiryGrace)
	}
	return out, nil
}

// expirePartition decides and applies every deadline of partition p due at cutoff (at most maxExpiryRounds
// batches of expiryBatch), produces the outcomes, and only then removes the deadlines: after a
// crash in between, the next run re-emits the stored outcomes.
func (m *Matcher) expirePartition(ctx context.Context, p int32, cutoff time.Time) error {
	for range maxExpiryRounds {
		due, err := m.st.DueDeadlines(ctx, p, cutoff, expiryBatch)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		var recs []bus.Record
		done := make([]state.Deadline, 0, len(due))
		fu := m.st.NewFollowups(p) // retirements of the expired intents (lifecycle.go)
		var applied []state.AppliedRef
		for _, d := range due {
			out, keep, err := m.expireOne(ctx, d)
			if err != nil {
				return fmt.Errorf("expiring intent %s: %w", d.IntentID, err)
			}
			if !keep {
				done = append(done, d)
			}
			if len(out) > 0 {
				fu.Outcomes(intentOutcomes(out))
				applied = append(applied, state.AppliedRef{Wallet: d.Wallet, EventID: ExpiryEventID(d.IntentID)})
			}
			recs = m.appendOutcomes(recs, out)
		}
		if err := m.produce(ctx, recs); err != nil {
			return err
		}
		fu.RemoveDeadlines(done)
		if err := fu.Exec(ctx); err != nil {
			return err
		}
		if err := m.st.CompactApplied(ctx, applied); err != nil {
			m.log.Warn("applied markers keep their outcomes until they expire", "markers", len(applied), "err", err)
		}
		if len(due) < expiryBatch || len(done) == 0 {
			return nil
		}
	}
	return nil
}

// expireOne decides the expiry of one deadline. keep is true when the deadline must stay (the
// intent is PENDING and, by the clock, not due yet).
func (m *Matcher) expireOne(ctx context.Context, d state.Deadline) (out []json.RawMessage, keep bool, err error) {
	q := &state.SnapshotQuery{Wallet: d.Wallet, EventID: ExpiryEventID(d.IntentID), IntentIDs: []string{d.IntentID}}
	out, err = m.decideAndApply(ctx, kindExpiry, q, func(snap *state.Snapshot) *pipeline.Event {
		for _, r := range snap.Intents {
			if r.ID != d.IntentID {
				continue
			}
			if r.Status != pipeline.StatusPending {
				return nil
			}
			if m.now().Before(r.ExpiresAt) {
				keep = true
				return nil
			}
			in := r.Intent
			return ExpiryEvent(d.Wallet, &in)
		}
		return nil // gone: nothing to expire
	})
	return out, keep, err
}
