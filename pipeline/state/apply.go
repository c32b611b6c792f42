package state

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// Change is one decision to store for one inbound event (or expiry tick) of one wallet.
//
// Besides what each field says, Apply keeps these links by itself: a transition to PAID with a
// TrxID records TrxID -> intent (TrxPaidKey, read by TrxUse); a transition out of REVIEW_REQUIRED
// deletes the intent's review candidates (ReviewCandidatesKey), and so does a transition to a final
// status; a kept payment in review is added to the candidates of each of its IntentIDs. A
// transition to PENDING (only from REVIEW_REQUIRED: a review whose candidate paid another intent)
// puts the intent back in its open-by-amount index (its deadline, in another slot, is the
// caller's: AddDeadlines); a transition to EXPIRED adds it to
// ExpiredByAmountKey (the late-payment grace), one out of EXPIRED removes it.
type Change struct {
	Wallet  pipeline.Wallet
	EventID string // the applied marker's id: the inbound event id, or "expire:<intent id>"
	// SeenTrxID, if set, is marked seen on the wallet with EventID as value (compare-and-set: the
	// change conflicts if another event marked it first).
	SeenTrxID   string
	Transitions []pipeline.Transition
	// Payment, if set, is kept for operators; its Disposition must be unmatched or review. It is
	// stored in its disposition's list and removed from the other one (a kept payment may move).
	Payment *pipeline.PaymentRecord
	// Outcomes are stored as a JSON array under the applied marker and returned by Apply.
	Outcomes []*pipeline.Outcome

	// IfVersion, if set, makes the whole change a compare-and-set on the wallet's version
	// (Snapshot.Version): it conflicts if any other change of the wallet was applied since the
	// snapshot was loaded. Decisions over claims, kept payments or the balance chain need it.
	IfVersion *int64
	// NewVersion, if not 0, is the wallet's version after the change, instead of the version plus
	// one. A caller that applies several changes of one wallet in one pipeline gives each a fresh
	// random NewVersion and the next one IfVersion = that value: a change applies only if every
	// change before it in the chain did, and nothing else touched the wallet in between (an
	// increment by someone else cannot produce a random value).
	NewVersion int64
	// UsedPayments are kept payments that now paid an intent: removed from the records, from both
	// lists and from the review candidates of their IntentIDs.
	UsedPayments []*pipeline.PaymentRecord
	// Claims, if set, records a customer's claim (see pipeline.ClaimsUpdate).
	Claims *pipeline.ClaimsUpdate
	// DropClaims are TrxIDs whose waiting claims are deleted (their payment was decided).
	DropClaims []string
	// Balance, if set, becomes the wallet's balance chain head.
	Balance *pipeline.BalanceHead
	// Gap, if set, is added to the wallet's balance gaps (the newest MaxBalanceGaps are kept).
	Gap *pipeline.BalanceGap
	// OtherOutcomes are outcome records of types this package does not know (the matcher's balance
	// gap). Each must encode to a JSON object; they are stored and returned after Outcomes.
	OtherOutcomes []any
	// RecordNoop allows a change that writes nothing but its applied marker: a decision to change
	// nothing that a replay must repeat instead of deciding again over later state.
	RecordNoop bool
}

func (ch *Change) empty() bool {
	return len(ch.Outcomes) == 0 && len(ch.Transitions) == 0 && ch.Payment == nil && ch.SeenTrxID == "" &&
		len(ch.UsedPayments) == 0 && ch.Claims == nil && len(ch.DropClaims) == 0 && ch.Balance == nil &&
		ch.Gap == nil && len(ch.OtherOutcomes) == 0
}

// Apply stores ch atomically (one Lua script on the wallet's slot) and returns the outcomes to
// emit, each exactly as stored, so that emitting them is byte-identical however often it happens.
// Every applied change increments the wallet's version (WalletVersionKey), or sets it to NewVersion.
//
// If the event was applied before (its marker exists, AppliedTTL), nothing is written and the
// stored outcomes are returned with replayed = true, whatever ch says. If the wallet's version is
// not IfVersion, an intent is no longer in the status and version a transition expects, or
// SeenTrxID was marked by another event, nothing is written and the error is a *ConflictError
// (errors.Is(err, ErrConflict)): reload and decide again. Other errors are ErrInvalid (wrapped) for
// a malformed change, or Redis errors after which the call may be repeated. It blocks for one
// round trip.
func (s *Store) Apply(ctx context.Context, ch *Change) (outcomes []json.RawMessage, replayed bool, err error) {
	keys, args, items, err := s.applyArgs(ch)
	if err != nil {
		return nil, false, err
	}
	return applyReply(ch.EventID, s.runScript(ctx, applyScript, keys, args...), items)
}

// applyReply decodes applyScript's reply to the change of eventID, whose outcomes were encoded as
// items (returned as they are when the change applied).
func applyReply(eventID string, cmd *redis.Cmd, items []json.RawMessage) (outcomes []json.RawMessage, replayed bool, err error) {
	res, err := cmd.Slice()
	if err != nil {
		return nil, false, fmt.Errorf("applying decision of event %s: %w", eventID, err)
	}
	if len(res) < 2 {
		return nil, false, fmt.Errorf("applying decision of event %s: unexpected script reply %v", eventID, res)
	}
	code, _ := res[0].(int64)
	switch code {
	case 0:
		return items, false, nil
	case 1:
		raw, _ := res[1].(string)
		var out []json.RawMessage
		if err := unmarshal([]byte(raw), &out); err != nil {
			return nil, false, fmt.Errorf("applying decision of event %s: decoding stored outcomes: %w", eventID, err)
		}
		return out, true, nil
	case 2:
		if len(res) < 4 {
			return nil, false, fmt.Errorf("applying decision of event %s: unexpected conflict reply %v", eventID, res)
		}
		a, _ := res[1].(string)
		b, _ := res[2].(string)
		c, _ := res[3].(string)
		switch a {
		case "trx":
			return nil, false, &ConflictError{TrxSeenBy: b}
		case "version":
			return nil, false, &ConflictError{WalletVersion: b}
		}
		return nil, false, &ConflictError{IntentID: a, Status: b, Version: c}
	}
	return nil, false, fmt.Errorf("applying decision of event %s: unexpected script reply code %v", eventID, res[0])
}

// Fixed KEYS of applyScript; see its comment.
const (
	keyApplied = iota + 1
	keyVersion
	keyTrx
	firstIntentKey
)

// scriptOps accumulates the write operations of applyScript, each naming its key by index.
type scriptOps struct {
	keys []string
	idx  map[string]int
	ops  []any
	n    int
}

func (o *scriptOps) key(k string) int {
	if i, ok := o.idx[k]; ok {
		return i
	}
	o.keys = append(o.keys, k)
	o.idx[k] = len(o.keys)
	return len(o.keys)
}

// add appends one operation: op on key with up to two arguments.
func (o *scriptOps) add(op, key string, a, b any) {
	if a == nil {
		a = ""
	}
	if b == nil {
		b = ""
	}
	o.ops = append(o.ops, op, o.key(key), a, b)
	o.n++
}

func (s *Store) applyArgs(ch *Change) ([]string, []any, []json.RawMessage, error) {
	if ch == nil || ch.EventID == "" {
		return nil, nil, nil, fmt.Errorf("%w: change without event id", ErrInvalid)
	}
	if ch.empty() && !ch.RecordNoop {
		return nil, nil, nil, fmt.Errorf("%w: empty change for event %s", ErrInvalid, ch.EventID)
	}
	// The outcomes are encoded one by one and joined: the array is byte for byte what encoding
	// them as one []any gives, and the caller gets each item without decoding the reply again.
	outs := make([]any, 0, len(ch.Outcomes)+len(ch.OtherOutcomes))
	for _, o := range ch.Outcomes {
		outs = append(outs, o)
	}
	outs = append(outs, ch.OtherOutcomes...)
	items := make([]json.RawMessage, len(outs))
	size := 2
	for i, o := range outs {
		b, err := marshal(o)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encoding outcomes of event %s: %w", ch.EventID, err)
		}
		items[i] = b
		size += len(b) + 1
	}
	body := make([]byte, 0, size)
	body = append(body, '[')
	for i, b := range items {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, b...)
	}
	body = append(body, ']')
	k, w := s.keys, ch.Wallet
	applied := k.Applied(w, ch.EventID)
	o := &scriptOps{keys: []string{applied, WalletVersionKey(k, w), applied}, idx: map[string]int{}}
	markTrx := "0"
	if ch.SeenTrxID != "" {
		o.keys[keyTrx-1] = k.Trx(w, pipeline.NormalizeTrxID(ch.SeenTrxID))
		markTrx = strconv.FormatInt(s.life.trxMarkTTL().Milliseconds(), 10) // the mark's TTL
	}
	ifVersion := ""
	if ch.IfVersion != nil {
		ifVersion = strconv.FormatInt(*ch.IfVersion, 10)
	}

	// Compare-and-set of every transition's intent: its hash is KEYS[firstIntentKey + i].
	cas := make([]any, 0, 3*len(ch.Transitions))
	seen := make(map[string]bool, len(ch.Transitions))
	for _, t := range ch.Transitions {
		switch {
		case t.IntentID == "" || seen[t.IntentID]:
			return nil, nil, nil, fmt.Errorf("%w: event %s changes intent %q twice or without id", ErrInvalid, ch.EventID, t.IntentID)
		case !t.From.Valid() || !t.To.Valid() || t.From == t.To || t.Version < 1 ||
			(t.To == pipeline.StatusPending && t.From != pipeline.StatusReviewRequired):
			return nil, nil, nil, fmt.Errorf("%w: event %s: transition of intent %s from %q v%d to %q", ErrInvalid, ch.EventID, t.IntentID, t.From, t.Version, t.To)
		}
		seen[t.IntentID] = true
		o.keys = append(o.keys, k.Intent(w, t.IntentID))
		o.idx[k.Intent(w, t.IntentID)] = len(o.keys)
		cas = append(cas, t.IntentID, string(t.From), strconv.Itoa(t.Version))
	}

	for _, t := range ch.Transitions {
		ik := k.Intent(w, t.IntentID)
		o.add("hset", ik, fStatus, string(t.To))
		o.add("hset", ik, fVersion, strconv.Itoa(t.Version+1))
		o.add("hset", ik, fUpdatedAt, ms(t.At))
		o.add("hset", ik, fTrxID, t.TrxID)
		o.add("hset", ik, fMatchType, string(t.MatchType))
		o.add("hset", ik, fReason, t.Reason)
		o.add("zrem", k.IntentsByStatus(w, t.From), t.IntentID, nil)
		o.add("zadd", k.IntentsByStatus(w, t.To), ms(t.CreatedAt), t.IntentID)
		switch {
		case t.From == pipeline.StatusPending:
			o.add("zrem", k.OpenByAmount(w, t.Amount), t.IntentID, nil)
		case t.To == pipeline.StatusPending:
			o.add("zadd", k.OpenByAmount(w, t.Amount), ms(t.CreatedAt), t.IntentID)
		}
		switch {
		case t.From == pipeline.StatusExpired:
			o.add("zrem", ExpiredByAmountKey(k, w, t.Amount), t.IntentID, nil)
		case t.To == pipeline.StatusExpired:
			key := ExpiredByAmountKey(k, w, t.Amount)
			o.add("zadd", key, msCeil(t.ExpiresAt), t.IntentID)
			o.add("zbelow", key, ms(t.ExpiresAt.Add(-ExpiredHorizon)), nil)
			o.add("zcap", key, MaxExpiredByAmount, nil)
		}
		// A kept payment held for review may name a PENDING intent (a reference with another
		// amount): its candidates go when the intent leaves review or is settled.
		if t.From == pipeline.StatusReviewRequired || t.To.Final() {
			o.add("del", ReviewCandidatesKey(k, w, t.IntentID), nil, nil)
		}
		if t.To == pipeline.StatusPaid && t.TrxID != "" {
			o.add("hset", TrxPaidKey(k, w), pipeline.NormalizeTrxID(t.TrxID), t.IntentID)
		}
	}
	for _, p := range ch.UsedPayments {
		if p == nil || p.EventID == "" {
			return nil, nil, nil, fmt.Errorf("%w: event %s uses a payment without event id", ErrInvalid, ch.EventID)
		}
		o.add("hdel", PaymentRecordsKey(k, w), p.EventID, nil)
		o.add("zrem", k.Unmatched(w), p.EventID, nil)
		o.add("zrem", ReviewPaymentsKey(k, w), p.EventID, nil)
		for _, id := range p.IntentIDs {
			o.add("srem", ReviewCandidatesKey(k, w, id), p.EventID, nil)
		}
	}
	if p := ch.Payment; p != nil {
		list, other := k.Unmatched(w), ReviewPaymentsKey(k, w)
		switch p.Disposition {
		case pipeline.DispositionUnmatched:
		case pipeline.DispositionReview:
			list, other = other, list
		default:
			return nil, nil, nil, fmt.Errorf("%w: event %s keeps a payment with disposition %q (only unmatched or review)", ErrInvalid, ch.EventID, p.Disposition)
		}
		if p.EventID == "" {
			p = ptrTo(*p)
			p.EventID = ch.EventID
		}
		b, err := marshal(p)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encoding payment record of event %s: %w", ch.EventID, err)
		}
		o.add("hset", PaymentRecordsKey(k, w), p.EventID, string(b))
		o.add("zadd", list, ms(p.At()), p.EventID)
		o.add("zrem", other, p.EventID, nil)
		if p.Disposition == pipeline.DispositionReview {
			for _, id := range p.IntentIDs {
				o.add("sadd", ReviewCandidatesKey(k, w, id), p.EventID, nil)
			}
		}
	}
	if c := ch.Claims; c != nil {
		if c.TrxID == "" || c.IntentID == "" {
			return nil, nil, nil, fmt.Errorf("%w: event %s records a claim without TrxID or intent", ErrInvalid, ch.EventID)
		}
		cb, err := marshal(c.Claims)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encoding claims of event %s: %w", ch.EventID, err)
		}
		ib, err := marshal(c.IntentTrxIDs)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encoding claims of event %s: %w", ch.EventID, err)
		}
		ttl := int64(ClaimTTL / time.Second)
		o.add("setex", ClaimsKey(k, w, c.TrxID), string(cb), ttl)
		o.add("setex", IntentClaimsKey(k, w, c.IntentID), string(ib), ttl)
	}
	for _, trx := range ch.DropClaims {
		o.add("del", ClaimsKey(k, w, trx), nil, nil)
	}
	if h := ch.Balance; h != nil {
		b, err := marshal(h)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encoding balance of event %s: %w", ch.EventID, err)
		}
		o.add("set", BalanceKey(k, w), string(b), nil)
	}
	if g := ch.Gap; g != nil {
		b, err := marshal(g)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encoding balance gap of event %s: %w", ch.EventID, err)
		}
		o.add("zadd", BalanceGapsKey(k, w), ms(g.At), string(b))
		o.add("zcap", BalanceGapsKey(k, w), MaxBalanceGaps, nil)
	}

	newVersion := ""
	if ch.NewVersion != 0 {
		newVersion = strconv.FormatInt(ch.NewVersion, 10)
	}
	args := []any{body, int64(s.life.AppliedRetention / time.Second), ch.EventID, markTrx, ifVersion, len(ch.Transitions), o.n, newVersion}
	args = append(args, cas...)
	args = append(args, o.ops...)
	return o.keys, args, items, nil
}

func ptrTo[T any](v T) *T { return &v }
