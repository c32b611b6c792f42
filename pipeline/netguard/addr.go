package netguard

import "net/netip"

// blockedRange is a prefix that is never a legitimate webhook destination.
type blockedRange struct {
	p      netip.Prefix
	reason string
}

var blocked = func() []blockedRange {
	r := []struct{ cidr, reason string }{
		// IPv4 (RFC 6890 special-purpose registry, minus nothing that is globally routable)
		{"0.0.0.0/8", "unspecified (\"this network\")"},
		{"10.0.0.0/8", "private (RFC 1918)"},
		{"100.64.0.0/10", "carrier-grade NAT (RFC 6598)"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local (cloud metadata services live here)"},
		{"172.16.0.0/12", "private (RFC 1918)"},
		{"192.0.0.0/24", "IETF protocol assignment"},
		{"192.0.2.0/24", "documentation (TEST-NET-1)"},
		{"192.88.99.0/24", "6to4 relay anycast"},
		{"192.168.0.0/16", "private (RFC 1918)"},
		{"198.18.0.0/15", "benchmarking (RFC 2544)"},
		{"198.51.100.0/24", "documentation (TEST-NET-2)"},
		{"203.0.113.0/24", "documentation (TEST-NET-3)"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"}, // includes 255.255.255.255 broadcast
		// IPv6
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"100::/64", "discard-only (RFC 6666)"},
		{"2001::/23", "IETF protocol assignment (Teredo, ORCHID, ...)"},
		{"2001:db8::/32", "documentation"},
		{"fc00::/7", "unique local (fc00::/7)"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local (deprecated)"},
		{"ff00::/8", "multicast"},
	}
	out := make([]blockedRange, len(r))
	for i, b := range r {
		out[i] = blockedRange{netip.MustParsePrefix(b.cidr), b.reason}
	}
	return out
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Classify returns why a is refused as a webhook destination, or "" when it is a public unicast
// address. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry, and so are the
// IPv4 addresses embedded in NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses, because the
// network would deliver them there.
func Classify(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			if r := Classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); r != "" {
				return r + " (via NAT64)"
			}
			return ""
		case sixToFour.Contains(a):
			if r := Classify(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); r != "" {
				return r + " (via 6to4)"
			}
			return ""
		}
	}
	for _, r := range blocked {
		if r.p.Contains(a) {
			return r.reason
		}
	}
	return ""
}

// CheckAddr returns a *BlockedAddressError (matching ErrBlockedAddress) when a is not a public
// unicast address, naming host in the message; else nil.
func CheckAddr(host string, a netip.Addr) error {
	if r := Classify(a); r != "" {
		return &BlockedAddressError{Host: host, Addr: a.Unmap().WithZone(""), Reason: r}
	}
	return nil
}
