package pipeline

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// Money is an amount in paisa (1/100 BDT). It is never a float: JSON encodes it as a decimal string
// ("500", "500.5" is written "500.50") and decodes from a JSON number or string with at most two
// decimals.
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

// ParseMoney parses a taka amount such as "500", "1,250.5" or "1250.50". Commas are accepted as
// thousands separators (wallet SMS use them); signs, exponents and more than two decimals are not.
func ParseMoney(s string) (Money, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
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

// MarshalJSON writes m as a JSON string, e.g. "500". Its digits, '-' and '.' need no escaping.
func (m Money) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = m.appendText(b)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON number (500, 500.5) or string ("500", "1,250.50").
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
