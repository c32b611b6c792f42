package matcher

import (
	"slices"
	"strings"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// Rule 3, claims. Whichever of the claim and the payment arrives second completes the match:
//
//   - Claim first (the TrxID was never reported on the wallet): the claim is recorded
//     (pipeline.ClaimsUpdate) for an intent that is PENDING, REVIEW_REQUIRED or EXPIRED, at most
//     pipeline.MaxClaimsPerIntent TrxIDs per intent and MaxClaimsPerTrx intents per TrxID. When the
//     payment is reported, byClaims decides it before rules 2 and 4.
//   - Payment first: the payment was kept (unmatched, or review); the claim finds it by TrxID
//     (the TrxID mark names the event that reported it) and decides with claimMatch.
//
// One claimed intent: PAID (CLAIM_MATCH) when the amounts are equal, the senders agree (compared
// only when both are mobile numbers), the payment was made not before the intent was created
// (OccurredAtTolerance) and before it expired (an EXPIRED intent: within the late-payment grace,
// see payable); otherwise REVIEW_REQUIRED with sender_mismatch, payment_before_intent or
// late_payment, in that order, after the amount. A claim of a payment of another amount (amount_mismatch) is the
// payer's word alone: the payment is held for review with the intent as its candidate and the
// intent does not change (hold), so that a 1 Tk payment claimed on a stranger's checkout page
// cannot block the stranger's intent. An intent already under
// review is paid by a matching claim too (the customer's TrxID settles an ambiguous review); when
// the claim does not match, the payment is linked to it as a candidate. Several intents claiming
// one TrxID: all go to review (ambiguous); a claim can name a stranger's TrxID by mistake, so the
// first claim does not win. Claims naming only final intents are ignored and the payment goes
// through rules 2 and 4.
//
// A claim changes nothing (Decision.Ignored) when the intent is unknown or final, when its TrxID
// already paid an intent, when the payment is no longer kept, or when it repeats.
//
// A claim never pays from a payment kept in review with ReasonBalanceMismatch, ReasonBalanceMissing
// or ReasonBalanceOutOfOrder (the SMS may be forged): it links it to the intent for an operator instead. Claims produce intent outcomes only;
// the payment's own outcome was emitted when it was reported (the audit's payments table has one
// row per payment), and a later match shows as an intent_status_changes row with rule claim.

// sendersAgree reports whether the sender a customer claimed and the one a payment reports may be
// the same: they differ only when both are valid mobile numbers and are not equal.
func sendersAgree(claimed, reported string) bool {
	c, okc := pipeline.NormalizeMSISDN(claimed)
	r, okr := pipeline.NormalizeMSISDN(reported)
	return !okc || !okr || c == r
}

// claimVerdict is what rule 3 says of intent r and a payment made at "at" whose report ingest
// accepted at accepted: "" to pay, else the review reason. An EXPIRED intent is paid within the
// late-payment grace (payable).
func (x *decider) claimVerdict(r *pipeline.IntentRecord, claimedSender string, p *pipeline.Payment, at, accepted time.Time) string {
	switch {
	case r.Amount != p.Amount: // first: the payment is then only held (hold), the intent stays payable
		return pipeline.ReasonAmountMismatch
	case !sendersAgree(claimedSender, p.Sender):
		return ReasonSenderMismatch
	case at.Before(r.CreatedAt.Add(-OccurredAtTolerance)):
		return ReasonPaymentBeforeIntent
	case x.beyondWindow(at):
		return pipeline.ReasonBeyondDedupeWindow
	case r.Status == pipeline.StatusReviewRequired && at.Before(r.ExpiresAt):
		return ""
	case !x.payable(r, at, accepted):
		return pipeline.ReasonLatePayment
	}
	return ""
}

// byClaims decides a reported payment whose TrxID customers claimed first. It returns false when
// no claim names an intent that may still change (rules 2 and 4 decide then).
func (x *decider) byClaims(all []*pipeline.IntentRecord, at time.Time) bool {
	if len(x.snap.Claims) == 0 {
		return false
	}
	x.d.DropClaims = []string{pipeline.NormalizeTrxID(x.ev.Payment.TrxID)}
	sender := map[string]string{}
	var live []*pipeline.IntentRecord
	for _, r := range all {
		if r.Status.Final() {
			continue
		}
		for _, c := range x.snap.Claims {
			if c.IntentID == r.ID {
				sender[r.ID] = c.Sender
				live = append(live, r)
				break
			}
		}
	}
	if len(live) == 0 {
		return false
	}
	// A claim is the payer's word: only the claimed intents of the payment's amount can be its
	// intent. Claims of other amounts never move their intents (they stay payable by their own
	// payments); with none of the amount the payment is held for review with all of them.
	exact := live
	if len(live) > 1 {
		exact = withAmount(live, x.ev.Payment.Amount)
	}
	switch len(exact) {
	case 0:
		x.hold(live, pipeline.RuleClaim, pipeline.ReasonAmountMismatch)
	case 1:
		r := exact[0]
		switch reason := x.claimVerdict(r, sender[r.ID], x.ev.Payment, at, x.ev.AcceptedAt); reason {
		case "":
			x.payIntent(r, pipeline.RuleClaim, pipeline.MatchClaim)
		case pipeline.ReasonAmountMismatch:
			x.hold(exact, pipeline.RuleClaim, reason)
		default:
			x.review(exact, pipeline.RuleClaim, reason)
		}
	default:
		x.review(exact, pipeline.RuleClaim, pipeline.ReasonAmbiguous)
	}
	return true
}

// claim decides a claim.submitted event.
func (x *decider) claim() {
	c := x.ev.Claim
	trx := pipeline.NormalizeTrxID(c.TrxID)
	r := x.intentByID(c.IntentID)
	switch paid := x.snap.TrxPaid[trx]; {
	case r == nil:
		x.ignore(pipeline.RuleClaim, IgnoreUnknownIntent)
		return
	case paid == r.ID:
		x.ignore(pipeline.RuleClaim, IgnoreTrxPaidThis)
		return
	case paid != "":
		x.ignore(pipeline.RuleClaim, IgnoreTrxPaidOther)
		return
	case r.Status.Final():
		x.ignore(pipeline.RuleClaim, IgnoreIntentFinal)
		return
	case x.snap.TrxSeenBy == "":
		x.recordClaim(r, trx)
		return
	}
	p := x.keptPayment(x.snap.TrxSeenBy)
	if p == nil {
		x.ignore(pipeline.RuleClaim, IgnoreTrxUsed)
		return
	}
	pay := p.Payment
	x.pay = &pay
	reason := x.claimVerdict(r, c.SenderMsisdn, &pay, p.At(), p.AcceptedAt)
	if reason == "" && p.Disposition == pipeline.DispositionReview && (p.Reason == ReasonBalanceMismatch || p.Reason == ReasonBalanceMissing || p.Reason == ReasonBalanceOutOfOrder) {
		reason = p.Reason
	}
	if reason != "" {
		x.linkForReview(r, p, pipeline.RuleClaim, reason)
		return
	}
	x.d.Rule, x.d.Disposition = pipeline.RuleClaim, pipeline.DispositionMatched
	x.change(r, pipeline.StatusPaid, pipeline.RuleClaim, pipeline.MatchClaim, paidReason(r))
	x.d.UsedPayments = []*pipeline.PaymentRecord{p}
	x.d.DropClaims = []string{trx}
	x.release(p, r.ID)
}

// recordClaim keeps a claim until its payment is reported.
func (x *decider) recordClaim(r *pipeline.IntentRecord, trx string) {
	byIntent := slices.Clone(x.snap.IntentClaims)
	var byTrx []pipeline.ClaimRecord
	for _, c := range x.snap.Claims {
		if o := x.intentByID(c.IntentID); o != nil && o.Status.Final() {
			continue // settled elsewhere: no longer counts against the bound
		}
		byTrx = append(byTrx, c)
	}
	if slices.Contains(byIntent, trx) || slices.ContainsFunc(byTrx, func(c pipeline.ClaimRecord) bool { return c.IntentID == r.ID }) {
		x.ignore(pipeline.RuleClaim, IgnoreAlreadyClaimed)
		return
	}
	if len(byIntent) >= pipeline.MaxClaimsPerIntent || len(byTrx) >= pipeline.MaxClaimsPerTrx {
		x.ignore(pipeline.RuleClaim, IgnoreTooManyClaims)
		return
	}
	sender := strings.TrimSpace(x.ev.Claim.SenderMsisdn)
	if n, ok := pipeline.NormalizeMSISDN(sender); ok {
		sender = n
	}
	x.d.Rule = pipeline.RuleClaim
	x.d.Claims = &pipeline.ClaimsUpdate{
		TrxID: trx, IntentID: r.ID,
		Claims:       append(byTrx, pipeline.ClaimRecord{EventID: x.ev.ID, IntentID: r.ID, TrxID: trx, Sender: sender, At: x.ev.AcceptedAt}),
		IntentTrxIDs: append(byIntent, trx),
	}
}

// linkForReview sends intent r to review with kept payment p (moved to the review list, r added to
// its intents), or only links them when r is already under review.
func (x *decider) linkForReview(r *pipeline.IntentRecord, p *pipeline.PaymentRecord, rule pipeline.Rule, reason string) {
	linked := slices.Contains(p.IntentIDs, r.ID)
	if linked && p.Disposition == pipeline.DispositionReview && (r.Status == pipeline.StatusReviewRequired || reason == pipeline.ReasonAmountMismatch) {
		x.ignore(rule, IgnoreAlreadyUnderReview)
		return
	}
	x.d.Rule, x.d.Disposition = rule, pipeline.DispositionReview
	// A claim of a payment of another amount is the payer's word alone: the payment is held for
	// review with r as a candidate and r stays payable by its own payment.
	if r.Status != pipeline.StatusReviewRequired && reason != pipeline.ReasonAmountMismatch {
		x.change(r, pipeline.StatusReviewRequired, rule, "", reason)
	}
	kept := *p
	kept.Disposition, kept.Rule, kept.Reason, kept.DecidedAt = pipeline.DispositionReview, rule, reason, x.now
	kept.IntentIDs = slices.Clone(p.IntentIDs)
	if !linked {
		kept.IntentIDs = append(kept.IntentIDs, r.ID)
	}
	x.d.Payment = &kept
}
