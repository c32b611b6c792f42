package matcher

import (
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// The matcher's side of its persistence adapter (pipeline/state): a loaded snapshot becomes the
// Snapshot Decide looks at, and a Decision becomes the state.Change Apply stores. Decide and its
// helpers (decide*.go) depend on pipeline only; this file and the run loop (matcher.go, batch.go,
// expiry.go) are the only ones that know the store.

// SnapshotOf returns the part of a loaded snapshot Decide looks at.
func SnapshotOf(s *state.Snapshot) Snapshot {
	return Snapshot{
		TrxSeenBy: s.TrxSeenBy, Intents: s.Intents, Claims: s.Claims, IntentClaims: s.IntentClaims,
		Payments: s.Payments, Candidates: s.Candidates, TrxPaid: s.TrxPaid, Balance: s.Balance,
		IntentCandidates: s.IntentCandidates,
	}
}

// Change returns the decision as a state change of ev's wallet, applied under ev.ID. The caller
// sets IfVersion to the version of the snapshot the decision was taken over.
func (d *Decision) Change(ev *pipeline.Event) *state.Change {
	ch := &state.Change{
		Wallet: ev.Wallet, EventID: ev.ID, SeenTrxID: d.SeenTrxID,
		Transitions: d.Transitions, Payment: d.Payment, Outcomes: d.Outcomes,
		UsedPayments: d.UsedPayments, Claims: d.Claims, DropClaims: d.DropClaims,
		Balance: d.Balance, Gap: d.Gap, RecordNoop: d.Ignored != "",
	}
	if d.GapOutcome != nil {
		ch.OtherOutcomes = []any{d.GapOutcome}
	}
	return ch
}
