package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ParseURL parses raw and checks what can be checked without the network: an absolute http or
// https URL with a host, a valid port if any, and no userinfo. The webhook sink uses it before
// every attempt (the dialer does the address checks); CheckURL adds resolution.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Error repeats the URL, which may carry tokens: report the reason only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return nil, fmt.Errorf("%w (no scheme given)", ErrUnsupportedScheme)
	default:
		return nil, fmt.Errorf("%w, not %q", ErrUnsupportedScheme, u.Scheme+"://")
	}
	if u.User != nil {
		return nil, ErrUserinfo
	}
	if u.Hostname() == "" {
		return nil, ErrMissingHost
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: port %q is not 1-65535", ErrBadURL, p)
		}
	}
	return u, nil
}

// resolver is what CheckURL needs from net.Resolver (tests replace it).
type resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL validates a webhook URL (see ParseURL) and resolves its host with the system resolver,
// honouring ctx. Unless allowPrivate, it refuses the URL if the host is, or any of its addresses
// is, internal (loopback, private, unique-local, link-local including the metadata service,
// unspecified, multicast, CGNAT, reserved and documentation ranges): the dialer would pick any of
// them. It returns nil or an error wrapping one of this package's sentinels; Error() is written for
// the person who typed the URL and never repeats the full URL.
//
// CheckURL is a registration-time check only: DNS may change afterwards, which is why the sink
// dials through NewHTTPClient.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	return checkURL(ctx, raw, allowPrivate, net.DefaultResolver)
}

func checkURL(ctx context.Context, raw string, allowPrivate bool, r resolver) error {
	u, err := ParseURL(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if allowPrivate {
			return nil
		}
		return CheckAddr(host, a)
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		if err == nil {
			err = errors.New("no addresses")
		}
		return fmt.Errorf("%w: resolving %q: %w (check the DNS record)", ErrUnresolvable, host, err)
	}
	if allowPrivate {
		return nil
	}
	for _, a := range addrs {
		if err := CheckAddr(host, a); err != nil {
			return err
		}
	}
	return nil
}
