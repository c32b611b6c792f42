package smsparse

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/paystream/paystream/pipeline"
)

// The payer writes the Ref (and a business its name); nothing they write may decide the kind,
// direction, provider, pays, amount, balance, fee, TrxID or time of the SMS it sits in (issue 13,
// findings 2 and 6b). These tests put hostile values into every transaction format of the fixtures
// and the hand-written variants and compare the result with the same SMS carrying a harmless one.

// hostileValues are what a payer may type into a Ref: every wording of the failure notice, other
// events' wordings, the provider's own labels with other values, line breaks and look-alikes.
var hostileValues = []string{
	// failureRules, each alternative
	"unsuccessful", "failed", "failure", "Payment failed", "transaction failed", "has been returned",
	"has been reversed", "was reversed", "is reversed", "has been cancelled", "was canceled", "is cancelled",
	"has been refunded back", "declined", "Your transaction has been reversed.",
	// the specific failure notices and other events' sentences
	"Sorry, your Send Money request to 01765992095 is unsuccessful! Tk 30 has been returned.",
	"Your payment of Tk 500.00 by Alpha Net made on 27/10/2024 14:05 has been cancelled",
	"received", "sent", "Cash Out", "Cash Out Tk 500.00 to 01712345678 successful",
	"Send Money Tk 500.00 to 01712345678 successful", "You have received Tk 999.00 from 01712345678",
	"Money Received.", "Payment Received.", "B2B Received.", "Cash In Received.", "Refund from Daraz",
	"Your bKash verification code is 123456", "OTP/Code: 123456", "Get 50% cashback! Offer",
	// the provider's labels with other values
	"Balance Tk 99,999.00", "x. Balance Tk 99,999.00", "Fee Tk 5", "x. Fee Tk 5.00", "Amount Tk 1",
	"Amount: Tk 1", "x. Amount: Tk 99,999.00", "TrxID ABCDEFGHIJ", "x. TrxID ABCDEFGHIJ", "TxnID: ABCD1234",
	"TxnId:1234567890", "x. Fee Tk 0.00. Balance Tk 99,999.00", "NetBal: Tk99,999.00", "Your A/C Balance: Tk99,999.00",
	"x. Fee Tk 0.00. Balance Tk 99,999.00. TrxID ABCDEFGHIJ at 01/01/2026 10:00",
	"Comm: Tk 1.00", "Sender: 01999999999", "Customer: 01999999999", "from 01999999999", "Ref 42",
	"at 01/01/2020 10:00", "Date:01-JAN-20 10:00:00 am", "Tk 1,00", "Tk. 5.00",
	// line breaks: a Nagad-shaped block inside the Ref
	"x\nBalance: Tk 99999.00", "x\nTxnID: ABCD1234\nBalance: Tk 99999.00\n01/01/2026 10:00",
	"x\r\nMoney Received.\r\nAmount: Tk 1\r\nSender: 01999999999", "x\u2028failed", "failed\n",
	// brands and look-alikes that normalisation folds to ASCII
	"bKash", "Nagad", "Rocket", "Upay", "nagad failed", "ｆａｉｌｅｄ", "fаiled", "f\u200bailed",
	"ধন্যবাদ failed", "৳ ১০০ Balance Tk ৯৯,৯৯৯.০০", "Tk\u00a099,999.00 received", "~", "N/A", ".",
}

// harmlessRef stands in for a Ref nobody would contest.
const harmlessRef = "order 42"

// refSlot finds a Ref value in a fixture: the label, the value (possibly empty) and the provider's
// next field or line break.
var refSlot = regexp.MustCompile(`(?i)(\bRef\b(?: No)?\s*[:-]?\s*)(.*?)(\.? ?(?:Fee|TxnI[dD]|TrxID|Balance)\b|\n)`)

// refPoints say where each provider writes a Ref in a receipt that has none: before the first of
// these, with this label.
var refPoints = []struct{ before, insert string }{
	{"\nTxnID", "\nRef: "},      // Nagad block
	{" TxnID", " Ref: "},        // Nagad flat
	{". Fee Tk", ". Ref "},      // bKash
	{" Fee:Tk", " Ref No: "},    // Rocket
	{". Balance Tk.", ". Ref-"}, // Upay
}

type template struct {
	name, text string // text holds "{V}" where the hostile value goes
	provider   pipeline.Provider
	oneLine    bool // a name inside a sentence or a Nagad line: the provider's names have no line breaks
}

func (tp template) with(v string) string { return strings.Replace(tp.text, "{V}", v, 1) }

// refTemplates derives, from every fixture and variant that is a transaction, a template with the
// Ref's value replaced by {V} (or a Ref added where the provider writes one).
func refTemplates(tb testing.TB) []template {
	type src struct{ name, text string }
	var srcs []src
	for i, s := range loadSamples(tb) {
		srcs = append(srcs, src{fmt.Sprintf("fixture%02d_%s_%s", i, s.Provider, s.Kind), s.Text})
	}
	for _, v := range variants {
		if !strings.HasPrefix(v.name, "ref_injected") { // their Ref already holds a hostile value
			srcs = append(srcs, src{"variant_" + v.name, v.text})
		}
	}
	var out []template
	for _, s := range srcs {
		r := Parse(s.text)
		if r.AmountPaisa == nil || r.TrxID == nil || r.Kind == KindOTP || r.Kind == KindPromo {
			continue
		}
		var tpl string
		if loc := refSlot.FindStringSubmatchIndex(s.text); loc != nil {
			tpl = s.text[:loc[4]] + "{V}" + s.text[loc[5]:]
		} else {
			for _, p := range refPoints {
				if i := strings.Index(s.text, p.before); i >= 0 {
					tpl = s.text[:i] + p.insert + "{V}" + s.text[i:]
					break
				}
			}
		}
		if tpl != "" {
			out = append(out, template{name: s.name, text: tpl, provider: r.Provider})
		}
	}
	return out
}

// nameTemplates are the wordings whose counterparty is a name someone chose (a business, a bank
// branch, a merchant): the fixtures with that name replaced by {V}.
func nameTemplates(tb testing.TB) []template {
	var out []template
	for i, s := range loadSamples(tb) {
		r := Parse(s.Text)
		if r.Counterparty == nil || r.AmountPaisa == nil || !isNameLike(*r.Counterparty) || !strings.Contains(s.Text, *r.Counterparty) {
			continue
		}
		if r.Kind == KindOTP || r.Kind == KindPromo || strings.Contains(s.Text, "Biller:") || strings.Contains(s.Text, "From:") {
			continue // a labelled name ("Biller: X", "From: X") is not part of the sentence
		}
		out = append(out, template{
			name:     fmt.Sprintf("fixture%02d_%s_%s", i, s.Provider, s.Kind),
			text:     strings.Replace(s.Text, *r.Counterparty, "{V}", 1),
			provider: r.Provider,
			oneLine:  r.Provider == pipeline.Nagad || !strings.Contains(s.Text, *r.Counterparty+". "),
		})
	}
	return out
}

// isNameLike reports a counterparty that is a name: it has a letter other than a masking X.
func isNameLike(cp string) bool {
	return strings.IndexFunc(cp, func(r rune) bool { return unicode.IsLetter(r) && r != 'X' && r != 'x' }) >= 0
}

// payerBlind lists what differs between a and b in the fields the payer must not decide.
func payerBlind(a, b Result) []string {
	var d []string
	check := func(field string, ok bool, g, e any) {
		if !ok {
			d = append(d, fmt.Sprintf("%s: %v, with a harmless value %v", field, g, e))
		}
	}
	check("provider", a.Provider == b.Provider, a.Provider, b.Provider)
	check("kind", a.Kind == b.Kind, a.Kind, b.Kind)
	check("direction", a.Direction == b.Direction, a.Direction, b.Direction)
	check("pays", a.Pays == b.Pays, a.Pays, b.Pays)
	check("amount", eqp(a.AmountPaisa, b.AmountPaisa), show(a.AmountPaisa), show(b.AmountPaisa))
	check("balance", eqp(a.BalancePaisa, b.BalancePaisa), show(a.BalancePaisa), show(b.BalancePaisa))
	check("fee", eqp(a.FeePaisa, b.FeePaisa), show(a.FeePaisa), show(b.FeePaisa))
	check("trx_id", eqp(a.TrxID, b.TrxID), show(a.TrxID), show(b.TrxID))
	check("timestamp", eqp(a.Timestamp, b.Timestamp), show(a.Timestamp), show(b.TrxID))
	check("sender_trusted", eqp(a.SenderTrusted, b.SenderTrusted), show(a.SenderTrusted), show(b.SenderTrusted))
	return d
}

// senderOf is the default sender id of p, "" for an unknown provider.
func senderOf(p pipeline.Provider) string {
	if s := DefaultOptions().TrustedSenders[p]; len(s) > 0 {
		return s[0]
	}
	return ""
}

// TestAdversarialRefNeverDecides: every transaction format × every hostile Ref gives the same
// kind, direction, provider, pays, amount, balance, fee, TrxID and time as a harmless Ref, for
// Parse and for ParseFrom with the provider's own sender; and the Ref reads back as written.
func TestAdversarialRefNeverDecides(t *testing.T) {
	tpls := refTemplates(t)
	if len(tpls) < 30 {
		t.Fatalf("only %d Ref templates derived from the fixtures and variants", len(tpls))
	}
	seen := map[pipeline.Provider]bool{}
	opt := DefaultOptions()
	for _, tp := range tpls {
		seen[tp.provider] = true
		base, baseFrom := Parse(tp.with(harmlessRef)), ParseFrom(senderOf(tp.provider), tp.with(harmlessRef), opt)
		if base.Reference == nil || *base.Reference != harmlessRef {
			t.Errorf("%s: the harmless Ref reads %s: the template does not put it where the provider does\n  %q", tp.name, show(base.Reference), tp.with(harmlessRef))
			continue
		}
		for _, v := range hostileValues {
			text := tp.with(v)
			for _, d := range payerBlind(Parse(text), base) {
				t.Errorf("%s, Ref %q: Parse %s\n  text: %q", tp.name, v, d, text)
			}
			got := ParseFrom(senderOf(tp.provider), text, opt)
			for _, d := range payerBlind(got, baseFrom) {
				t.Errorf("%s, Ref %q: ParseFrom %s\n  text: %q", tp.name, v, d, text)
			}
			if isPlainRef(v) && (got.Reference == nil || *got.Reference != v) {
				t.Errorf("%s, Ref %q reads back as %s\n  text: %q", tp.name, v, show(got.Reference), text)
			}
		}
	}
	for _, p := range []pipeline.Provider{bk, ng, rk, up} {
		if !seen[p] {
			t.Errorf("no Ref template for %s", p)
		}
	}
}

// isPlainRef reports a hostile value that reads back unchanged: one ASCII line, no placeholder,
// no trailing dot (trimmed as a sentence end).
func isPlainRef(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] >= 0x7f {
			return false
		}
	}
	return !slices.Contains([]string{"N/A", "NA", "-", "~", "."}, v) && !strings.HasSuffix(v, ".") && !strings.HasSuffix(v, "!") && strings.TrimSpace(v) == v
}

// TestAdversarialNameNeverDecides: a counterparty name (a business, bank or merchant name) is no
// more trusted than a Ref.
func TestAdversarialNameNeverDecides(t *testing.T) {
	tpls := nameTemplates(t)
	if len(tpls) < 6 {
		t.Fatalf("only %d name templates derived from the fixtures", len(tpls))
	}
	for _, tp := range tpls {
		base := Parse(tp.with("Evil Corp"))
		if base.Counterparty == nil || *base.Counterparty != "Evil Corp" {
			t.Errorf("%s: the harmless name reads %s\n  %q", tp.name, show(base.Counterparty), tp.with("Evil Corp"))
			continue
		}
		for _, v := range hostileValues {
			if tp.oneLine && strings.ContainsAny(v, "\n\r\u2028") {
				continue // the name is part of one line
			}
			v = "Evil " + v
			text := tp.with(v)
			for _, d := range payerBlind(Parse(text), base) {
				t.Errorf("%s, name %q: %s\n  text: %q", tp.name, v, d, text)
			}
		}
	}
}

// TestAdversarialFailureOutsideTheRefStillFails: masking the payer's spans does not hide the
// provider's own failure or reversal notice, with or without a Ref.
func TestAdversarialFailureOutsideTheRefStillFails(t *testing.T) {
	for _, tp := range refTemplates(t) {
		for _, notice := range []string{" This transaction has been reversed.", "\nTransaction failed."} {
			text := tp.with(harmlessRef) + notice
			if r := Parse(text); r.Pays || r.Kind != KindTransactionFailed && r.Kind != KindSendMoneyFailed {
				t.Errorf("%s: a notice after the TrxID gives kind %s pays %v\n  text: %q", tp.name, r.Kind, r.Pays, text)
			}
		}
	}
}

// FuzzRefNeverDecides: for any Ref value, the fields the payer must not decide are those of a
// harmless Ref (property form of TestAdversarialRefNeverDecides).
func FuzzRefNeverDecides(f *testing.F) {
	tpls := refTemplates(f)
	for i, v := range hostileValues {
		f.Add(v, uint8(i))
	}
	f.Fuzz(func(t *testing.T, v string, which uint8) {
		if len(v) > 300 || !utf8.ValidString(v) {
			return
		}
		tp := tpls[int(which)%len(tpls)]
		if d := payerBlind(Parse(tp.with(v)), Parse(tp.with(harmlessRef))); len(d) > 0 {
			t.Fatalf("%s, Ref %q: %v\n  text: %q", tp.name, v, d, tp.with(v))
		}
	})
}
