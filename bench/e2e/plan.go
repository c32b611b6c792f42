package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// payment is one planned payment and everything measured about it. The slice of payments is
// allocated once, before the load; its index is the payment's (and its intent's) number.
//
// Writers: the plan and set-up before the load; during the load, exactly one worker writes the
// request fields (started, answered, status, …) and the receiver, under its mutex, the webhook
// fields (paidAt onwards). The report reads everything once both have stopped.
type payment struct {
	idx      int // its index in the plan
	intentID string
	trx      string // TrxID, unique in the run, bKash-shaped (10 upper-case letters and digits)
	payer    string // the customer's mobile number; also the intent's customerReference
	amount   int    // whole BDT; unique among the merchant's intents
	merchant int
	surface  surface

	scheduled    int64 // unix ns the open-loop schedule sends it at
	smsAtMs      int64 // SMS: the phone's receipt time (unix ms), strictly increasing per wallet
	balancePaisa int64 // SMS: the wallet balance the SMS states after this payment

	started     int64 // unix ns a worker began sending (0: never sent)
	intentAt    int64 // -setup-in-window: unix ns its intent's 201 came back (0: created in set-up, or failed)
	answered    int64 // unix ns the reporting request's answer (or transport error) came back
	status      int16 // HTTP status of the reporting request; -1 transport error
	checkStatus int16 // txn: status of the check request before complete
	notPayment  bool  // sms: 202, but paystream did not read the SMS as a payment
	waited      bool  // the worker pool was saturated at the scheduled time

	// Written by the receiver.
	paidAt        int64 // unix ns the first payment.paid webhook arrived
	decidedAt     int64 // its timestamp: when the matcher decided
	paidEventID   string
	matchType     string
	paidEvents    uint16 // distinct payment.paid events (webhook ids)
	redeliveries  uint16 // the same payment.paid event again
	otherEvents   uint16 // any other event for the intent
	wrongMerchant uint16 // webhooks that arrived at another merchant's URL
	wrongTrx      bool   // the paid webhook names another TrxID
}

// acceptStatus is the answer each surface gives a payment paystream took.
var acceptStatus = [numSurfaces]int16{surfNative: 202, surfSMS: 202, surfSNS: 200, surfTxn: 202}

// accepted reports whether paystream accepted the payment's report.
func (p *payment) accepted() bool {
	return p.status == acceptStatus[p.surface] && !p.notPayment
}

// planConfig says how to lay out the payments.
type planConfig struct {
	merchants int
	n         int
	mix       mix
	seed      uint64
}

// newPlan returns n payments: payment i is for merchant i mod merchants, with amount
// 100 + i/merchants BDT (so each merchant's amounts are unique and amount matching is never
// ambiguous), a surface drawn from the mix, a unique TrxID and a unique payer number.
func newPlan(c planConfig) []payment {
	r := rand.New(rand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15))
	trxBase := r.Uint64N(trxSpace - uint64(c.n))
	payerBase := r.Uint64N(payerSpace - uint64(c.n))
	pays := make([]payment, c.n)
	for i := range pays {
		p := &pays[i]
		p.idx = i
		p.merchant = i % c.merchants
		p.amount = 100 + i/c.merchants
		p.surface = c.mix.pick(r)
		p.trx = trxID(trxBase + uint64(i))
		p.payer = payerMSISDN(payerBase + uint64(i))
	}
	return pays
}

// trxSpace is how many TrxIDs trxID can make (36^9).
const trxSpace = 101_559_956_668_416

// trxID returns the bKash-shaped TrxID number x < trxSpace: "D" and 9 base-36 digits, upper case.
func trxID(x uint64) string {
	s := strings.ToUpper(strconv.FormatUint(x, 36))
	return "D" + strings.Repeat("0", 9-len(s)) + s
}

// payerSpace is how many payer numbers payerMSISDN can make.
const payerSpace = 7 * 100_000_000

// payerMSISDN returns payer number x < payerSpace: 013…019 and 8 digits.
func payerMSISDN(x uint64) string {
	return fmt.Sprintf("01%d%08d", 3+x/100_000_000, x%100_000_000)
}

// schedule sets every payment's scheduled time: payment i at start + i/rate.
func schedule(pays []payment, start time.Time, rate float64) {
	t0 := start.UnixNano()
	for i := range pays {
		pays[i].scheduled = t0 + int64(float64(i)*1e9/rate)
	}
}

// assignSMS gives the SMS payments of each wallet (one per merchant) strictly increasing receipt
// times (from their scheduled times) and the balance each SMS states: the wallet's previous
// balance plus the amount. So the matcher's balance chain sees a consistent wallet: SMS handled
// out of order are older than the chain's head (ignored) or show a higher balance than expected
// (a gap, never a suspected shortfall that sends the payment to review).
func assignSMS(pays []payment, merchants int, initialPaisa func(merchant int) int64) {
	last := make([]int64, merchants)
	bal := make([]int64, merchants)
	for m := range bal {
		bal[m] = initialPaisa(m)
	}
	for i := range pays {
		p := &pays[i]
		if p.surface != surfSMS {
			continue
		}
		ms := max(p.scheduled/1e6, last[p.merchant]+1)
		last[p.merchant] = ms
		bal[p.merchant] += int64(p.amount) * 100
		p.smsAtMs, p.balancePaisa = ms, bal[p.merchant]
	}
}
