package smsparse

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/paystream/paystream/pipeline"
)

// Adversarial tests of the sender rule (issue 13, finding 7): only the exact sender ids a provider
// sends from may pay; every other spelling of them is another sender id on a phone.

// trustedDefaults are the sender ids each provider really uses, as the phone reports them.
var trustedDefaults = map[pipeline.Provider][]string{
	pipeline.BKash:  {"bKash"},
	pipeline.Nagad:  {"NAGAD", "Nagad"},
	pipeline.Rocket: {"16216"},
	pipeline.Upay:   {"upay", "Upay"},
}

// payingText is a real receipt of each provider that pays from its own sender.
var payingText = map[pipeline.Provider]string{
	pipeline.BKash:  "You have received Tk 500.00 from 01783110247. Fee Tk 0.00. Balance Tk 9,452.20. TrxID DAM6CTT7RW at 22/01/2026 01:54",
	pipeline.Nagad:  "Money Received.\nAmount: Tk 60.00\nSender: 01632951891\nRef: N/A\nTxnID: 75K92M3Z\nBalance: Tk 610.28\n24/06/2026 14:31",
	pipeline.Rocket: "Tk280.00 received from A/C:***033 Fee:Tk0, Your A/C Balance: Tk285.00 TxnId:6578516337 Date:29-MAY-26 10:26:24 pm.",
	pipeline.Upay:   "Tk. 900.00 has been received from 01540669293. Ref-. Balance Tk. 900.00. TrxID 01K7C8Z24V at 12/10/2025 19:15",
}

// senderPads are characters a phone, a forwarder app or an attacker can put around a sender id:
// ASCII and Unicode spaces, invisible format characters, controls.
var senderPads = []string{
	" ", "\t", "\n", "\r", "\u00a0", "\u1680", "\u2000", "\u2007", "\u2009", "\u200a", "\u202f", "\u205f",
	"\u3000", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u00ad", "\x00",
}

// homoglyphs maps ASCII letters and digits to characters that look alike (Cyrillic, Greek, Armenian,
// letter-like symbols, other scripts' digits) and to ASCII look-alikes.
var homoglyphs = map[rune][]rune{
	'a': {'а', 'ɑ', 'α'}, 'A': {'А', 'Α', 'Ꭺ'}, 'b': {'Ь', 'ƅ', 'ᖯ'}, 'B': {'В', 'Β'}, 'd': {'ԁ'}, 'D': {'Ꭰ'},
	'e': {'е'}, 'g': {'ɡ'}, 'G': {'Ԍ'}, 'h': {'һ'}, 'k': {'к', 'κ'}, 'K': {'К', 'Κ', 'K'}, 'N': {'Ν'},
	'p': {'р', 'ρ'}, 's': {'ѕ'}, 'u': {'υ', 'ս'}, 'U': {'Ս'}, 'y': {'у'}, 'Y': {'Υ', 'Ү'},
	'1': {'l', 'I', '١', '১', '𝟏', '¹'}, '2': {'২', '٢', 'Ƨ'}, '6': {'б', '৬', '٦', 'Ꮾ'},
}

// senderVariants generates spellings of sender that are not sender itself: case changes, padding,
// full-width forms, homoglyphs at every position, and ASCII edits.
func senderVariants(sender string) []string {
	set := map[string]bool{}
	add := func(v string) { set[v] = true }
	add(strings.ToUpper(sender))
	add(strings.ToLower(sender))
	swapped := []rune(sender)
	for i, r := range swapped {
		if unicode.IsUpper(r) {
			swapped[i] = unicode.ToLower(r)
		} else {
			swapped[i] = unicode.ToUpper(r)
		}
	}
	add(string(swapped))
	rs := []rune(sender)
	for i, r := range rs {
		for _, f := range []func(rune) rune{unicode.ToUpper, unicode.ToLower} {
			c := slices.Clone(rs)
			c[i] = f(r)
			add(string(c))
		}
		if '!' <= r && r <= '~' { // the full-width form of one character
			c := slices.Clone(rs)
			c[i] = r - '!' + '！'
			add(string(c))
		}
		for _, h := range homoglyphs[r] {
			c := slices.Clone(rs)
			c[i] = h
			add(string(c))
		}
		add(string(rs[:i]) + string(rs[i+1:]))          // a character dropped
		add(string(rs[:i]) + " " + string(rs[i:]))      // a space inside
		add(string(rs[:i+1]) + string(rs[i:]))          // a character doubled
		add(string(rs[:i]) + "\u200b" + string(rs[i:])) // an invisible character inside
	}
	full := make([]rune, len(rs))
	for i, r := range rs {
		full[i] = r - '!' + '！'
	}
	add(string(full))
	for _, p := range senderPads {
		add(p + sender)
		add(sender + p)
		add(p + sender + p)
	}
	for _, s := range []string{"+", "0", "00", "+88", "."} {
		add(s + sender)
		add(sender + s)
	}
	delete(set, sender)
	return slices.Sorted(maps.Keys(set))
}

// TestAdversarialSenderVariants: for every provider, the parser's defaults are exactly the sender
// ids it uses, each of them pays, and no generated variant of any of them (case, Unicode or ASCII
// spaces around or inside, invisible characters, full-width letters, homoglyphs, edits) is trusted
// or pays, for that provider or any other. Before the fix, case changes and surrounding Unicode
// spaces paid.
func TestAdversarialSenderVariants(t *testing.T) {
	def := DefaultOptions().TrustedSenders
	if len(def) != len(trustedDefaults) {
		t.Fatalf("DefaultOptions trusts %v, want exactly %v", def, trustedDefaults)
	}
	exact := map[string]bool{}
	for p, want := range trustedDefaults {
		if !slices.Equal(def[p], want) {
			t.Errorf("DefaultOptions()[%s] = %q, want exactly %q", p, def[p], want)
		}
		for _, s := range want {
			exact[s] = true
		}
	}
	n := 0
	for _, p := range slices.Sorted(maps.Keys(trustedDefaults)) {
		text := payingText[p]
		for _, s := range trustedDefaults[p] {
			if r := ParseFrom(s, text, DefaultOptions()); !r.Pays || r.SenderTrusted == nil || !*r.SenderTrusted || r.Provider != p {
				t.Errorf("%s's own sender %q does not pay its receipt: %+v", p, s, r)
			}
			for _, v := range senderVariants(s) {
				if exact[v] {
					continue // another of the provider's real ids (NAGAD/Nagad, upay/Upay)
				}
				n++
				for _, opt := range []Options{DefaultOptions(), {TrustedSenders: map[pipeline.Provider][]string{p: {s}}}} {
					r := ParseFrom(v, text, opt)
					if r.Pays || r.SenderTrusted == nil || *r.SenderTrusted {
						t.Errorf("%s: variant %+q of %q is trusted=%v pays=%v", p, v, s, show(r.SenderTrusted), r.Pays)
					}
				}
			}
		}
	}
	if n < 400 {
		t.Fatalf("only %d variants generated", n)
	}
}

// TestAdversarialSenderConfigIsExact: a configured sender id is compared byte for byte too.
func TestAdversarialSenderConfigIsExact(t *testing.T) {
	opt := Options{TrustedSenders: map[pipeline.Provider][]string{pipeline.BKash: {"bKash-Biz"}}}
	text := payingText[pipeline.BKash]
	if r := ParseFrom("bKash-Biz", text, opt); !r.Pays {
		t.Fatalf("the configured sender does not pay: %+v", r)
	}
	for _, v := range senderVariants("bKash-Biz") {
		if r := ParseFrom(v, text, opt); r.Pays || *r.SenderTrusted {
			t.Errorf("variant %+q of a configured sender is trusted", v)
		}
	}
	if r := ParseFrom("bKash", text, opt); r.Pays {
		t.Error("a configured list still trusts the default")
	}
}
