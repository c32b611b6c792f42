package ingest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/paystream/paystream/pipeline"
)

// amountProblem is why parseAmount refused an amount. Every surface words it in its own error
// shape (nativeAmountError, bqpAmountMessage, txnAmountMessage), so the same value is refused for
// the same reason everywhere.
type amountProblem int

const (
	amountOK          amountProblem = iota
	amountMissing                   // absent, null, or a blank string
	amountNotNumber                 // not a JSON number nor a string holding a plain decimal
	amountNotPositive               // zero or negative
	amountTooLarge                  // above pipeline.MaxMoney (100,000,000 BDT)
	amountTooPrecise                // more decimal places than the surface allows
)

// Decimal places a surface allows: intents (native create, the txn API's whole-taka amounts) are
// whole taka; a payment (the sandbox simulators, bdQuickPay create, as seed 001 shows) may carry
// paisa.
const (
	wholeTaka = 0
	withPaisa = 2
)

// maxAmountExp bounds an exponent before the decimal point is moved (no amount needs more).
const maxAmountExp = 40

var (
	jsonNumberRE   = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	plainDecimalRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
)

// parseAmount is paystream's one rule for an amount a client sends, used by native create, the
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
// raw nil (absent), null and a blank string are amountMissing; booleans, arrays, objects and other
// strings are amountNotNumber. Of several faults the first in the order of amountProblem wins.
func parseAmount(raw json.RawMessage, decimals int) (pipeline.Money, amountProblem) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, amountMissing
	}
	lit := string(raw)
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, amountNotNumber
		}
		if lit = strings.TrimSpace(s); lit == "" {
			return 0, amountMissing
		}
		if !plainDecimalRE.MatchString(lit) {
			return 0, amountNotNumber
		}
	} else if !jsonNumberRE.MatchString(lit) {
		return 0, amountNotNumber
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
		return 0, amountNotPositive
	}
	switch {
	case exp > maxAmountExp:
		return 0, amountTooLarge
	case exp < -maxAmountExp:
		return 0, amountTooPrecise
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
		return 0, amountTooLarge
	}
	var taka int64
	if ip != "" {
		taka, _ = strconv.ParseInt(ip, 10, 64) // at most nine digits
	}
	// Above the maximum is the first reason, even with decimals (100000000.001).
	if max := int64(pipeline.MaxMoney / 100); taka > max || (taka == max && fp != "") {
		return 0, amountTooLarge
	}
	if len(fp) > decimals {
		return 0, amountTooPrecise
	}
	var paisa int64
	if fp != "" {
		paisa, _ = strconv.ParseInt((fp + "00")[:2], 10, 64)
	}
	return pipeline.Money(taka*100 + paisa), amountOK
}

// maxAmountText is pipeline.MaxMoney as written in messages.
var maxAmountText = strconv.FormatInt(int64(pipeline.MaxMoney/100), 10)

// nativeAmountError words p for the native surfaces (seed 004), as a 400.
func nativeAmountError(p amountProblem, decimals int) *apiError {
	switch p {
	case amountMissing:
		return errf(400, "amount is required")
	case amountNotNumber:
		return errf(400, "amount must be a number of BDT, such as 500")
	case amountNotPositive:
		return errf(400, "amount must be greater than 0")
	case amountTooLarge:
		return errf(400, "amount must not be greater than %s BDT", maxAmountText)
	case amountTooPrecise:
		if decimals == wholeTaka {
			return errf(400, "amount must be a whole number of BDT (no decimals)")
		}
		return errf(400, "amount must have at most %d decimal places", decimals)
	}
	return nil
}

// bqpAmountMessage words p as a Laravel validation message of seed 001 (one %s: the field's
// label), "" for amountOK.
func bqpAmountMessage(p amountProblem) string {
	switch p {
	case amountMissing:
		return "The %s field is required."
	case amountNotNumber:
		return "The %s must be a number."
	case amountNotPositive:
		return "The %s must be greater than 0."
	case amountTooLarge:
		return "The %s must not be greater than " + maxAmountText + "."
	case amountTooPrecise:
		return "The %s must have at most 2 decimal places."
	}
	return ""
}

// txnAmountMessage words p for the transaction API's errors map, "" for amountOK. Seed 002's
// messages start with the field's name and its example is "amount is invalid": that stays the
// start of every refusal, followed by the reason.
func txnAmountMessage(field string, p amountProblem) string {
	switch p {
	case amountMissing:
		return field + " is required"
	case amountNotNumber:
		return field + " is invalid: it must be a number of taka, such as 100"
	case amountNotPositive:
		return field + " is invalid: it must be greater than 0"
	case amountTooLarge:
		return field + " is invalid: it must not be greater than " + maxAmountText
	case amountTooPrecise:
		return field + " is invalid: it must be a whole number of taka"
	}
	return ""
}
