package ingest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/paystream/paystream/pipeline"
)

// AmountProblem is why ParseAmount refused an amount. Every surface words it in its own error
// shape (NativeAmountError, bqpAmountMessage, txnapi's amountMessage), so the same value is refused for
// the same reason everywhere.
type AmountProblem int

// The AmountProblem values; AmountOK means the amount was accepted.
const (
	AmountOK          AmountProblem = iota
	AmountMissing                   // absent, null, or a blank string
	AmountNotNumber                 // not a JSON number nor a string holding a plain decimal
	AmountNotPositive               // zero or negative
	AmountTooLarge                  // above pipeline.MaxMoney (100,000,000 BDT)
	AmountTooPrecise                // more decimal places than the surface allows
)

// Decimal places a surface allows: intents (native create, the txn API's whole-taka amounts) are
// whole taka; a payment (the sandbox simulators, bdQuickPay create, as seed 001 shows) may carry
// paisa.
const (
	WholeTaka = 0
	WithPaisa = 2
)

// maxAmountExp bounds an exponent before the decimal point is moved (no amount needs more).
const maxAmountExp = 40

var (
	jsonNumberRE   = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	plainDecimalRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
)

// ParseAmount is paystream's one rule for an amount a client sends, used by native create, the
// native sandbox simulator, bdQuickPay create and simulate, the transaction API, and the admin
// refund of a bKash tokenized payment (paisa allowed; left out, it refunds what is left):
//
//   - raw is a JSON number in any JSON spelling (500, 500.0, 5e2, 5.5E+1, 0.5e3), or a JSON string
//     holding a plain decimal ("500", " 500.50 ", "00500": Laravel's "numeric", which seed 001
//     clients send). Exponents, signs other than '-', commas, hex, NaN and Infinity are not
//     accepted in strings.
//   - Its exact decimal value (no floats are involved) is greater than 0, at most
//     pipeline.MaxMoney, and has at most decimals decimal places once trailing zeros are dropped
//     (500.0 and 5.00e2 are 500).
//
// raw nil (absent), null and a blank string are AmountMissing; booleans, arrays, objects and other
// strings are AmountNotNumber. Of several faults the first in the order of AmountProblem wins.
func ParseAmount(raw json.RawMessage, decimals int) (pipeline.Money, AmountProblem) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, AmountMissing
	}
	lit := string(raw)
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, AmountNotNumber
		}
		if lit = strings.TrimSpace(s); lit == "" {
			return 0, AmountMissing
		}
		if !plainDecimalRE.MatchString(lit) {
			return 0, AmountNotNumber
		}
	} else if !jsonNumberRE.MatchString(lit) {
		return 0, AmountNotNumber
	}

	mant, exp := lit, 0
	if i := strings.IndexAny(lit, "eE"); i >= 0 {
		mant = lit[:i]
		e, err := strconv.Atoi(strings.TrimPrefix(lit[i+1:], "+"))
		if err != nil || e > maxAmountExp || e < -maxAmountExp {
			// Beyond any amount: decided below by the mantissa's sign and zeroness.
			e = maxAmountExp + 1
			if strings.HasPrefix(lit[i+1:], "-") {
				e = -maxAmountExp - 1
			}
		}
		exp = e
	}
	neg := strings.HasPrefix(mant, "-")
	ip, fp, _ := strings.Cut(strings.TrimPrefix(mant, "-"), ".")
	digits := ip + fp
	if neg || strings.Trim(digits, "0") == "" {
		return 0, AmountNotPositive
	}
	switch {
	case exp > maxAmountExp:
		return 0, AmountTooLarge
	case exp < -maxAmountExp:
		return 0, AmountTooPrecise
	}
	// Move the decimal point exp places: the value is digits with the point after point digits.
	point := len(ip) + exp
	if point < 0 {
		digits, point = strings.Repeat("0", -point)+digits, 0
	}
	if point > len(digits) {
		digits += strings.Repeat("0", point-len(digits))
	}
	ip, fp = strings.TrimLeft(digits[:point], "0"), strings.TrimRight(digits[point:], "0")
	if len(ip) > 9 { // MaxMoney is 100,000,000 BDT: nine digits
		return 0, AmountTooLarge
	}
	var taka int64
	if ip != "" {
		taka, _ = strconv.ParseInt(ip, 10, 64) // at most nine digits
	}
	// Above the maximum is the first reason, even with decimals (100000000.001).
	if max := int64(pipeline.MaxMoney / 100); taka > max || (taka == max && fp != "") {
		return 0, AmountTooLarge
	}
	if len(fp) > decimals {
		return 0, AmountTooPrecise
	}
	var paisa int64
	if fp != "" {
		paisa, _ = strconv.ParseInt((fp + "00")[:2], 10, 64)
	}
	return pipeline.Money(taka*100 + paisa), AmountOK
}

// MaxAmountText is pipeline.MaxMoney as written in messages.
var MaxAmountText = strconv.FormatInt(int64(pipeline.MaxMoney/100), 10)

// NativeAmountError words p for the native surfaces (seed 004: intents, the tokenized refund), as a
// 400.
func NativeAmountError(p AmountProblem, decimals int) *APIError {
	switch p {
	case AmountMissing:
		return Errf(400, "amount is required")
	case AmountNotNumber:
		return Errf(400, "amount must be a number of BDT, such as 500")
	case AmountNotPositive:
		return Errf(400, "amount must be greater than 0")
	case AmountTooLarge:
		return Errf(400, "amount must not be greater than %s BDT", MaxAmountText)
	case AmountTooPrecise:
		if decimals == WholeTaka {
			return Errf(400, "amount must be a whole number of BDT (no decimals)")
		}
		return Errf(400, "amount must have at most %d decimal places", decimals)
	}
	return nil
}
