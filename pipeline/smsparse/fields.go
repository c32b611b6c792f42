package smsparse

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// dhaka is Asia/Dhaka: +06:00 all year (Bangladesh has had no DST since 2009), so a fixed zone
// needs no tzdata on the host.
var dhaka = time.FixedZone("Asia/Dhaka", 6*3600)

// text is a normalised SMS and its ASCII-lower-cased copy: every pattern below is lower-case and
// runs on low (cheaper than case-insensitive matching); values are sliced from s at the same
// offsets, so a TrxID keeps its case.
type text struct{ s, low string }

// label is a pattern with the words one of which must occur for it to match, tested first with a
// substring search: most labels are absent from most texts, and a failed search is far cheaper
// than a failed regexp scan. When the literals the finder itself looks for contain a word
// (kwsSure), its own search is that test.
type label struct {
	kws     []string
	find    finder
	kwsSure bool // every match the finder returns contains one of kws
}

func lbl(kws, pattern string) label {
	l := label{kws: strings.Split(kws, "|"), find: newFinder(regexp.MustCompile(pattern))}
	l.kwsSure = l.find.implies(l.kws)
	return l
}

// Labelled values. A label must not continue a word ("coffee 5" is no fee): see label.first.
// The space between a label and its value is " *", never a line break, so an empty "Ref:" does
// not swallow the next line.
var (
	amountLabel  = lbl("am", `(?:amount|amt) *:? *`+cur+`? *(`+numBody+`)`)
	feeLabel     = lbl("fee|charge", `(?:fee|charge)s? *:? *`+cur+`? *(`+numBody+`)`)
	balanceLabel = lbl("bal", `(?:net ?bal(?:ance)?|balance|bal) *(?:is *)?:? *`+cur+`? *(`+numBody+`)`)
	commLabel    = lbl("comm", `comm(?:ission)? *:? *`+cur+`? *(`+numBody+`)`)
	trxLabel     = lbl("id", `(?:trx|txn|trnx|transaction) ?id *(?:no\.?)? *[:.#-]? *([\p{L}\p{N}]*)`)
	refLabel     = lbl("ref", `ref(?:erence)?\b(?: *no\b\.?)? *[:-]? *`)
	cpLabel      = lbl(":", `(?:sender|customer|uddokta|agent|receiver|biller|from|to|mobile(?: no)?|number) *: *`)
	// moneyRe is any currency-marked amount, prefix ("Tk 500") or suffix ("500 Tk").
	moneyRe = regexp.MustCompile(cur + ` *(` + numBody + `)|(` + numBody + `) *(?:tk|taka|bdt)\b`)
)

// Ends of a free-text value (Ref, a name): the next field's label. They run on the lower-cased value.
var valueEnds = []*regexp.Regexp{
	// ". Fee", ".Balance", ". TrxID": a sentence ending before a known label.
	regexp.MustCompile(`\. *(?:fee|charge|net ?bal|balance|bal|comm|trx ?id|txn ?id|trnx ?id|transaction ?id|amount|amt|date|ref\b|your\b|download\b)`),
	// " Fee:", " Balance Tk", "Sender:": a known label with its colon or currency.
	regexp.MustCompile(`(?:^| )(?:fee|charge|net ?bal|balance|bal|comm|amount|amt|ref|sender|customer|receiver|uddokta|date) *(?::|-|(?:tk|taka|bdt)\b)`),
	// " TrxID X": a transaction id label, with or without colon.
	regexp.MustCompile(`(?:^| )(?:trx|txn|trnx|transaction) ?id\b`),
	// " Word:" or " MMYYYY/Contact:": any other label.
	regexp.MustCompile(` [a-z][a-z/]*:`),
}

// nameEnds adds the ends of a counterparty name in running text.
var nameEnds = append(valueEnds[:len(valueEnds):len(valueEnds)],
	regexp.MustCompile(` (?:is |was )?successful| has been\b| made on\b|\.\.\.|, | (?:is|was)$`))

// first returns the first match in low at or after from whose label does not continue a word, as
// submatch indexes into low, or nil.
func (l label) first(low string, from int) []int {
	if from > len(low) {
		return nil
	}
	if l.kwsSure || slices.ContainsFunc(l.kws, func(kw string) bool { return strings.Contains(low[from:], kw) }) {
		return l.find.find(low, from, len(low)+1, notAfterLetter)
	}
	return nil
}

// notAfterLetter reports whether the match at s[at:] does not continue a word.
func notAfterLetter(s string, at int) bool { return at == 0 || !isLetter(s[at-1]) }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// parseAmount reads the number token s[i:j]. It is well formed when pipeline.ParseGroupedMoney
// accepts it — at most two decimals, commas only as Western ("121,710.33") or lakh ("1,21,710.33")
// groups, at most pipeline.MaxMoney — and it is not immediately followed by more of a number
// ("500.00.5", "1,2"). Zero is allowed here; callers that need a positive amount check.
func parseAmount(s string, i, j int) (int64, bool) {
	tok := s[i:j]
	if j+1 < len(s) && (s[j] == '.' || s[j] == ',') && isDigit(s[j+1]) {
		return 0, false
	}
	if strings.HasPrefix(tok, ".") {
		tok = "0" + tok
	}
	m, err := pipeline.ParseGroupedMoney(tok)
	if err != nil {
		return 0, false
	}
	return int64(m), true
}

// labelledMoney reads the value of the first l label at or after from. It is nil when malformed,
// and also when a later l label has another value (or a malformed one): the payer's spans are
// masked in t.low, so two values mean a text paystream does not understand, and neither is
// trusted. at is the first label's submatch indexes, nil when there is none.
func labelledMoney(l label, t text, from int) (v *int64, at []int) {
	loc := l.first(t.low, from)
	if loc == nil {
		return nil, nil
	}
	n, ok := parseAmount(t.s, loc[2], loc[3])
	for next := loc[1]; ; {
		l2 := l.first(t.low, next)
		if l2 == nil {
			break
		}
		if n2, ok2 := parseAmount(t.s, l2[2], l2[3]); ok2 != ok || n2 != n {
			return nil, loc
		}
		next = max(l2[1], l2[0]+1)
	}
	if !ok {
		return nil, loc
	}
	return &n, loc
}

// positive keeps v only if it is > 0: a transaction amount of zero is not an amount.
func positive(v *int64) *int64 {
	if v == nil || *v <= 0 {
		return nil
	}
	return v
}

// firstMoney is the first currency-marked amount at or after from that is not the value of a fee,
// balance or commission label: the amount of "Tk 30 has been returned" and "Cash back 49.40 Tk".
func firstMoney(t text, from int, skip [][]int) *int64 {
	s := t.s
	for _, loc := range moneyRe.FindAllStringSubmatchIndex(t.low[from:], -1) {
		i, j := loc[2], loc[3]
		if i < 0 {
			i, j = loc[4], loc[5]
		}
		i, j = i+from, j+from
		inside := false
		for _, sp := range skip {
			if sp != nil && i >= sp[0] && j <= sp[1] {
				inside = true
			}
		}
		if inside {
			continue
		}
		if n, ok := parseAmount(s, i, j); ok {
			return positive(&n)
		}
		return nil
	}
	return nil
}

// trxShapes are the TrxID forms by provider: length and whether only digits. Values are
// upper-case ASCII letters and digits; an unknown provider accepts 6 to 20 of them.
var trxShapes = map[pipeline.Provider]struct {
	n      int
	digits bool
}{
	pipeline.BKash:  {10, false}, // "DAM6CTT7RW"
	pipeline.Nagad:  {8, false},  // "75K92M3Z"
	pipeline.Rocket: {10, true},  // "6578516337"
	pipeline.Upay:   {10, false}, // "01K7C8Z24V", the first 10 characters of a ULID
}

// glued are words that follow a TrxID without a space in the samples ("...8Bat 13/03",
// "1111111111Date:"), written as they appear: an upper-case tail is part of the id, not glue.
var glued = []string{"at", "Date", "date", "Balance", "Bal", "Fee", "Ref", "Comm", "Amount", "NetBal", "Your", "Download"}

// trxID finds the TrxID label at or after from and validates its value for p. It returns the id
// and where the first label is (-1 if none). The id is nil when absent or malformed, and also when
// a second, different well-formed id follows: every format puts the provider's TrxID after the
// payer's free-text Ref, so "Ref x. TrxID ABCDEFGHIJ" must not lend the payment another id.
func trxID(t text, from int, p pipeline.Provider) (*string, int) {
	loc := trxLabel.first(t.low, from)
	if loc == nil {
		return nil, -1
	}
	id, ok := trxValue(t.s[loc[2]:loc[3]], p)
	for next := loc[1]; ; {
		l2 := trxLabel.first(t.low, next)
		if l2 == nil {
			break
		}
		if id2, ok2 := trxValue(t.s[l2[2]:l2[3]], p); ok2 {
			if !ok || id2 != id {
				return nil, loc[0]
			}
		}
		next = max(l2[1], l2[0]+1)
	}
	if !ok {
		return nil, loc[0]
	}
	return &id, loc[0]
}

// trxValue validates the text after a TrxID label for p.
func trxValue(v string, p pipeline.Provider) (string, bool) {
	shape, known := trxShapes[p]
	n := upperAlnumPrefix(v, known && shape.digits)
	if known {
		if n < shape.n {
			return "", false
		}
		n = shape.n
	} else if n < 6 || n > 20 {
		return "", false
	}
	if n < len(v) && !gluedWord(v[n:]) { // "ABCDE12345Balance" is glue; "ABCDE12345X" is too long
		return "", false
	}
	id := v[:n]
	if strings.Trim(id, "X") == "" { // "XXXXXXXXXX": masked by whoever exported the SMS
		return "", false
	}
	return id, true
}

// upperAlnumPrefix is the length of the leading run of ASCII A-Z0-9 (digits only if digits).
func upperAlnumPrefix(v string, digits bool) int {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isDigit(c) && (digits || c < 'A' || c > 'Z') {
			return i
		}
	}
	return len(v)
}

func gluedWord(tail string) bool {
	for _, g := range glued {
		if strings.HasPrefix(tail, g) {
			return true
		}
	}
	return false
}

// reference reads the Ref value at or after from: nil when absent, empty ("Ref .", "Ref-.") or a
// placeholder (N/A, NA, None, -).
func reference(t text, from int) *string {
	loc := refLabel.first(t.low, from)
	if loc == nil {
		return nil
	}
	v := cutValue(t.s[loc[1]:], t.low[loc[1]:], false)
	if isPlaceholder(v) {
		return nil
	}
	return &v
}

// isPlaceholder reports a value that says there is none.
func isPlaceholder(v string) bool {
	switch strings.ToLower(v) {
	case "", "n/a", "na", "none", "null", "nil", "-":
		return true
	}
	return false
}

// cutValue cuts free text v (low: the same lower-cased) at the end of its line or at the next
// field label, and trims spaces, sentence dots and quotes.
func cutValue(v, low string, name bool) string {
	end := len(v)
	if i := strings.IndexByte(v, '\n'); i >= 0 {
		end = i
	}
	ends := valueEnds
	if name {
		ends = nameEnds
	}
	for _, re := range ends {
		if loc := re.FindStringIndex(low[:end]); loc != nil {
			end = loc[0]
		}
	}
	return trimValue(v[:end])
}

// trimValue trims spaces, sentence dots and quotes around a free-text value.
func trimValue(v string) string {
	v = strings.TrimSpace(v)
	for {
		t := strings.TrimSpace(strings.TrimRight(strings.Trim(v, `'"`), ".-:;"))
		if t == v {
			return v
		}
		v = t
	}
}

// trimQuotesSpaces trims spaces and quotes around a counterparty.
func trimQuotesSpaces(v string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(v), `'"`))
}

var (
	msisdnPrefixRe = regexp.MustCompile(`^(?:\+?880|00880|0)1[3-9]\d{8}`)
	// maskedRe is a counterparty or id blanked out entirely ("XXXXX", "*****").
	maskedRe = regexp.MustCompile(`^[xX*]{3,}(?:$|[^A-Za-z0-9*])`)
)

// leadingMSISDN reads a Bangladeshi mobile number at the start of v.
func leadingMSISDN(v string) (string, bool) {
	m := msisdnPrefixRe.FindString(v)
	if m == "" || (len(m) < len(v) && isDigit(v[len(m)])) {
		return "", false
	}
	return pipeline.NormalizeMSISDN(m)
}

// counterpartyValue reads the counterparty at the start of raw: a mobile number in its 01XXXXXXXXX
// form, nil when fully masked, else the name as written up to the next field.
func counterpartyValue(raw string) *string {
	raw = trimQuotesSpaces(raw)
	if n, ok := leadingMSISDN(raw); ok {
		return &n
	}
	if maskedRe.MatchString(raw) {
		return nil
	}
	v := cutValue(raw, asciiLower(raw), true)
	if v == "" {
		return nil
	}
	return &v
}

// counterpartyLabel reads a "Sender:", "Customer:", "Uddokta:", "From:" ... value at or after from.
func counterpartyLabel(t text, from int) *string {
	loc := cpLabel.first(t.low, from)
	if loc == nil {
		return nil
	}
	return counterpartyValue(t.s[loc[1]:])
}

var (
	// "13/03/2023 16:48", "23/11/2024", "27/10/2024 14:05", "1/2/2026, 9:05 pm"
	dateNumRe = regexp.MustCompile(`(\d{1,2})[/-](\d{1,2})[/-](\d{4})(?:,? *(?:at *)?(\d{1,2}):(\d{2})(?::(\d{2}))?(?: *([ap])\.? ?m\b)?)?`)
	// Rocket: "27-SEP-25 05:59:38 pm"
	dateMonRe = regexp.MustCompile(`(\d{1,2})[- ](jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[- ,] *(\d{4}|\d{2})(?:,? *(?:at *)?(\d{1,2}):(\d{2})(?::(\d{2}))?(?: *([ap])\.? ?m\b)?)?`)
	months    = "janfebmaraprmayjunjulaugsepoctnovdec"

	dateNum, dateMon = newFinder(dateNumRe), newFinder(dateMonRe)
)

// numDateAt and monDateAt tell timestamp where a date may start: not glued to a preceding digit,
// and (a cheap test of the first characters of dateNumRe and dateMonRe, which skips most numbers
// without running them) one or two digits followed by the separator the pattern needs next.
func numDateAt(s string, at int) bool { return notAfterDigit(s, at) && daySep(s, at, "/-") }
func monDateAt(s string, at int) bool { return notAfterDigit(s, at) && daySep(s, at, "- ") }

// notAfterDigit reports whether the match at s[at:] does not continue a number.
func notAfterDigit(s string, at int) bool { return at == 0 || !isDigit(s[at-1]) }

// daySep reports whether s[at:] begins with one or two ASCII digits and then a byte of seps.
func daySep(s string, at int, seps string) bool {
	for i := at; i < len(s) && i <= at+2; i++ {
		if i > at && strings.IndexByte(seps, s[i]) >= 0 {
			return true
		}
		if !isDigit(s[i]) {
			return false
		}
	}
	return false
}

// timestamp reads the first date in low at or after from. A date with no time gives nil: midnight
// would be a wrong instant that the matcher's time window would trust, so callers use the time the
// forwarder received the SMS instead.
func timestamp(low string, from int) *string {
	s := low
	// The first date not glued to a preceding digit; on a tie dateNumRe wins.
	best, bestRe := dateNum.find(s, from, len(s), numDateAt), dateNumRe
	before := len(s)
	if best != nil {
		before = best[0]
	}
	if loc := dateMon.find(s, from, before, monDateAt); loc != nil {
		best, bestRe = loc, dateMonRe
	}
	if best == nil || best[8] < 0 {
		return nil
	}
	g := func(i int) string {
		if best[2*i] < 0 {
			return ""
		}
		return s[best[2*i]:best[2*i+1]]
	}
	atoi := func(v string) int { n, _ := strconv.Atoi(v); return n }
	day, year := atoi(g(1)), atoi(g(3))
	month := atoi(g(2))
	if bestRe == dateMonRe {
		month = strings.Index(months, g(2))/3 + 1
	}
	if len(g(3)) == 2 {
		year += 2000
	}
	hour, minute, sec := atoi(g(4)), atoi(g(5)), atoi(g(6))
	if ap := g(7); ap != "" {
		if hour < 1 || hour > 12 {
			return nil
		}
		hour %= 12
		if ap == "p" {
			hour += 12
		}
	}
	if year < 2000 || year > 2099 || month < 1 || month > 12 || hour > 23 || minute > 59 || sec > 59 {
		return nil
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, dhaka)
	if t.Day() != day || int(t.Month()) != month { // 31/02 rolled over
		return nil
	}
	ts := t.Format(time.RFC3339)
	return &ts
}
