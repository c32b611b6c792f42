package smsparse

import (
	"regexp"

	"github.com/paystream/paystream/pipeline"
)

// Payer spans. A wallet SMS mixes the provider's sentence and labels with text someone else wrote:
// the Ref the payer typed and, in some wordings, a counterparty's name. That text decides nothing:
// parse finds the provider's sentence, locates these spans by the provider's format, masks them
// (each byte becomes maskByte, so offsets do not move) and reads the kind, direction, provider,
// failure notice and every labelled value (amount, fee, balance, TrxID, date) from the masked
// text only. The Ref and the name are read from their own span.
//
// Where a span ends is the hard part: free text may contain anything, including ". Balance Tk
// 99,999.00. TrxID ABCDEFGHIJ". Every supported format puts the Ref (and a name) before the
// provider's TrxID, so the span runs to the provider's TrxID label — the last TrxID label in the
// text whose value is upper-case or digits — minus the provider's own fields written between the
// two: for each provider a fixed run (bKash and Rocket ". Fee Tk F. Balance Tk B.", Upay ". Balance
// Tk. B.", Nagad none: its TxnID line follows the Ref line), taken only when the TrxID is followed
// by the transaction's date as in the provider's full receipt. A payer cannot write after the
// provider's TrxID, so whatever the Ref holds stays inside it: an injected field is either inside
// the span or duplicates one of the provider's (and a second, different value refuses the field,
// see labelledMoney). Without a provider TrxID after it, a span runs to the end of the text: such
// an SMS cannot pay, and nothing after the payer's text is trusted.

// maskByte replaces payer text: not a letter, digit, space, line break or punctuation any rule or
// label looks for, so masked text matches nothing and ends no word.
const maskByte = '~'

// span is the byte range [at, end) of the normalised text.
type span struct{ at, end int }

// payer is where the payer's (or a counterparty's) text is in one SMS.
type payer struct {
	ref, name       span
	hasRef, hasName bool
}

func (ps payer) any() bool { return ps.hasRef || ps.hasName }

// mask returns low with the payer's spans replaced by maskByte.
func (ps payer) mask(low string) string {
	b := []byte(low)
	for _, sp := range []span{ps.ref, ps.name} {
		for i := sp.at; i < sp.end; i++ {
			b[i] = maskByte
		}
	}
	return string(b)
}

// The provider's fields that may sit between a payer's text and the provider's TrxID label, as
// they appear in the lower-cased text.
const (
	tailFee = `(?:fee|charge)s? *:? *` + cur + `? *(?:` + numBody + `)`
	tailBal = `(?:(?:your +)?a/c +)?(?:net ?bal(?:ance)?|balance|bal) *(?:is *)?:? *` + cur + `? *(?:` + numBody + `)`
	tailSep = `[ \n]*(?:[.,;][ \n]*)?`
)

// tailRe matches, at the end of a text, a separator and then fields: group 1 is where the
// provider's fields start. The leftmost match is the longest run of them.
func tailRe(fields string) *regexp.Regexp {
	return regexp.MustCompile(`[^a-z0-9](` + fields + `)\z`)
}

var (
	// refTails are the provider's fields between the Ref and the TrxID, per provider. Nagad and an
	// unknown provider have none: their Ref runs to the TrxID label.
	refTails = map[pipeline.Provider]*regexp.Regexp{
		pipeline.BKash:  tailRe(tailFee + tailSep + tailBal + tailSep), // ". Fee Tk 0.00. Balance Tk 9,452.20. TrxID …"
		pipeline.Rocket: tailRe(tailFee + tailSep + tailBal + tailSep), // " Fee: Tk.00 NetBal: Tk41.00 TxnId: …"
		pipeline.Upay:   tailRe(tailBal + tailSep),                     // ". Balance Tk. 900.00. TrxID …"
	}
	// nameTails are the provider's fields between a name that ends its sentence and the TrxID, by
	// event: a business sends with "from OnnorokomWeb. Balance Tk 1,082.65. TrxID …", other
	// wordings with "from Sonali Bank Account. Fee Tk 0.00. Balance Tk 1,140.34. TrxID …".
	nameTails = map[event]*regexp.Regexp{
		evBusinessReceived: tailRe(tailBal + tailSep),
		evBankDeposit:      tailRe(tailFee + tailSep + tailBal + tailSep),
		evRemittance:       tailRe(tailFee + tailSep + tailBal + tailSep),
		evAddMoneyBank:     tailRe(tailFee + tailSep + tailBal + tailSep),
		evAddMoneyCard:     tailRe(tailFee + tailSep + tailBal + tailSep),
		evCashInReceived:   tailRe(tailFee + tailSep + tailBal + tailSep),
		evCashOutByAgent:   tailRe(tailFee + tailSep + tailBal + tailSep),
	}
	// trxDateRe is a TrxID value followed by the transaction's date, as a full receipt writes it:
	// "dam6ctt7rw at 22/01/2026", "dka9z8y7x6at 05/02/2026", "6022164589 date:27-dec-25".
	trxDateRe = regexp.MustCompile(`^[a-z0-9]+? *(?:at|date *:?)? *\d{1,2}[-/](?:\d{1,2}|[a-z]{3})[-/]\d{2,4}`)
)

// payerSpans locates the Ref and a counterparty name in t for the sentence m of provider p.
func payerSpans(t text, m match, p pipeline.Provider) payer {
	var ps payer
	if m.rule == nil || !m.ev.fields() {
		return ps
	}
	anchor := trxAnchor(t, m.start)
	end := len(t.low) // where payer text may run to: the provider's TrxID label, else the end
	if anchor != nil {
		end = anchor[0]
	}
	refFrom := m.start
	if m.hasCP && isName(m.cp) {
		at, e := m.cpAt, m.cpAt+len(m.cp)
		if (e == len(t.s) || t.s[e] == '\n') && m.rule.hint != pipeline.Nagad {
			// A name the rule cuts at the end of its line runs, in a one-line wording, to the
			// provider's fields or to the Ref.
			e = tailStart(t, at, end, anchor, nameTails[m.ev])
			if loc := refLabel.first(t.low, at); loc != nil && loc[0] < e {
				e = loc[0]
			}
		} else {
			// The sentence goes on after the name ("… to X is successful."), or the name is a
			// Nagad block's line.
			refFrom = e
		}
		ps.name, ps.hasName = span{at, e}, e > at
	}
	if loc := refLabel.first(t.low, refFrom); loc != nil && loc[1] <= end {
		tail := refTails[p]
		if nt, ok := nameTails[m.ev]; ok && ps.hasName {
			tail = nt // a Ref after a name: the event's own fields, as after the name
		}
		ps.ref, ps.hasRef = span{loc[1], tailStart(t, loc[1], end, anchor, tail)}, true
	}
	ps.ref.end = trimSpaceEnd(t.low, ps.ref.at, ps.ref.end)
	ps.name.end = trimSpaceEnd(t.low, ps.name.at, ps.name.end)
	return ps
}

// trimSpaceEnd moves end back over spaces and line breaks, so a masked span keeps the line
// structure after it.
func trimSpaceEnd(s string, at, end int) int {
	for end > at && (s[end-1] == ' ' || s[end-1] == '\n') {
		end--
	}
	return end
}

// tailStart is where the provider's text resumes after payer text starting at at: before the
// provider's own fields (tail) written between it and the TrxID label at end, when the TrxID is
// followed by its date; else end.
func tailStart(t text, at, end int, anchor []int, tail *regexp.Regexp) int {
	if tail == nil || anchor == nil || at >= end || !trxDateRe.MatchString(t.low[anchor[2]:]) {
		return end
	}
	// From the byte before at: an empty value ("Ref No: Fee:Tk0") has only its label's space or
	// colon before the provider's fields.
	from := max(at-1, 0)
	if loc := tail.FindStringSubmatchIndex(t.low[from:end]); loc != nil {
		return from + loc[2]
	}
	return end
}

// trxAnchor returns the submatch indexes of the provider's TrxID label: the last TrxID label at or
// after from whose value begins with an upper-case ASCII letter or a digit, or nil. (A promo's
// "Keep your TrxID safe" has none.)
func trxAnchor(t text, from int) []int {
	var last []int
	for at := from; ; {
		loc := trxLabel.first(t.low, at)
		if loc == nil {
			return last
		}
		if loc[2] < loc[3] {
			if c := t.s[loc[2]]; isDigit(c) || 'A' <= c && c <= 'Z' {
				last = loc
			}
		}
		at = loc[0] + 1 // a label may be another's value: "Ref: TrxID TxnID: 71R9OL1C"
	}
}

// isName reports whether a counterparty as a rule captured it is a name (free text), not a mobile
// number or a masked account the provider wrote.
func isName(cp string) bool {
	cp = trimQuotesSpaces(cp)
	if cp == "" {
		return false
	}
	if _, ok := leadingMSISDN(cp); ok {
		return false
	}
	return !maskedRe.MatchString(cp) && !maskedMSISDNRe.MatchString(cp) && !accountRe.MatchString(cp)
}

// accountRe is an account number as Rocket writes it ("***456", "01712345678").
var accountRe = regexp.MustCompile(`^[*xX0-9]+$`)

// refValue reads the Ref from its span: nil when empty or a placeholder (N/A, NA, None, -). Line
// breaks inside it become spaces.
func refValue(s string) *string {
	v := []byte(s)
	for i, c := range v {
		if c == '\n' {
			v[i] = ' '
		}
	}
	out := trimValue(string(v))
	if isPlaceholder(out) {
		return nil
	}
	return &out
}
