package matcher

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
)

// TestAdversarialLatePaymentThroughStore (issue 13 finding 3) runs the late-payment grace through
// Kafka and Redis: an intent with a short TTL expires (the expiry tick), then a payment made
// before its deadline and reported after it, without a reference, finds the EXPIRED intent through
// state.ExpiredByAmountKey and pays it (paid_after_expiry). Before the fix the payment was
// unmatched.
func TestAdversarialLatePaymentThroughStore(t *testing.T) {
	h := newHarness(t)
	h.startMatcher(prometheus.NewRegistry())
	in := intentEvent("late1", walletA, 733, "", 300*time.Millisecond)
	h.produce(in)
	expired := pipeline.IntentOutcomeID("late1", 2, pipeline.StatusExpired)
	h.waitFor("the expiry", func(byID map[string][]*kgo.Record) bool { return count(byID, expired) == 1 })

	p := paymentEvent("late-pay", walletA, 733, "", "TRXLATE1")
	p.Payment.OccurredAt = in.Intent.ExpiresAt.Add(-100 * time.Millisecond) // paid in time, forwarded late
	paid := pipeline.IntentOutcomeID("late1", 3, pipeline.StatusPaid)
	h.produce(p)
	byID := h.waitFor("the late payment", func(byID map[string][]*kgo.Record) bool { return count(byID, paid) == 1 })
	if o := outcomeOf(t, byID, paid); o.PreviousStatus != pipeline.StatusExpired || o.Reason != ReasonPaidAfterExpiry ||
		o.MatchType != pipeline.MatchAuto || o.Payment.TrxID != "TRXLATE1" {
		t.Errorf("late payment outcome = %s", byID[paid][0].Value)
	}
}
