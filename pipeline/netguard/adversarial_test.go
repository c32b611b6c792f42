package netguard_test

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/netguard"
)

// internalV4 are IPv4 destinations an SSRF aims at, one per class.
var internalV4 = []string{"127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1"}

// translationForms writes v4 inside every IPv6 form that a translator, tunnel or host stack may
// deliver to that IPv4 address. classified reports whether netguard reads the IPv4 address back
// (so a public one passes); the others are refused whatever they carry.
var translationForms = []struct {
	name       string
	classified bool
	embed      func(v4 [4]byte) netip.Addr
}{
	{"IPv4-mapped ::ffff:0:0/96", true, func(v [4]byte) netip.Addr { return at(netip.MustParseAddr("::ffff:0:0"), 12, v) }},
	{"SIIT ::ffff:0:0:0/96", true, func(v [4]byte) netip.Addr { return at(netip.MustParseAddr("::ffff:0:0:0"), 12, v) }},
	{"NAT64 64:ff9b::/96", true, func(v [4]byte) netip.Addr { return at(netip.MustParseAddr("64:ff9b::"), 12, v) }},
	{"6to4 2002::/16", true, func(v [4]byte) netip.Addr { return at(netip.MustParseAddr("2002::1"), 2, v) }},
	{"IPv4-compatible ::/96", false, func(v [4]byte) netip.Addr { return at(netip.MustParseAddr("::"), 12, v) }},
	{"local-use NAT64 64:ff9b:1::/48 (/96 inside)", false, func(v [4]byte) netip.Addr { return at(netip.MustParseAddr("64:ff9b:1:2:3:4::"), 12, v) }},
	{"local-use NAT64 64:ff9b:1::/48 (/48 form)", false, func(v [4]byte) netip.Addr { return at(netip.MustParseAddr("64:ff9b:1::"), 6, v) }},
	{"Teredo 2001::/32 (server)", false, func(v [4]byte) netip.Addr { return at(netip.MustParseAddr("2001::8000:0:0"), 4, v) }},
	{"Teredo 2001::/32 (client, obfuscated)", false, func(v [4]byte) netip.Addr {
		return at(netip.MustParseAddr("2001:0:4136:e378:8000:63bf::"), 12, [4]byte{^v[0], ^v[1], ^v[2], ^v[3]})
	}},
}

func at(base netip.Addr, off int, v4 [4]byte) netip.Addr {
	b := base.As16()
	copy(b[off:off+4], v4[:])
	return netip.AddrFrom16(b)
}

// TestAdversarialSSRFIPv6Translations: every IPv6 translation form of every internal IPv4 class is
// refused by Classify, by CheckURL (literal in the URL) and by the dialer; public IPv4 addresses in
// the forms netguard reads back still pass. The old guard dialled ::7f00:1, ::ffff:0:7f00:1 and
// 64:ff9b:1::7f00:1.
func TestAdversarialSSRFIPv6Translations(t *testing.T) {
	client := netguard.NewHTTPClient(2*time.Second, false)
	t.Cleanup(client.CloseIdleConnections)
	for _, f := range translationForms {
		for _, s := range internalV4 {
			a := f.embed(netip.MustParseAddr(s).As4())
			if r := netguard.Classify(a); r == "" {
				t.Errorf("%s of %s: Classify(%s) accepted it", f.name, s, a)
			}
			raw := "http://" + netip.AddrPortFrom(a, 9).String() + "/hook"
			if err := netguard.CheckURLWith(t.Context(), raw, false, fakeResolver{}); !errors.Is(err, netguard.ErrBlockedAddress) {
				t.Errorf("%s of %s: CheckURL(%s) = %v, want ErrBlockedAddress", f.name, s, raw, err)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, raw, nil)
			if resp, err := client.Do(req); err == nil {
				_ = resp.Body.Close()
				t.Errorf("%s of %s: the client dialled %s", f.name, s, raw)
			} else if !errors.Is(err, netguard.ErrBlockedAddress) {
				t.Errorf("%s of %s: dial error %v, want ErrBlockedAddress", f.name, s, err)
			}
		}
		pub := f.embed(netip.MustParseAddr("8.8.8.8").As4())
		if got := netguard.Classify(pub) == ""; got != f.classified {
			t.Errorf("%s of 8.8.8.8: Classify(%s) = %q, want accepted=%v", f.name, pub, netguard.Classify(pub), f.classified)
		}
	}
}

// mustRefuse is the fuzz oracle, written independently of netguard: it extracts every IPv4 address
// that a standard translation form of a may deliver to and reports whether a, or any of them, is
// something no webhook may reach according to net/netip's own predicates.
func mustRefuse(a netip.Addr) bool {
	a = a.WithZone("")
	internal := func(x netip.Addr) bool {
		return !x.IsGlobalUnicast() || x.IsPrivate() || x.IsLoopback() || x.IsLinkLocalUnicast() || x.IsUnspecified() || x.IsMulticast()
	}
	if internal(a) {
		return true
	}
	if a.Is4() || a.Is4In6() {
		return internal(a.Unmap())
	}
	b := a.As16()
	v4 := func(off int) netip.Addr { return netip.AddrFrom4([4]byte(b[off : off+4])) }
	in := func(cidr string) bool { return netip.MustParsePrefix(cidr).Contains(a) }
	var carried []netip.Addr
	switch {
	case in("::/96"), in("::ffff:0:0:0/96"), in("64:ff9b::/96"):
		carried = append(carried, v4(12))
	case in("64:ff9b:1::/48"):
		for _, off := range []int{4, 5, 6, 7, 9, 12} { // RFC 6052 positions for /32../96
			carried = append(carried, v4(off))
		}
	case in("2002::/16"):
		carried = append(carried, v4(2))
	case in("2001::/32"):
		c := v4(12).As4()
		carried = append(carried, v4(4), netip.AddrFrom4([4]byte{^c[0], ^c[1], ^c[2], ^c[3]}))
	}
	for _, c := range carried {
		if internal(c) {
			return true
		}
	}
	return false
}

// oracleRefuses applies mustRefuse to a URL whose host is an IP literal.
func oracleRefuses(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(u.Hostname())
	return err == nil && mustRefuse(a)
}
