package smsparse

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// finderWords are pieces of SMS, labels and awkward bytes that random texts are made of.
var finderWords = []string{" ", "\n", ".", ",", ":", "/", "-", "*", "0", "1", "5", "9", "22/01/2026", "01:54", "27-sep-25",
	"৳", "tk", "tk.", "taka", "bdt", "received", "from", "to", "you have", "you", "have", "payment", "money", "cash", "in", "out",
	"back", "deposit", "a/c", "has been", "successful", "is", "send", "b2b", "transfer", "bill", "request", "recharge", "mobile",
	"refund", "add money", "bank", "card", "of", "otp", "code", "one-time", "failed", "cancelled", "trxid", "txnid", "trx id",
	"transaction id", "ref", "fee", "charge", "bal", "net bal", "balance", "comm", "amount", "amt", "sender", "customer", "bkash",
	"bka.sh", "nagad", "rocket", "dbbl", "upay", "x", "_", "é", "\xff", "\xe0\xa7", "\uFFFD", "am", "pm", "at", "sep", "tkx"}

// TestFinderMatchesPlainSearch checks that every finder returns exactly what its regexp's own
// search returns, on the samples and on random texts, from random offsets and with every accept
// function the package uses.
func TestFinderMatchesPlainSearch(t *testing.T) {
	var fs []*finder
	for _, rules := range [][]rule{failureRules, txnRules, otpRules} {
		for i := range rules {
			fs = append(fs, &rules[i].find)
		}
	}
	for _, l := range []*label{&amountLabel, &feeLabel, &balanceLabel, &commLabel, &trxLabel, &refLabel, &cpLabel} {
		fs = append(fs, &l.find)
	}
	for i := range brands {
		fs = append(fs, &brands[i].l.find)
	}
	fs = append(fs, &dateNum, &dateMon)
	accepts := []func(string, int) bool{nil, notAfterLetter, notAfterDigit, numDateAt, monDateAt}

	var texts []string
	for _, s := range loadSamples(t) {
		texts = append(texts, asciiLower(normalize(s.Text)))
	}
	for _, v := range variants {
		texts = append(texts, asciiLower(normalize(v.text)))
	}
	r := rand.New(rand.NewSource(1))
	random := func() string {
		var b strings.Builder
		n := r.Intn(30)
		if r.Intn(40) == 0 {
			n = 200 + r.Intn(300) // enough candidates to fall back to the plain search
		}
		for range n {
			b.WriteString(finderWords[r.Intn(len(finderWords))])
			if r.Intn(3) == 0 {
				b.WriteByte(' ')
			}
		}
		return b.String()
	}
	iterations := 500
	if testing.Short() {
		iterations = 100
	}
	for i := range iterations {
		s := texts[i%len(texts)]
		switch r.Intn(3) {
		case 1:
			s = random()
		case 2:
			at := r.Intn(len(s) + 1)
			s = s[:at] + random() + s[at:]
		}
		for _, f := range fs {
			from, before := 0, len(s)+1
			if r.Intn(3) == 0 {
				from = r.Intn(len(s) + 2)
			}
			if r.Intn(3) == 0 {
				before = r.Intn(len(s) + 2)
			}
			accept := accepts[r.Intn(len(accepts))]
			got := f.find(s, from, before, accept)
			var want []int
			if from <= len(s) && from < before {
				want = f.search(s, from, before, accept)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s in %q from %d before %d: finder %v, plain search %v", f.re, s, from, before, got, want)
			}
		}
	}
}
