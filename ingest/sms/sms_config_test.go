package sms

import (
	"testing"

	"github.com/paystream/paystream/pipeline"
)

// TestTrustedSendersConfigurable: a provider named in Config.TrustedSenders trusts exactly those
// sender ids, byte for byte; other providers keep the parser's defaults.
func TestTrustedSendersConfigurable(t *testing.T) {
	s := &Surface{trusted: map[pipeline.Provider][]string{pipeline.BKash: {"bKash-Biz", "16247"}}}
	for _, c := range []struct {
		p      pipeline.Provider
		sender string
		want   bool
	}{
		{pipeline.BKash, "bKash-Biz", true}, {pipeline.BKash, "bkash-biz", false}, {pipeline.BKash, " 16247", false},
		{pipeline.BKash, "16247", true}, {pipeline.BKash, "bKash", false}, {pipeline.Nagad, "nagad", false},
		{pipeline.Nagad, "NAGAD", true}, {pipeline.Nagad, "bKash-Biz", false}, {pipeline.Rocket, "16216", true},
	} {
		if got := s.trustsSender(c.p, c.sender); got != c.want {
			t.Errorf("trustsSender(%s, %q) = %v, want %v", c.p, c.sender, got, c.want)
		}
	}
	if res := s.walletSenders(pipeline.BKash); len(res.TrustedSenders[pipeline.BKash]) != 2 || len(res.TrustedSenders) != 1 {
		t.Fatalf("walletSenders: %+v", res)
	}
}
