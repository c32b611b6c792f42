package matcher

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// The balance chain (sms.received, and payment.reported carrying the SMS it came from). For each
// wallet, consecutive SMS that report a balance must follow from each other: previous balance +
// amount for a credit, previous balance - amount - fee for a debit (fee 0 when the SMS states
// none). A credit whose SMS states a fee may also be previous + amount - fee (some merchant
// accounts are charged on receipt). The head (pipeline.BalanceHead) is the newest such SMS.
//
// Which SMS count: trusted ones (the sender is the provider's) with a balance. An SMS without an
// amount, or with direction none, has no change to check: its balance becomes the head. A trusted
// paying SMS without a balance on a wallet whose SMS carry one (balanceExpected) is not checked
// either, but its payment goes to review (ReasonBalanceMissing) instead of paying: otherwise an
// SMS that omits the balance (or whose balance the parser refused: two different values, one of
// them in the payer's Ref) would escape the chain.
//
// Time and order: an SMS's time is SMS.ReceivedAt (the phone's receipt time), else the payment's
// OccurredAt, else when ingest accepted it. An SMS of the same time as the head is compared, and
// when it does not follow from the head but the head follows from it (the two arrived in the other
// order) nothing changes. The head's own SMS again (same TrxID, or same time, balance and change) is
// IgnoreSMSRepeated. Forwarders retry and reorder, so an SMS older than the head is not compared
// with the head but placed in the chain (backfill): the head keeps the balance before the chain's
// oldest SMS (BalanceHead.BasePaisa, BaseAt) and the chain's unexplained stretches (Holes: one per
// gap, and per balance-only SMS that changed the balance). An older SMS fits when its balance is
// the base (a backlog forwarded newest first extends the chain back) or when it starts or ends a
// hole (an SMS forwarded after later ones fills the gap they left); then the base or the hole moves
// and the head's balance does not. Several SMS held back together leave one hole, and they may come
// in any order: within HoleSplitWindow of the hole's opening (ingest's clock, AcceptedAt), an SMS
// stamped inside the hole that starts or ends at neither edge splits it in two around itself.
// Later, only the edges accept (a hole that stays open is a missed SMS: a forger who stamps an SMS
// in it must still name a balance the chain can place). One that fits nowhere changes nothing (IgnoreSMSOutOfOrder),
// and if it pays, its payment goes to review (ReasonBalanceOutOfOrder): the phone's stamps are the
// sender's word, so a forged SMS stamped in the past must not escape the check an in-order one
// gets.
//
// A mismatch is a gap, "a possible missed SMS": the new SMS becomes the head anyway (a chain that
// stayed on the old balance would flag every later SMS), a BalanceGapOutcome is emitted and the
// gap is kept for operators (state.Store.BalanceGaps). A paying SMS whose balance is lower than
// the previous balance + its amount (the money cannot have arrived as claimed, or a debit SMS was
// missed: an operator decides) sends its payment to review (ReasonBalanceMismatch) instead of
// paying it or keeping it unmatched; a higher balance (a credit SMS was missed in between) only
// raises the gap and the payment is decided normally. A duplicate report's SMS moves the chain but
// its payment is not decided again.

// HoleSplitWindow is how long after a balance hole opened (by ingest's clock) an SMS stamped inside
// it may split it: long enough for a backlog held back by a phone or a stalled ingest to arrive in
// any order, short enough that a hole left by a missed SMS does not stay open to any balance.
const HoleSplitWindow = 5 * time.Minute

// smsTime is the time the chain orders an SMS by.
func smsTime(ev *pipeline.Event) time.Time {
	if t := ev.SMS.ReceivedAt; !t.IsZero() {
		return t
	}
	if ev.Payment != nil && !ev.Payment.OccurredAt.IsZero() {
		return ev.Payment.OccurredAt
	}
	return ev.AcceptedAt
}

// smsFee returns the fee the parser read from the SMS (pipeline/smsparse.Result.FeePaisa), 0 when none.
func smsFee(s *pipeline.SMS) int64 {
	if len(s.Parsed) == 0 {
		return 0
	}
	var r struct {
		FeePaisa *int64 `json:"fee_paisa"`
	}
	if json.Unmarshal(s.Parsed, &r) != nil || r.FeePaisa == nil || *r.FeePaisa < 0 {
		return 0
	}
	return *r.FeePaisa
}

// Directions of pipeline.SMS.Direction (pipeline/smsparse's).
const (
	directionCredit = "credit"
	directionDebit  = "debit"
)

// balance runs the chain for the event's SMS.
func (x *decider) balance() {
	ev, s := x.ev, x.ev.SMS
	if s == nil || !s.Trusted {
		return
	}
	if s.Balance == nil {
		// A paying SMS without the balance its wallet's SMS carry would skip the chain check.
		if ev.Kind == pipeline.KindPaymentReported && ev.Payment != nil && balanceExpected(ev.Wallet, x.snap.Balance) {
			x.suspect = ReasonBalanceMissing
		}
		return
	}
	dir := s.Direction
	if dir == "" && ev.Payment != nil {
		dir = directionCredit
	}
	var amount pipeline.Money
	switch {
	case s.Amount != nil:
		amount = *s.Amount
	case ev.Payment != nil:
		amount = ev.Payment.Amount
	}
	fee := smsFee(s)
	trx := s.TrxID
	if trx == "" && ev.Payment != nil {
		trx = ev.Payment.TrxID
	}
	next := &pipeline.BalanceHead{EventID: ev.ID, At: smsTime(ev), Balance: *s.Balance, TrxID: pipeline.NormalizeTrxID(trx)}
	if amount > 0 {
		switch dir {
		case directionCredit:
			next.DeltaPaisa, next.HasDelta = int64(amount), true
		case directionDebit:
			next.DeltaPaisa, next.HasDelta = -int64(amount)-fee, true
		}
	}
	h := x.snap.Balance
	if h == nil {
		next.BasePaisa, next.BaseAt, next.HasBase = before(next), next.At, true
		next.StartedAt = ev.AcceptedAt
		x.d.Balance = next
		return
	}
	if h.EventID == next.EventID || (next.TrxID != "" && next.TrxID == h.TrxID) ||
		(next.At.Equal(h.At) && next.Balance == h.Balance && next.HasDelta == h.HasDelta && next.DeltaPaisa == h.DeltaPaisa) {
		x.ignoreSMS(IgnoreSMSRepeated)
		return
	}
	if next.At.Before(h.At) {
		x.backfill(h, next, dir, fee)
		return
	}
	next.BasePaisa, next.BaseAt, next.HasBase = baseOf(h)
	next.StartedAt = h.StartedAt
	next.Holes = h.Holes
	if !next.HasDelta {
		if next.Balance != h.Balance {
			next.Holes = withHole(h.Holes, pipeline.BalanceHole{FromAt: h.At, FromPaisa: int64(h.Balance), ToAt: next.At, ToPaisa: int64(next.Balance), OpenedAt: ev.AcceptedAt})
		}
		x.d.Balance = next
		return
	}
	actual, expected := int64(next.Balance), int64(h.Balance)+next.DeltaPaisa
	if actual == expected || (dir == directionCredit && fee > 0 && actual == expected-fee) {
		x.d.Balance = next
		return
	}
	if next.At.Equal(h.At) && h.HasDelta && actual == int64(h.Balance)-h.DeltaPaisa {
		x.ignoreSMS(IgnoreSMSOutOfOrder) // the head follows from this SMS: they arrived in the other order
		return
	}
	next.Holes = withHole(h.Holes, pipeline.BalanceHole{FromAt: h.At, FromPaisa: int64(h.Balance), ToAt: next.At, ToPaisa: before(next), OpenedAt: ev.AcceptedAt})
	x.d.Balance = next
	x.d.Gap = &pipeline.BalanceGap{
		EventID: ev.ID, MerchantID: ev.MerchantID, Wallet: ev.Wallet, Direction: dir, Amount: amount,
		FeePaisa: fee, TrxID: next.TrxID, At: next.At,
		PreviousEventID: h.EventID, PreviousAt: h.At, PreviousBalance: h.Balance,
		ExpectedPaisa: expected, ActualPaisa: actual, DifferencePaisa: actual - expected, DetectedAt: x.now,
	}
	if ev.Kind == pipeline.KindPaymentReported && dir == directionCredit && actual < expected {
		x.suspect = ReasonBalanceMismatch
	}
}

// backfill links an SMS older than the head h (forwarded late) to the chain, or refuses it. It
// fits when its balance is the chain's base (BasePaisa) and it is not newer than BaseAt (it extends the chain
// back: the base becomes the balance before it), or when it lies in a hole and starts at the hole's
// From or ends at its To (the hole shrinks, and is gone once From and To meet), or when it lies
// strictly inside a hole opened less than HoleSplitWindow before it was accepted (the hole splits
// in two around it), or when it is older than BaseAt and the chain started less than
// HoleSplitWindow before (the base moves before it, leaving a hole up to the old base). A fitting
// SMS changes the head's base or Holes, never its balance. An SMS that does not fit is not compared
// (IgnoreSMSOutOfOrder); if it pays, its payment goes to review (ReasonBalanceOutOfOrder): a
// forger who stamps an SMS in the past must still name a balance the chain can place.
func (x *decider) backfill(h, next *pipeline.BalanceHead, dir string, fee int64) {
	if next.HasDelta {
		after := int64(next.Balance)
		befores := []int64{before(next)}
		if dir == directionCredit && fee > 0 {
			befores = append(befores, befores[0]+fee) // the fee charged on receipt
		}
		base, baseAt, _ := baseOf(h)
		if after == base && !next.At.After(baseAt) {
			nh := *h
			nh.BasePaisa, nh.BaseAt, nh.HasBase = befores[0], next.At, true
			x.d.Balance = &nh
			return
		}
		if nh := fillHole(h, next, befores, x.ev.AcceptedAt); nh != nil {
			x.d.Balance = nh
			return
		}
		// Older than the chain, not ending at its base, while the chain is young: the backlog
		// before the chain's first SMS is coming in any order. The base moves before it and the
		// stretch between it and the old base becomes a hole.
		young := !h.StartedAt.IsZero() && x.ev.AcceptedAt.Sub(h.StartedAt) < HoleSplitWindow
		if young && next.At.Before(baseAt) {
			nh := *h
			nh.BasePaisa, nh.BaseAt, nh.HasBase = befores[0], next.At, true
			nh.Holes = slices.Concat([]pipeline.BalanceHole{{FromAt: next.At, FromPaisa: after, ToAt: baseAt, ToPaisa: base, OpenedAt: h.StartedAt}}, h.Holes)
			if n := len(nh.Holes) - pipeline.MaxBalanceHoles; n > 0 {
				nh.Holes = nh.Holes[n:]
			}
			x.d.Balance = &nh
			return
		}
	}
	if x.ev.Kind == pipeline.KindPaymentReported && x.ev.Payment != nil {
		x.suspect = ReasonBalanceOutOfOrder
		return
	}
	x.ignoreSMS(IgnoreSMSOutOfOrder)
}

// fillHole places next (an SMS older than the head h, with balance after it next.Balance and
// befores the balances it may have started from) in one of h's holes: at an edge, shrinking the hole
// (gone once its edges meet), or strictly inside a hole that opened less than HoleSplitWindow
// before accepted, splitting it in two. It returns the new head, or nil when next fits no hole.
// Edges are tried on every hole before any split.
func fillHole(h, next *pipeline.BalanceHead, befores []int64, accepted time.Time) *pipeline.BalanceHead {
	after := int64(next.Balance)
	with := func(i int, repl ...pipeline.BalanceHole) *pipeline.BalanceHead {
		nh := *h
		nh.Holes = slices.Concat(h.Holes[:i], repl, h.Holes[i+1:])
		if n := len(nh.Holes) - pipeline.MaxBalanceHoles; n > 0 {
			nh.Holes = nh.Holes[n:]
		}
		if len(nh.Holes) == 0 {
			nh.Holes = nil
		}
		return &nh
	}
	for i, hole := range h.Holes {
		if next.At.Before(hole.FromAt) || next.At.After(hole.ToAt) {
			continue
		}
		switch {
		case slices.Contains(befores, hole.FromPaisa):
			hole.FromPaisa, hole.FromAt = after, next.At
		case after == hole.ToPaisa:
			hole.ToPaisa, hole.ToAt = befores[0], next.At
		default:
			continue
		}
		if hole.FromPaisa == hole.ToPaisa {
			return with(i)
		}
		return with(i, hole)
	}
	for i, hole := range h.Holes {
		young := !hole.OpenedAt.IsZero() && accepted.Sub(hole.OpenedAt) < HoleSplitWindow
		if young && next.At.After(hole.FromAt) && next.At.Before(hole.ToAt) {
			left, right := hole, hole
			left.ToAt, left.ToPaisa = next.At, befores[0]
			right.FromAt, right.FromPaisa = next.At, after
			return with(i, left, right)
		}
	}
	return nil
}

// before returns the balance (paisa) before the SMS of head h (its balance less its change, or its
// balance when it states no change).
func before(h *pipeline.BalanceHead) int64 {
	if h.HasDelta {
		return int64(h.Balance) - h.DeltaPaisa
	}
	return int64(h.Balance)
}

// baseOf returns h's BasePaisa and BaseAt, or, for a head stored without them, the balance before h's
// own SMS at its time.
func baseOf(h *pipeline.BalanceHead) (int64, time.Time, bool) {
	if h.HasBase {
		return h.BasePaisa, h.BaseAt, true
	}
	return before(h), h.At, true
}

// withHole returns holes with hole added, keeping the newest pipeline.MaxBalanceHoles (a copy).
func withHole(holes []pipeline.BalanceHole, hole pipeline.BalanceHole) []pipeline.BalanceHole {
	out := append(slices.Clone(holes), hole)
	if n := len(out) - pipeline.MaxBalanceHoles; n > 0 {
		out = out[n:]
	}
	return out
}

// balanceExpected reports whether the SMS of a payment on wallet w must carry a balance: its
// provider's "money received" SMS always do (bKash, Nagad, Rocket; see pipeline/smsparse's
// formats), or the wallet's SMS did before (it has a chain head). Upay's merchant-payment wording
// may omit it, so an Upay wallet expects one only once its chain exists.
func balanceExpected(w pipeline.Wallet, h *pipeline.BalanceHead) bool {
	switch w.Provider {
	case pipeline.BKash, pipeline.Nagad, pipeline.Rocket:
		return true
	}
	return h != nil
}

// ignoreSMS marks an sms.received event that changes nothing; a payment is decided anyway.
func (x *decider) ignoreSMS(reason string) {
	if x.ev.Kind == pipeline.KindSMSReceived {
		x.ignore(RuleBalanceChain, reason)
	}
}

// finishGap adds the outcome of the gap the chain found, once the payment (if any) is decided.
func (x *decider) finishGap() {
	g := x.d.Gap
	if g == nil {
		return
	}
	g.Review = x.suspectHit
	ev := x.ev
	o := &BalanceGapOutcome{
		Outcome: pipeline.Outcome{
			ID: BalanceGapOutcomeID(ev.ID), Type: OutcomeBalanceGap, EventID: ev.ID, MerchantID: ev.MerchantID,
			Environment: ev.Wallet.Environment, Wallet: ev.Wallet, Rule: RuleBalanceChain,
			AcceptedAt: ev.AcceptedAt, DecidedAt: x.now,
		},
		BalanceGap: g,
	}
	if ev.Payment != nil {
		p := *ev.Payment
		o.Payment = &p
		if g.Review {
			o.Reason, o.Disposition = ReasonBalanceMismatch, pipeline.DispositionReview
		}
	}
	x.d.GapOutcome = o
}
