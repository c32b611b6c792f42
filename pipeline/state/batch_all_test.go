package state

import (
	"context"
	"errors"
	"testing"
	"time"


	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/testenv"
)

// ExecAll runs several partitions' batches in one round trip, each with its own results and
// version chains: a conflict in one batch's chain leaves the others applied.
func TestExecAllOneRoundTrip(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	// Warm the script cache and the connection, so the measured call is the pipeline alone.
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletB, EventID: "warm", Balance: &pipeline.BalanceHead{EventID: "warm"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateIntent(ctx, testIntent("pi-warm", walletA, pipeline.BDT(1), "", t0)); err != nil {
		t.Fatal(err)
	}
	snapA, err := st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	stale := int64(42) // not walletB's version: walletB's chain conflicts
	ba, empty, bb := st.NewBatch(), st.NewBatch(), st.NewBatch()
	in := testIntent("pi-x", walletA, pipeline.BDT(500), "", t0)
	if err := ba.Create(in, 1); err != nil {
		t.Fatal(err)
	}
	va := snapA.Version
	for _, ch := range []*Change{
		{Wallet: walletA, EventID: "a1", IfVersion: &va, NewVersion: newTestVersion(1), Balance: &pipeline.BalanceHead{EventID: "a1"}},
		{Wallet: walletA, EventID: "a2", IfVersion: ptrTo(newTestVersion(1)), NewVersion: newTestVersion(2), Balance: &pipeline.BalanceHead{EventID: "a2"}},
	} {
		if err := ba.Apply(ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := bb.Apply(&Change{Wallet: walletB, EventID: "b1", IfVersion: &stale, NewVersion: newTestVersion(3), Balance: &pipeline.BalanceHead{EventID: "b1"}}); err != nil {
		t.Fatal(err)
	}
	trips := testenv.CountRedisOps(rdb)
	res, err := st.ExecAll(ctx, ba, empty, bb)
	if err != nil {
		t.Fatal(err)
	}
	if n := trips.Trips(); n != 1 {
		t.Errorf("ExecAll of 3 batches took %d round trips, want 1", n)
	}
	if len(res) != 3 || len(res[0]) != 3 || res[1] != nil || len(res[2]) != 1 {
		t.Fatalf("ExecAll results = %+v", res)
	}
	for i, r := range res[0] {
		if r.Err != nil {
			t.Errorf("batch 0 result %d: %v", i, r.Err)
		}
	}
	if !errors.Is(res[2][0].Err, ErrConflict) {
		t.Errorf("batch 2's stale change: %v, want a conflict", res[2][0].Err)
	}
	if v, _ := rdb.Get(ctx, WalletVersionKey(st.Keys(), walletA)).Int64(); v != newTestVersion(2) {
		t.Errorf("walletA version = %d, want its chain's last", v)
	}
	if n, _ := rdb.Exists(ctx, st.Keys().Applied(walletB, "b1")).Result(); n != 0 {
		t.Error("the conflicting change wrote its marker")
	}
	if rec, err := st.GetIntent(ctx, in.ID); err != nil || rec.Status != pipeline.StatusPending {
		t.Errorf("created intent = %+v, %v", rec, err)
	}
	if res, err := st.ExecAll(ctx); err != nil || len(res) != 0 {
		t.Errorf("ExecAll of nothing = %v, %v", res, err)
	}
}

// ExecAll after Redis lost its scripts runs every refused operation again, in order.
func TestExecAllAfterScriptFlush(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	b1, b2 := st.NewBatch(), st.NewBatch()
	if err := b1.Create(testIntent("pi-f", walletA, pipeline.BDT(700), "r", t0), 0); err != nil {
		t.Fatal(err)
	}
	if err := b2.Apply(&Change{Wallet: walletB, EventID: "ef", Balance: &pipeline.BalanceHead{EventID: "ef"}}); err != nil {
		t.Fatal(err)
	}
	res, err := st.ExecAll(ctx, b1, b2)
	if err != nil || res[0][0].Err != nil || res[1][0].Err != nil {
		t.Fatalf("ExecAll after SCRIPT FLUSH = %+v, %v", res, err)
	}
}

// ExecFollowups runs several partitions' followups in one round trip, each on its own partition's
// keys, and empties them.
func TestExecFollowupsAcrossPartitions(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	k := st.Keys()
	at := t0.Add(time.Minute)
	f0, f1, f2 := st.NewFollowups(0), st.NewFollowups(1), st.NewFollowups(2)
	f0.Deadlines([]Deadline{{Wallet: walletA, IntentID: "i0", At: at}})
	f1.Deadlines([]Deadline{{Wallet: walletB, IntentID: "i1", At: at}, {Wallet: walletB, IntentID: "i2", At: at}})
	f1.RemoveDeadlines([]Deadline{{Wallet: walletB, IntentID: "i2"}})
	trips := testenv.CountRedisOps(rdb)
	if err := st.ExecFollowups(ctx, f0, f1, f2); err != nil {
		t.Fatal(err)
	}
	if n := trips.Trips(); n != 1 {
		t.Errorf("ExecFollowups of 3 partitions took %d round trips, want 1", n)
	}
	if f0.Len()+f1.Len() != 0 {
		t.Errorf("followups left after Exec: %d, %d", f0.Len(), f1.Len())
	}
	if got, _ := rdb.ZRange(ctx, k.Deadlines(0), 0, -1).Result(); len(got) != 1 {
		t.Errorf("partition 0 deadlines = %v, want 1", got)
	}
	if got, _ := rdb.ZRange(ctx, k.Deadlines(1), 0, -1).Result(); len(got) != 1 {
		t.Errorf("partition 1 deadlines = %v, want i1 only (i2 added then removed in order)", got)
	}
	before := trips.Trips()
	if err := st.ExecFollowups(ctx, f0, f2); err != nil || trips.Trips() != before {
		t.Errorf("ExecFollowups of empty followups = %v after %d round trips, want none", err, trips.Trips()-before)
	}
}
