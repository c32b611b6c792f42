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

// Every script's keys must share one hash tag (Redis Cluster), whatever the inputs.
func TestApplyKeysShareOneSlot(t *testing.T) {
	st := New(nil, pipeline.Keys{Prefix: "x"})
	in := testIntent("pi-1", walletA, 500, "Ref{odd}", t0)
	tr := payTransition(in, "T", t0)
	tr2 := tr
	tr2.IntentID = "pi-{2}"
	ch := &Change{Wallet: walletA, EventID: "ev{1}", SeenTrxID: "t{x}", Transitions: []Transition{tr, tr2},
		Payment:  &PaymentRecord{Disposition: pipeline.DispositionReview},
		Outcomes: []*pipeline.Outcome{{ID: "o"}}}
	keys, _, err := st.applyArgs(ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameSlot(keys); err != nil {
		t.Errorf("apply keys: %v", err)
	}
	if len(keys) != 4+2*4 {
		t.Errorf("apply passes %d keys, want 12", len(keys))
	}
	if err := sameSlot([]string{"a:{w:1}:x", "a:{w:2}:x"}); !errors.Is(err, errCrossSlot) {
		t.Errorf("sameSlot of two wallets = %v, want errCrossSlot", err)
	}
}
