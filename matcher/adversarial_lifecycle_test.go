package matcher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/pipeline/testenv"
)

// TestAdversarialPaymentBeyondDedupeWindow (issue 16): a TrxID mark leaves Redis after the dedupe
// window, so a payment whose own time is older than the window may carry a TrxID that paid
// before; it must never pay automatically, by any rule, on any provider: it is kept for review
// with beyond_dedupe_window, and its TrxID is marked seen again. A payment inside the window pays
// as before (the control that makes the test able to fail). Before the fix the old payment paid.
func TestAdversarialPaymentBeyondDedupeWindow(t *testing.T) {
	const window = 7 * 24 * time.Hour
	for _, prov := range []pipeline.Provider{pipeline.BKash, pipeline.Nagad, pipeline.Rocket, pipeline.Upay} {
		w := pipeline.Wallet{Provider: prov, Account: "01711111111", Environment: pipeline.Live}
		for _, path := range []string{"reference", "amount", "claim"} {
			for _, age := range []time.Duration{window + time.Minute, 30 * 24 * time.Hour, window - time.Hour} {
				t.Run(fmt.Sprintf("%s/%s/%s", prov, path, age), func(t *testing.T) {
					now := base
					at := now.Add(-age)
					in := &pipeline.IntentRecord{Intent: pipeline.Intent{
						ID: "old", MerchantID: "m1", Environment: w.Environment, Amount: pipeline.BDT(500), Currency: "BDT",
						CustomerReference: "ORD-1", Provider: prov, ReceiverMsisdn: w.Account, Dialect: pipeline.DialectNative,
						CreatedAt: at.Add(-time.Minute), ExpiresAt: now.Add(time.Hour),
					}, Status: pipeline.StatusPending, Version: 1, UpdatedAt: at.Add(-time.Minute)}
					ev := &pipeline.Event{ID: "pay", Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSMS, Wallet: w,
						MerchantID: "m1", AcceptedAt: at.Add(5 * time.Second), Environment: w.Environment,
						Payment: &pipeline.Payment{Provider: prov, TrxID: "TRXOLD1", Amount: pipeline.BDT(500), Sender: "01999999999", OccurredAt: at}}
					snap := Snapshot{Intents: []*pipeline.IntentRecord{in}, TrxDedupeWindow: window}
					switch path {
					case "reference":
						ev.Payment.Reference = "ORD-1"
					case "claim":
						snap.Claims = []pipeline.ClaimRecord{{EventID: "cl", IntentID: "old", TrxID: "TRXOLD1", At: at.Add(time.Second)}}
					}
					d := Decide(ev, snap, now)
					paid := false
					for _, tr := range d.Transitions {
						paid = paid || tr.To == pipeline.StatusPaid
					}
					if age < window {
						if !paid {
							t.Fatalf("a payment inside the window did not pay: %+v", d)
						}
						return
					}
					if paid || d.Disposition != pipeline.DispositionReview || d.Payment == nil ||
						d.Payment.Reason != pipeline.ReasonBeyondDedupeWindow || d.SeenTrxID == "" {
						t.Fatalf("payment %s old = disposition %q, paid %v, kept %+v, seen %q; want review %s, TrxID marked",
							age, d.Disposition, paid, d.Payment, d.SeenTrxID, pipeline.ReasonBeyondDedupeWindow)
					}
				})
			}
		}
	}
}

// TestAdversarialLifecycleKeys (issue 16) checks, through Kafka and Redis, the lifetime of every
// key a paid intent leaves: its deadline is removed when it is paid (not when it falls due), it is
// scheduled to retire, its TrxID mark carries the dedupe window as TTL, and its applied marker
// holds no outcome once Kafka acknowledged them. Before the fix the deadline stayed until due, the
// mark and the intent never expired, and the marker kept the outcome bodies for 7 days.
func TestAdversarialLifecycleKeys(t *testing.T) {
	h := newHarness(t)
	h.startMatcher(prometheus.NewRegistry())
	h.produce(intentEvent("life1", walletA, 811, "ORD-LIFE", time.Hour))
	h.produce(paymentEvent("life-pay", walletA, 811, "ORD-LIFE", "TRXLIFE1"))
	h.waitFor("life1 paid", func(byID map[string][]*kgo.Record) bool {
		return count(byID, pipeline.IntentOutcomeID("life1", 2, pipeline.StatusPaid)) == 1
	})
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	k := h.st.Keys()
	member := walletA.Key() + "|life1"
	deadline := time.Now().Add(20 * time.Second)
	for {
		marker, _ := rdb.Get(ctx, k.Applied(walletA, "life-pay")).Result()
		scheduled := false
		for p := range int32(4) {
			if _, err := rdb.ZScore(ctx, state.RetireKey(k, p), member).Result(); err == nil {
				scheduled = true
			}
		}
		if marker == "[]" && scheduled && !h.hasDeadline("life1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the payment: marker %q (want []), retirement scheduled %v, deadline still there %v",
				marker, scheduled, h.hasDeadline("life1"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	ttl, err := rdb.PTTL(ctx, k.Trx(walletA, "TRXLIFE1")).Result()
	window := state.DefaultTrxWindow
	if err != nil || ttl <= window-time.Minute || ttl > window+state.TrxMarkSlack {
		t.Errorf("TrxID mark TTL = %s, %v; want the dedupe window %s (+ at most %s)", ttl, err, window, state.TrxMarkSlack)
	}
	if ttl, err := rdb.TTL(ctx, k.Applied(walletA, "life-pay")).Result(); err != nil || ttl <= 0 {
		t.Errorf("compacted applied marker TTL = %s, %v; want kept", ttl, err)
	}
}

// TestAdversarialReplayBeforeAck: a matcher that applied a decision and died before Kafka
// acknowledged its outcomes leaves the applied marker full; the next matcher, redelivered the
// event, emits exactly the stored outcomes (byte for byte, no second decision), runs its followups
// (the paid intent's deadline goes) and only then compacts the marker.
func TestAdversarialReplayBeforeAck(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	in := intentEvent("crash1", walletA, 612, "ORD-CRASH", time.Hour)
	if err := h.st.CreateIntent(ctx, in.Intent); err != nil {
		t.Fatal(err)
	}
	for p := range int32(4) { // the deadline on every partition: whichever the wallet maps to
		if err := h.st.AddDeadline(ctx, p, walletA, "crash1", in.Intent.ExpiresAt); err != nil {
			t.Fatal(err)
		}
	}
	pay := paymentEvent("crash-pay", walletA, 612, "ORD-CRASH", "TRXCRASH1")
	snap, err := h.st.LoadSnapshot(ctx, snapshotQuery(pay))
	if err != nil {
		t.Fatal(err)
	}
	d := Decide(pay, SnapshotOf(snap), time.Now().UTC())
	ch := d.Change(pay)
	ch.IfVersion = &snap.Version
	stored, _, err := h.st.Apply(ctx, ch) // the dead matcher's apply; it never produced
	if err != nil || len(stored) != 2 {
		t.Fatalf("apply = %d outcomes, %v", len(stored), err)
	}

	h.startMatcher(prometheus.NewRegistry())
	h.produce(pay)
	byID := h.waitFor("the stored outcomes", func(byID map[string][]*kgo.Record) bool {
		return count(byID, pipeline.PaymentOutcomeID("crash-pay")) == 1
	})
	for _, raw := range stored {
		o, _ := pipeline.DecodeOutcome(raw)
		if rs := byID[o.ID]; len(rs) != 1 || string(rs[0].Value) != string(raw) {
			t.Errorf("outcome %s emitted %d times or not as stored", o.ID, len(rs))
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		marker, _ := rdb.Get(ctx, h.st.Keys().Applied(walletA, "crash-pay")).Result()
		held := 0 // partitions still holding the deadline: all but the wallet's once followups ran
		for p := range int32(4) {
			if _, err := rdb.ZScore(ctx, h.st.Keys().Deadlines(p), walletA.Key()+"|crash1").Result(); err == nil {
				held++
			}
		}
		if marker == "[]" && held == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the replay: marker %.40q, deadline on %d partitions (want 3)", marker, held)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
