package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// surface is the ingest route that reports one payment.
type surface uint8

const (
	surfNative surface = iota // seed 004 sandbox simulator: POST /v1/sandbox/sms-events/simulate
	surfSMS                   // a registered device forwards the wallet's bKash SMS
	surfSNS                   // seed 003 SNS-shaped notification
	surfTxn                   // seed 002 bKash transaction API: check, then complete
	numSurfaces
)

var surfaceNames = [numSurfaces]string{"native", "sms", "sns", "txn"}

func (s surface) String() string {
	if s < numSurfaces {
		return surfaceNames[s]
	}
	return "surface(" + strconv.Itoa(int(s)) + ")"
}

// mix is the relative weight of each surface; a payment's surface is drawn with these weights.
type mix [numSurfaces]int

// parseMix reads "native=4,sms=3,sns=2,txn=1". Names are case-insensitive, weights are
// non-negative integers, a surface left out weighs 0, and at least one weight must be positive.
func parseMix(s string) (mix, error) {
	var m mix
	var seen [numSurfaces]bool
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		if !ok {
			return mix{}, fmt.Errorf("mix entry %q: want name=weight (names: %s)", part, strings.Join(surfaceNames[:], ", "))
		}
		name = strings.ToLower(strings.TrimSpace(name))
		idx := -1
		for i, n := range surfaceNames {
			if n == name {
				idx = i
			}
		}
		if idx < 0 {
			return mix{}, fmt.Errorf("mix entry %q: unknown surface %q (names: %s)", part, name, strings.Join(surfaceNames[:], ", "))
		}
		if seen[idx] {
			return mix{}, fmt.Errorf("mix names %q twice", name)
		}
		seen[idx] = true
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 0 || n > 1_000_000 {
			return mix{}, fmt.Errorf("mix entry %q: weight must be an integer from 0 to 1000000", part)
		}
		m[idx] = n
	}
	if m.total() == 0 {
		return mix{}, fmt.Errorf("mix %q: at least one surface needs a positive weight", s)
	}
	return m, nil
}

func (m mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// uses reports whether payments may be drawn for s (so s needs its set-up).
func (m mix) uses(s surface) bool { return m[s] > 0 }

// String is the canonical form parseMix reads back (surfaces of weight 0 left out).
func (m mix) String() string {
	var parts []string
	for i, w := range m {
		if w > 0 {
			parts = append(parts, surfaceNames[i]+"="+strconv.Itoa(w))
		}
	}
	return strings.Join(parts, ",")
}

// pick draws a surface with m's weights. m must have a positive total.
func (m mix) pick(r *rand.Rand) surface {
	x := r.IntN(m.total())
	for i, w := range m {
		if x < w {
			return surface(i)
		}
		x -= w
	}
	return numSurfaces - 1 // unreachable with a positive total
}
