package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

func TestNewPlan(t *testing.T) {
	const merchants, n = 7, 5000
	pays := newPlan(planConfig{merchants: merchants, n: n, mix: mix{1, 1, 1, 1}, seed: 42})
	bkashTrx := regexp.MustCompile(`^[A-Z][A-Z0-9]{9}$`)
	trx, payers := map[string]bool{}, map[string]bool{}
	amounts := make([]map[int]bool, merchants)
	for m := range amounts {
		amounts[m] = map[int]bool{}
	}
	var surfaces [numSurfaces]int
	for i := range pays {
		p := &pays[i]
		if p.merchant != i%merchants {
			t.Fatalf("payment %d: merchant %d", i, p.merchant)
		}
		if amounts[p.merchant][p.amount] {
			t.Fatalf("payment %d: amount %d repeats for merchant %d", i, p.amount, p.merchant)
		}
		amounts[p.merchant][p.amount] = true
		if !bkashTrx.MatchString(p.trx) || trx[p.trx] {
			t.Fatalf("payment %d: TrxID %q malformed or repeated", i, p.trx)
		}
		trx[p.trx] = true
		if norm, ok := pipeline.NormalizeMSISDN(p.payer); !ok || norm != p.payer || payers[p.payer] {
			t.Fatalf("payment %d: payer %q not a normalised mobile number, or repeated", i, p.payer)
		}
		payers[p.payer] = true
		surfaces[p.surface]++
	}
	for s, c := range surfaces {
		if c < n/4*9/10 {
			t.Errorf("%s drew %d of %d payments", surface(s), c, n)
		}
	}
	again := newPlan(planConfig{merchants: merchants, n: n, mix: mix{1, 1, 1, 1}, seed: 42})
	for i := range pays {
		if again[i].trx != pays[i].trx || again[i].surface != pays[i].surface {
			t.Fatalf("the same seed planned payment %d differently", i)
		}
	}
}

func TestTrxIDAndPayer(t *testing.T) {
	if got := trxID(0); got != "D000000000" {
		t.Errorf("trxID(0) = %q", got)
	}
	if got := trxID(trxSpace - 1); got != "DZZZZZZZZZ" {
		t.Errorf("trxID(max) = %q", got)
	}
	if got := payerMSISDN(0); got != "01300000000" {
		t.Errorf("payerMSISDN(0) = %q", got)
	}
	if got := payerMSISDN(payerSpace - 1); got != "01999999999" {
		t.Errorf("payerMSISDN(max) = %q", got)
	}
}

func TestScheduleAndAssignSMS(t *testing.T) {
	pays := newPlan(planConfig{merchants: 2, n: 4000, mix: mix{0, 1, 0, 0}, seed: 1})
	pays[5].surface = surfNative
	start := time.Unix(1_800_000_000, 0)
	schedule(pays, start, 4000) // 2000/s per wallet: several SMS of a wallet fall in one millisecond
	if pays[0].scheduled != start.UnixNano() || pays[4000-1].scheduled != start.UnixNano()+int64(3999)*250_000 {
		t.Fatalf("schedule: first %d, last %d", pays[0].scheduled, pays[3999].scheduled)
	}
	assignSMS(pays, 2, func(m int) int64 { return int64(m) * 1000 })
	lastMs := []int64{0, 0}
	bal := []int64{0, 1000}
	for i := range pays {
		p := &pays[i]
		if p.surface != surfSMS {
			if p.smsAtMs != 0 || p.balancePaisa != 0 {
				t.Fatalf("payment %d is no SMS but got %d/%d", i, p.smsAtMs, p.balancePaisa)
			}
			continue
		}
		if p.smsAtMs <= lastMs[p.merchant] || p.smsAtMs < p.scheduled/1e6 {
			t.Fatalf("payment %d: SMS time %d after %d (scheduled %d ms)", i, p.smsAtMs, lastMs[p.merchant], p.scheduled/1e6)
		}
		lastMs[p.merchant] = p.smsAtMs
		bal[p.merchant] += int64(p.amount) * 100
		if p.balancePaisa != bal[p.merchant] {
			t.Fatalf("payment %d: balance %d, want %d", i, p.balancePaisa, bal[p.merchant])
		}
	}
}
