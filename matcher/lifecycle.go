package matcher

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// The matcher's part of the data lifecycle (DESIGN.md "Redis layout" gives every key's lifetime).
//
// Followups. A decision's writes outside its wallet's slot are on its partition's {exp:<p>} keys
// (state.Followups): the deadline of an intent that leaves PENDING is removed (so expiry never pays
// round trips for a decided intent), one that returns to PENDING (a review released, see below)
// gets its deadline again, and a settled intent is scheduled to leave Redis after
// state.Lifetimes.FinalIntentRetention. A run executes them after its batch is applied and before
// its outcomes are produced and its offsets committed: after a crash in between, the replayed
// event finds its applied marker with its outcomes, and the followups are derived from those
// again (every followup is idempotent).
//
// Reopened intents. An intent under review has no deadline (it was removed when the intent left
// PENDING). A review the matcher releases back to PENDING (release, ReasonCandidateUsed) gets its
// deadline again from the release's followups, by the run that applies it or by a replay.
//
// Applied markers. An applied marker holds the event's outcomes only until Kafka acknowledged
// them: handle then replaces them by an empty list (state.Store.CompactApplied), which still marks
// the event applied for AppliedTTL, so a replay (a commit lost to a crash or a rebalance) decides
// nothing twice and emits nothing again. A marker is compacted only by the matcher that produced
// its outcomes; one left full (a crash, a revoked partition) expires with AppliedTTL.
//
// Retirement. Each expiry tick also deletes the settled intents of owned partitions whose
// retention ended (state.Store.RetireDue), after their deadlines.

// intentStatusType finds the intent outcomes among stored outcomes without decoding the others.
var intentStatusType = []byte(`"` + string(pipeline.OutcomeIntentStatus) + `"`)

// intentOutcomes decodes the intent status outcomes among stored outcomes (those of an event
// applied before); others are skipped.
func intentOutcomes(out []json.RawMessage) []pipeline.Outcome {
	var os []pipeline.Outcome
	for _, raw := range out {
		if !bytes.Contains(raw, intentStatusType) {
			continue
		}
		o, err := pipeline.DecodeOutcome(raw)
		if err != nil || o.Type != pipeline.OutcomeIntentStatus {
			continue
		}
		os = append(os, *o)
	}
	return os
}

// noteApplied records markers applied for partition p whose outcomes are produced by the current
// handle call: compacted once Kafka acknowledged them (compactProduced).
func (m *Matcher) noteApplied(p int32, refs ...state.AppliedRef) {
	if len(refs) == 0 {
		return
	}
	m.ackMu.Lock()
	m.unacked[p] = append(m.unacked[p], refs...)
	m.ackMu.Unlock()
}

// compactProduced compacts the applied markers noted for partitions ps, whose outcomes Kafka has
// just acknowledged. A failure only leaves markers full until they expire: it is logged, not
// returned (the batch is done).
func (m *Matcher) compactProduced(ctx context.Context, ps []int32) {
	var refs []state.AppliedRef
	m.ackMu.Lock()
	for _, p := range ps {
		refs = append(refs, m.unacked[p]...)
		delete(m.unacked, p)
	}
	m.ackMu.Unlock()
	if err := m.st.CompactApplied(ctx, refs); err != nil {
		m.log.Warn("applied markers keep their outcomes until they expire", "markers", len(refs), "err", err)
	}
}

// forgetApplied drops the notes of revoked partitions: their next owner re-emits the outcomes
// from the full markers.
func (m *Matcher) forgetApplied(ps []int32) {
	m.ackMu.Lock()
	for _, p := range ps {
		delete(m.unacked, p)
	}
	m.ackMu.Unlock()
}

// retirePartition deletes the settled intents of partition p whose retention ended by now (at
// most maxExpiryRounds batches of expiryBatch, so it cannot starve event processing).
func (m *Matcher) retirePartition(ctx context.Context, p int32, now time.Time) error {
	for range maxExpiryRounds {
		n, err := m.st.RetireDue(ctx, p, now, expiryBatch)
		if err != nil {
			return err
		}
		m.met.retired.Add(float64(n))
		if n < expiryBatch {
			return nil
		}
	}
	return nil
}
