package state

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// TestPaymentKept: a payment is kept on the wallet the matcher kept it on (unmatched or review)
// and on no other, and no longer once an intent used it.
func TestPaymentKept(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	keep := func(ev string, d pipeline.Disposition) *pipeline.PaymentRecord {
		p := &pipeline.PaymentRecord{EventID: ev, MerchantID: "m1", Wallet: walletA, Disposition: d, Rule: pipeline.RuleNone,
			Payment: pipeline.Payment{Provider: pipeline.BKash, TrxID: "T" + ev, Amount: 500_00, OccurredAt: t0}}
		if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: ev, SeenTrxID: "T" + ev, Payment: p,
			Outcomes: []*pipeline.Outcome{{ID: pipeline.PaymentOutcomeID(ev), Disposition: d}}}); err != nil {
			t.Fatalf("keeping %s: %v", ev, err)
		}
		return p
	}
	unmatched := keep("u1", pipeline.DispositionUnmatched)
	keep("r1", pipeline.DispositionReview)

	for _, c := range []struct {
		w    pipeline.Wallet
		ev   string
		want bool
	}{
		{walletA, "u1", true},
		{walletA, "r1", true},
		{walletB, "u1", false}, // kept on another wallet
		{walletA, "u2", false}, // never kept
		{walletA, "", false},
	} {
		got, err := st.PaymentKept(ctx, c.w, c.ev)
		if err != nil || got != c.want {
			t.Errorf("PaymentKept(%s, %q) = %v, %v; want %v", c.w.Account, c.ev, got, err, c.want)
		}
	}

	// An intent paid with the unmatched payment (an operator's attach) uses it up.
	in := testIntent("pi-k", walletA, 500_00, "", t0)
	if err := st.CreateIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "attach-1",
		Transitions:  []pipeline.Transition{payTransition(in, "TU1", t0.Add(time.Minute))},
		UsedPayments: []*pipeline.PaymentRecord{unmatched},
		Outcomes:     paidOutcomes("attach-1", in, t0.Add(time.Minute))}); err != nil {
		t.Fatalf("attaching: %v", err)
	}
	if kept, err := st.PaymentKept(ctx, walletA, "u1"); err != nil || kept {
		t.Errorf("PaymentKept(u1) after it paid an intent = %v, %v; want false", kept, err)
	}
}

// TestOpenIntentsOfAmount: per wallet, in the order asked, the PENDING intents of one amount;
// an intent that left PENDING no longer counts.
func TestOpenIntentsOfAmount(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	ins := []*pipeline.Intent{
		testIntent("pi-a1", walletA, 500_00, "", t0),
		testIntent("pi-a2", walletA, 500_00, "", t0.Add(time.Second)),
		testIntent("pi-a3", walletA, 700_00, "", t0),
		testIntent("pi-b1", walletB, 500_00, "", t0),
	}
	for _, in := range ins {
		if err := st.CreateIntent(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	check := func(ws []pipeline.Wallet, amt pipeline.Money, want []int64) {
		t.Helper()
		got, err := st.OpenIntentsOfAmount(ctx, ws, amt)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("OpenIntentsOfAmount(%d wallets, %s) = %v, %v; want %v", len(ws), amt, got, err, want)
		}
	}
	check([]pipeline.Wallet{walletA, walletB}, 500_00, []int64{2, 1})
	check([]pipeline.Wallet{walletB, walletA, walletA}, 500_00, []int64{1, 2, 2})
	check([]pipeline.Wallet{walletA, walletB}, 700_00, []int64{1, 0})
	check([]pipeline.Wallet{walletA, walletB}, 900_00, []int64{0, 0})
	check([]pipeline.Wallet{walletA}, 0, []int64{0})
	check(nil, 500_00, []int64{})

	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "pay-1", SeenTrxID: "TP1",
		Transitions: []pipeline.Transition{payTransition(ins[0], "TP1", t0.Add(time.Minute))},
		Outcomes:    paidOutcomes("pay-1", ins[0], t0.Add(time.Minute))}); err != nil {
		t.Fatalf("paying: %v", err)
	}
	check([]pipeline.Wallet{walletA, walletB}, 500_00, []int64{1, 1})
}

// TestTrxSeen: a TrxID is seen on the wallet whose decision marked it, in any case and spacing,
// and on no other.
func TestTrxSeen(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	if _, _, err := st.Apply(ctx, &Change{Wallet: walletA, EventID: "ev-s", SeenTrxID: "AbC123",
		Outcomes: []*pipeline.Outcome{{ID: pipeline.PaymentOutcomeID("ev-s"), Disposition: pipeline.DispositionUnmatched}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		w    pipeline.Wallet
		trx  string
		want bool
	}{
		{walletA, "ABC123", true},
		{walletA, " abc123 ", true},
		{walletB, "ABC123", false},
		{walletA, "ABC124", false},
		{walletA, "  ", false},
	} {
		got, err := st.TrxSeen(ctx, c.w, c.trx)
		if err != nil || got != c.want {
			t.Errorf("TrxSeen(%s, %q) = %v, %v; want %v", c.w.Account, c.trx, got, err, c.want)
		}
		seen, _, err := st.TrxUse(ctx, c.w, c.trx)
		if c.want && (err != nil || !seen) {
			t.Errorf("TrxUse(%s, %q) = %v, %v; TrxSeen says seen", c.w.Account, c.trx, seen, err)
		}
	}
}

// TestReadersReportRedisErrors: a read that cannot reach Redis says so instead of answering "not
// kept", "no open intents" or "not seen" (which would let ingest attach, pick or accept blindly).
func TestReadersReportRedisErrors(t *testing.T) {
	st, _ := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.PaymentKept(ctx, walletA, "u1"); err == nil {
		t.Error("PaymentKept with a cancelled context: no error")
	}
	if _, err := st.OpenIntentsOfAmount(ctx, []pipeline.Wallet{walletA, walletB}, 500_00); err == nil {
		t.Error("OpenIntentsOfAmount with a cancelled context: no error")
	}
	if _, err := st.TrxSeen(ctx, walletA, "ABC123"); err == nil {
		t.Error("TrxSeen with a cancelled context: no error")
	}
}
