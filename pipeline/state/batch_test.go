package state

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// LoadSnapshots of many queries returns what LoadSnapshot of each returns.
func TestLoadSnapshotsEqualsOneByOne(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	var qs []*SnapshotQuery
	for i := range 6 {
		in := testIntent(fmt.Sprintf("pi-%d", i), walletA, pipeline.BDT(100+int64(i%3)), fmt.Sprintf("ref-%d", i%2), t0.Add(time.Duration(i)*time.Second))
		if err := st.CreateIntent(ctx, in); err != nil {
			t.Fatal(err)
		}
		qs = append(qs, &SnapshotQuery{Wallet: walletA, EventID: fmt.Sprintf("ev-%d", i), TrxID: fmt.Sprintf("TRX%d", i),
			Amount: pipeline.BDT(100 + int64(i%3)), CreatedUpTo: t0.Add(time.Hour), Reference: fmt.Sprintf("ref-%d", i%2)})
	}
	qs = append(qs, &SnapshotQuery{Wallet: walletB, EventID: "ev-b", Balance: true, IntentIDs: []string{"pi-1"}})
	many, err := st.LoadSnapshots(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range qs {
		one, err := st.LoadSnapshot(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(one, many[i]) {
			t.Errorf("query %d: batched snapshot %+v, alone %+v", i, many[i], one)
		}
	}
	if len(many[0].Intents) == 0 {
		t.Error("snapshot found no intents: the test proves nothing")
	}
}

// A batch applies a version chain in one round trip; Stale tells which snapshots its changes touch.
func TestBatchChainAndStale(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	in1 := testIntent("pi-1", walletA, pipeline.BDT(500), "", t0)
	in2 := testIntent("pi-2", walletA, pipeline.BDT(600), "", t0)
	if err := st.CreateIntent(ctx, in1); err != nil {
		t.Fatal(err)
	}
	qs := []*SnapshotQuery{
		{Wallet: walletA, EventID: "ev-1", TrxID: "TRX1", Amount: in1.Amount, CreatedUpTo: t0.Add(time.Hour)},
		{Wallet: walletA, EventID: "ev-2", TrxID: "TRX2", Amount: in2.Amount, CreatedUpTo: t0.Add(time.Hour)},
		{Wallet: walletA, EventID: "ev-3", TrxID: "TRX3", Amount: in1.Amount, CreatedUpTo: t0.Add(time.Hour)},
		{Wallet: walletA, EventID: "ev-4", TrxID: "TRX1"},
		{Wallet: walletA, EventID: "ev-5", TrxID: "TRX5", Amount: pipeline.BDT(999), CreatedUpTo: t0.Add(time.Hour), Reference: "other"},
	}
	snaps, err := st.LoadSnapshots(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch()
	at := t0.Add(time.Minute)
	v0, v1 := snaps[0].Version, int64(987654321987)
	if err := b.Apply(&Change{Wallet: walletA, EventID: "ev-1", SeenTrxID: "TRX1", IfVersion: &v0, NewVersion: v1,
		Transitions: []pipeline.Transition{payTransition(in1, "TRX1", at)}, Outcomes: paidOutcomes("ev-1", in1, at)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(in2, 3); err != nil {
		t.Fatal(err)
	}
	// 0 is ev-1's own (it writes ev-1's marker); 1 reads the created intent's amount; 2 the paid
	// intent's amount and record; 3 the TrxID ev-1 marks; 5 nothing of these.
	for i, want := range []bool{true, true, true, true, false} {
		if got := b.Stale(snaps[i]); got != want {
			t.Errorf("Stale(snapshot %d) = %v, want %v", i, got, want)
		}
	}
	v2 := int64(123456789123)
	if err := b.Apply(&Change{Wallet: walletA, EventID: "ev-9", IfVersion: &v1, NewVersion: v2, Balance: &pipeline.BalanceHead{EventID: "ev-9", Balance: 1}}); err != nil {
		t.Fatal(err)
	}
	res, err := b.Exec(ctx)
	if err != nil || len(res) != 3 {
		t.Fatalf("Exec = %v, %v", res, err)
	}
	for i, r := range res {
		if r.Err != nil || r.Replayed {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if len(res[0].Outcomes) != 2 {
		t.Errorf("apply returned %d outcomes", len(res[0].Outcomes))
	}
	if v, _ := rdb.Get(ctx, WalletVersionKey(st.Keys(), walletA)).Int64(); v != v2 {
		t.Errorf("wallet version = %d, want the chain's last %d", v, v2)
	}
	if rec, err := st.GetIntent(ctx, in2.ID); err != nil || rec.Status != pipeline.StatusPending {
		t.Errorf("created intent = %+v, %v", rec, err)
	}
	if n, _ := rdb.ZCard(ctx, st.Keys().Deadlines(3)).Result(); n != 1 {
		t.Errorf("deadlines of partition 3 = %d, want 1", n)
	}
	if n, _ := rdb.Exists(ctx, st.Keys().IntentLocation(in2.ID)).Result(); n != 1 {
		t.Error("created intent has no location")
	}
}

// When a change of the chain conflicts (someone else changed the wallet), every later change of
// that wallet in the batch conflicts too, even if the outsider's write made the version equal to a
// number the chain expects next by increment.
func TestBatchChainBreaksAfterConflict(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	snap, err := st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	v0 := snap.Version
	// An outsider applies first: the version becomes v0+1.
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "other", Balance: &pipeline.BalanceHead{EventID: "other"}}); err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch()
	// The chain's second change expects what the first sets; a chain by increments would expect
	// v0+1, which the outsider's write produced, and would wrongly apply.
	for i, c := range []*Change{
		{Wallet: walletA, EventID: "e1", IfVersion: &v0, NewVersion: newTestVersion(1), Balance: &pipeline.BalanceHead{EventID: "e1"}},
		{Wallet: walletA, EventID: "e2", IfVersion: ptrTo(newTestVersion(1)), NewVersion: newTestVersion(2), Balance: &pipeline.BalanceHead{EventID: "e2"}},
		{Wallet: walletB, EventID: "e3", Balance: &pipeline.BalanceHead{EventID: "e3"}},
	} {
		if err := b.Apply(c); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	res, err := b.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, ErrConflict) || !errors.Is(res[1].Err, ErrConflict) {
		t.Errorf("chain after an outside change: %v, %v; want two conflicts", res[0].Err, res[1].Err)
	}
	if res[2].Err != nil {
		t.Errorf("another wallet's change: %v", res[2].Err)
	}
	for _, ev := range []string{"e1", "e2"} {
		if n, _ := rdb.Exists(ctx, st.Keys().Applied(walletA, ev)).Result(); n != 0 {
			t.Errorf("conflicting %s wrote its marker", ev)
		}
	}
}

func newTestVersion(i int64) int64 { return 1<<40 + i }

// Redis losing its scripts between batches costs a retry, not a result.
func TestBatchAfterScriptFlush(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch()
	in := testIntent("pi-f", walletA, pipeline.BDT(700), "r", t0)
	if err := b.Create(in, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(&Change{Wallet: walletB, EventID: "ef", Balance: &pipeline.BalanceHead{EventID: "ef"}}); err != nil {
		t.Fatal(err)
	}
	res, err := b.Exec(ctx)
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("Exec after SCRIPT FLUSH = %+v, %v", res, err)
	}
}
