package matcher

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// startMatcherWithClock runs a matcher on h's store whose clock is the real one plus *skew.
func (h *harness) startMatcherWithClock(skew *atomic.Int64) {
	h.t.Helper()
	m, err := New(Config{Bus: h.bus, Topics: h.topics, ExpiryInterval: 100 * time.Millisecond, Logger: testLogger()},
		h.st, prometheus.NewRegistry(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	m.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		m.Close()
		if err := <-errc; err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
}

// hasDeadline reports whether intentID has a deadline in any of the harness's inbound partitions.
func (h *harness) hasDeadline(intentID string) bool {
	h.t.Helper()
	for p := range int32(4) {
		ds, err := h.st.DueDeadlines(context.Background(), p, time.Now().Add(24*time.Hour), 0)
		if err != nil {
			h.t.Fatal(err)
		}
		if slices.ContainsFunc(ds, func(d state.Deadline) bool { return d.IntentID == intentID }) {
			return true
		}
	}
	return false
}

// dropDeadline removes intentID's deadline from every inbound partition.
func (h *harness) dropDeadline(w pipeline.Wallet, intentID string) {
	h.t.Helper()
	for p := range int32(4) {
		if err := h.st.RemoveDeadlines(context.Background(), p, []state.Deadline{{Wallet: w, IntentID: intentID}}); err != nil {
			h.t.Fatal(err)
		}
	}
}

// TestAdversarialReleasedReviewExpires (issue 13 finding 8's follow-up) runs, through Kafka and
// Redis, an ambiguity leftover whose deadline is gone: two PENDING 500 intents per wallet, one 500
// payment without a reference puts both in review; an expiry tick of a matcher whose clock runs a
// minute ahead removes their deadlines (expiry is a no-op for an intent under review); with the
// clock back, customer 1's claim pays intent 1 and releases intent 2 to PENDING before its
// deadline. Intent 2 must still expire, and not before its deadline:
//   - wallet A: the release itself registers the deadline again;
//   - wallet B: the deadline is also lost after the release (what a crash between the apply and
//     the deadline's write leaves) and the claim is delivered again (Kafka redelivers an
//     uncommitted batch); the replay registers it again.
//
// Before the fix intent 2 stayed PENDING for ever on both wallets.
func TestAdversarialReleasedReviewExpires(t *testing.T) {
	h := newHarness(t)
	var skew atomic.Int64
	h.startMatcherWithClock(&skew)
	const ttl = 15 * time.Second // the whole setup must happen before the deadline
	wallets := []pipeline.Wallet{walletA, walletB}
	ids := map[pipeline.Wallet][2]string{walletA: {"rel-a1", "rel-a2"}, walletB: {"rel-b1", "rel-b2"}}
	trx := map[pipeline.Wallet]string{walletA: "TRXRELA1", walletB: "TRXRELB1"}
	expiresAt := map[string]time.Time{}
	for _, w := range wallets {
		for _, id := range ids[w] {
			in := intentEvent(id, w, 500, "", ttl)
			expiresAt[id] = in.Intent.ExpiresAt
			h.produce(in)
		}
		h.produce(paymentEvent("pay-"+ids[w][0], w, 500, "", trx[w]))
	}
	review := func(id string) string { return pipeline.IntentOutcomeID(id, 2, pipeline.StatusReviewRequired) }
	h.waitFor("the four reviews", func(byID map[string][]*kgo.Record) bool {
		return count(byID, review("rel-a1"))+count(byID, review("rel-a2"))+count(byID, review("rel-b1"))+count(byID, review("rel-b2")) == 4
	})

	skew.Store(int64(time.Minute))
	deadline := time.Now().Add(20 * time.Second)
	for h.hasDeadline("rel-a2") || h.hasDeadline("rel-b2") {
		if time.Now().After(deadline) {
			t.Fatal("the skewed expiry tick never removed the deadlines of the intents under review")
		}
		time.Sleep(50 * time.Millisecond)
	}
	skew.Store(0)

	released := func(id string) string { return pipeline.IntentOutcomeID(id, 3, pipeline.StatusPending) }
	claimB := claimEvent("claim-rel-b1", walletB, "rel-b1", trx[walletB], "")
	h.produce(claimEvent("claim-rel-a1", walletA, "rel-a1", trx[walletA], ""), claimB)
	byID := h.waitFor("the releases", func(byID map[string][]*kgo.Record) bool {
		return count(byID, released("rel-a2")) == 1 && count(byID, released("rel-b2")) == 1
	})
	for _, id := range []string{"rel-a2", "rel-b2"} {
		if o := outcomeOf(t, byID, released(id)); o.Reason != ReasonCandidateUsed || o.PreviousStatus != pipeline.StatusReviewRequired {
			t.Fatalf("release of %s = %s", id, byID[released(id)][0].Value)
		}
	}
	h.dropDeadline(walletB, "rel-b2")
	h.restoreMarker(walletB, claimB.ID) // as the crash left it: its outcomes not yet acknowledged
	h.produce(claimB)                   // redelivered: replayed from its applied marker
	h.waitFor("the replayed release", func(byID map[string][]*kgo.Record) bool { return count(byID, released("rel-b2")) == 2 })

	expired := func(id string) string { return pipeline.IntentOutcomeID(id, 4, pipeline.StatusExpired) }
	byID = h.waitFor("the released intents' expiry", func(byID map[string][]*kgo.Record) bool {
		return count(byID, expired("rel-a2")) == 1 && count(byID, expired("rel-b2")) == 1
	})
	for _, id := range []string{"rel-a2", "rel-b2"} {
		if o := outcomeOf(t, byID, expired(id)); o.DecidedAt.Before(expiresAt[id]) {
			t.Errorf("%s expired at %s, before its deadline %s", id, o.DecidedAt, expiresAt[id])
		}
	}
}
