package state

import (
	"errors"
	"testing"

	"github.com/paystream/paystream/pipeline"
)

func TestHashTag(t *testing.T) {
	for key, want := range map[string]string{
		"ps:{w:bkash:017:LIVE}:intent:x{y}": "w:bkash:017:LIVE",
		"ps:{}:x":                           "ps:{}:x",
		"ps:intentloc:abc":                  "ps:intentloc:abc",
		"ps:{exp:3}:deadlines":              "exp:3",
		"ps:{a":                             "ps:{a",
	} {
		if got := hashTag(key); got != want {
			t.Errorf("hashTag(%q) = %q, want %q", key, got, want)
		}
	}
}

// Every script's keys must share one hash tag (Redis Cluster), whatever the inputs, and every
// operation names a key the script receives.
func TestApplyKeysShareOneSlot(t *testing.T) {
	st := New(nil, pipeline.Keys{Prefix: "x"})
	in := testIntent("pi-1", walletA, 500, "Ref{odd}", t0)
	tr := payTransition(in, "T", t0)
	tr2 := tr
	tr2.IntentID = "pi-{2}"
	tr2.From = pipeline.StatusReviewRequired
	v := int64(7)
	used := &pipeline.PaymentRecord{EventID: "ev{u}", IntentIDs: []string{"pi-{3}"}}
	ch := &Change{Wallet: walletA, EventID: "ev{1}", SeenTrxID: "t{x}", Transitions: []pipeline.Transition{tr, tr2},
		Payment:      &pipeline.PaymentRecord{EventID: "ev{k}", Disposition: pipeline.DispositionReview, IntentIDs: []string{"pi-{4}"}},
		UsedPayments: []*pipeline.PaymentRecord{used}, IfVersion: &v,
		Claims:     &pipeline.ClaimsUpdate{TrxID: "T{c}", IntentID: "pi-{5}", Claims: []pipeline.ClaimRecord{{IntentID: "pi-{5}"}}, IntentTrxIDs: []string{"T{c}"}},
		DropClaims: []string{"D{d}"}, Balance: &pipeline.BalanceHead{EventID: "ev{1}"}, Gap: &pipeline.BalanceGap{EventID: "ev{1}"},
		Outcomes: []*pipeline.Outcome{{ID: "o"}}, OtherOutcomes: []any{map[string]string{"id": "g"}}}
	keys, args, _, err := st.applyArgs(ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameSlot(keys); err != nil {
		t.Errorf("apply keys: %v", err)
	}
	n, m := args[5].(int), args[6].(int)
	ops := args[8+3*n:]
	if len(ops) != 4*m {
		t.Fatalf("%d operation arguments for %d operations", len(ops), m)
	}
	for i := 0; i < len(ops); i += 4 {
		if idx := ops[i+1].(int); idx < 1 || idx > len(keys) {
			t.Errorf("operation %v names key %d of %d", ops[i], idx, len(keys))
		}
	}
	if keys[keyVersion-1] != WalletVersionKey(st.Keys(), walletA) || args[4] != "7" {
		t.Errorf("version key %q, expected version %v", keys[keyVersion-1], args[4])
	}
	if err := sameSlot([]string{"a:{w:1}:x", "a:{w:2}:x"}); !errors.Is(err, errCrossSlot) {
		t.Errorf("sameSlot of two wallets = %v, want errCrossSlot", err)
	}
}
