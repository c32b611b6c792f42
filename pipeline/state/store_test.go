package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/redis/go-redis/v9"
)

func TestCreateAndGetIntent(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	in := testIntent("pi-1", walletA, pipeline.BDT(500), "Order-1", t0)
	if err := st.CreateIntent(ctx, in); err != nil {
		t.Fatalf("CreateIntent: %v", err)
	}
	rec, err := st.GetIntent(ctx, "pi-1")
	if err != nil {
		t.Fatalf("GetIntent: %v", err)
	}
	if rec.Status != pipeline.StatusPending || rec.Version != 1 || rec.TrxID != "" || rec.Reason != "" {
		t.Errorf("record = %+v, want PENDING v1", rec)
	}
	if !rec.UpdatedAt.Equal(time.UnixMilli(t0.UnixMilli())) {
		t.Errorf("UpdatedAt = %v, want creation time %v (ms)", rec.UpdatedAt, t0)
	}
	if rec.Amount != in.Amount || rec.CustomerReference != "Order-1" || !rec.CreatedAt.Equal(t0) || !rec.ExpiresAt.Equal(in.ExpiresAt) {
		t.Errorf("intent = %+v, want %+v", rec.Intent, *in)
	}

	k := st.Keys()
	for _, z := range []string{k.IntentsAll(walletA), k.IntentsByStatus(walletA, pipeline.StatusPending), k.OpenByAmount(walletA, in.Amount)} {
		score, err := rdb.ZScore(ctx, z, "pi-1").Result()
		if err != nil || int64(score) != t0.UnixMilli() {
			t.Errorf("ZSCORE %s pi-1 = %v, %v; want %d", z, score, err, t0.UnixMilli())
		}
	}
	if ok, _ := rdb.SIsMember(ctx, k.ByReference(walletA, "order-1"), "pi-1").Result(); !ok {
		t.Errorf("pi-1 missing from the reference index")
	}
	if loc, _ := rdb.Get(ctx, k.IntentLocation("pi-1")).Result(); loc != walletA.Key() {
		t.Errorf("location = %q, want %q", loc, walletA.Key())
	}

	// Create-if-absent: a second call with other content changes nothing.
	again := *in
	again.Amount = pipeline.BDT(1)
	if err := st.CreateIntent(ctx, &again); err != nil {
		t.Fatalf("CreateIntent again: %v", err)
	}
	rec2, err := st.GetIntent(ctx, "pi-1")
	if err != nil || rec2.Amount != in.Amount || rec2.Version != 1 {
		t.Errorf("after second create: %+v, %v; want the first intent unchanged", rec2, err)
	}
	if n, _ := rdb.Exists(ctx, k.OpenByAmount(walletA, pipeline.BDT(1))).Result(); n != 0 {
		t.Errorf("second create indexed the other amount")
	}

	if _, err := st.GetIntent(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetIntent(unknown) = %v, want ErrNotFound", err)
	}
}

func TestCreateIntentRejectsBadInput(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	cases := map[string]func(*pipeline.Intent){
		"no id":             func(in *pipeline.Intent) { in.ID = "" },
		"zero amount":       func(in *pipeline.Intent) { in.Amount = 0 },
		"no createdAt":      func(in *pipeline.Intent) { in.CreatedAt = time.Time{} },
		"no expiresAt":      func(in *pipeline.Intent) { in.ExpiresAt = time.Time{} },
		"non-canonical msn": func(in *pipeline.Intent) { in.ReceiverMsisdn = "+8801711111111" },
		"bad provider":      func(in *pipeline.Intent) { in.Provider = "BKASH" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			in := testIntent("pi-bad", walletA, pipeline.BDT(5), "", t0)
			mutate(in)
			if err := st.CreateIntent(ctx, in); !errors.Is(err, ErrInvalid) {
				t.Errorf("CreateIntent = %v, want ErrInvalid", err)
			}
		})
	}
}

// payTransition moves a PENDING v1 intent to PAID.
func payTransition(in *pipeline.Intent, trx string, at time.Time) pipeline.Transition {
	return pipeline.Transition{
		IntentID: in.ID, Amount: in.Amount, CreatedAt: in.CreatedAt, From: pipeline.StatusPending, Version: 1,
		To: pipeline.StatusPaid, TrxID: trx, MatchType: pipeline.MatchAuto, At: at,
	}
}

func paidOutcomes(eventID string, in *pipeline.Intent, at time.Time) []*pipeline.Outcome {
	return []*pipeline.Outcome{
		{ID: pipeline.IntentOutcomeID(in.ID, 2, pipeline.StatusPaid), Type: pipeline.OutcomeIntentStatus, EventID: eventID,
			MerchantID: in.MerchantID, Intent: in, Status: pipeline.StatusPaid, PreviousStatus: pipeline.StatusPending, Version: 2, DecidedAt: at},
		{ID: pipeline.PaymentOutcomeID(eventID), Type: pipeline.OutcomePayment, EventID: eventID, MerchantID: in.MerchantID,
			Disposition: pipeline.DispositionMatched, IntentID: in.ID, DecidedAt: at},
	}
}

func TestApplyStoresAndReplays(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	k := st.Keys()
	in := testIntent("pi-1", walletA, pipeline.BDT(500), "", t0)
	if err := st.CreateIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	decided := t0.Add(time.Minute)
	ch := &Change{
		Wallet: walletA, EventID: "ev-1", SeenTrxID: "trx1",
		Transitions: []pipeline.Transition{payTransition(in, "TRX1", decided)},
		Outcomes:    paidOutcomes("ev-1", in, decided),
	}
	out, replayed, err := st.Apply(ctx, ch)
	if err != nil || replayed {
		t.Fatalf("Apply = %v, replayed %v", err, replayed)
	}
	if len(out) != 2 {
		t.Fatalf("Apply returned %d outcomes, want 2", len(out))
	}
	for i, o := range ch.Outcomes {
		want, _ := json.Marshal(o)
		if string(out[i]) != string(want) {
			t.Errorf("outcome %d = %s, want %s", i, out[i], want)
		}
	}

	rec, err := st.GetIntent(ctx, "pi-1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != pipeline.StatusPaid || rec.Version != 2 || rec.TrxID != "TRX1" || rec.MatchType != pipeline.MatchAuto ||
		!rec.UpdatedAt.Equal(time.UnixMilli(decided.UnixMilli())) {
		t.Errorf("record after apply = %+v", rec)
	}
	if n, _ := rdb.ZCard(ctx, k.IntentsByStatus(walletA, pipeline.StatusPending)).Result(); n != 0 {
		t.Errorf("PENDING index still has %d members", n)
	}
	if n, _ := rdb.ZCard(ctx, k.OpenByAmount(walletA, in.Amount)).Result(); n != 0 {
		t.Errorf("open-by-amount index still has %d members", n)
	}
	if s, err := rdb.ZScore(ctx, k.IntentsByStatus(walletA, pipeline.StatusPaid), "pi-1").Result(); err != nil || int64(s) != t0.UnixMilli() {
		t.Errorf("PAID index score = %v, %v; want the creation time", s, err)
	}
	if v, _ := rdb.Get(ctx, k.Trx(walletA, "TRX1")).Result(); v != "ev-1" {
		t.Errorf("trx mark = %q, want ev-1 (and case-insensitive)", v)
	}
	if ttl, _ := rdb.TTL(ctx, k.Applied(walletA, "ev-1")).Result(); ttl < AppliedTTL-time.Minute || ttl > AppliedTTL {
		t.Errorf("applied marker TTL = %v, want about %v", ttl, AppliedTTL)
	}

	// Replay: whatever the new change says, the stored outcomes come back and nothing is written.
	other := &Change{Wallet: walletA, EventID: "ev-1", SeenTrxID: "OTHER", Outcomes: []*pipeline.Outcome{{ID: "x"}}}
	out2, replayed, err := st.Apply(ctx, other)
	if err != nil || !replayed {
		t.Fatalf("replay Apply = %v, replayed %v; want replayed", err, replayed)
	}
	for i := range out {
		if string(out[i]) != string(out2[i]) {
			t.Errorf("replayed outcome %d differs:\n%s\n%s", i, out[i], out2[i])
		}
	}
	if n, _ := rdb.Exists(ctx, k.Trx(walletA, "OTHER")).Result(); n != 0 {
		t.Errorf("replay wrote a trx mark")
	}
	snap, err := st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "ev-1"})
	if err != nil || len(snap.Applied) != 2 || string(snap.Applied[0]) != string(out[0]) {
		t.Errorf("LoadSnapshot of an applied event = %+v, %v; want its stored outcomes", snap, err)
	}
}

func TestApplyConflicts(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	k := st.Keys()
	in := testIntent("pi-1", walletA, pipeline.BDT(500), "", t0)
	if err := st.CreateIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "ev-1", SeenTrxID: "TRX1",
		Transitions: []pipeline.Transition{payTransition(in, "TRX1", t0)}, Outcomes: paidOutcomes("ev-1", in, t0)}); err != nil {
		t.Fatal(err)
	}

	// A zombie's stale decision on the same intent.
	_, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "ev-2", SeenTrxID: "TRX2",
		Transitions: []pipeline.Transition{payTransition(in, "TRX2", t0)}, Outcomes: paidOutcomes("ev-2", in, t0)})
	var ce *ConflictError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &ce) || ce.IntentID != "pi-1" || ce.Status != "PAID" || ce.Version != "2" {
		t.Fatalf("stale Apply = %v, want a conflict on pi-1 PAID v2", err)
	}
	for _, key := range []string{k.Applied(walletA, "ev-2"), k.Trx(walletA, "TRX2")} {
		if n, _ := rdb.Exists(ctx, key).Result(); n != 0 {
			t.Errorf("a conflicting Apply wrote %s", key)
		}
	}

	// The same TrxID reported by another event after the decision was loaded.
	_, _, err = st.Apply(ctx, &Change{Wallet: walletA, EventID: "ev-3", SeenTrxID: "trx1",
		Outcomes: []*pipeline.Outcome{{ID: "p3"}}})
	if !errors.As(err, &ce) || ce.TrxSeenBy != "ev-1" || !errors.Is(err, ErrConflict) {
		t.Fatalf("Apply with a seen TrxID = %v, want a trx conflict naming ev-1", err)
	}

	// A transition on an intent that does not exist is a conflict too (reload: it is not there).
	ghost := testIntent("ghost", walletA, pipeline.BDT(1), "", t0)
	_, _, err = st.Apply(ctx, &Change{Wallet: walletA, EventID: "ev-4", Transitions: []pipeline.Transition{payTransition(ghost, "", t0)},
		Outcomes: []*pipeline.Outcome{{ID: "p4"}}})
	if !errors.As(err, &ce) || ce.IntentID != "ghost" || ce.Status != "" {
		t.Fatalf("Apply on a missing intent = %v, want a conflict", err)
	}
}

func TestApplyConcurrentDecisionsOnOneIntent(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	in := testIntent("pi-1", walletA, pipeline.BDT(500), "", t0)
	if err := st.CreateIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			ev := fmt.Sprintf("ev-%d", i)
			trx := fmt.Sprintf("TRX%d", i)
			_, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: ev, SeenTrxID: trx,
				Transitions: []pipeline.Transition{payTransition(in, trx, t0)}, Outcomes: paidOutcomes(ev, in, t0)})
			errs <- err
		}()
	}
	ok, conflicts := 0, 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrConflict):
			conflicts++
		default:
			t.Errorf("Apply: %v", err)
		}
	}
	if ok != 1 || conflicts != n-1 {
		t.Errorf("%d applied, %d conflicts; want exactly one winner", ok, conflicts)
	}
}

func TestApplyRejectsMalformedChanges(t *testing.T) {
	st, _ := newTestStore(t)
	in := testIntent("pi-1", walletA, pipeline.BDT(500), "", t0)
	tr := payTransition(in, "T", t0)
	back := tr
	back.To = pipeline.StatusPending
	cases := map[string]*Change{
		"no event id":     {Wallet: walletA, Outcomes: []*pipeline.Outcome{{ID: "x"}}},
		"empty":           {Wallet: walletA, EventID: "e"},
		"intent twice":    {Wallet: walletA, EventID: "e", Transitions: []pipeline.Transition{tr, tr}},
		"back to pending": {Wallet: walletA, EventID: "e", Transitions: []pipeline.Transition{back}},
		"matched payment kept": {Wallet: walletA, EventID: "e",
			Payment: &pipeline.PaymentRecord{Disposition: pipeline.DispositionMatched}},
	}
	for name, ch := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := st.Apply(context.Background(), ch); !errors.Is(err, ErrInvalid) {
				t.Errorf("Apply = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestListIntents(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	// 5 intents per wallet, interleaved in time: a0 b0 a1 b1 ...
	var want []string // newest first
	for i := range 5 {
		for j, w := range []pipeline.Wallet{walletA, walletB} {
			id := fmt.Sprintf("%c%d", 'a'+j, i)
			if err := st.CreateIntent(ctx, testIntent(id, w, pipeline.BDT(100), "", t0.Add(time.Duration(2*i+j)*time.Second))); err != nil {
				t.Fatal(err)
			}
			want = append([]string{id}, want...)
		}
	}
	wallets := []pipeline.Wallet{walletA, walletB, walletA} // duplicates are ignored
	ids := func(rs []*pipeline.IntentRecord) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.ID
		}
		return out
	}
	for _, tc := range []struct{ offset, limit int }{{0, 3}, {3, 3}, {8, 5}, {10, 5}, {0, 100}} {
		got, total, err := st.ListIntents(ctx, wallets, "", tc.offset, tc.limit)
		if err != nil {
			t.Fatalf("ListIntents(%d,%d): %v", tc.offset, tc.limit, err)
		}
		exp := want[min(tc.offset, len(want)):min(tc.offset+tc.limit, len(want))]
		if total != 10 || fmt.Sprint(ids(got)) != fmt.Sprint(exp) {
			t.Errorf("ListIntents(%d,%d) = %v total %d; want %v total 10", tc.offset, tc.limit, ids(got), total, exp)
		}
	}

	// Status filter follows transitions.
	a3, _ := st.GetIntent(ctx, "a3")
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "ev", SeenTrxID: "T",
		Transitions: []pipeline.Transition{payTransition(&a3.Intent, "T", t0)}, Outcomes: paidOutcomes("ev", &a3.Intent, t0)}); err != nil {
		t.Fatal(err)
	}
	paid, total, err := st.ListIntents(ctx, wallets, pipeline.StatusPaid, 0, 10)
	if err != nil || total != 1 || len(paid) != 1 || paid[0].ID != "a3" || paid[0].Status != pipeline.StatusPaid {
		t.Errorf("PAID list = %v total %d, %v; want [a3]", ids(paid), total, err)
	}
	_, total, err = st.ListIntents(ctx, wallets, pipeline.StatusPending, 0, 0)
	if err != nil || total != 9 {
		t.Errorf("PENDING total = %d, %v; want 9", total, err)
	}
	got, total, err := st.ListIntents(ctx, nil, "", 0, 10)
	if err != nil || total != 0 || len(got) != 0 {
		t.Errorf("no wallets: %v %d %v", got, total, err)
	}
	for _, bad := range []struct {
		s             pipeline.Status
		offset, limit int
	}{{"", 0, 101}, {"", -1, 10}, {"", MaxListOffset + 1, 10}, {"BOGUS", 0, 10}} {
		if _, _, err := st.ListIntents(ctx, wallets, bad.s, bad.offset, bad.limit); !errors.Is(err, ErrInvalid) {
			t.Errorf("ListIntents(%q,%d,%d) = %v, want ErrInvalid", bad.s, bad.offset, bad.limit, err)
		}
	}
}

func TestPaymentsKeptForOperators(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	mk := func(ev string, d pipeline.Disposition, at time.Time) *Change {
		return &Change{Wallet: walletA, EventID: ev, SeenTrxID: "T" + ev,
			Payment: &pipeline.PaymentRecord{EventID: ev, MerchantID: "m1", Wallet: walletA, Disposition: d, Rule: pipeline.RuleNone,
				Payment: pipeline.Payment{Provider: pipeline.BKash, TrxID: "T" + ev, Amount: 100, OccurredAt: at}},
			Outcomes: []*pipeline.Outcome{{ID: pipeline.PaymentOutcomeID(ev), Disposition: d}}}
	}
	for i, ch := range []*Change{
		mk("u1", pipeline.DispositionUnmatched, t0),
		mk("u2", pipeline.DispositionUnmatched, t0.Add(time.Second)),
		mk("r1", pipeline.DispositionReview, t0),
	} {
		if _, _, err := st.Apply(ctx, ch); err != nil {
			t.Fatalf("Apply %d: %v", i, err)
		}
	}
	un, total, err := st.ListPayments(ctx, []pipeline.Wallet{walletA, walletB}, pipeline.DispositionUnmatched, 0, 10)
	if err != nil || total != 2 || len(un) != 2 || un[0].EventID != "u2" || un[1].EventID != "u1" || un[0].Payment.TrxID != "Tu2" {
		t.Errorf("unmatched = %+v total %d, %v; want u2, u1", un, total, err)
	}
	if s, _ := rdb.ZScore(ctx, st.Keys().Unmatched(walletA), "u1").Result(); int64(s) != t0.UnixMilli() {
		t.Errorf("unmatched score = %v, want the payment time", s)
	}
	rv, total, err := st.ListPayments(ctx, []pipeline.Wallet{walletA}, pipeline.DispositionReview, 0, 10)
	if err != nil || total != 1 || len(rv) != 1 || rv[0].EventID != "r1" {
		t.Errorf("review = %+v total %d, %v; want r1", rv, total, err)
	}
	if _, _, err := st.ListPayments(ctx, []pipeline.Wallet{walletA}, pipeline.DispositionMatched, 0, 10); !errors.Is(err, ErrInvalid) {
		t.Errorf("ListPayments(matched) = %v, want ErrInvalid", err)
	}
}

func TestLoadSnapshot(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	mk := func(id string, amount int64, ref string, created time.Duration) *pipeline.Intent {
		in := testIntent(id, walletA, pipeline.BDT(amount), ref, t0.Add(created))
		if err := st.CreateIntent(ctx, in); err != nil {
			t.Fatal(err)
		}
		return in
	}
	mk("pi-ref", 500, "ORDER-1", 0)
	mk("pi-ref2", 700, "order-1", time.Second)
	mk("pi-amt-old", 300, "", 2*time.Second)
	mk("pi-amt", 300, "", 3*time.Second)
	mk("pi-amt-late", 300, "", time.Hour) // created after the window
	paid := mk("pi-amt-paid", 300, "", 4*time.Second)
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "e0", Transitions: []pipeline.Transition{payTransition(paid, "X", t0)},
		Outcomes: []*pipeline.Outcome{{ID: "o"}}}); err != nil {
		t.Fatal(err)
	}
	mk("pi-other-wallet", 300, "ORDER-1", 0) // same ids space, other amount set below on walletB
	if err := st.CreateIntent(ctx, testIntent("pi-b", walletB, pipeline.BDT(300), "order-1", t0)); err != nil {
		t.Fatal(err)
	}

	ids := func(s *Snapshot) []string {
		var out []string
		for _, r := range s.Intents {
			out = append(out, r.ID)
		}
		return out
	}
	q := &SnapshotQuery{Wallet: walletA, EventID: "e1", TrxID: "TRXNEW", Reference: " order-1 ",
		Amount: pipeline.BDT(300), CreatedUpTo: t0.Add(10 * time.Second)}
	snap, err := st.LoadSnapshot(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pi-other-wallet", "pi-ref", "pi-ref2", "pi-amt-old", "pi-amt"}
	if snap.Applied != nil || snap.TrxSeenBy != "" || fmt.Sprint(ids(snap)) != fmt.Sprint(want) {
		t.Errorf("snapshot = %v (applied %v, seen %q); want %v", ids(snap), snap.Applied, snap.TrxSeenBy, want)
	}

	// The reference may be an intent id in upper case (ids are found as given, lower- or upper-cased);
	// at most MaxAmountCandidates amount candidates, newest first.
	snap, err = st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "e1", Reference: "PI-REF2",
		Amount: pipeline.BDT(300), CreatedUpTo: t0.Add(10 * time.Second), MaxAmountCandidates: 1})
	if err != nil || fmt.Sprint(ids(snap)) != fmt.Sprint([]string{"pi-ref2", "pi-amt"}) {
		t.Errorf("snapshot by id = %v, %v; want [pi-ref2 pi-amt]", ids(snap), err)
	}

	// A seen TrxID short-cuts the intents.
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "e2", SeenTrxID: "trxnew", Outcomes: []*pipeline.Outcome{{ID: "o2"}}}); err != nil {
		t.Fatal(err)
	}
	snap, err = st.LoadSnapshot(ctx, q)
	if err != nil || snap.TrxSeenBy != "e2" || len(snap.Intents) != 0 {
		t.Errorf("snapshot after trx seen = %+v, %v; want TrxSeenBy e2 and no intents", snap, err)
	}

	// Explicit ids (expiry).
	snap, err = st.LoadSnapshot(ctx, &SnapshotQuery{Wallet: walletA, EventID: "expire:pi-amt", IntentIDs: []string{"pi-amt", "missing"}})
	if err != nil || fmt.Sprint(ids(snap)) != "[pi-amt]" || snap.Intents[0].Status != pipeline.StatusPending {
		t.Errorf("snapshot by ids = %v, %v", ids(snap), err)
	}
}

func TestDeadlines(t *testing.T) {
	st, rdb := newTestStore(t)
	ctx := context.Background()
	in := testIntent("pi-1", walletA, pipeline.BDT(500), "", t0)
	if err := st.CreateIntentWithDeadline(ctx, in, 3); err != nil {
		t.Fatal(err)
	}
	if err := st.AddDeadline(ctx, 3, walletB, "pi-2", in.ExpiresAt.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ZAdd(ctx, st.Keys().Deadlines(3), redis.Z{Score: 1, Member: "garbage"}).Err(); err != nil {
		t.Fatal(err)
	}
	// ExpiresAt has sub-ms precision: its deadline is due only once the ms after it is reached.
	due, err := st.DueDeadlines(ctx, 3, in.ExpiresAt.Truncate(time.Millisecond), 10)
	if err != nil || len(due) != 0 {
		t.Errorf("due before the deadline = %+v, %v; want none (and the garbage removed)", due, err)
	}
	if n, _ := rdb.ZCard(ctx, st.Keys().Deadlines(3)).Result(); n != 2 {
		t.Errorf("deadlines after removing garbage = %d, want 2", n)
	}
	due, err = st.DueDeadlines(ctx, 3, in.ExpiresAt.Add(time.Millisecond), 10)
	if err != nil || len(due) != 1 || due[0].IntentID != "pi-1" || due[0].Wallet != walletA || due[0].At.Before(in.ExpiresAt) {
		t.Fatalf("due at the deadline = %+v, %v; want pi-1", due, err)
	}
	due, err = st.DueDeadlines(ctx, 3, in.ExpiresAt.Add(time.Hour), 1)
	if err != nil || len(due) != 1 || due[0].IntentID != "pi-1" {
		t.Fatalf("due with limit 1 = %+v, %v; want the earliest", due, err)
	}
	if err := st.RemoveDeadlines(ctx, 3, due); err != nil {
		t.Fatal(err)
	}
	due, _ = st.DueDeadlines(ctx, 3, in.ExpiresAt.Add(time.Hour), 10)
	if len(due) != 1 || due[0].IntentID != "pi-2" || due[0].Wallet != walletB {
		t.Errorf("after removal = %+v; want pi-2 only", due)
	}
	if due, _ := st.DueDeadlines(ctx, 4, in.ExpiresAt.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("partition 4 has %+v; deadlines are per partition", due)
	}
}
