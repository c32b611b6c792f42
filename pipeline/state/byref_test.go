package state

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

func TestOpenIntentsByReference(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	walletC := pipeline.Wallet{Provider: pipeline.BKash, Account: "01733333333", Environment: pipeline.Sandbox}
	older := testIntent("pi-older", walletB, pipeline.BDT(100), "01712345678", t0)
	newer := testIntent("pi-newer", walletA, pipeline.BDT(200), " 01712345678 ", t0.Add(time.Second))
	paid := testIntent("pi-paid", walletA, pipeline.BDT(300), "01712345678", t0.Add(2*time.Second))
	otherRef := testIntent("pi-other", walletA, pipeline.BDT(100), "ORDER-1", t0)
	elsewhere := testIntent("pi-elsewhere", walletC, pipeline.BDT(100), "01712345678", t0)
	for _, in := range []*pipeline.Intent{older, newer, paid, otherRef, elsewhere} {
		if err := st.CreateIntent(ctx, in); err != nil {
			t.Fatalf("CreateIntent %s: %v", in.ID, err)
		}
	}
	if _, _, err := st.Apply(ctx, &Change{
		Wallet: walletA, EventID: "ev-pay", SeenTrxID: "TRXPAID",
		Transitions: []pipeline.Transition{payTransition(paid, "TRXPAID", t0.Add(time.Minute))},
		Outcomes:    paidOutcomes("ev-pay", paid, t0.Add(time.Minute)),
	}); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	ids := func(rs []*pipeline.IntentRecord) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	cases := []struct {
		name    string
		wallets []pipeline.Wallet
		ref     string
		want    []string
	}{
		{"open ones on the given wallets, oldest first, paid skipped", []pipeline.Wallet{walletA, walletB, walletA}, "01712345678", []string{"pi-older", "pi-newer"}},
		{"reference is trimmed and case-insensitive", []pipeline.Wallet{walletA}, "  order-1 ", []string{"pi-other"}},
		{"one wallet only", []pipeline.Wallet{walletB}, "01712345678", []string{"pi-older"}},
		{"unknown reference", []pipeline.Wallet{walletA, walletB}, "nope", nil},
		{"empty reference", []pipeline.Wallet{walletA, walletB}, "  ", nil},
		{"no wallets", nil, "01712345678", nil},
	}
	for _, c := range cases {
		got, err := st.OpenIntentsByReference(ctx, c.wallets, c.ref)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if g := ids(got); !slices.Equal(g, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, g, c.want)
		}
		for _, r := range got {
			if r.Status != pipeline.StatusPending || r.Version != 1 {
				t.Errorf("%s: record %s is %s v%d, want PENDING v1", c.name, r.ID, r.Status, r.Version)
			}
		}
	}
}
