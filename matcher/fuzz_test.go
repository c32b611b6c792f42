package matcher

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// FuzzDecide builds a wallet snapshot and an event from the input and checks Decide's invariants:
// no intent changed twice or out of its snapshot status/version, no final intent changed, at most
// one intent paid per payment, exactly one payment outcome per payment, deterministic ids and bytes,
// and independence from the order and duplication of the snapshot's records.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{0, 0, 5, 5, 0, 0, 5, 5}, "", int64(0), int64(30), int64(60), false, false)
	f.Add([]byte{0, 1, 5, 5, 1, 1, 5, 5, 2, 1, 5, 5}, "r1", int64(0), int64(30), int64(60), false, false)
	f.Add([]byte{4, 2, 9, 1, 3, 2, 2, 2}, "I0", int64(1), int64(-30), int64(9000), false, false)
	f.Add([]byte{0, 0, 5, 5}, "", int64(0), int64(30), int64(60), true, false)
	f.Add([]byte{0, 0, 5, 1, 0, 0, 5, 1}, "", int64(0), int64(30), int64(700), false, true)
	f.Fuzz(func(t *testing.T, spec []byte, ref string, amountSel, occurredSec, nowSec int64, seen, expiry bool) {
		if len(spec) > 4*40 {
			spec = spec[:4*40]
		}
		statuses := pipeline.Statuses
		refs := []string{"", "r1", "R1", "r2", " r1 "}
		var snap Snapshot
		for i := 0; i+3 < len(spec); i += 4 {
			b0, b1, b2, b3 := spec[i], spec[i+1], spec[i+2], spec[i+3]
			st := statuses[int(b0)%len(statuses)]
			r := rec(fmt.Sprintf("i%d", i/4%7), st, int64(100*(1+int(b1)%3)), refs[int(b1>>2)%len(refs)],
				time.Duration(int(b2)%20-10)*time.Minute, time.Duration(1+int(b3)%20)*time.Minute)
			r.Version += int(b0>>4) % 3
			snap.Intents = append(snap.Intents, r) // ids repeat on purpose (i%7): duplicates must not matter
		}
		now := base.Add(time.Duration(nowSec%100000) * time.Second)
		var ev *pipeline.Event
		if expiry {
			target := &rec("i0", pipeline.StatusPending, 100, "", 0, time.Minute).Intent
			ev = ExpiryEvent(wA, target)
		} else {
			ev = payAt(100*(1+(amountSel%3+3)%3), ref, time.Duration(occurredSec%100000)*time.Second)
			if amountSel < 0 {
				ev.Payment.OccurredAt = time.Time{}
			}
		}
		if seen {
			snap.TrxSeenBy = "ev-first"
		}
		d := Decide(ev, snap, now)
		checkInvariants(t, ev, snap, d)

		// Order and duplication of the snapshot do not matter.
		rev := Snapshot{TrxSeenBy: snap.TrxSeenBy}
		firsts := intents(snap)
		for i := len(firsts) - 1; i >= 0; i-- {
			rev.Intents = append(rev.Intents, firsts[i], nil)
		}
		d2 := Decide(ev, rev, now)
		a, _ := json.Marshal(d.Outcomes)
		b, _ := json.Marshal(d2.Outcomes)
		if string(a) != string(b) {
			t.Fatalf("decision depends on snapshot order:\n%s\n%s", a, b)
		}
	})
}
