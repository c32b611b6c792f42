package smsparse

import (
	"regexp"
	"strings"

	"github.com/paystream/paystream/pipeline"
)

// numBody is a decimal as wallets write it: digits with optional comma groups and decimals, or a
// bare fraction (Rocket's "Tk.00"). Whether it is a well-formed amount is decided by parseAmount.
const numBody = `\d+(?:,\d+)*(?:\.\d+)?|\.\d+`

// cur is an optional currency prefix: "Tk", "TK.", "tk", "Taka", "BDT", "৳".
const cur = `(?:(?:tk|taka|bdt)\.?|৳)`

// rule recognises one wording of one event. Its regexp may capture the amount (amt: "Tk 500.00";
// amt2: "500.00 Tk"), the counterparty (cp, read up to its end by counterpartyValue) and a variant
// word (via). hint is the provider that writes this wording; exclusive means no other provider is
// known to, so it outweighs a brand name elsewhere in the text.
type rule struct {
	ev        event
	kw        string // "a|b": the rule is tried only if the lower-cased text contains one of these
	re        *regexp.Regexp
	hint      pipeline.Provider
	exclusive bool
	refine    func(m match) event

	kws     []string // kw split, set by init
	find    finder   // searches for re, set by init
	kwsSure bool     // set by init: every match find returns contains one of kws, so no need to test them
}

// init derives each rule's keyword list and finder once, so matching does neither per SMS.
func init() {
	for _, rules := range [][]rule{failureRules, txnRules, otpRules} {
		for i := range rules {
			ru := &rules[i]
			ru.kws = strings.Split(ru.kw, "|")
			ru.find = newFinder(ru.re)
			ru.kwsSure = ru.find.implies(ru.kws)
		}
	}
}

// compileRule builds a rule regexp, matched against the ASCII-lower-cased text, from a lower-case
// template in which a space means "optional whitespace" (so "cash in" also matches "cashin" and
// "Cash\nIn"), AMT is a currency-prefixed amount and NUM a bare one.
func compileRule(tmpl string) *regexp.Regexp {
	tmpl = strings.ReplaceAll(tmpl, " ", `\s*`)
	tmpl = strings.ReplaceAll(tmpl, "AMT", cur+`\s*(?P<amt>`+numBody+`)`)
	tmpl = strings.ReplaceAll(tmpl, "NUM", `(?P<amt2>`+numBody+`)`)
	return regexp.MustCompile(tmpl)
}

func r(ev event, kw, tmpl string, hint pipeline.Provider, exclusive bool) rule {
	return rule{ev: ev, kw: kw, re: compileRule(tmpl), hint: hint, exclusive: exclusive}
}

// cpLine is a counterparty that runs to the end of the line; counterpartyValue cuts it.
const cpLine = `(?P<cp>[^\n]*)`

// cpAccount is Rocket's (usually masked) account: "***456", "017XXXXXX12".
const cpAccount = `a/c :? (?P<cp>[*x0-9]+)`

// txnRules compete by position (see classify); on a tie the earlier wins, so more specific
// wordings come before the general ones they overlap. The two failure notices come first: a
// notice of a transaction that failed never pays, even when it carries an amount and a TrxID.
var txnRules = []rule{
	// Failure notices with a sentence of their own.
	r(evSendMoneyFailed, "unsuccessful", `send money request to (?P<cp>[^\n]*) is unsuccessful`, pipeline.BKash, false),
	r(evPaymentCancelled, "cancel", `your payment of AMT by (?P<cp>[^\n]*) made on [^\n]*?(?:has been|is|was) cancell?ed`, pipeline.Nagad, true),
	// Receipts.
	r(evCashOutByAgent, "received", `you have received cash-? out of AMT from `+cpLine, pipeline.Upay, true),
	r(evMerchantReceived, "received", `you have received payment (?:of )?AMT from `+cpLine, pipeline.BKash, false),
	r(evBankDeposit, "deposit", `you have received (?:a )?deposit of AMT from `+cpLine, pipeline.BKash, false),
	r(evRemittance, "remittance", `you have received (?:a |an )?(?:inward )?remittance of AMT from `+cpLine, pipeline.BKash, false),
	r(evCashback, "back", `you have received (?:a )?cash ?back (?:of )?AMT`, pipeline.BKash, false),
	{ev: evP2PReceived, kw: "received", re: compileRule(`you have received AMT from ` + cpLine), hint: pipeline.BKash, refine: personOrBusiness},
	r(evMerchantReceived, "received", `received payment of AMT from `+cpLine, pipeline.Upay, true),
	r(evP2PReceived, "a/c", `AMT (?:has been )?received from `+cpAccount, pipeline.Rocket, true),
	r(evP2PReceived, "been", `AMT has been received from `+cpLine, pipeline.Upay, true),
	r(evP2PReceived, "received", `AMT received from `+cpLine, pipeline.Rocket, false),
	r(evCashOutByAgent, "a/c", `cash-? out from `+cpAccount+` AMT`, pipeline.Rocket, true),
	r(evCashOut, "a/c", `cash-? out to `+cpAccount+` AMT`, pipeline.Rocket, true),
	r(evMerchantReceived, "received", `\bpayment received\b`, pipeline.Nagad, true),
	r(evP2PReceived, "received", `\bmoney received\b`, pipeline.Nagad, true),
	r(evCashInReceived, "received", `\bcash-? in received\b`, pipeline.Nagad, true),
	r(evB2BReceived, "b2b", `\bb2b received\b`, pipeline.Nagad, true),
	{ev: evAddMoneyBank, kw: "add", re: compileRule(`\badd money from (?P<via>bank|card)`), hint: pipeline.Nagad, exclusive: true, refine: bankOrCard},
	{ev: evAddMoneyBank, kw: "add", re: compileRule(`\badd money (?:of )?AMT from (?P<via>)` + cpLine), hint: pipeline.BKash, refine: bankOrCard},
	r(evRefund, "refund", `\brefund (?:of AMT )?from `+cpLine, pipeline.Nagad, true),
	r(evRefund, "refund", `\brefund received\b`, pipeline.Nagad, true),
	r(evCashback, "back", `received cash ?back(?: ?/ ?gift)? (?:of )?(?:AMT|NUM (?:tk|taka|bdt)\b)`, pipeline.Nagad, true),
	r(evCashback, "back", `\bcash ?back (?:of )?AMT (?:has been )?received`, pipeline.BKash, false),
	// A bare "Received Tk X from Y" of no known provider's wording.
	{ev: evP2PReceived, kw: "received", re: compileRule(`\breceived AMT from ` + cpLine), refine: personOrBusiness},
	// Agent-side and own-wallet movements.
	r(evCashInReceived, "cash", `\bcash-? in AMT from `+cpLine, pipeline.BKash, false),
	r(evCashInSent, "cash", `\bcash-? in AMT to `+cpLine, pipeline.BKash, false),
	r(evCashOutByAgent, "cash", `\bcash-? out AMT from `+cpLine, pipeline.BKash, false),
	r(evCashOut, "cash", `\bcash-? out AMT to `+cpLine, pipeline.BKash, false),
	r(evCashOut, "cash", `\bcash-? out (?:is )?successful`, pipeline.Nagad, true),
	r(evSendMoney, "send", `\bsend money AMT to `+cpLine, pipeline.BKash, false),
	r(evSendMoney, "send", `\bsend money (?:is )?successful`, pipeline.Nagad, true),
	r(evB2BTransfer, "b2b", `\bb2b transfer AMT to `+cpLine, pipeline.BKash, false),
	r(evB2BReceived, "b2b", `\bb2b transfer AMT from `+cpLine, pipeline.BKash, false),
	r(evPayment, "payment", `\bpayment (?:of )?AMT to (?P<cp>[^\n]*) (?:is |was )?successful`, pipeline.BKash, false),
	r(evPayment, "payment", `\bpayment to (?P<cp>[^\n]*) is successful`, pipeline.Nagad, true),
	r(evBill, "bill", `\bbill (?:successfully paid|payment (?:is |was )?successful)`, pipeline.BKash, false),
	r(evBill, "request", `\byour request for (?P<cp>[^\n]*) is accepted`, pipeline.Nagad, true),
	r(evRecharge, "recharge", `\bmobile recharge (?:request )?of AMT (?:for|to) `+cpLine, pipeline.BKash, false),
	r(evRecharge, "recharge", `\bmobile recharge (?:is )?successful`, pipeline.Nagad, true),
}

// failureRules hold the generic failure or reversal notice. Unlike the two wordings in txnRules it
// is not a sentence of its own: its words may follow the receipt they undo ("… TrxID X at …. This
// transaction has been reversed."), so it is searched everywhere except in the payer's spans (see
// payerSpans): a Ref or a name saying "failed" is the payer's text, not the provider's notice.
var failureRules = []rule{
	{ev: evFailed, kw: "unsuccessful|fail|returned|reversed|cancel|refunded|declined", re: regexp.MustCompile(`\b(?:unsuccessful|failed|failure|has\s+been\s+returned|(?:has\s+been|was|is)\s+(?:reversed|cancell?ed|refunded\s+back)|declined)\b`)},
}

// otpRules come after the transaction rules: a receipt whose Ref says "code 1234" is a receipt.
var otpRules = []rule{
	{ev: evOTP, kw: "otp", re: regexp.MustCompile(`\botp\s*/\s*code\s*:\s*\d`), hint: pipeline.Nagad, exclusive: true},
	{ev: evOTP, kw: "code|otp|one", re: regexp.MustCompile(`\b(?:verification\s+code|security\s+code|otp|one[- ]time\s+(?:password|pin|code)|code)\s*(?:is|:|-)?\s*\d{4,8}\b`)},
}

var (
	trxLabelRe = regexp.MustCompile(`(?:trx|txn|trnx|transaction)\s?id`)
	promoRe    = regexp.MustCompile(`https?://|www\.|\.(?:io|com|sh)/|\b(?:offer|cash\s?back|win|discount|click|download|korun|dial|bonus|deal|campaign|congrat\w*|free|get)\b|%`)
)

// match is the outcome of classification: the event, the rule and where its pieces are in s.
type match struct {
	ev    event
	rule  *rule
	start int    // where the rule matched; fields are read from here on
	amt   string // the rule's amount token, "" if it captures none
	amtAt int    // offset just past amt in s
	cp    string // raw counterparty text (to end of line), "" if none
	cpAt  int    // where cp starts in s
	hasCP bool
	via   string
}

func (m *match) group(s string, loc []int, re *regexp.Regexp, name string) (string, int, bool) {
	i := re.SubexpIndex(name)
	if i < 0 || loc[2*i] < 0 {
		return "", 0, false
	}
	return s[loc[2*i]:loc[2*i+1]], loc[2*i+1], true
}

// The provider's sentence (sentence, then failure) in s; low is s ASCII-lower-cased (same byte
// offsets), with the payer's spans masked on the second reading (see parse). The transaction
// wording that starts first in the text wins (ties go to the earlier, more specific rule): the
// provider's sentence comes before the free-text Ref a payer controls, so "Ref money received"
// cannot turn a send money into a receipt. Then the generic failure notice (failureRules),
// searched everywhere in low, turns the event into evFailed; it keeps its provider hint, amount
// and counterparty from the transaction wording. Without a transaction wording, an OTP, a promo
// or unknown.

// failure applies the generic failure notice of low to its sentence m.
func failure(low string, m match) match {
	if m.ev == evSendMoneyFailed || m.ev == evPaymentCancelled {
		return m
	}
	ru := &failureRules[0]
	if ru.match(low, len(low)+1) == nil {
		return m
	}
	if m.rule != nil && m.ev != evOTP {
		m.ev, m.start = evFailed, 0
		return m
	}
	return match{ev: evFailed, rule: ru} // the failure word can be anywhere: read from 0
}

// sentence is classify without the generic failure notice.
func sentence(s, low string) match {
	if tr, loc := leftmost(low, txnRules); tr != nil {
		return ruleMatch(s, tr, loc)
	}
	for i := range otpRules {
		if loc := otpRules[i].match(low, len(low)+1); loc != nil {
			return ruleMatch(s, &otpRules[i], loc)
		}
	}
	if trxLabelRe.MatchString(low) || !promoRe.MatchString(low) {
		return match{ev: evUnknown}
	}
	return match{ev: evPromo}
}

// leftmost returns the rule of rules whose match starts first in low and that match's submatch
// indexes, or nil. Once a rule has matched, the later ones are searched only for a match that
// starts earlier.
func leftmost(low string, rules []rule) (*rule, []int) {
	var best *rule
	var bestLoc []int
	for i := range rules {
		ru := &rules[i]
		before := len(low) + 1
		if bestLoc != nil {
			before = bestLoc[0]
		}
		if loc := ru.match(low, before); loc != nil {
			best, bestLoc = ru, loc
		}
	}
	return best, bestLoc
}

// match returns the submatch indexes of ru's leftmost match in low if it starts before the offset
// before and low contains one of the rule's keywords; else nil.
func (ru *rule) match(low string, before int) []int {
	if !ru.kwsSure && !ru.mayMatch(low) {
		return nil
	}
	return ru.find.find(low, 0, before, nil)
}

// mayMatch reports whether low contains one of the rule's keywords.
func (ru *rule) mayMatch(low string) bool {
	for _, kw := range ru.kws {
		if strings.Contains(low, kw) {
			return true
		}
	}
	return false
}

// ruleMatch reads ru's match, at submatch indexes loc in the lower-cased text; the values are
// taken from s.
func ruleMatch(s string, ru *rule, loc []int) match {
	m := match{ev: ru.ev, rule: ru, start: loc[0]}
	if v, end, ok := m.group(s, loc, ru.re, "amt"); ok {
		m.amt, m.amtAt = v, end
	} else if v, end, ok := m.group(s, loc, ru.re, "amt2"); ok {
		m.amt, m.amtAt = v, end
	}
	var cpEnd int
	m.cp, cpEnd, m.hasCP = m.group(s, loc, ru.re, "cp")
	m.cpAt = cpEnd - len(m.cp)
	m.via, _, _ = m.group(s, loc, ru.re, "via")
	if ru.refine != nil {
		m.ev = ru.refine(m)
	}
	return m
}

// personOrBusiness splits bKash's "You have received Tk X from Y": Y is a number (or masked) for
// send money, a name for a business disbursement.
func personOrBusiness(m match) event {
	cp := strings.TrimSpace(m.cp)
	if _, ok := leadingMSISDN(cp); ok || cp == "" || maskedRe.MatchString(cp) || maskedMSISDNRe.MatchString(cp) {
		return evP2PReceived
	}
	return evBusinessReceived
}

// maskedMSISDNRe is a partly masked mobile number: "01XXXXXXXXX", "017XXXXX678", "+88017****5678".
var maskedMSISDNRe = regexp.MustCompile(`^(?:\+?88)?01[0-9xX*]{9}(?:$|[^0-9A-Za-z*])`)

func bankOrCard(m match) event {
	if strings.EqualFold(m.via, "card") || strings.Contains(strings.ToLower(m.cp), "card") {
		return evAddMoneyCard
	}
	return evAddMoneyBank
}

var (
	// brands are the providers' names and domains as they appear in their SMS, lower-cased; each is
	// a quick substring test followed by a word-boundary check.
	brands = []struct {
		p pipeline.Provider
		l label
	}{
		{pipeline.BKash, lbl("bka", `\b(?:bkash|bka\.sh)\b`)},
		{pipeline.Nagad, lbl("nagad", `\bnagad\b`)},
		{pipeline.Rocket, lbl("rocket|nexuspay|dbbl", `\b(?:rocket|nexuspay|dbbl)\b`)},
		{pipeline.Upay, lbl("upay", `\bupay\b`)},
	}
	// tkDotRe is Upay's "Tk. 900.00"/"Tk.1.00"; bKash writes "Tk 900.00".
	tkDotRe = regexp.MustCompile(`\btk\.\s?\d`)
)

// inferProvider names the provider low (the lower-cased text) comes from, and whether the
// evidence is strong (a wording only that provider uses, or its brand name alone in the text)
// rather than a guess from a shared wording.
func inferProvider(low string, m match) (p pipeline.Provider, strong bool) {
	if m.rule != nil && m.rule.exclusive {
		return m.rule.hint, true
	}
	var brand pipeline.Provider
	n := 0
	for _, b := range brands {
		if b.l.first(low, 0) != nil {
			brand = b.p
			n++
		}
	}
	if n == 1 {
		return brand, true
	}
	if m.rule != nil && m.rule.hint != "" {
		if m.rule.hint == pipeline.BKash && strings.Contains(low, "tk.") && tkDotRe.MatchString(low) {
			return pipeline.Upay, false
		}
		return m.rule.hint, false
	}
	return "", false
}
