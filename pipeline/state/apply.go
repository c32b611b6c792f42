package state

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// Transition is one intent status change of a decision, with what the store needs to keep the
// indexes right. It is a compare-and-set: it applies only if the intent is still in From at Version.
type Transition struct {
	IntentID  string
	Amount    pipeline.Money // the intent's amount (its open-by-amount index)
	CreatedAt time.Time      // the intent's creation time (its index score)
	From      pipeline.Status
	Version   int // the version the intent has now; the change makes it Version+1
	To        pipeline.Status
	TrxID     string // the payment that caused the change, if any
	MatchType pipeline.MatchType
	Reason    string
	At        time.Time // becomes the record's UpdatedAt
}

// PaymentRecord is a reported payment the matcher kept for operators: unmatched (claimable later)
// or sent to review. It is stored as JSON in the wallet's payment records hash under its event id.
type PaymentRecord struct {
	EventID     string               `json:"eventId"`
	MerchantID  string               `json:"merchantId"`
	Source      pipeline.Source      `json:"source"`
	Wallet      pipeline.Wallet      `json:"wallet"`
	Payment     pipeline.Payment     `json:"payment"`
	Disposition pipeline.Disposition `json:"disposition"`
	Rule        pipeline.Rule        `json:"rule"`
	Reason      string               `json:"reason,omitempty"`
	IntentIDs   []string             `json:"intentIds,omitempty"` // intents the payment concerns, if any
	AcceptedAt  time.Time            `json:"acceptedAt"`
	DecidedAt   time.Time            `json:"decidedAt"`
}

// At is the payment's time as indexed: OccurredAt, or AcceptedAt when OccurredAt is unknown.
func (r *PaymentRecord) At() time.Time {
	if r.Payment.OccurredAt.IsZero() {
		return r.AcceptedAt
	}
	return r.Payment.OccurredAt
}

// Change is one decision to store for one inbound event (or expiry tick) of one wallet.
type Change struct {
	Wallet  pipeline.Wallet
	EventID string // the applied marker's id: the inbound event id, or "expire:<intent id>"
	// SeenTrxID, if set, is marked seen on the wallet with EventID as value (compare-and-set: the
	// change conflicts if another event marked it first).
	SeenTrxID   string
	Transitions []Transition
	// Payment, if set, is kept for operators; its Disposition must be unmatched or review.
	Payment *PaymentRecord
	// Outcomes are stored as a JSON array under the applied marker and returned by Apply.
	Outcomes []*pipeline.Outcome
}

// Apply stores ch atomically (one Lua script on the wallet's slot) and returns the outcomes to
// emit, each exactly as stored, so that emitting them is byte-identical however often it happens.
//
// If the event was applied before (its marker exists, AppliedTTL), nothing is written and the
// stored outcomes are returned with replayed = true, whatever ch says. If an intent is no longer in
// the status and version a transition expects, or SeenTrxID was marked by another event, nothing is
// written and the error is a *ConflictError (errors.Is(err, ErrConflict)): reload and decide again.
// Other errors are ErrInvalid (wrapped) for a malformed change, or Redis errors after which the
// call may be repeated. It blocks for one round trip.
func (s *Store) Apply(ctx context.Context, ch *Change) (outcomes []json.RawMessage, replayed bool, err error) {
	keys, args, err := s.applyArgs(ch)
	if err != nil {
		return nil, false, err
	}
	res, err := s.runScript(ctx, applyScript, keys, args...).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("applying decision of event %s: %w", ch.EventID, err)
	}
	if len(res) < 2 {
		return nil, false, fmt.Errorf("applying decision of event %s: unexpected script reply %v", ch.EventID, res)
	}
	code, _ := res[0].(int64)
	switch code {
	case 0, 1:
		raw, _ := res[1].(string)
		var out []json.RawMessage
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			return nil, false, fmt.Errorf("applying decision of event %s: decoding stored outcomes: %w", ch.EventID, err)
		}
		return out, code == 1, nil
	case 2:
		if len(res) < 4 {
			return nil, false, fmt.Errorf("applying decision of event %s: unexpected conflict reply %v", ch.EventID, res)
		}
		a, _ := res[1].(string)
		b, _ := res[2].(string)
		c, _ := res[3].(string)
		if a == "trx" {
			return nil, false, &ConflictError{TrxSeenBy: b}
		}
		return nil, false, &ConflictError{IntentID: a, Status: b, Version: c}
	}
	return nil, false, fmt.Errorf("applying decision of event %s: unexpected script reply code %v", ch.EventID, res[0])
}

func (s *Store) applyArgs(ch *Change) ([]string, []any, error) {
	if ch == nil || ch.EventID == "" {
		return nil, nil, fmt.Errorf("%w: change without event id", ErrInvalid)
	}
	if len(ch.Outcomes) == 0 && len(ch.Transitions) == 0 && ch.Payment == nil && ch.SeenTrxID == "" {
		return nil, nil, fmt.Errorf("%w: empty change for event %s", ErrInvalid, ch.EventID)
	}
	outs := ch.Outcomes
	if outs == nil {
		outs = []*pipeline.Outcome{}
	}
	body, err := json.Marshal(outs)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding outcomes of event %s: %w", ch.EventID, err)
	}
	k, w := s.keys, ch.Wallet
	applied := k.Applied(w, ch.EventID)
	keys := []string{applied, applied, PaymentRecordsKey(k, w), k.Unmatched(w)}
	markTrx := "0"
	if ch.SeenTrxID != "" {
		keys[1] = k.Trx(w, ch.SeenTrxID)
		markTrx = "1"
	}
	payJSON, payScore := "", int64(0)
	if p := ch.Payment; p != nil {
		switch p.Disposition {
		case pipeline.DispositionUnmatched:
		case pipeline.DispositionReview:
			keys[3] = ReviewPaymentsKey(k, w)
		default:
			return nil, nil, fmt.Errorf("%w: event %s keeps a payment with disposition %q (only unmatched or review)", ErrInvalid, ch.EventID, p.Disposition)
		}
		b, err := json.Marshal(p)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding payment record of event %s: %w", ch.EventID, err)
		}
		payJSON, payScore = string(b), ms(p.At())
	}
	args := []any{body, int64(AppliedTTL / time.Second), ch.EventID, markTrx, payJSON, payScore,
		len(ch.Transitions), string(pipeline.StatusPending)}
	seen := make(map[string]bool, len(ch.Transitions))
	for _, t := range ch.Transitions {
		switch {
		case t.IntentID == "" || seen[t.IntentID]:
			return nil, nil, fmt.Errorf("%w: event %s changes intent %q twice or without id", ErrInvalid, ch.EventID, t.IntentID)
		case !t.From.Valid() || !t.To.Valid() || t.To == pipeline.StatusPending || t.From == t.To || t.Version < 1:
			return nil, nil, fmt.Errorf("%w: event %s: transition of intent %s from %q v%d to %q", ErrInvalid, ch.EventID, t.IntentID, t.From, t.Version, t.To)
		}
		seen[t.IntentID] = true
		keys = append(keys, k.Intent(w, t.IntentID), k.IntentsByStatus(w, t.From), k.IntentsByStatus(w, t.To), k.OpenByAmount(w, t.Amount))
		args = append(args, t.IntentID, string(t.From), strconv.Itoa(t.Version), string(t.To), strconv.Itoa(t.Version+1),
			ms(t.At), t.TrxID, string(t.MatchType), t.Reason, ms(t.CreatedAt))
	}
	return keys, args, nil
}
