package matcher

import (
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

func TestDecideRefund(t *testing.T) {
	w := pipeline.Wallet{Provider: pipeline.BKash, Account: "01700000001", Environment: pipeline.Sandbox}
	in := &pipeline.Intent{ID: "i1", MerchantID: "m1", Environment: pipeline.Sandbox, Amount: pipeline.BDT(500), Provider: pipeline.BKash, ReceiverMsisdn: w.Account}
	ev := &pipeline.Event{ID: "e1", Kind: pipeline.KindPaymentRefunded, Wallet: w, MerchantID: "m1", Intent: in,
		Refund: &pipeline.Refund{IntentID: "i1", TrxID: "T1", RefundTrxID: "R1", Amount: pipeline.BDT(200), RefundedTotal: pipeline.BDT(200)}}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0).UTC()
	d := Decide(ev, Snapshot{}, now)
	if len(d.Outcomes) != 1 || len(d.Transitions) != 0 || d.Empty() {
		t.Fatalf("decision %+v", d)
	}
	o := d.Outcomes[0]
	if o.Type != pipeline.OutcomeRefund || o.ID != pipeline.RefundOutcomeID("e1") || o.Refund.RefundTrxID != "R1" || o.Intent.ID != "i1" || o.Rule != pipeline.RuleRefund {
		t.Fatalf("outcome %+v", o)
	}
	if again := Decide(ev, Snapshot{}, now); again.Outcomes[0].ID != o.ID {
		t.Fatal("refund outcome id is not deterministic")
	}
	b, _ := pipeline.EncodeOutcome(o)
	if _, err := pipeline.DecodeOutcome(b); err != nil {
		t.Fatal(err)
	}
}
