package pipeline

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// Money is an amount in paisa (1/100 BDT). It is never a float: JSON encodes it as a decimal string
// ("500", "500.5" is written "500.50") and decodes from a JSON number or string with at most two
// decimals and no commas.
type Money int64

// MaxMoney bounds any single amount paystream accepts (100 million BDT); larger values are input errors.
const MaxMoney Money = 100_000_000_00

// ErrBadAmount reports an amount that is not a non-negative decimal with at most two fraction digits.
var ErrBadAmount = errors.New("amount must be a positive number with at most two decimals")

// BDT returns whole taka as Money.
func BDT(taka int64) Money { return Money(taka * 100) }

// String formats m as taka: "500" for whole amounts, "500.50" otherwise.
func (m Money) String() string {
	var a [24]byte
	return string(m.appendText(a[:0]))
}

// appendText appends m formatted as String does, without allocating.
func (m Money) appendText(b []byte) []byte {
	const digits = "0123456789"
	whole, frac := int64(m/100), int64(m%100)
	if m < 0 {
		b = append(b, '-')
		whole, frac = -whole, -frac // no overflow, even for math.MinInt64
	}
	b = strconv.AppendInt(b, whole, 10)
	if frac != 0 {
		b = append(b, '.', digits[frac/10], digits[frac%10])
	}
	return b
}

// Whole reports whether m has no paisa part.
func (m Money) Whole() bool { return m%100 == 0 }

// ParseMoney parses a taka amount as the JSON and HTTP surfaces carry it: "500", "1250.5",
// "1250.50" — ASCII digits, optionally a point and one or two decimals, surrounding spaces ignored.
// Signs, exponents, more than two decimals and commas are refused: on those surfaces a comma is not
// a thousands separator anyone sends ("100,50" is a European 100.50, and deleting the comma would
// read 10050 BDT). Wallet SMS text, which groups digits, is read with ParseGroupedMoney.
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 20 {
		return 0, ErrBadAmount
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || (hasFrac && (frac == "" || len(frac) > 2)) {
		return 0, ErrBadAmount
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, ErrBadAmount
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > int64(MaxMoney/100) {
		return 0, ErrBadAmount
	}
	var p int64
	if hasFrac {
		if len(frac) == 1 {
			frac += "0"
		}
		p, _ = strconv.ParseInt(frac, 10, 64)
	}
	m := Money(w*100 + p)
	if m > MaxMoney {
		return 0, ErrBadAmount
	}
	return m, nil
}

// ParseGroupedMoney parses a taka amount as wallet SMS write it: ParseMoney's form, whose whole
// part may group its digits with commas in one of the two styles Bangladeshi texts use — Western
// thousands ("1,000,000": 1–3 leading digits, then groups of 3) or the lakh/crore style
// ("1,00,000", "10,00,00,000": 1–2 leading digits, groups of 2, a last group of 3). Any other comma
// ("100,50", "1,2", "1,0000", "1,000,00,000", ",500", "0,500") is ErrBadAmount.
func ParseGroupedMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(s, ".")
	if strings.Contains(whole, ",") {
		if !groupedDigits(whole) {
			return 0, ErrBadAmount
		}
		whole = strings.ReplaceAll(whole, ",", "")
	}
	if hasFrac {
		whole += "." + frac
	}
	return ParseMoney(whole)
}

// groupedDigits reports whether whole (digits and at least one comma) is grouped in the Western or
// the lakh style, with no leading zero.
func groupedDigits(whole string) bool {
	groups := strings.Split(whole, ",")
	first, last := groups[0], groups[len(groups)-1]
	if first == "" || first[0] == '0' || len(last) != 3 {
		return false
	}
	western, lakh := len(first) <= 3, len(first) <= 2
	for _, g := range groups[1 : len(groups)-1] {
		western = western && len(g) == 3
		lakh = lakh && len(g) == 2
	}
	return western || lakh
}

// MarshalJSON writes m as a JSON string, e.g. "500". Its digits, '-' and '.' need no escaping.
func (m Money) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = m.appendText(b)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON number (500, 500.5) or string ("500", "1250.50") in ParseMoney's
// form: no commas.
func (m *Money) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return ErrBadAmount
		}
		b = []byte(s)
	}
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
