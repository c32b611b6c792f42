package state

import (
	"errors"
	"fmt"
)

// ErrNotFound reports an intent that does not exist (GetIntent).
var ErrNotFound = errors.New("intent not found")

// ErrConflict reports a decision whose compare-and-set failed because the state changed after it
// was loaded (another matcher instance, typically a zombie after a rebalance, or ingest). The caller
// reloads the snapshot and decides again. The concrete error is a *ConflictError.
var ErrConflict = errors.New("state changed since it was loaded")

// ErrInvalid reports an input the store refuses whatever Redis says: an intent without id, amount,
// creation time, or with a non-canonical wallet; a change touching one intent twice; a list query
// out of bounds. Retrying does not help; callers treat the input as bad.
var ErrInvalid = errors.New("invalid state input")

// ConflictError says what was found instead of what the decision expected.
type ConflictError struct {
	IntentID string // the intent whose status or version differed ("" when the TrxID mark or the wallet version conflicted)
	Status   string // its current status ("" if it does not exist)
	Version  string // its current version
	// TrxSeenBy is the event id that marked the payment's TrxID first, when that caused the conflict.
	TrxSeenBy string
	// WalletVersion is the wallet's current version, when Change.IfVersion caused the conflict.
	WalletVersion string
}

func (e *ConflictError) Error() string {
	if e.WalletVersion != "" {
		return fmt.Sprintf("%v: wallet state is at version %s", ErrConflict, e.WalletVersion)
	}
	if e.IntentID == "" {
		return fmt.Sprintf("%v: trx already reported by event %s", ErrConflict, e.TrxSeenBy)
	}
	return fmt.Sprintf("%v: intent %s is now %q version %q", ErrConflict, e.IntentID, e.Status, e.Version)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// errCrossSlot is a programming error: a script was handed keys of more than one hash tag.
var errCrossSlot = errors.New("keys of one script span several hash tags")
