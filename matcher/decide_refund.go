package matcher

import "github.com/paystream/paystream/pipeline"

// refund turns a refund bKash confirmed into one OutcomeRefund (the payment.refunded webhook and
// audit record). It changes no intent: a refunded intent stays PAID, and the outcome id is derived
// from the event id, so a replay re-emits the same outcome.
func (x *decider) refund() {
	ev := x.ev
	r := *ev.Refund
	in := *ev.Intent
	x.d.Rule = pipeline.RuleRefund
	x.d.Outcomes = append(x.d.Outcomes, &pipeline.Outcome{
		ID: pipeline.RefundOutcomeID(ev.ID), Type: pipeline.OutcomeRefund, EventID: ev.ID,
		MerchantID: ev.MerchantID, Environment: ev.Wallet.Environment, Wallet: ev.Wallet, Rule: pipeline.RuleRefund,
		Intent: &in, IntentID: in.ID, Refund: &r, AcceptedAt: ev.AcceptedAt, DecidedAt: x.now,
	})
}
