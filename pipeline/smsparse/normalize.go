package smsparse

import (
	"strings"
	"unicode/utf8"
)

// normalize returns the text the matchers work on: line breaks are "\n" (CRLF, CR, NEL, U+2028/9),
// every other space-like rune is one ASCII space, spaces are collapsed and trimmed around line
// breaks, empty lines are dropped, zero-width and bidi format characters are removed, and look-alike
// characters are folded to ASCII (see fold). Invalid UTF-8 becomes U+FFFD, which matches nothing.
func normalize(s string) string {
	if isNormalASCII(s) {
		return s
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace, lineStart := false, true
	emit := func(r rune) {
		switch r {
		case ' ':
			if !lineStart {
				pendingSpace = true
			}
		case '\n':
			if !lineStart {
				b.WriteByte('\n')
			}
			pendingSpace, lineStart = false, true
		default:
			if pendingSpace {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			pendingSpace, lineStart = false, false
		}
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			switch {
			case r == '\n' || r == '\r' || r == '\v' || r == '\f':
				emit('\n') // CRLF gives two breaks; empty lines are dropped anyway
			case r < 0x20 || r == 0x7f:
				emit(' ')
			default:
				emit(r)
			}
			continue
		}
		if r == '\u2026' { // horizontal ellipsis, as some phones rewrite "..."
			emit('.')
			emit('.')
			emit('.')
			continue
		}
		f, keep := fold(r)
		if keep {
			emit(f)
		}
	}
	out := b.String()
	return strings.TrimSuffix(out, "\n")
}

// isNormalASCII reports whether normalize would return s unchanged because it is already normal
// and plain: printable ASCII and "\n" only, no space or line break at either end, and no space or
// line break next to another. Most SMS are, and skip the rune-by-rune copy.
func isNormalASCII(s string) bool {
	if s == "" || s[0] == ' ' || s[0] == '\n' || s[len(s)-1] == ' ' || s[len(s)-1] == '\n' {
		return false
	}
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\n':
			if prevSpace {
				return false
			}
			prevSpace = true
		case c < 0x20 || c >= 0x7f:
			return false
		default:
			prevSpace = false
		}
	}
	return true
}

// fold maps one non-ASCII rune: space-like runes to ' ', line separators to '\n', zero-width and
// format characters to nothing (keep=false), full-width ASCII, Bengali and Arabic-Indic digits and
// common Cyrillic/Greek/letterlike confusables to their ASCII look-alike. Other runes are kept.
func fold(r rune) (rune, bool) {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		return r - 0xFEE0, true
	case r >= 0x09E6 && r <= 0x09EF: // Bengali digits
		return '0' + r - 0x09E6, true
	case r >= 0x0660 && r <= 0x0669: // Arabic-Indic digits
		return '0' + r - 0x0660, true
	case r >= 0x06F0 && r <= 0x06F9: // extended Arabic-Indic digits
		return '0' + r - 0x06F0, true
	case r >= 0x2000 && r <= 0x200A:
		return ' ', true
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x2069:
		return 0, false
	case r >= 0x2010 && r <= 0x2015:
		return '-', true
	}
	switch r {
	case 0x00A0, 0x1680, 0x202F, 0x205F, 0x3000:
		return ' ', true
	case 0x0085, 0x2028, 0x2029:
		return '\n', true
	case 0x00AD, 0x180E, 0xFEFF:
		return 0, false
	case 0x2018, 0x2019, 0x201B, 0x2032:
		return '\'', true
	case 0x201C, 0x201D, 0x2033:
		return '"', true
	case 0x2212:
		return '-', true
	case 0x2024:
		return '.', true
	case 0x2044, 0x2215:
		return '/', true
	case 0x2236, 0xA789:
		return ':', true
	}
	if a, ok := confusables[r]; ok {
		return a, true
	}
	return r, true
}

// confusables are Cyrillic, Greek and letterlike symbols that render like an ASCII letter in the
// fonts Android phones use. Only near-identical shapes are listed; anything else stays non-ASCII,
// so a TrxID containing it is rejected rather than guessed.
var confusables = map[rune]rune{
	// Cyrillic capitals
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C',
	'Т': 'T', 'Х': 'X', 'У': 'Y', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'Ԛ': 'Q', 'Ԝ': 'W', 'Ү': 'Y',
	// Cyrillic small letters
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i',
	'ј': 'j', 'һ': 'h', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	// Greek capitals
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N',
	'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Greek small letters
	'ο': 'o', 'ν': 'v', 'α': 'a', 'ι': 'i', 'κ': 'k', 'ρ': 'p',
	// letterlike symbols
	'\u212A': 'K', '\u212B': 'A', '\u2113': 'l',
}
