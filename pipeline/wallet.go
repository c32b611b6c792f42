package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Environment separates SANDBOX and LIVE in keys, data, webhooks and metric labels.
type Environment string

// The two environments. Nothing crosses between them.
const (
	Sandbox Environment = "SANDBOX"
	Live    Environment = "LIVE"
)

// Valid reports whether e is SANDBOX or LIVE.
func (e Environment) Valid() bool { return e == Sandbox || e == Live }

// Provider is a mobile financial service.
type Provider string

// The providers paystream knows.
const (
	BKash  Provider = "bkash"
	Nagad  Provider = "nagad"
	Rocket Provider = "rocket"
	Upay   Provider = "upay"
)

// Valid reports whether p is a known provider.
func (p Provider) Valid() bool {
	switch p {
	case BKash, Nagad, Rocket, Upay:
		return true
	}
	return false
}

// Wallet is a receiving account: the partition key of every inbound fact and the Redis hash tag of
// the matcher's state. A wallet belongs to exactly one merchant.
type Wallet struct {
	Provider    Provider    `json:"provider"`
	Account     string      `json:"account"`
	Environment Environment `json:"environment"`
}

// ErrBadWallet reports a wallet with an unknown provider or environment, or a malformed account.
var ErrBadWallet = errors.New("wallet needs a known provider (bkash, nagad, rocket, upay), an environment (SANDBOX or LIVE) and an 11-digit account such as 01700000001")

var msisdnRE = regexp.MustCompile(`^01[3-9][0-9]{8}$`)

// NormalizeMSISDN returns a Bangladeshi mobile number in its 11-digit national form (01XXXXXXXXX),
// accepting +880/880/0088 prefixes, spaces and dashes. ok is false when it is not a mobile number.
func NormalizeMSISDN(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	for _, p := range []string{"+880", "00880", "880"} {
		if strings.HasPrefix(s, p) && len(s) == len(p)+10 {
			s = "0" + s[len(p):]
			break
		}
	}
	return s, msisdnRE.MatchString(s)
}

// Validate normalises the account and checks the provider and environment.
func (w *Wallet) Validate() error {
	w.Provider = Provider(strings.ToLower(string(w.Provider)))
	w.Environment = Environment(strings.ToUpper(string(w.Environment)))
	acct, ok := NormalizeMSISDN(w.Account)
	if !w.Provider.Valid() || !w.Environment.Valid() || !ok {
		return ErrBadWallet
	}
	w.Account = acct
	return nil
}

// Key is the wallet's stable identity, "bkash:01700000001:SANDBOX": the Kafka record key of inbound
// events and the body of the Redis hash tag.
func (w Wallet) Key() string {
	return string(w.Provider) + ":" + w.Account + ":" + string(w.Environment) // one allocation; hot in the matcher
}

// ParseWalletKey is the inverse of Key.
func ParseWalletKey(k string) (Wallet, error) {
	p, rest, ok1 := strings.Cut(k, ":")
	a, e, ok2 := strings.Cut(rest, ":")
	w := Wallet{Provider: Provider(p), Account: a, Environment: Environment(e)}
	if !ok1 || !ok2 || w.Validate() != nil {
		return Wallet{}, ErrBadWallet
	}
	return w, nil
}

// MaskMSISDN hides the middle of a phone number for logs: "01700000001" → "017*****001".
// Anything shorter than 7 characters is masked whole.
func MaskMSISDN(s string) string {
	if len(s) < 7 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-6) + s[len(s)-3:]
}

// Masked is Key with the account masked, for logs: "bkash:017*****001:SANDBOX". Logs never carry
// a full MSISDN.
func (w Wallet) Masked() string {
	return fmt.Sprintf("%s:%s:%s", w.Provider, MaskMSISDN(w.Account), w.Environment)
}
