package matcher

import (
	"encoding/json"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// The balance chain (sms.received, and payment.reported carrying the SMS it came from). For each
// wallet, consecutive SMS that report a balance must follow from each other: previous balance +
// amount for a credit, previous balance - amount - fee for a debit (fee 0 when the SMS states
// none). A credit whose SMS states a fee may also be previous + amount - fee (some merchant
// accounts are charged on receipt). The head (state.BalanceHead) is the newest such SMS.
//
// Which SMS count: trusted ones (the sender is the provider's) with a balance. An SMS without an
// amount, or with direction none, has no change to check: its balance becomes the head. A trusted
// paying SMS without a balance on a wallet whose SMS carry one (balanceExpected) is not checked
// either, but its payment goes to review (ReasonBalanceMissing) instead of paying: otherwise an
// SMS that omits the balance (or whose balance the parser refused: two different values, one of
// them in the payer's Ref) would escape the chain.
//
// Time and order: an SMS's time is SMS.ReceivedAt (the phone's receipt time), else the payment's
// OccurredAt, else when ingest accepted it. Forwarders retry and reorder, so an SMS older than the
// head is not compared and leaves the head alone (IgnoreSMSOutOfOrder): no false gap. An SMS of
// the same time as the head is compared, and when it does not follow from the head but the head
// follows from it (the two arrived in the other order) nothing changes. The head's own SMS again
// (same TrxID, or same time, balance and change) is IgnoreSMSRepeated.
//
// A mismatch is a gap, "a possible missed SMS": the new SMS becomes the head anyway (a chain that
// stayed on the old balance would flag every later SMS), a BalanceGapOutcome is emitted and the
// gap is kept for operators (state.Store.BalanceGaps). A paying SMS whose balance is lower than
// the previous balance + its amount (the money cannot have arrived as claimed, or a debit SMS was
// missed: an operator decides) sends its payment to review (ReasonBalanceMismatch) instead of
// paying it or keeping it unmatched; a higher balance (a credit SMS was missed in between) only
// raises the gap and the payment is decided normally. A duplicate report's SMS moves the chain but
// its payment is not decided again.

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
	next := &state.BalanceHead{EventID: ev.ID, At: smsTime(ev), Balance: *s.Balance, TrxID: state.NormalizeTrxID(trx)}
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
		x.d.Balance = next
		return
	}
	if h.EventID == next.EventID || (next.TrxID != "" && next.TrxID == h.TrxID) ||
		(next.At.Equal(h.At) && next.Balance == h.Balance && next.HasDelta == h.HasDelta && next.DeltaPaisa == h.DeltaPaisa) {
		x.ignoreSMS(IgnoreSMSRepeated)
		return
	}
	if next.At.Before(h.At) {
		x.ignoreSMS(IgnoreSMSOutOfOrder)
		return
	}
	if !next.HasDelta {
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
	x.d.Balance = next
	x.d.Gap = &state.BalanceGap{
		EventID: ev.ID, MerchantID: ev.MerchantID, Wallet: ev.Wallet, Direction: dir, Amount: amount,
		FeePaisa: fee, TrxID: next.TrxID, At: next.At,
		PreviousEventID: h.EventID, PreviousAt: h.At, PreviousBalance: h.Balance,
		ExpectedPaisa: expected, ActualPaisa: actual, DifferencePaisa: actual - expected, DetectedAt: x.now,
	}
	if ev.Kind == pipeline.KindPaymentReported && dir == directionCredit && actual < expected {
		x.suspect = ReasonBalanceMismatch
	}
}

// balanceExpected reports whether the SMS of a payment on wallet w must carry a balance: its
// provider's "money received" SMS always do (bKash, Nagad, Rocket; see pipeline/smsparse's
// formats), or the wallet's SMS did before (it has a chain head). Upay's merchant-payment wording
// may omit it, so an Upay wallet expects one only once its chain exists.
func balanceExpected(w pipeline.Wallet, h *state.BalanceHead) bool {
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
