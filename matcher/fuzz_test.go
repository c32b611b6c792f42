package matcher

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
)

// FuzzDecide checks Decide's invariants (checkInvariants) in two ways.
//
// One event over a snapshot built from the input: a payment (with or without an SMS balance), an
// expiry, a claim, an approve, reject or attach, or an SMS; no intent changed twice or out of its
// snapshot status/version, no final intent changed, at most one intent paid per event, exactly one
// payment outcome per payment, a claim never pays an intent whose amount differs, deterministic
// ids and bytes, and independence from the order and duplication of the snapshot's records.
//
// A sequence of events (script) over an in-memory wallet that applies each decision as the store
// would: across the whole sequence an intent is paid at most once, a final intent never changes, a
// TrxID pays at most one intent, a kept payment is used at most once and is never kept once its
// TrxID paid an intent.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{0, 0, 5, 5, 0, 0, 5, 5}, "", int64(0), int64(30), int64(60), false, uint8(0), []byte{})
	f.Add([]byte{0, 1, 5, 5, 1, 1, 5, 5, 2, 1, 5, 5}, "r1", int64(0), int64(30), int64(60), false, uint8(0), []byte{0, 0, 0, 0, 1, 0, 0, 0})
	f.Add([]byte{4, 2, 9, 1, 3, 2, 2, 2}, "I0", int64(1), int64(-30), int64(9000), false, uint8(0), []byte{})
	f.Add([]byte{0, 0, 5, 5}, "", int64(0), int64(30), int64(60), true, uint8(0), []byte{})
	f.Add([]byte{0, 0, 5, 1, 0, 0, 5, 1}, "", int64(0), int64(30), int64(700), false, uint8(1), []byte{})
	f.Add([]byte{0, 1, 5, 3, 5, 1, 5, 3}, "", int64(0), int64(30), int64(60), true, uint8(2), []byte{})
	f.Add([]byte{5, 1, 5, 3, 0, 3, 5, 1}, "", int64(0), int64(30), int64(60), false, uint8(3), []byte{})
	f.Add([]byte{5, 1, 5, 3}, "", int64(0), int64(30), int64(60), false, uint8(5), []byte{})
	f.Add([]byte{0, 0, 5, 5}, "", int64(2), int64(30), int64(61), false, uint8(7), []byte{})
	// Sequences: create, claim first, pay; pay first, claim; review, approve; SMS chain.
	f.Add([]byte{}, "", int64(0), int64(0), int64(0), false, uint8(0),
		[]byte{0, 0, 0, 0, 2, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 2, 0, 2, 1, 2, 0, 1, 1, 3, 0, 2, 1, 3, 0})
	f.Add([]byte{}, "", int64(0), int64(0), int64(0), false, uint8(0),
		[]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 3, 0, 0, 0, 5, 1, 0, 0, 4, 1, 0, 0, 6, 2, 3, 0x30, 1, 1, 4, 0x10, 1, 2, 5, 0x30})
	f.Fuzz(func(t *testing.T, spec []byte, ref string, amountSel, occurredSec, nowSec int64, seen bool, kind uint8, script []byte) {
		fuzzOneEvent(t, spec, ref, amountSel, occurredSec, nowSec, seen, kind)
		fuzzSequence(t, script)
	})
}

func fuzzOneEvent(t *testing.T, spec []byte, ref string, amountSel, occurredSec, nowSec int64, seen bool, kind uint8) {
	if len(spec) > 4*40 {
		spec = spec[:4*40]
	}
	statuses := pipeline.Statuses
	refs := []string{"", "r1", "R1", "r2", " r1 "}
	var snap Snapshot
	for i := 0; i+3 < len(spec); i += 4 {
		b0, b1, b2, b3 := spec[i], spec[i+1], spec[i+2], spec[i+3]
		st := statuses[int(b0)%len(statuses)]
		id := fmt.Sprintf("i%d", i/4%7)
		r := rec(id, st, int64(100*(1+int(b1)%3)), refs[int(b1>>2)%len(refs)],
			time.Duration(int(b2)%20-10)*time.Minute, time.Duration(1+int(b3)%20)*time.Minute)
		r.Version += int(b0>>4) % 3
		if b3&0x40 != 0 {
			r.TrxID = fmt.Sprintf("T%d", b3%3)
		}
		snap.Intents = append(snap.Intents, r) // ids repeat on purpose (i%7): duplicates must not matter
		// Claims of the event's TrxID, kept payments, paid TrxIDs and candidates, from the same bytes.
		if b1&0x80 != 0 {
			snap.Claims = append(snap.Claims, pipeline.ClaimRecord{IntentID: id, TrxID: "TRX1", Sender: []string{"", "01899999999", "01811111111"}[int(b2>>5)%3]})
		}
		if b2&0x80 != 0 {
			disp := []pipeline.Disposition{pipeline.DispositionUnmatched, pipeline.DispositionReview}[int(b3>>7)]
			p := kept(fmt.Sprintf("p%d", i/4%5), int64(100*(1+int(b0>>2)%3)), []string{"TRX1", "T0", "T1", "T2"}[int(b0>>6)%4], disp,
				[]string{"", pipeline.ReasonAmbiguous, ReasonBalanceMismatch}[int(b2>>4)%3], id)
			snap.Payments = append(snap.Payments, p)
			snap.Candidates = append(snap.Candidates, p.EventID)
			if b3&0x20 != 0 { // the intent has another candidate too: a release must leave it alone
				if snap.IntentCandidates == nil {
					snap.IntentCandidates = map[string][]string{}
				}
				snap.IntentCandidates[id] = append(snap.IntentCandidates[id], p.EventID, "p-other")
			}
		}
		if b0&0x08 != 0 {
			if snap.TrxPaid == nil {
				snap.TrxPaid = map[string]string{}
			}
			snap.TrxPaid[[]string{"TRX1", "T0", "T1", "T2"}[int(b2>>2)%4]] = id
		}
	}
	if nowSec%3 == 0 {
		snap.Balance = head(1000+nowSec%7*100, time.Duration(occurredSec%60)*time.Second, 100)
	}
	now := base.Add(time.Duration(nowSec%100000) * time.Second)
	if seen {
		snap.TrxSeenBy = "ev-first"
	}
	pick := func() string { return fmt.Sprintf("i%d", (amountSel%7+7)%7) }
	var ev *pipeline.Event
	switch kind % 8 {
	case 1:
		target := &rec("i0", pipeline.StatusPending, 100, "", 0, time.Minute).Intent
		ev = ExpiryEvent(wA, target)
	case 2:
		ev = claimEv(pick(), []string{"TRX1", "t0", "T1"}[int(nowSec&0xff)%3], []string{"", "01899999999", "01811111111"}[int(occurredSec&0xff)%3])
		if snap.TrxSeenBy != "" {
			snap.TrxSeenBy = "p" + fmt.Sprint(int(nowSec&0xff)%5)
		}
	case 3, 4, 5:
		action := []string{pipeline.ReviewApprove, pipeline.ReviewReject, pipeline.ReviewAttach}[kind%8-3]
		ev = reviewEv(action, pick(), fmt.Sprintf("p%d", int(nowSec&0xff)%5), []string{"", "TRX1", "T9"}[int(occurredSec&0xff)%3])
	case 6:
		ev = smsEv("ev-sms", []string{"credit", "debit", "none"}[int(amountSel&0xff)%3], 100*(amountSel%3+1), 1000+nowSec%20*100,
			time.Duration(occurredSec%100000)*time.Second)
	default:
		ev = payAt(100*(1+(amountSel%3+3)%3), ref, time.Duration(occurredSec%100000)*time.Second)
		if amountSel < 0 {
			ev.Payment.OccurredAt = time.Time{}
		}
		if kind%8 == 7 {
			ev.SMS = &pipeline.SMS{Sender: "bKash", Trusted: true, Direction: "credit", Amount: &ev.Payment.Amount,
				Balance: money(1000 + nowSec%9*100), ReceivedAt: ev.Payment.OccurredAt}
		}
	}
	d := Decide(ev, snap, now)
	checkInvariants(t, ev, snap, now, d)

	// Order and duplication of the snapshot do not matter.
	rev := snap
	rev.Intents = nil
	firsts := intents(snap)
	for i := len(firsts) - 1; i >= 0; i-- {
		rev.Intents = append(rev.Intents, firsts[i], nil)
	}
	rev.Payments = slices.Clone(snap.Payments)
	slices.Reverse(rev.Payments)
	d2 := Decide(ev, rev, now)
	a, _ := json.Marshal(d.Outcomes)
	b, _ := json.Marshal(d2.Outcomes)
	if string(a) != string(b) || describe(d) != describe(d2) {
		t.Fatalf("decision depends on snapshot order:\n%s\n%s", a, b)
	}
}

// wallet is an in-memory model of one wallet's matcher state, applying changes as state.Apply does.
type wallet struct {
	intents map[string]*pipeline.IntentRecord
	seen    map[string]string // TRXID -> reporting event
	paid    map[string]string // TRXID -> intent
	kept    map[string]*pipeline.PaymentRecord
	cands   map[string][]string
	claims  map[string][]pipeline.ClaimRecord
	iclaims map[string][]string
	head    *pipeline.BalanceHead
	// Across the sequence.
	paidTimes map[string]int // intent -> transitions to PAID
	trxPays   map[string]int // TRXID -> intents it paid
}

func newWallet() *wallet {
	return &wallet{
		intents: map[string]*pipeline.IntentRecord{}, seen: map[string]string{}, paid: map[string]string{},
		kept: map[string]*pipeline.PaymentRecord{}, cands: map[string][]string{}, claims: map[string][]pipeline.ClaimRecord{},
		iclaims: map[string][]string{}, paidTimes: map[string]int{}, trxPays: map[string]int{},
	}
}

func (w *wallet) ids() []string {
	var out []string
	for id := range w.intents {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (w *wallet) keptIDs() []string {
	var out []string
	for id := range w.kept {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// snapshot is a superset of what LoadSnapshot returns for ev (Decide filters what it loads).
func (w *wallet) snapshot(ev *pipeline.Event) Snapshot {
	var trx, intentID string
	switch {
	case ev.Payment != nil:
		trx = ev.Payment.TrxID
	case ev.Claim != nil:
		trx, intentID = ev.Claim.TrxID, ev.Claim.IntentID
	case ev.Review != nil:
		trx, intentID = ev.Review.TrxID, ev.Review.IntentID
	}
	trx = pipeline.NormalizeTrxID(trx)
	s := Snapshot{Balance: w.head, TrxPaid: map[string]string{}}
	if trx != "" {
		s.TrxSeenBy = w.seen[trx]
		s.Claims = slices.Clone(w.claims[trx])
	}
	for _, id := range w.ids() {
		r := *w.intents[id]
		s.Intents = append(s.Intents, &r)
	}
	for _, id := range w.keptIDs() {
		p := *w.kept[id]
		s.Payments = append(s.Payments, &p)
	}
	if intentID != "" {
		s.IntentClaims = slices.Clone(w.iclaims[intentID])
		s.Candidates = slices.Clone(w.cands[intentID])
	}
	for id, c := range w.cands {
		if len(c) > 0 {
			if s.IntentCandidates == nil {
				s.IntentCandidates = map[string][]string{}
			}
			s.IntentCandidates[id] = slices.Sorted(slices.Values(c))
		}
	}
	for k, v := range w.paid {
		s.TrxPaid[k] = v
	}
	return s
}

func (w *wallet) apply(t *testing.T, ch *state.Change) {
	t.Helper()
	if ch.SeenTrxID != "" {
		n := pipeline.NormalizeTrxID(ch.SeenTrxID)
		if prev := w.seen[n]; prev != "" && prev != ch.EventID {
			t.Fatalf("event %s marks %s seen, already seen by %s", ch.EventID, n, prev)
		}
		w.seen[n] = ch.EventID
	}
	for _, tr := range ch.Transitions {
		r := w.intents[tr.IntentID]
		if r == nil || r.Status != tr.From || r.Version != tr.Version || r.Status.Final() {
			t.Fatalf("event %s: transition %+v over %+v", ch.EventID, tr, r)
		}
		r.Status, r.Version, r.TrxID, r.MatchType, r.Reason, r.UpdatedAt = tr.To, tr.Version+1, tr.TrxID, tr.MatchType, tr.Reason, tr.At
		if tr.From == pipeline.StatusReviewRequired || tr.To.Final() {
			delete(w.cands, tr.IntentID)
		}
		if tr.To == pipeline.StatusPaid {
			if w.paidTimes[tr.IntentID]++; w.paidTimes[tr.IntentID] > 1 {
				t.Fatalf("intent %s paid twice", tr.IntentID)
			}
			if n := pipeline.NormalizeTrxID(tr.TrxID); n != "" {
				if w.trxPays[n]++; w.trxPays[n] > 1 {
					t.Fatalf("TrxID %s paid a second intent (%s; first %s)", n, tr.IntentID, w.paid[n])
				}
				w.paid[n] = tr.IntentID
			}
		}
	}
	for _, p := range ch.UsedPayments {
		if w.kept[p.EventID] == nil {
			t.Fatalf("event %s uses payment %s which is not kept", ch.EventID, p.EventID)
		}
		delete(w.kept, p.EventID)
		for _, id := range p.IntentIDs {
			w.cands[id] = slices.DeleteFunc(w.cands[id], func(e string) bool { return e == p.EventID })
		}
	}
	if p := ch.Payment; p != nil {
		c := *p
		w.kept[c.EventID] = &c
		if c.Disposition == pipeline.DispositionReview {
			for _, id := range c.IntentIDs {
				if !slices.Contains(w.cands[id], c.EventID) {
					w.cands[id] = append(w.cands[id], c.EventID)
				}
			}
		}
	}
	if c := ch.Claims; c != nil {
		w.claims[c.TrxID] = slices.Clone(c.Claims)
		w.iclaims[c.IntentID] = slices.Clone(c.IntentTrxIDs)
	}
	for _, trx := range ch.DropClaims {
		delete(w.claims, trx)
	}
	if ch.Balance != nil {
		h := *ch.Balance
		w.head = &h
	}
	// A kept payment never paid an intent.
	for id, p := range w.kept {
		if n := pipeline.NormalizeTrxID(p.Payment.TrxID); w.paid[n] != "" {
			t.Fatalf("payment %s is kept although its TrxID %s paid %s", id, n, w.paid[n])
		}
	}
}

// fuzzSequence runs the events script describes (4 bytes each) through Decide and the model.
func fuzzSequence(t *testing.T, script []byte) {
	if len(script) > 4*64 {
		script = script[:4*64]
	}
	w := newWallet()
	now := base
	trxs := []string{"T0", "t1", "T2", "T3", "T4", "T5"}
	senders := []string{"", "01899999999", "01811111111"}
	refs := []string{"", "ORDER-1", "ORDER-2"}
	pickIntent := func(b byte) string {
		ids := w.ids()
		if len(ids) == 0 {
			return "none"
		}
		return ids[int(b)%len(ids)]
	}
	for i := 0; i+3 < len(script); i += 4 {
		op, a, b, c := script[i], script[i+1], script[i+2], script[i+3]
		now = now.Add(time.Duration(a%4) * 30 * time.Second)
		evID := fmt.Sprintf("e%d", i/4)
		var ev *pipeline.Event
		switch op % 8 {
		case 0: // intent created (CreateIntent's job, not Decide's)
			id := fmt.Sprintf("s%d", i/4)
			in := pipeline.Intent{ID: id, MerchantID: "m1", Environment: wA.Environment, Amount: pipeline.BDT(int64(100 * (1 + int(b)%3))),
				Currency: "BDT", CustomerReference: refs[int(c)%len(refs)], Provider: wA.Provider, ReceiverMsisdn: wA.Account,
				CreatedAt: now.Add(-time.Duration(c>>4%3) * time.Minute), ExpiresAt: now.Add(time.Duration(1+int(c>>2)%10) * time.Minute)}
			w.intents[id] = &pipeline.IntentRecord{Intent: in, Status: pipeline.StatusPending, Version: 1, UpdatedAt: in.CreatedAt}
			continue
		case 1, 6: // a payment (6: with its SMS balance)
			amount := pipeline.BDT(int64(100 * (1 + int(a>>2)%3)))
			ref := refs[int(c)%len(refs)]
			if c&0x08 != 0 {
				ref = pickIntent(c >> 4)
			}
			ev = &pipeline.Event{ID: evID, Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSMS, Wallet: wA, MerchantID: "m1",
				AcceptedAt: now, Environment: wA.Environment,
				Payment: &pipeline.Payment{Provider: wA.Provider, TrxID: trxs[int(b)%len(trxs)], Amount: amount,
					Sender: senders[int(b>>4)%len(senders)], Reference: ref, OccurredAt: now.Add(-5 * time.Second)}}
			if op%8 == 6 {
				bal := pipeline.BDT(5000)
				if w.head != nil {
					bal = w.head.Balance + amount + pipeline.Money((int64(c>>5)%3-1)*100*100)
				}
				ev.SMS = &pipeline.SMS{Sender: "bKash", Trusted: true, Direction: "credit", Amount: &amount, Balance: &bal,
					ReceivedAt: ev.Payment.OccurredAt, TrxID: ev.Payment.TrxID}
			}
		case 2:
			ev = &pipeline.Event{ID: evID, Kind: pipeline.KindClaimSubmitted, Source: pipeline.SourceCheckout, Wallet: wA, MerchantID: "m1",
				AcceptedAt: now, Environment: wA.Environment,
				Claim: &pipeline.Claim{IntentID: pickIntent(a >> 2), TrxID: trxs[int(b)%len(trxs)], SenderMsisdn: senders[int(c)%len(senders)]}}
		case 3, 4, 5:
			action := []string{pipeline.ReviewApprove, pipeline.ReviewReject, pipeline.ReviewAttach}[op%8-3]
			payID := "none"
			if ids := w.keptIDs(); len(ids) > 0 {
				payID = ids[int(b)%len(ids)]
			}
			trx := ""
			if c&1 != 0 {
				trx = trxs[int(c>>1)%len(trxs)]
			}
			ev = &pipeline.Event{ID: evID, Kind: pipeline.KindReviewDecided, Source: pipeline.SourceOperator, Wallet: wA, MerchantID: "m1",
				AcceptedAt: now, Environment: wA.Environment,
				Review: &pipeline.ReviewDecision{IntentID: pickIntent(a >> 2), Action: action, PaymentEventID: payID, TrxID: trx, Operator: "op"}}
		case 7:
			id := pickIntent(b)
			r := w.intents[id]
			if r == nil {
				continue
			}
			if c&1 != 0 {
				now = now.Add(10 * time.Minute)
			}
			in := r.Intent
			ev = ExpiryEvent(wA, &in)
		}
		snap := w.snapshot(ev)
		d := Decide(ev, snap, now)
		checkInvariants(t, ev, snap, now, d)
		if !d.Empty() {
			w.apply(t, d.Change(ev))
		}
	}
	// Every claim-matched intent was paid its own amount (checked per decision); every PAID intent
	// records the TrxID it was paid with, and that TrxID maps back to it.
	for id, r := range w.intents {
		if n := pipeline.NormalizeTrxID(r.TrxID); r.Status == pipeline.StatusPaid && n != "" && w.paid[n] != id {
			t.Fatalf("intent %s PAID with %s, which maps to %q", id, n, w.paid[n])
		}
		if r.Status == pipeline.StatusPaid && strings.TrimSpace(string(r.MatchType)) == "" {
			t.Fatalf("intent %s PAID without a match type", id)
		}
	}
}
