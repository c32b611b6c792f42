package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// Adversarial tests of the balance chain for SMS forwarded out of order (issue 13, finding 6's
// follow-up): whoever holds a device URL can stamp a forged paying SMS in the past; before the fix
// an SMS older than the chain's head was not compared and paid.

// chainSMS is a trusted SMS of provider prov received (and made) at base+at: a payment.reported of
// amount taka with TrxID trx when dir is credit, an sms.received otherwise; balance in taka, fee in
// paisa. Its report is accepted at base+8m30s (a backlog forwarded late, before the intents expire).
func chainSMS(id string, prov pipeline.Provider, dir string, amount, balance, fee int64, at time.Duration, trx string) *pipeline.Event {
	w := wA
	w.Provider = prov
	s := &pipeline.SMS{Sender: string(prov), DeviceID: "d1", ReceivedAt: base.Add(at), Trusted: true, Direction: dir,
		Amount: money(amount), Balance: money(balance), TrxID: trx}
	if fee > 0 {
		s.Parsed = []byte(fmt.Sprintf(`{"fee_paisa":%d}`, fee))
	}
	ev := &pipeline.Event{ID: id, Kind: pipeline.KindSMSReceived, Source: pipeline.SourceSMS, Wallet: w, MerchantID: "m1",
		AcceptedAt: base.Add(8*time.Minute + 30*time.Second), Environment: w.Environment, SMS: s}
	if dir == directionCredit {
		ev.Kind = pipeline.KindPaymentReported
		ev.Payment = &pipeline.Payment{Provider: prov, TrxID: trx, Amount: pipeline.BDT(amount), Sender: "01899999999", OccurredAt: base.Add(at)}
	}
	return ev
}

// paymentOutcome returns d's payment outcome, nil when none.
func paymentOutcome(d Decision) *pipeline.Outcome {
	for _, o := range d.Outcomes {
		if o.Type == pipeline.OutcomePayment {
			return o
		}
	}
	return nil
}

var advProviders = []pipeline.Provider{pipeline.BKash, pipeline.Nagad, pipeline.Rocket, pipeline.Upay}

// TestAdversarialPastStampedSMS: on a wallet with a balance chain, a forged paying SMS stamped
// before the chain's head (a second, a minute, four minutes) with a balance the chain cannot place
// (absurd, the head's own, the head plus the amount as an in-order SMS would have, a huge one) never
// pays: by amount, by reference or through a waiting claim, on every provider. Its payment goes to
// review with balance_out_of_order (kept for operators; a claim does not pay it later), and the head
// does not move. A non-paying SMS stamped in the past changes nothing. (The balance just before the
// chain's oldest SMS does fit, once: a forger who knows the wallet's balance history can also
// forge an in-order SMS.)
func TestAdversarialPastStampedSMS(t *testing.T) {
	now := base.Add(9 * time.Minute)
	for _, prov := range advProviders {
		h := &pipeline.BalanceHead{EventID: "ev-head", At: base.Add(5 * time.Minute), Balance: pipeline.BDT(10000), DeltaPaisa: 100 * 100, HasDelta: true}
		for _, back := range []time.Duration{time.Second, time.Minute, 4 * time.Minute} {
			for _, bal := range []int64{1, 10000, 10500, 99_999_999} {
				for _, way := range []string{"amount", "reference", "claim"} {
					t.Run(fmt.Sprintf("%s/-%s/balance=%d/%s", prov, back, bal, way), func(t *testing.T) {
						in := open("x", 500, "ORDER-1")
						in.Provider = prov
						snap := Snapshot{Intents: []*pipeline.IntentRecord{in}, Balance: h}
						ev := chainSMS("ev-forged", prov, directionCredit, 500, bal, 0, 5*time.Minute-back, "FORGED001")
						switch way {
						case "reference":
							ev.Payment.Reference = "ORDER-1"
						case "claim":
							snap.Claims = []pipeline.ClaimRecord{{IntentID: "x", TrxID: "FORGED001"}}
						}
						d := Decide(ev, snap, now)
						checkInvariants(t, ev, snap, now, d)
						if got := intentChanges(d); got != "x:REVIEW_REQUIRED/balance_out_of_order" {
							t.Fatalf("forged past-stamped SMS: %s", describe(d))
						}
						if d.Payment == nil || d.Payment.Reason != ReasonBalanceOutOfOrder || d.Balance != nil || d.Gap != nil {
							t.Fatalf("forged past-stamped SMS: %s", describe(d))
						}
						// Nothing to pay: held for review, not unmatched.
						d = Decide(ev, Snapshot{Balance: h}, now)
						if o := paymentOutcome(d); o == nil || o.Disposition != pipeline.DispositionReview || o.Reason != ReasonBalanceOutOfOrder {
							t.Fatalf("forged past-stamped SMS, no intent: %s", describe(d))
						}
						// A claim of the held payment does not pay it.
						held := Snapshot{TrxSeenBy: "ev-forged", Intents: []*pipeline.IntentRecord{in}, Payments: []*pipeline.PaymentRecord{d.Payment}}
						held.Payments[0].EventID = "ev-forged"
						if got := intentChanges(Decide(claimEv("x", "FORGED001", ""), held, now)); got != "x:REVIEW_REQUIRED/balance_out_of_order" {
							t.Fatalf("claim of the held payment: %s", got)
						}
					})
				}
			}
			// A non-paying SMS stamped in the past that fits nowhere changes nothing.
			ev := chainSMS("ev-forged-debit", prov, directionDebit, 300, 42, 0, 5*time.Minute-back, "")
			if d := Decide(ev, Snapshot{Balance: h}, now); d.Ignored != IgnoreSMSOutOfOrder || d.Balance != nil {
				t.Fatalf("%s: past-stamped debit: %s", prov, describe(d))
			}
		}
	}
}

// backlogStep is one SMS of a genuine history.
type backlogStep struct {
	ev     *pipeline.Event
	paying bool
}

// genuineHistory returns n SMS of one wallet in the order they happened (30 s apart from base+30s),
// credits of distinct amounts (each pays the intent of its amount) and debits with a fee, whose
// balances follow from each other starting at start taka, and the intents the credits pay.
func genuineHistory(r *rand.Rand, prov pipeline.Provider, n int, start int64) ([]backlogStep, []*pipeline.IntentRecord) {
	var steps []backlogStep
	var ins []*pipeline.IntentRecord
	bal := start * 100
	for i := range n {
		at := time.Duration(i+1) * 30 * time.Second
		id := fmt.Sprintf("ev-%02d", i)
		if r.IntN(3) == 0 && bal > 10_000 { // a debit of up to 50 Tk with a 5 Tk fee
			amount := 1 + r.Int64N(50)
			bal -= amount*100 + 500
			ev := chainSMS(id, prov, directionDebit, amount, 0, 500, at, "")
			ev.SMS.Balance = ptrMoney(bal)
			steps = append(steps, backlogStep{ev: ev})
			continue
		}
		amount := int64(100 + 10*i) // distinct: rule 4 picks one intent
		bal += amount * 100
		ev := chainSMS(id, prov, directionCredit, amount, 0, 0, at, fmt.Sprintf("BACK%04d", i))
		ev.SMS.Balance = ptrMoney(bal)
		steps = append(steps, backlogStep{ev: ev, paying: true})
		in := open(fmt.Sprintf("i%02d", i), amount, "")
		in.Provider = prov
		ins = append(ins, in)
	}
	return steps, ins
}

func ptrMoney(paisa int64) *pipeline.Money {
	m := pipeline.Money(paisa)
	return &m
}

// TestAdversarialGenuineBacklog: a genuine history of credits and debits (random amounts, every
// provider, many seeds) forwarded (a) newest first, (b) in order with a random part held back and
// forwarded afterwards newest first, (c) the same but the held-back part in any order (a stalled
// ingest or phone releases a backlog shuffled: an SMS in the middle of a hole may come first),
// (d) in order after an older head: every paying SMS pays its intent and nothing goes to review.
func TestAdversarialGenuineBacklog(t *testing.T) {
	now := base.Add(9 * time.Minute)
	for _, prov := range advProviders {
		for seed := range uint64(40) {
			for _, order := range []string{"reverse", "held back", "held back shuffled", "forward"} {
				r := rand.New(rand.NewPCG(seed, 13))
				steps, ins := genuineHistory(r, prov, 8+r.IntN(8), 1000+r.Int64N(50000))
				var snapHead *pipeline.BalanceHead
				var seq []backlogStep
				switch order {
				case "reverse":
					seq = slices.Clone(steps)
					slices.Reverse(seq)
				case "held back", "held back shuffled":
					// Held back: a third of the credits, or (shuffled) three in four, so that runs of
					// three and more adjacent ones, whose middle may come first, are common.
					held := func() bool { return r.IntN(3) == 0 }
					if order == "held back shuffled" {
						held = func() bool { return r.IntN(4) != 0 }
					}
					var late []backlogStep
					for _, s := range steps {
						if s.paying && held() { // a missed debit sends later credits to review by design
							late = append(late, s)
						} else {
							seq = append(seq, s)
						}
					}
					if order == "held back" {
						slices.Reverse(late)
					} else {
						r.Shuffle(len(late), func(i, j int) { late[i], late[j] = late[j], late[i] })
					}
					seq = append(seq, late...)
				case "forward":
					seq = steps
					first := steps[0].ev.SMS
					prev := int64(*first.Balance) - int64(*first.Amount)
					if first.Direction == directionDebit {
						prev = int64(*first.Balance) + int64(*first.Amount) + 500
					}
					snapHead = &pipeline.BalanceHead{EventID: "ev-old", At: base, Balance: pipeline.Money(prev)}
				}
				t.Run(fmt.Sprintf("%s/seed=%d/%s", prov, seed, order), func(t *testing.T) {
					snap := Snapshot{Intents: ins, Balance: snapHead}
					for _, s := range seq {
						d := Decide(s.ev, snap, now)
						checkInvariants(t, s.ev, snap, now, d)
						if s.paying {
							if o := paymentOutcome(d); o == nil || o.Disposition != pipeline.DispositionMatched {
								t.Fatalf("genuine SMS %s (at %s) in %s order: %s", s.ev.ID, s.ev.SMS.ReceivedAt.Sub(base), order, describe(d))
							}
						} else if d.Ignored != "" {
							t.Fatalf("genuine debit %s in %s order ignored: %s", s.ev.ID, order, describe(d))
						}
						if d.Gap != nil && !strings.HasPrefix(order, "held back") {
							t.Fatalf("genuine SMS %s in %s order raised a gap: %s", s.ev.ID, order, describe(d))
						}
						snap.Intents = applyTo(snap, d)
						if d.Balance != nil {
							snap.Balance = d.Balance
						}
					}
					if len(snap.Balance.Holes) != 0 {
						t.Fatalf("holes left after the whole history: %+v", snap.Balance.Holes)
					}
				})
			}
		}
	}
}

// TestAdversarialHoleSplitOnlyWhileYoung: a hole left by SMS held back accepts an SMS stamped inside
// it at neither edge (splitting it) only while it is young (HoleSplitWindow after it opened, by
// ingest's clock); afterwards, and for holes stored without an opening time, such an SMS is a
// forger's that names a balance the chain cannot place: its payment goes to review
// (balance_out_of_order), the head unchanged. On every provider, by amount, reference and claim.
// The same holds before the chain's base while the chain itself is young (StartedAt).
func TestAdversarialHoleSplitOnlyWhileYoung(t *testing.T) {
	for _, prov := range advProviders {
		// The head at base+5m, 10,000 Tk; a hole from 9,000 Tk at base+1m to 9,500 Tk at base+4m.
		opened := base.Add(8 * time.Minute) // chainSMS's reports are accepted at base+8m30s
		for _, c := range []struct {
			name   string
			opened time.Time
			pays   bool
		}{
			{"young", opened, true},
			{"just inside the window", base.Add(8*time.Minute + 30*time.Second).Add(-HoleSplitWindow + time.Second), true},
			{"at the window", base.Add(8*time.Minute + 30*time.Second).Add(-HoleSplitWindow), false},
			{"old", opened.Add(-time.Hour), false},
			{"stored without an opening time", time.Time{}, false},
		} {
			for _, way := range []string{"amount", "reference", "claim"} {
				t.Run(fmt.Sprintf("%s/%s/%s", prov, c.name, way), func(t *testing.T) {
					h := &pipeline.BalanceHead{EventID: "ev-head", At: base.Add(5 * time.Minute), Balance: pipeline.BDT(10000),
						DeltaPaisa: 500 * 100, HasDelta: true, Holes: []pipeline.BalanceHole{{
							FromAt: base.Add(time.Minute), FromPaisa: 9000 * 100, ToAt: base.Add(4 * time.Minute), ToPaisa: 9500 * 100, OpenedAt: c.opened,
						}}}
					in := open("x", 123, "ORDER-1")
					in.Provider = prov
					snap := Snapshot{Intents: []*pipeline.IntentRecord{in}, Balance: h}
					// 123 Tk received at base+2m with a balance of 7,777 Tk: inside the hole, at neither edge.
					ev := chainSMS("ev-mid", prov, directionCredit, 123, 7777, 0, 2*time.Minute, "MIDHOLE01")
					switch way {
					case "reference":
						ev.Payment.Reference = "ORDER-1"
					case "claim":
						snap.Claims = []pipeline.ClaimRecord{{IntentID: "x", TrxID: "MIDHOLE01"}}
					}
					now := base.Add(9 * time.Minute)
					d := Decide(ev, snap, now)
					checkInvariants(t, ev, snap, now, d)
					if !c.pays {
						if got := intentChanges(d); got != "x:REVIEW_REQUIRED/balance_out_of_order" || d.Balance != nil {
							t.Fatalf("an SMS inside a hole that cannot split: %s", describe(d))
						}
						return
					}
					if got := intentChanges(d); !strings.HasPrefix(got, "x:PAID") || d.Balance == nil {
						t.Fatalf("an SMS inside a young hole: %s", describe(d))
					}
					want := []pipeline.BalanceHole{
						{FromAt: base.Add(time.Minute), FromPaisa: 9000 * 100, ToAt: base.Add(2 * time.Minute), ToPaisa: (7777 - 123) * 100, OpenedAt: c.opened},
						{FromAt: base.Add(2 * time.Minute), FromPaisa: 7777 * 100, ToAt: base.Add(4 * time.Minute), ToPaisa: 9500 * 100, OpenedAt: c.opened},
					}
					if !slices.Equal(d.Balance.Holes, want) || d.Balance.Balance != h.Balance {
						t.Fatalf("split hole: got %+v (balance %d), want %+v", d.Balance.Holes, d.Balance.Balance, want)
					}
				})
			}
		}
	}
}

func TestAdversarialBaseSplitOnlyWhileYoung(t *testing.T) {
	accepted := base.Add(8*time.Minute + 30*time.Second) // chainSMS's
	for _, prov := range advProviders {
		for _, c := range []struct {
			name    string
			started time.Time
			pays    bool
		}{
			{"young chain", accepted.Add(-time.Minute), true},
			{"at the window", accepted.Add(-HoleSplitWindow), false},
			{"old chain", accepted.Add(-time.Hour), false},
			{"stored without a start", time.Time{}, false},
		} {
			t.Run(fmt.Sprintf("%s/%s", prov, c.name), func(t *testing.T) {
				// The chain starts at base+3m from 9,000 Tk; the head is 10,000 Tk at base+5m.
				h := &pipeline.BalanceHead{EventID: "ev-head", At: base.Add(5 * time.Minute), Balance: pipeline.BDT(10000),
					DeltaPaisa: 500 * 100, HasDelta: true, BasePaisa: 9000 * 100, BaseAt: base.Add(3 * time.Minute), HasBase: true, StartedAt: c.started}
				in := open("x", 123, "")
				in.Provider = prov
				snap := Snapshot{Intents: []*pipeline.IntentRecord{in}, Balance: h}
				// Received at base+1m with 7,777 Tk: older than the base and not ending at it.
				ev := chainSMS("ev-old", prov, directionCredit, 123, 7777, 0, time.Minute, "BEFOREB01")
				now := base.Add(9 * time.Minute)
				d := Decide(ev, snap, now)
				checkInvariants(t, ev, snap, now, d)
				if !c.pays {
					if got := intentChanges(d); got != "x:REVIEW_REQUIRED/balance_out_of_order" || d.Balance != nil {
						t.Fatalf("an SMS before the base of a chain that is not young: %s", describe(d))
					}
					return
				}
				if got := intentChanges(d); !strings.HasPrefix(got, "x:PAID") || d.Balance == nil {
					t.Fatalf("an SMS before the base of a young chain: %s", describe(d))
				}
				nh := d.Balance
				want := []pipeline.BalanceHole{{FromAt: base.Add(time.Minute), FromPaisa: 7777 * 100, ToAt: base.Add(3 * time.Minute), ToPaisa: 9000 * 100, OpenedAt: c.started}}
				if nh.BasePaisa != (7777-123)*100 || !nh.BaseAt.Equal(base.Add(time.Minute)) || !slices.Equal(nh.Holes, want) || nh.Balance != h.Balance {
					t.Fatalf("base moved to %d at %s, holes %+v; want %d at base+1m, %+v", nh.BasePaisa, nh.BaseAt, nh.Holes, (7777-123)*100, want)
				}
			})
		}
	}
}
