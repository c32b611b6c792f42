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

// embedding is an IPv6 range whose addresses carry an IPv4 address that a translator or tunnel on
// the path delivers to: such an address is judged as that IPv4 address.
type embedding struct {
	p    netip.Prefix
	at   int // byte offset of the embedded IPv4 address in the 16-byte form
	name string
}

var embeddings = func() []embedding {
	r := []struct {
		cidr string
		at   int
		name string
	}{
		{"64:ff9b::/96", 12, "NAT64"},                     // RFC 6052 well-known prefix
		{"::ffff:0:0:0/96", 12, "SIIT (IPv4-translated)"}, // RFC 2765 ::ffff:0:a.b.c.d
		{"2002::/16", 2, "6to4"},                          // RFC 3056, bits 16-48
	}
	out := make([]embedding, len(r))
	for i, e := range r {
		out[i] = embedding{netip.MustParsePrefix(e.cidr), e.at, e.name}
	}
	return out
}()

// refusedTranslations are IPv6 ranges that translate to IPv4 in a way that cannot be judged from the
// address alone, so they are refused whatever they carry. (IPv4-mapped ::ffff:0:0/96 is unmapped
// first; Teredo 2001::/32 is refused by the 2001::/23 entry of blocked.)
var refusedTranslations = func() []blockedRange {
	r := []struct{ cidr, reason string }{
		// Deprecated (RFC 4291 2.5.5.1) and never a legitimate destination; a host or SIIT
		// translator that still honours it delivers to the IPv4 address in the low 32 bits.
		{"::/96", "IPv4-compatible (deprecated, RFC 4291)"},
		// Local-use NAT64 (RFC 8215): the operator picks the prefix length inside the /48, so where
		// the IPv4 address sits is unknowable here; by definition it reaches the local network.
		{"64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"},
	}
	out := make([]blockedRange, len(r))
	for i, b := range r {
		out[i] = blockedRange{netip.MustParsePrefix(b.cidr), b.reason}
	}
	return out
}()

// Classify returns why a is refused as a webhook destination, or "" when it is a public unicast
// address. IPv4-mapped IPv6 addresses (::ffff:0:0/96) are judged as the IPv4 address they carry,
// and so are the IPv4 addresses embedded in NAT64 (64:ff9b::/96), SIIT (::ffff:0:0:0/96) and 6to4
// (2002::/16) addresses, because the network would deliver them there. IPv6 translation ranges
// whose IPv4 target cannot be read from the address (IPv4-compatible ::/96, local-use NAT64
// 64:ff9b:1::/48, Teredo 2001::/32) are refused outright.
func Classify(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		b := a.As16()
		for _, e := range embeddings {
			if e.p.Contains(a) {
				if r := Classify(netip.AddrFrom4([4]byte(b[e.at : e.at+4]))); r != "" {
					return r + " (via " + e.name + ")"
				}
				return ""
			}
		}
		// ::/128 and ::1/128 lie inside ::/96: keep their own reasons.
		if a.IsUnspecified() || a.IsLoopback() {
			return classifyBlocked(a)
		}
		for _, r := range refusedTranslations {
			if r.p.Contains(a) {
				return r.reason
			}
		}
	}
	return classifyBlocked(a)
}

func classifyBlocked(a netip.Addr) string {
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
