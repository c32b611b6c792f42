package smsparse

import (
	"slices"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// MaxTextBytes bounds the text Parse reads. A forwarded SMS, even a ten-part one with a promo, is
// far shorter; a longer text is classified unknown without being scanned.
const MaxTextBytes = 8 << 10

// Result is what one SMS says. Pointer fields are null in JSON when the SMS does not carry the
// value or carries a malformed one; a malformed amount or TrxID is never guessed.
type Result struct {
	Provider      pipeline.Provider `json:"provider"`     // "" when unknown
	Kind          string            `json:"kind"`         // one of the Kind constants
	Direction     string            `json:"direction"`    // DirectionCredit, DirectionDebit or DirectionNone
	Pays          bool              `json:"pays"`         // money a customer sent that a merchant may accept; see the package doc
	AmountPaisa   *int64            `json:"amount_paisa"` // > 0 and <= pipeline.MaxMoney
	TrxID         *string           `json:"trx_id"`       // upper-case ASCII in the provider's shape
	Counterparty  *string           `json:"counterparty"` // 01XXXXXXXXX when a mobile number, else the name or account as written
	Reference     *string           `json:"reference"`    // null when absent, empty or N/A
	BalancePaisa  *int64            `json:"balance_paisa"`
	FeePaisa      *int64            `json:"fee_paisa"`
	Timestamp     *string           `json:"timestamp"`                // RFC 3339 in +06:00, null without a time of day
	SenderTrusted *bool             `json:"sender_trusted,omitempty"` // set by ParseFrom only
}

// Options configures ParseFrom.
type Options struct {
	// TrustedSenders lists, per provider, the SMS sender ids (alphanumeric sender names or short
	// codes) that provider sends from, each spelled exactly as the phone reports it. A sender is
	// trusted only when it is byte for byte one of them: no trimming, no case folding, no Unicode
	// normalisation, since "BKASH", "bKash\u00a0" or "bΚash" with a Greek Kappa are other sender
	// ids on a phone, which anyone can send from. A nil map trusts no one.
	TrustedSenders map[pipeline.Provider][]string
}

// DefaultOptions trusts exactly the sender ids the providers send from: bKash: "bKash"; Nagad:
// "NAGAD", "Nagad"; Rocket: "16216"; Upay: "upay", "Upay". The result is a fresh copy the caller
// may change.
func DefaultOptions() Options {
	return Options{TrustedSenders: map[pipeline.Provider][]string{
		pipeline.BKash:  {"bKash"},
		pipeline.Nagad:  {"NAGAD", "Nagad"},
		pipeline.Rocket: {"16216"},
		pipeline.Upay:   {"upay", "Upay"},
	}}
}

// providersFor returns the providers that list sender exactly (Options.TrustedSenders), sorted.
func (o Options) providersFor(sender string) []pipeline.Provider {
	if sender == "" {
		return nil
	}
	var out []pipeline.Provider
	for p, list := range o.TrustedSenders {
		if slices.Contains(list, sender) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Parse reads one SMS text judging the content only: Pays is true for a well-formed incoming
// customer payment whoever sent it, and SenderTrusted is unset. Ingest must use ParseFrom. Parse
// never panics and reads at most MaxTextBytes; it is safe for concurrent use.
func Parse(text string) Result { return parse(text, nil) }

// ParseFrom reads one SMS text received from sender. The provider is the sender's when the sender
// is trusted for one (the content's strong evidence of another provider — a wording only that
// provider uses, or its brand name — overrides it and leaves the sender untrusted); otherwise it is
// inferred from the content. SenderTrusted is always set, and Pays is true only if the sender is
// trusted for the provider and the content pays.
func ParseFrom(sender, text string, opt Options) Result {
	cands := opt.providersFor(sender)
	if cands == nil {
		cands = []pipeline.Provider{}
	}
	return parse(text, cands)
}

// provider names the provider of the text low whose sentence is m, and whether the sender is
// trusted for it; senders is nil for Parse, else the providers that trust the sender.
func provider(low string, m match, senders []pipeline.Provider) (p pipeline.Provider, trusted bool) {
	p, strong := inferProvider(low, m)
	if senders != nil {
		switch {
		case len(senders) == 0:
		case slices.Contains(senders, p):
			trusted = true
		case strong && p != "":
			// The text is another provider's: suspicious, whatever the sender id says.
		default:
			p, trusted = senders[0], true
		}
	}
	return p, trusted
}

// parse reads raw; senders is nil for Parse, else the providers that trust the sender.
func parse(raw string, senders []pipeline.Provider) (res Result) {
	res = Result{Kind: KindUnknown, Direction: DirectionNone}
	trusted := false
	if senders != nil {
		defer func() { res.SenderTrusted = &trusted }()
	}
	if len(raw) > MaxTextBytes {
		if len(senders) > 0 {
			res.Provider, trusted = senders[0], true
		}
		return res
	}
	s := normalize(raw)
	low := asciiLower(s)
	// First the provider's sentence, then the payer's spans by that provider's format; the
	// sentence, provider and failure notice are then read again with those spans masked. When the
	// masked text names another provider (the payer's text had named one), the spans are located
	// again by that provider's format.
	unmasked := low
	m := sentence(s, low)
	var p pipeline.Provider
	p, trusted = provider(low, m, senders)
	var ps payer
	for range 2 {
		ps = payerSpans(text{s, unmasked}, m, p)
		if !ps.any() {
			break
		}
		low = ps.mask(unmasked)
		m = sentence(s, low)
		p0 := p
		if p, trusted = provider(low, m, senders); p == p0 {
			break
		}
	}
	m = failure(low, m)
	res.Provider = p
	res.Kind = m.ev.kind(p)
	res.Direction = m.ev.direction()
	if !m.ev.fields() {
		return res
	}

	t, from := text{s, low}, m.start
	var trxAt int
	res.TrxID, trxAt = trxID(t, from, p)
	switch {
	case ps.hasName:
		res.Counterparty = counterpartyValue(s[ps.name.at:ps.name.end])
	case m.hasCP:
		res.Counterparty = counterpartyValue(m.cp)
	case m.rule != nil:
		res.Counterparty = counterpartyLabel(t, from)
	}
	fee, feeAt := labelledMoney(feeLabel, t, from)
	bal, balAt := labelledMoney(balanceLabel, t, from)
	res.FeePaisa, res.BalancePaisa = fee, bal
	if m.amt != "" {
		if n, ok := parseAmount(s, m.amtAt-len(m.amt), m.amtAt); ok {
			res.AmountPaisa = positive(&n)
		}
	} else if amt, amtAt := labelledMoney(amountLabel, t, from); amtAt != nil {
		res.AmountPaisa = positive(amt)
	} else {
		_, commAt := labelledMoney(commLabel, t, from)
		res.AmountPaisa = firstMoney(t, from, [][]int{feeAt, balAt, commAt})
	}
	if ps.hasRef {
		res.Reference = refValue(s[ps.ref.at:ps.ref.end])
	} else {
		res.Reference = reference(t, from)
	}
	tsFrom := from
	if trxAt >= 0 {
		tsFrom = trxAt
	}
	res.Timestamp = timestamp(low, tsFrom)

	res.Pays = m.ev.payable() && p.Valid() && res.AmountPaisa != nil && res.TrxID != nil &&
		(senders == nil || trusted)
	return res
}

// Payment returns the payment to report when r.Pays: Sender is the counterparty when it is a
// mobile number, OccurredAt the SMS timestamp in Asia/Dhaka or the zero time when the SMS has none
// (the caller then uses the time the forwarder received it). ok is false when r does not pay.
func (r Result) Payment() (pipeline.Payment, bool) {
	if !r.Pays || r.AmountPaisa == nil || r.TrxID == nil || !r.Provider.Valid() {
		return pipeline.Payment{}, false
	}
	p := pipeline.Payment{Provider: r.Provider, TrxID: *r.TrxID, Amount: pipeline.Money(*r.AmountPaisa)}
	if r.Counterparty != nil {
		if n, ok := pipeline.NormalizeMSISDN(*r.Counterparty); ok {
			p.Sender = n
		}
	}
	if r.Reference != nil {
		p.Reference = *r.Reference
	}
	if r.Timestamp != nil {
		if t, err := time.Parse(time.RFC3339, *r.Timestamp); err == nil {
			p.OccurredAt = t.In(dhaka)
		}
	}
	return p, true
}

// asciiLower lower-cases A-Z only, so byte offsets in the result are offsets in s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
