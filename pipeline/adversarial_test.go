package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestAdversarialMoneyCommas (issue 13, finding 10): for every placement of commas in the whole
// part of amounts of 1 to 9 digits, ParseGroupedMoney accepts exactly the Western and the lakh
// groupings (computed here independently) with the value the digits say, and ParseMoney — the JSON
// surfaces' rule — accepts none. The old ParseMoney deleted every comma, so "100,50" was 10050 BDT.
func TestAdversarialMoneyCommas(t *testing.T) {
	for _, digits := range []string{"5", "50", "100", "1050", "12345", "100000", "1234567", "10000000", "100000000"} {
		n := len(digits)
		valid := map[string]bool{digits: true, western(digits): true, lakh(digits): true} // no comma, or well placed
		for mask := 0; mask < 1<<(n-1); mask++ {                                          // bit i: a comma after digit i
			var b strings.Builder
			for i := range n {
				b.WriteByte(digits[i])
				if i < n-1 && mask&(1<<i) != 0 {
					b.WriteByte(',')
				}
			}
			for _, frac := range []string{"", ".5", ".05"} {
				in := b.String() + frac
				want, _ := strconv.ParseInt(digits, 10, 64)
				wantM := Money(want * 100)
				if frac != "" {
					f, _ := strconv.Atoi(strings.TrimPrefix(frac, "."))
					if len(frac) == 2 {
						f *= 10
					}
					wantM += Money(f)
				}
				got, err := ParseGroupedMoney(in)
				ok := valid[b.String()] && wantM <= MaxMoney
				switch {
				case ok && (err != nil || got != wantM):
					t.Errorf("ParseGroupedMoney(%q) = %d, %v; want %d", in, got, err, wantM)
				case !ok && err == nil:
					t.Errorf("ParseGroupedMoney(%q) = %d, want refused (misplaced comma or over MaxMoney)", in, got)
				}
				if m, err := ParseMoney(in); strings.Contains(in, ",") && err == nil {
					t.Errorf("ParseMoney(%q) = %d: a comma accepted on a JSON surface", in, m)
				}
			}
		}
	}
	for _, in := range []string{"100,50", "1,2", "10,0", "1,000,00", "1,0,000"} {
		if m, err := ParseGroupedMoney(in); err == nil {
			t.Errorf("ParseGroupedMoney(%q) = %d, want refused", in, m)
		}
	}
}

// western groups digits by three from the right; lakh by three, then by two. Without any comma
// (fewer than four digits) the result has none.
func western(d string) string { return group(d, 3) }
func lakh(d string) string    { return group(d, 2) }

func group(d string, rest int) string {
	if len(d) <= 3 {
		return d
	}
	head, tail := d[:len(d)-3], d[len(d)-3:]
	var parts []string
	for len(head) > rest {
		parts = append([]string{head[len(head)-rest:]}, parts...)
		head = head[:len(head)-rest]
	}
	parts = append([]string{head}, parts...)
	return fmt.Sprint(strings.Join(parts, ","), ",", tail)
}
