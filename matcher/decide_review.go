package matcher

import (
	"strings"

	"github.com/paystream/paystream/pipeline"
)

// Rule 6, operators' decisions (review.decided), all RuleManual:
//
//   - approve: a REVIEW_REQUIRED intent becomes PAID (MANUAL) with the TrxID the operator gave, or
//     else the one the intent recorded when it went to review (or none: the operator vouches for
//     the money). The kept payment with that TrxID, if any, is used (it leaves the unmatched or
//     review list and every other intent's candidates). A TrxID the matcher never saw is marked
//     seen, so that a later report of it is a duplicate and cannot pay a second intent. Claims
//     waiting for the TrxID are dropped.
//   - reject: a REVIEW_REQUIRED intent becomes REJECTED; its candidate payments stay in the
//     review list (the money is still in the wallet) for another decision.
//   - attach: the kept payment PaymentEventID (unmatched or review) pays a PENDING,
//     REVIEW_REQUIRED or EXPIRED intent (MANUAL; an EXPIRED one with ReasonPaidAfterExpiry, a
//     payment that came late), whatever the amounts (the operator's call), and is used.
//
// A kept payment that approve or attach uses (and a claim, decide_claims.go) may have been the
// only candidate of other reviews (an ambiguous amount match): those are released (release) to
// PENDING, or EXPIRED past their deadline, with ReasonCandidateUsed.
//
// Anything else changes nothing (Decision.Ignored): the intent is not under review (approve,
// reject) or not payable (attach), the TrxID paid another intent, the payment is not kept. The
// admin API checks these before producing, so they are races between operators or with the
// matcher. Outcomes carry Reason "" and no operator: Outcome.Reason is sent to merchants in
// webhooks, so the operator's name stays in the review.decided event (audited with its raw body,
// joined to the outcome by event id) and in the matcher's log.
func (x *decider) operator() {
	rv := x.ev.Review
	r := x.intentByID(rv.IntentID)
	if r == nil {
		x.ignore(pipeline.RuleManual, IgnoreUnknownIntent)
		return
	}
	switch rv.Action {
	case pipeline.ReviewApprove:
		x.approve(r)
	case pipeline.ReviewReject:
		if r.Status != pipeline.StatusReviewRequired {
			x.ignore(pipeline.RuleManual, IgnoreNotUnderReview)
			return
		}
		x.d.Rule = pipeline.RuleManual
		x.change(r, pipeline.StatusRejected, pipeline.RuleManual, "", "")
		x.d.Transitions[len(x.d.Transitions)-1].TrxID = r.TrxID // keep the payment it was reviewed for
	case pipeline.ReviewAttach:
		p := x.keptPayment(rv.PaymentEventID)
		switch {
		case p == nil:
			x.ignore(pipeline.RuleManual, IgnorePaymentNotKept)
		case x.paidOther(p.Payment.TrxID, r.ID):
			x.ignore(pipeline.RuleManual, IgnorePaymentUsed)
		case r.Status != pipeline.StatusPending && r.Status != pipeline.StatusReviewRequired && r.Status != pipeline.StatusExpired:
			x.ignore(pipeline.RuleManual, IgnoreIntentNotPayable)
		default:
			pay := p.Payment
			x.pay = &pay
			x.d.Rule, x.d.Disposition = pipeline.RuleManual, pipeline.DispositionMatched
			x.change(r, pipeline.StatusPaid, pipeline.RuleManual, pipeline.MatchManual, paidReason(r))
			x.d.UsedPayments = []*pipeline.PaymentRecord{p}
			x.d.DropClaims = []string{pipeline.NormalizeTrxID(pay.TrxID)}
			x.release(p, r.ID)
		}
	}
}

// paidOther reports whether trxID paid an intent other than intentID.
func (x *decider) paidOther(trxID, intentID string) bool {
	paid := x.snap.TrxPaid[pipeline.NormalizeTrxID(trxID)]
	return paid != "" && paid != intentID
}

func (x *decider) approve(r *pipeline.IntentRecord) {
	if r.Status != pipeline.StatusReviewRequired {
		x.ignore(pipeline.RuleManual, IgnoreNotUnderReview)
		return
	}
	explicit := strings.TrimSpace(x.ev.Review.TrxID)
	trxID := explicit
	if trxID == "" {
		trxID = r.TrxID
	}
	trx := pipeline.NormalizeTrxID(trxID)
	if trx != "" && x.paidOther(trx, r.ID) {
		x.ignore(pipeline.RuleManual, IgnorePaymentUsed)
		return
	}
	// The kept payment of that TrxID: a candidate of the intent, or the one that reported it.
	var used *pipeline.PaymentRecord
	if trx != "" {
		for _, p := range x.snap.Payments {
			if p != nil && pipeline.NormalizeTrxID(p.Payment.TrxID) == trx && (used == nil || p.EventID == x.snap.TrxSeenBy) {
				used = p
			}
		}
	}
	switch {
	case used != nil:
		pay := used.Payment
		x.pay = &pay
		x.d.UsedPayments = []*pipeline.PaymentRecord{used}
	case trx != "":
		x.pay = &pipeline.Payment{Provider: x.ev.Wallet.Provider, TrxID: trxID}
		if explicit != "" && x.snap.TrxSeenBy == "" {
			x.d.SeenTrxID = trx
		}
	}
	if trx != "" {
		x.d.DropClaims = []string{trx}
	}
	x.d.Rule, x.d.Disposition = pipeline.RuleManual, pipeline.DispositionMatched
	x.change(r, pipeline.StatusPaid, pipeline.RuleManual, pipeline.MatchManual, "")
	if used != nil {
		x.release(used, r.ID)
	}
}
