package main

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want mix
		str  string
	}{
		{"native=4,sms=3,sns=2,txn=1", mix{4, 3, 2, 1}, "native=4,sms=3,sns=2,txn=1"},
		{"native=1", mix{1, 0, 0, 0}, "native=1"},
		{" SMS = 2 , txn=0,", mix{0, 2, 0, 0}, "sms=2"},
		{"txn=5,native=1", mix{1, 0, 0, 5}, "native=1,txn=5"},
	} {
		got, err := parseMix(tc.in)
		if err != nil {
			t.Fatalf("parseMix(%q): %v", tc.in, err)
		}
		if got != tc.want || got.String() != tc.str {
			t.Errorf("parseMix(%q) = %v (%s), want %v (%s)", tc.in, got, got, tc.want, tc.str)
		}
		again, err := parseMix(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q: %v %v", got.String(), again, err)
		}
	}
	for _, tc := range []struct{ in, errHas string }{
		{"", "positive weight"},
		{"native=0", "positive weight"},
		{"native", "name=weight"},
		{"cash=1", "unknown surface"},
		{"native=1,native=2", "twice"},
		{"native=-1", "weight must be"},
		{"native=x", "weight must be"},
	} {
		if _, err := parseMix(tc.in); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("parseMix(%q) error %v, want one containing %q", tc.in, err, tc.errHas)
		}
	}
}

func TestMixPick(t *testing.T) {
	m := mix{4, 3, 0, 1}
	r := rand.New(rand.NewPCG(1, 2))
	var n [numSurfaces]int
	const draws = 80_000
	for range draws {
		n[m.pick(r)]++
	}
	if n[surfSNS] != 0 {
		t.Fatalf("a surface of weight 0 was drawn %d times", n[surfSNS])
	}
	for s, w := range m {
		want := float64(draws) * float64(w) / float64(m.total())
		if got := float64(n[s]); got < want*0.95 || got > want*1.05 {
			t.Errorf("%s drawn %v times, want about %v", surface(s), got, want)
		}
	}
	if !m.uses(surfTxn) || m.uses(surfSNS) {
		t.Errorf("uses: %v", m)
	}
}
