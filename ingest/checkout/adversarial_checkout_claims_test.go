package checkout

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAdversarialCheckoutClaimLockout: whoever else holds a checkout URL spends claims on it from
// their own addresses, as JSON or through the form. The customer, on an address of their own,
// still gets their claims through: always for a TrxID paystream has received, and for a TrxID not
// received yet until the intent's miss budget (coIntentMissLimit) is spent — which bounds the
// guesses against one intent however many addresses the guesser has. The old code counted 5
// claims per intent from anyone, so 5 claims from any address locked the customer out for 10
// minutes.
func TestAdversarialCheckoutClaimLockout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		attackers []string // each spends claims until it is refused
		form      bool
	}{
		{"one IPv4 address, JSON", []string{"203.0.113.66"}, false},
		{"one IPv4 address, form", []string{"203.0.113.66"}, true},
		{"one IPv6 /64, JSON", []string{"2001:db8:66:1::1"}, false},
		{"twelve addresses, JSON", addrs("198.51.100.%d", 12), false},
		{"twelve addresses, form", addrs("198.51.100.%d", 12), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 5*time.Second)
			key, w := f.coMerchant(t, "Shop")
			id := f.coNewIntent(t, key, 700, "LO-1", "")
			claim := func(peer, trx string) (int, string) {
				if tc.form {
					code, page, _ := f.coClaimForm(id, url.Values{"trxId": {trx}}, peer)
					if i := strings.Index(page, `class="error"`); i >= 0 { // the page's message, not all of it
						return code, coClip(page[i:], 200)
					}
					return code, coClip(page, 200)
				}
				code, raw, _ := f.coDo(coReq{method: "POST", path: "/v1/checkout/" + id + "/claim", contentType: "application/json", body: `{"trxId":"` + trx + `"}`, peer: peer})
				return code, raw
			}
			accepted := 0
			for _, a := range tc.attackers {
				for i := 0; ; i++ {
					code, body := claim(a, coTrx())
					if code == 429 {
						break
					}
					if code != 202 && code != 303 {
						t.Fatalf("attacker %s claim %d: %d %s", a, i+1, code, body)
					}
					accepted++
					if i > 40 {
						t.Fatalf("attacker %s: %d claims and never refused", a, i+1)
					}
				}
			}
			if accepted > int(coIntentMissLimit.Burst) {
				t.Fatalf("%d guesses accepted against one intent; the intent-wide bound is %d", accepted, coIntentMissLimit.Burst)
			}

			// The customer's payment has been reported: its TrxID is seen.
			paid := coTrx()
			f.RDB.Set(t.Context(), f.Keys.Trx(w, paid), "ev-customer", 0)
			customer := "192.0.2.10"
			if code, body := claim(customer, paid); code != 202 && code != 303 {
				t.Fatalf("the customer's claim of their received payment after the attacker: %d %s", code, body)
			}
			// A claim of a payment not received yet: accepted while the intent's miss budget lasts.
			code, body := claim(customer, coTrx())
			missesLeft := accepted < int(coIntentMissLimit.Burst)
			switch {
			case missesLeft && code != 202 && code != 303:
				t.Fatalf("the customer's early claim with %d misses spent: %d %s", accepted, code, body)
			case !missesLeft && code != 429:
				t.Fatalf("an early claim after the intent's miss budget was spent: %d, want 429", code)
			case !missesLeft && !tc.form && !strings.Contains(body, "not received yet"):
				t.Fatalf("429 does not say what was limited: %s", body)
			}
			// The customer's own budget is theirs: 5 in all (2 used), then 429 for them alone.
			for i := range 3 {
				if code, body := claim(customer, paid); code != 202 && code != 303 {
					t.Fatalf("customer claim %d: %d %s", i+3, code, body)
				}
			}
			if code, _ := claim(customer, paid); code != 429 {
				t.Fatalf("the customer's 6th claim: %d, want 429", code)
			}
			if code, body := claim("192.0.2.11", paid); code != 202 && code != 303 {
				t.Fatalf("the customer from a second network: %d %s", code, body)
			}
		})
	}
}

func addrs(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i+1)
	}
	return out
}
