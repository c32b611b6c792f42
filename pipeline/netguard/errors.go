package netguard

import (
	"errors"
	"fmt"
	"net/netip"
)

// Sentinel errors. Every error this package returns wraps one of them (BlockedAddressError wraps
// ErrBlockedAddress), so callers classify with errors.Is and show Error() to the operator.
var (
	// ErrBadURL reports a URL that does not parse.
	ErrBadURL = errors.New("webhook URL is not a valid absolute URL")
	// ErrUnsupportedScheme reports a scheme other than http or https.
	ErrUnsupportedScheme = errors.New("webhook URL must use http:// or https://")
	// ErrMissingHost reports a URL without a host.
	ErrMissingHost = errors.New("webhook URL has no host")
	// ErrUserinfo reports credentials embedded in the URL (https://user:pass@host/): they would be
	// sent to the host and shown wherever URLs are displayed. Authenticate with the signature instead.
	ErrUserinfo = errors.New("webhook URL must not contain a user name or password; receivers authenticate paystream by the webhook signature")
	// ErrUnresolvable reports a host name that does not resolve (yet): check the DNS record.
	ErrUnresolvable = errors.New("webhook URL host does not resolve")
	// ErrBlockedAddress reports a host that is, or resolves to, an address paystream refuses to call.
	ErrBlockedAddress = errors.New("webhook URL points at an internal address")
)

// BlockedAddressError reports the address that was refused and why. It matches ErrBlockedAddress.
type BlockedAddressError struct {
	Host   string     // the host as written in the URL or dialled ("" when unknown)
	Addr   netip.Addr // the refused address
	Reason string     // the address class, e.g. "loopback", "private (RFC 1918)"
}

// Error explains the refusal and how to fix it.
func (e *BlockedAddressError) Error() string {
	host := ""
	if e.Host != "" && e.Host != e.Addr.String() {
		host = fmt.Sprintf("host %q resolves to ", e.Host)
	}
	return fmt.Sprintf("%s: %s%s, a %s address; use a publicly reachable URL (allow private addresses only in local development)",
		ErrBlockedAddress, host, e.Addr, e.Reason)
}

// Is makes errors.Is(err, ErrBlockedAddress) true.
func (e *BlockedAddressError) Is(target error) bool { return target == ErrBlockedAddress }
