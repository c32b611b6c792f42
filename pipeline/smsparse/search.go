package smsparse

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// finder searches for a regexp's leftmost match faster than the regexp does alone. Go's regexp
// skips ahead with a substring search only when a pattern begins with one literal; most of ours
// begin with \b or an alternation ("\bmoney received", "(?:tk|taka|bdt)…"), so the engine tries
// a match at every byte of the text. When every match must begin with one of a few literal
// strings (starts, derived from the pattern by startLiterals), the finder visits only the
// occurrences of those strings and runs the pattern anchored there: a leading \b is checked by
// hand, and the pattern has no other assertion at its first position, so anchoring on the rest of
// the text sees the context the full search would. It gives up as soon as one of the literals
// every match contains (needs: "received" in "you have received …") no longer occurs. The result
// is exactly the full search's: the leftmost start, and at it the same leftmost-first submatches.
//
// A text with many occurrences (a repeated word, a crafted SMS) could make the anchored runs cost
// more than one full scan; after maxAnchoredTries the finder falls back to the plain search.
type finder struct {
	re       *regexp.Regexp // the pattern; the fallback searches with it
	anchored *regexp.Regexp // ^(?:pattern without its leading \b); nil: always search with re
	starts   []string       // every match of re begins with one of these
	startSet *[256]bool     // when every start is one byte: those bytes
	needs    []string       // every match of re contains each of these
	boundary bool           // the pattern begins with \b
}

const (
	// maxAnchoredTries bounds the candidates a finder tries before falling back to a full search.
	maxAnchoredTries = 8
	// maxStarts bounds the literals a finder looks for; a pattern needing more is searched plainly.
	maxStarts = 16
	// maxNeeds bounds the needed literals a finder checks; shorter ones than 3 bytes are not worth it.
	maxNeeds = 4
)

// newFinder analyses re once, at package init; a pattern it cannot analyse gets a finder that
// searches plainly.
func newFinder(re *regexp.Regexp) finder {
	f := finder{re: re}
	pattern := re.String()
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return f
	}
	rest := tree
	if tree.Op == syntax.OpConcat && len(tree.Sub) > 0 && tree.Sub[0].Op == syntax.OpWordBoundary {
		if !strings.HasPrefix(pattern, `\b`) {
			return f
		}
		f.boundary = true
		pattern = pattern[len(`\b`):]
		rest = &syntax.Regexp{Op: syntax.OpConcat, Flags: tree.Flags, Sub: tree.Sub[1:]}
	}
	starts, ok := startLiterals(rest)
	if !ok {
		return f
	}
	anchored := regexp.MustCompile(`^(?:` + pattern + `)`)
	if !slices.Equal(anchored.SubexpNames(), re.SubexpNames()) {
		panic("smsparse: anchoring " + re.String() + " renumbered its groups")
	}
	f.anchored, f.starts = anchored, starts
	if slices.IndexFunc(starts, func(l string) bool { return len(l) != 1 }) < 0 {
		f.startSet = new([256]bool)
		for _, l := range starts {
			f.startSet[l[0]] = true
		}
	}
	for _, l := range neededLiterals(rest) {
		// A literal every start contains is already at the candidate: no need to look for it.
		inStarts := !slices.ContainsFunc(starts, func(s string) bool { return !strings.Contains(s, l) })
		if len(f.needs) < maxNeeds && len(l) >= 3 && !inStarts {
			f.needs = append(f.needs, l)
		}
	}
	return f
}

// implies reports whether every match the finder returns contains one of kws: a needed literal or
// every start contains one.
func (f *finder) implies(kws []string) bool {
	has := func(l string) bool {
		return slices.ContainsFunc(kws, func(kw string) bool { return strings.Contains(l, kw) })
	}
	if f.anchored == nil {
		return false
	}
	return slices.ContainsFunc(f.needs, has) || !slices.ContainsFunc(f.starts, func(l string) bool { return !has(l) })
}

// find returns the submatch indexes into s of the leftmost match of f.re in s[from:] that starts
// before the offset before and, if accept is not nil, whose start accept allows; nil if none.
// Offsets are in s. Like a search of s[from:] alone, it ignores what precedes from.
func (f *finder) find(s string, from, before int, accept func(s string, at int) bool) []int {
	if from > len(s) || before <= from {
		return nil
	}
	if f.anchored == nil {
		return f.search(s, from, before, accept)
	}
	var next [maxStarts]int // next[i]: where starts[i] next occurs at or after at; -1 never, -2 unknown
	for i := range f.starts {
		next[i] = -2
	}
	var needAt [maxNeeds]int // needAt[i]: where needs[i] occurs at or after the last candidate
	for i := range f.needs {
		needAt[i] = -1
	}
	for at, tries := from, 0; ; {
		p := -1
		if f.startSet != nil {
			for i := at; i < len(s); i++ {
				if f.startSet[s[i]] {
					p = i
					break
				}
			}
		} else {
			for i, lit := range f.starts {
				if next[i] == -2 || 0 <= next[i] && next[i] < at {
					next[i] = strings.Index(s[at:], lit)
					if next[i] >= 0 {
						next[i] += at
					}
				}
				if next[i] >= 0 && (p < 0 || next[i] < p) {
					p = next[i]
				}
			}
		}
		if p < 0 || p >= before {
			return nil
		}
		at = p + 1
		if f.boundary && !wordBoundary(s, from, p) || accept != nil && !accept(s, p) {
			continue
		}
		for i, l := range f.needs {
			if needAt[i] < p {
				j := strings.Index(s[p:], l)
				if j < 0 {
					return nil // no match here or later can contain l
				}
				needAt[i] = p + j
			}
		}
		if tries++; tries > maxAnchoredTries {
			return f.search(s, from, before, accept)
		}
		if loc := f.anchored.FindStringSubmatchIndex(s[p:]); loc != nil {
			for i := range loc {
				if loc[i] >= 0 {
					loc[i] += p
				}
			}
			return loc
		}
	}
}

// search is find without the shortcut: the pattern's own leftmost search of s[from:], repeated
// past each match whose start accept refuses.
func (f *finder) search(s string, from, before int, accept func(s string, at int) bool) []int {
	for from <= len(s) {
		loc := f.re.FindStringSubmatchIndex(s[from:])
		if loc == nil {
			return nil
		}
		for i := range loc {
			if loc[i] >= 0 {
				loc[i] += from
			}
		}
		if loc[0] >= before {
			return nil
		}
		if accept == nil || accept(s, loc[0]) {
			return loc
		}
		from = loc[0] + 1
	}
	return nil
}

// wordBoundary reports whether \b holds at offset at of s[from:], as the regexp package decides it.
func wordBoundary(s string, from, at int) bool {
	before, after := false, false
	if at > from {
		r, _ := utf8.DecodeLastRuneInString(s[from:at])
		before = syntax.IsWordChar(r)
	}
	if at < len(s) {
		r, _ := utf8.DecodeRuneInString(s[at:])
		after = syntax.IsWordChar(r)
	}
	return before != after
}

// startLiterals returns literals one of which every match of re begins with, none a prefix of
// another; ok is false when re can match without one (an empty match, a leading assertion, a
// broad class) or needs more than maxStarts of them.
func startLiterals(re *syntax.Regexp) (starts []string, ok bool) {
	lits, _, ok := prefixes(re)
	if !ok || len(lits) == 0 || len(lits) > maxStarts {
		return nil, false
	}
	slices.Sort(lits)
	for _, l := range lits {
		if l == "" {
			return nil, false
		}
		if len(starts) > 0 && strings.HasPrefix(l, starts[len(starts)-1]) {
			continue // sorted: a longer literal follows the prefix it extends
		}
		starts = append(starts, l)
	}
	return starts, true
}

// prefixes returns literals one of which every match of re begins with ("" when some match may
// begin with anything); exact reports that they are exactly the strings re matches. ok is false
// when a match may begin with an assertion or the set grows past maxStarts.
func prefixes(re *syntax.Regexp) (lits []string, exact, ok bool) {
	if re.Flags&syntax.FoldCase != 0 {
		return nil, false, false
	}
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true, true
	case syntax.OpLiteral:
		if !plainRunes(re.Rune) {
			return []string{""}, false, true
		}
		return []string{string(re.Rune)}, true, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(lits) == maxStarts || !plainRunes([]rune{r}) {
					return []string{""}, false, true
				}
				lits = append(lits, string(r))
			}
		}
		return lits, true, true
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpQuest:
		lits, exact, ok := prefixes(re.Sub[0])
		return append(lits, ""), exact, ok
	case syntax.OpStar:
		return []string{""}, false, true
	case syntax.OpPlus:
		lits, _, ok := prefixes(re.Sub[0])
		return lits, false, ok
	case syntax.OpRepeat:
		if re.Min == 0 {
			return []string{""}, false, true
		}
		lits, _, ok := prefixes(re.Sub[0])
		return lits, false, ok
	case syntax.OpAlternate:
		exact = true
		for _, sub := range re.Sub {
			l, e, ok := prefixes(sub)
			if !ok {
				return nil, false, false
			}
			lits, exact = append(lits, l...), exact && e
		}
		return lits, exact, len(lits) <= maxStarts
	case syntax.OpConcat:
		lits, exact = []string{""}, true
		for _, sub := range re.Sub {
			if isAssertion(sub.Op) {
				if slices.Contains(lits, "") {
					return nil, false, false // the assertion may apply where the match begins
				}
				return lits, false, true
			}
			l, e, ok := prefixes(sub)
			if !ok {
				return nil, false, false
			}
			if n := len(lits) * len(l); n > maxStarts || n > max(len(lits), 4) && !slices.Contains(lits, "") {
				return lits, false, true // enough: longer literals would only multiply
			}
			var next []string
			for _, a := range lits {
				for _, b := range l {
					next = append(next, a+b)
				}
			}
			lits, exact = next, e
			if !exact {
				break
			}
		}
		return lits, exact, true
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpNoMatch:
		return nil, false, false
	}
	return []string{""}, false, true // any character
}

// plainRunes reports whether the regexp matches runes exactly where their UTF-8 encoding occurs
// in a text, as a substring search finds them. U+FFFD is not such a rune: it also matches each
// byte of invalid UTF-8.
func plainRunes(runes []rune) bool {
	for _, r := range runes {
		if r == utf8.RuneError || !utf8.ValidRune(r) {
			return false
		}
	}
	return true
}

func isAssertion(op syntax.Op) bool {
	switch op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	return false
}

// neededLiterals returns the literals at the top level of re, a concatenation, so every match
// contains them, longest first.
func neededLiterals(re *syntax.Regexp) []string {
	var needs []string
	if re.Op != syntax.OpConcat {
		return nil
	}
	for _, sub := range re.Sub {
		if sub.Op == syntax.OpCapture {
			sub = sub.Sub[0]
		}
		if sub.Op == syntax.OpLiteral && sub.Flags&syntax.FoldCase == 0 && plainRunes(sub.Rune) &&
			!slices.Contains(needs, string(sub.Rune)) {
			needs = append(needs, string(sub.Rune))
		}
	}
	slices.SortStableFunc(needs, func(a, b string) int { return len(b) - len(a) })
	return needs
}
