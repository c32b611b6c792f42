package state

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

func redisZ(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }

func TestApplyWalletVersion(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	snap, err := st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "e1"})
	if err != nil || snap.Version != 0 {
		t.Fatalf("fresh wallet version = %d, %v", snap.Version, err)
	}
	v := snap.Version
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "e1", IfVersion: &v, Balance: &pipeline.BalanceHead{EventID: "e1", Balance: 100}}); err != nil {
		t.Fatal(err)
	}
	// A decision taken over the old version conflicts and writes nothing.
	_, _, err = st.Apply(ctx, &Change{Wallet: walletA, EventID: "e2", IfVersion: &v, Balance: &pipeline.BalanceHead{EventID: "e2", Balance: 200}})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.WalletVersion != "1" || !errors.Is(err, ErrConflict) {
		t.Fatalf("stale Apply = %v, want a wallet version conflict at 1", err)
	}
	if n, _ := rdb.Exists(ctx, st.Keys().Applied(walletA, "e2")).Result(); n != 0 {
		t.Error("a conflicting Apply wrote its marker")
	}
	snap, _ = st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "e2", Balance: true})
	if snap.Version != 1 || snap.Balance == nil || snap.Balance.Balance != 100 {
		t.Errorf("after one apply: version %d balance %+v", snap.Version, snap.Balance)
	}
	// A no-op decision is stored as an empty marker (a replay repeats it) and counts as a change.
	v = snap.Version
	out, replayed, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "e3", IfVersion: &v, RecordNoop: true})
	if err != nil || replayed || len(out) != 0 {
		t.Fatalf("no-op Apply = %v, %v, %v", out, replayed, err)
	}
	snap, _ = st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "e3"})
	if snap.Applied == nil || len(snap.Applied) != 0 {
		t.Errorf("no-op marker = %v, want an empty list", snap.Applied)
	}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "e4"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty change without RecordNoop = %v, want ErrInvalid", err)
	}
}

func TestClaimsAndTrxUse(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	k := st.Keys()
	in := testIntent("pi-1", walletA, pipeline.BDT(500), "", t0)
	if err := st.CreateIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	claim := pipeline.ClaimRecord{EventID: "c1", IntentID: "pi-1", TrxID: "TRX1", Sender: "01811111111", At: t0}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "c1",
		Claims: &pipeline.ClaimsUpdate{TrxID: "TRX1", Claims: []pipeline.ClaimRecord{claim}, IntentID: "pi-1", IntentTrxIDs: []string{"TRX1"}}}); err != nil {
		t.Fatal(err)
	}
	snap, err := st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "p1", TrxID: "trx1", ClaimsOfIntent: "pi-1"})
	if err != nil || len(snap.Claims) != 1 || snap.Claims[0] != claim || fmt.Sprint(snap.IntentClaims) != "[TRX1]" {
		t.Fatalf("claims = %+v %v, %v", snap.Claims, snap.IntentClaims, err)
	}
	// The payment's snapshot loads the claimed intent even without a reference or an amount.
	if len(snap.Intents) != 1 || snap.Intents[0].ID != "pi-1" {
		t.Errorf("claimed intents = %+v", snap.Intents)
	}
	if ttl, _ := rdb.TTL(ctx, ClaimsKey(k, walletA, "TRX1")).Result(); ttl < ClaimTTL-time.Minute || ttl > ClaimTTL {
		t.Errorf("claim TTL = %v, want about %v", ttl, ClaimTTL)
	}
	if seen, paid, err := st.TrxUse(ctx, walletA, "trx1"); err != nil || seen || paid != "" {
		t.Errorf("TrxUse before the payment = %v %q %v", seen, paid, err)
	}

	// The payment pays the claimed intent and drops the claims.
	tr := payTransition(in, "TRX1", t0)
	tr.MatchType = pipeline.MatchClaim
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "p1", SeenTrxID: "TRX1", Transitions: []pipeline.Transition{tr},
		DropClaims: []string{"TRX1"}, Outcomes: paidOutcomes("p1", in, t0)}); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, ClaimsKey(k, walletA, "TRX1")).Result(); n != 0 {
		t.Error("claims of a paid TrxID are still there")
	}
	if seen, paid, err := st.TrxUse(ctx, walletA, " trx1 "); err != nil || !seen || paid != "pi-1" {
		t.Errorf("TrxUse after the payment = %v %q %v; want seen, paid pi-1", seen, paid, err)
	}
	if seen, paid, err := st.TrxUse(ctx, walletB, "TRX1"); err != nil || seen || paid != "" {
		t.Errorf("TrxUse on another wallet = %v %q %v", seen, paid, err)
	}
	if _, _, err := st.TrxUse(ctx, walletA, " "); !errors.Is(err, ErrInvalid) {
		t.Errorf("TrxUse(empty) = %v, want ErrInvalid", err)
	}
	// Seen but unmatched: seen, paid nothing.
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "p2", SeenTrxID: "TRX2",
		Payment: &pipeline.PaymentRecord{EventID: "p2", Disposition: pipeline.DispositionUnmatched, Payment: pipeline.Payment{TrxID: "TRX2"}}}); err != nil {
		t.Fatal(err)
	}
	if seen, paid, err := st.TrxUse(ctx, walletA, "TRX2"); err != nil || !seen || paid != "" {
		t.Errorf("TrxUse of an unmatched payment = %v %q %v", seen, paid, err)
	}
}

// A kept payment moves between the unmatched and review lists, links to the intents under review
// with it, and leaves everything once used.
func TestKeptPaymentsAndReviewQueue(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	k := st.Keys()
	x := testIntent("pi-x", walletA, pipeline.BDT(500), "", t0)
	y := testIntent("pi-y", walletA, pipeline.BDT(500), "", t0.Add(time.Second))
	legacy := testIntent("pi-legacy", walletB, pipeline.BDT(700), "", t0.Add(2*time.Second))
	for _, in := range []*pipeline.Intent{x, y, legacy} {
		if err := st.CreateIntent(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	pay := func(trx string, amount int64) pipeline.Payment {
		return pipeline.Payment{Provider: pipeline.BKash, TrxID: trx, Amount: pipeline.BDT(amount), OccurredAt: t0}
	}
	toReview := func(in *pipeline.Intent, trx string) pipeline.Transition {
		return pipeline.Transition{IntentID: in.ID, Amount: in.Amount, CreatedAt: in.CreatedAt, From: pipeline.StatusPending, Version: 1,
			To: pipeline.StatusReviewRequired, TrxID: trx, Reason: pipeline.ReasonAmbiguous, At: t0}
	}
	// p1 is ambiguous between x and y.
	p1 := &pipeline.PaymentRecord{EventID: "p1", Wallet: walletA, Payment: pay("TRX1", 500), Disposition: pipeline.DispositionReview,
		Rule: pipeline.RuleAmount, Reason: pipeline.ReasonAmbiguous, IntentIDs: []string{"pi-x", "pi-y"}}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "p1", SeenTrxID: "TRX1",
		Transitions: []pipeline.Transition{toReview(x, "TRX1"), toReview(y, "TRX1")}, Payment: p1, Outcomes: []*pipeline.Outcome{{ID: "o1"}}}); err != nil {
		t.Fatal(err)
	}
	// p2 is unmatched, then a claim of x links it for review (amount mismatch): it moves lists.
	p2 := &pipeline.PaymentRecord{EventID: "p2", Wallet: walletA, Payment: pay("TRX2", 450), Disposition: pipeline.DispositionUnmatched, Rule: pipeline.RuleNone}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "p2", SeenTrxID: "TRX2", Payment: p2, Outcomes: []*pipeline.Outcome{{ID: "o2"}}}); err != nil {
		t.Fatal(err)
	}
	moved := *p2
	moved.Disposition, moved.Reason, moved.IntentIDs = pipeline.DispositionReview, pipeline.ReasonAmountMismatch, []string{"pi-x"}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "c1", Payment: &moved}); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.ZCard(ctx, k.Unmatched(walletA)).Result(); n != 0 {
		t.Errorf("unmatched list has %d after the move", n)
	}
	// A legacy review: intent under review with a recorded TrxID, no candidate set.
	pl := &pipeline.PaymentRecord{EventID: "pl", Wallet: walletB, Payment: pay("TRXL", 650), Disposition: pipeline.DispositionReview,
		Reason: pipeline.ReasonAmountMismatch, IntentIDs: []string{"pi-legacy"}}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletB, EventID: "pl", SeenTrxID: "TRXL", Transitions: []pipeline.Transition{toReview(legacy, "TRXL")},
		Payment: pl, Outcomes: []*pipeline.Outcome{{ID: "ol"}}}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, ReviewCandidatesKey(k, walletB, "pi-legacy")).Err(); err != nil {
		t.Fatal(err)
	}

	items, total, err := st.ReviewQueue(ctx, []pipeline.Wallet{walletA, walletB}, 0, 10)
	if err != nil || total != 3 || len(items) != 3 {
		t.Fatalf("review queue = %+v (%d), %v", items, total, err)
	}
	got := map[string]string{}
	for _, it := range items {
		var ids []string
		for _, p := range it.Payments {
			ids = append(ids, p.EventID)
		}
		got[it.ID] = fmt.Sprint(ids) + "/" + it.Reason
	}
	want := map[string]string{"pi-x": "[p1 p2]/ambiguous", "pi-y": "[p1]/ambiguous", "pi-legacy": "[pl]/ambiguous"}
	if fmt.Sprint(got) != fmt.Sprint(want) || items[0].ID != "pi-legacy" {
		t.Errorf("review queue = %v (first %s), want %v newest first", got, items[0].ID, want)
	}

	// x is approved with p1: p1 is used (gone from records, lists, y's candidates); x leaves the queue.
	paidX := pipeline.Transition{IntentID: "pi-x", Amount: x.Amount, CreatedAt: x.CreatedAt, From: pipeline.StatusReviewRequired, Version: 2,
		To: pipeline.StatusPaid, TrxID: "TRX1", MatchType: pipeline.MatchManual, At: t0}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "r1", Transitions: []pipeline.Transition{paidX}, UsedPayments: []*pipeline.PaymentRecord{p1},
		Outcomes: []*pipeline.Outcome{{ID: "or"}}}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{ReviewCandidatesKey(k, walletA, "pi-x")} {
		if n, _ := rdb.Exists(ctx, key).Result(); n != 0 {
			t.Errorf("%s survives the intent leaving review", key)
		}
	}
	if ok, _ := rdb.HExists(ctx, PaymentRecordsKey(k, walletA), "p1").Result(); ok {
		t.Error("used payment still kept")
	}
	items, total, err = st.ReviewQueue(ctx, []pipeline.Wallet{walletA}, 0, 10)
	if err != nil || total != 1 || items[0].ID != "pi-y" || len(items[0].Payments) != 0 {
		t.Errorf("review queue after approval = %+v (%d), %v; want pi-y without candidates", items, total, err)
	}
	if _, paid, _ := st.TrxUse(ctx, walletA, "TRX1"); paid != "pi-x" {
		t.Errorf("TRX1 paid %q, want pi-x", paid)
	}
	rv, total, _ := st.ListPayments(ctx, []pipeline.Wallet{walletA}, pipeline.DispositionReview, 0, 10)
	if total != 1 || rv[0].EventID != "p2" {
		t.Errorf("review payments = %+v (%d), want p2", rv, total)
	}
	if _, _, err := st.ReviewQueue(ctx, nil, -1, 10); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReviewQueue(offset -1) = %v, want ErrInvalid", err)
	}
}

func TestLoadSnapshotForClaimsAndReviews(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	x := testIntent("pi-x", walletA, pipeline.BDT(500), "", t0)
	if err := st.CreateIntent(ctx, x); err != nil {
		t.Fatal(err)
	}
	kept := &pipeline.PaymentRecord{EventID: "p1", Wallet: walletA, Payment: pipeline.Payment{TrxID: "TRX1", Amount: 500}, Disposition: pipeline.DispositionReview,
		IntentIDs: []string{"pi-x"}}
	tr := pipeline.Transition{IntentID: "pi-x", Amount: x.Amount, CreatedAt: x.CreatedAt, From: pipeline.StatusPending, Version: 1,
		To: pipeline.StatusReviewRequired, TrxID: "TRX1", Reason: pipeline.ReasonAmountMismatch, At: t0}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "p1", SeenTrxID: "TRX1", Transitions: []pipeline.Transition{tr}, Payment: kept,
		Outcomes: []*pipeline.Outcome{{ID: "o"}}}); err != nil {
		t.Fatal(err)
	}
	// A claim of TRX1: seen, and the kept payment of its reporter is loaded.
	snap, err := st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "c1", TrxID: "trx1", LoadWhenSeen: true, IntentIDs: []string{"pi-x"}})
	if err != nil || snap.TrxSeenBy != "p1" || len(snap.Payments) != 1 || snap.Payments[0].EventID != "p1" || len(snap.Intents) != 1 || snap.Version != 1 {
		t.Fatalf("claim snapshot = %+v, %v", snap, err)
	}
	// An approval without TrxID: candidates, and what the intent's recorded TrxID became.
	snap, err = st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "r1", LoadWhenSeen: true, IntentIDs: []string{"pi-x"},
		CandidatesOf: "pi-x", TrxOfLoaded: true})
	if err != nil || fmt.Sprint(snap.Candidates) != "[p1]" || len(snap.Payments) != 1 || len(snap.TrxPaid) != 0 {
		t.Fatalf("review snapshot = %+v, %v", snap, err)
	}
	// Without the candidate set, TrxOfLoaded still finds the kept payment of the recorded TrxID.
	snap, err = st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "r1", LoadWhenSeen: true, IntentIDs: []string{"pi-x"}, TrxOfLoaded: true})
	if err != nil || len(snap.Payments) != 1 || snap.Payments[0].EventID != "p1" {
		t.Fatalf("review snapshot by recorded TrxID = %+v, %v", snap, err)
	}
	// An attach names the payment.
	snap, err = st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "r2", IntentIDs: []string{"pi-x"}, PaymentEventIDs: []string{"p1", "nope"}})
	if err != nil || len(snap.Payments) != 1 {
		t.Fatalf("attach snapshot = %+v, %v", snap, err)
	}
}

func TestBalanceHeadAndGaps(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	gap := func(w pipeline.Wallet, ev string, at time.Time) *pipeline.BalanceGap {
		return &pipeline.BalanceGap{EventID: ev, Wallet: w, Direction: "credit", Amount: 100, At: at, ExpectedPaisa: -5, ActualPaisa: 10, DifferencePaisa: 15}
	}
	for i, g := range []*pipeline.BalanceGap{gap(walletA, "a1", t0), gap(walletB, "b1", t0.Add(time.Second)), gap(walletA, "a2", t0.Add(2*time.Second))} {
		if _, _, err := st.Apply(ctx, &Change{Wallet: g.Wallet, EventID: g.EventID, Gap: g,
			Balance: &pipeline.BalanceHead{EventID: g.EventID, At: g.At, Balance: pipeline.Money(i), DeltaPaisa: -3, HasDelta: true}}); err != nil {
			t.Fatal(err)
		}
	}
	gaps, err := st.BalanceGaps(ctx, []pipeline.Wallet{walletA, walletB}, 10)
	if err != nil || len(gaps) != 3 || gaps[0].EventID != "a2" || gaps[1].EventID != "b1" || gaps[2].ExpectedPaisa != -5 {
		t.Fatalf("gaps = %+v, %v; want a2, b1, a1", gaps, err)
	}
	if gaps, _ := st.BalanceGaps(ctx, []pipeline.Wallet{walletA, walletB}, 1); len(gaps) != 1 || gaps[0].EventID != "a2" {
		t.Errorf("gaps limit 1 = %+v", gaps)
	}
	if _, err := st.BalanceGaps(ctx, nil, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("BalanceGaps(limit 0) = %v, want ErrInvalid", err)
	}
	snap, err := st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "x", Balance: true})
	if err != nil || snap.Balance == nil || snap.Balance.EventID != "a2" || snap.Balance.DeltaPaisa != -3 || !snap.Balance.At.Equal(t0.Add(2*time.Second)) {
		t.Errorf("balance head = %+v, %v", snap.Balance, err)
	}
	// Only the newest MaxBalanceGaps are kept.
	pipe := rdb.Pipeline()
	for i := range MaxBalanceGaps {
		pipe.ZAdd(ctx, BalanceGapsKey(st.Keys(), walletA), redisZ(float64(i), fmt.Sprintf(`{"eventId":"old%d"}`, i)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "a3", Gap: gap(walletA, "a3", t0.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.ZCard(ctx, BalanceGapsKey(st.Keys(), walletA)).Result(); n != MaxBalanceGaps {
		t.Errorf("%d gaps kept, want %d", n, MaxBalanceGaps)
	}
	if gaps, _ := st.BalanceGaps(ctx, []pipeline.Wallet{walletA}, 1); len(gaps) != 1 || gaps[0].EventID != "a3" {
		t.Errorf("newest gap = %+v, want a3", gaps)
	}
}
