package netguard

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// NewHTTPClient returns an HTTP client for calling untrusted URLs. timeout bounds each request as a
// whole (dial, TLS handshake, waiting for response headers and reading the body); the dial and TLS
// handshake are each bounded by it too. Unless allowPrivate, the dialer refuses, after DNS
// resolution and for every address it tries, any address CheckAddr refuses; such a request fails
// with an error matching ErrBlockedAddress. The client:
//
//   - never follows redirects: a 3xx response is returned to the caller as is (treat it as failure);
//   - ignores HTTP_PROXY/HTTPS_PROXY (a proxy would dial on its behalf, bypassing the check);
//   - keeps up to 64 idle connections per host (reuse across webhooks of one merchant, or of the
//     many merchants one aggregator hosts on one host), 256 in all.
//
// The client is safe for concurrent use. Call CloseIdleConnections when done with it.
func NewHTTPClient(timeout time.Duration, allowPrivate bool) *http.Client {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = refuseInternal
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    64,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// refuseInternal is a net.Dialer.Control: it runs after resolution with the literal address about
// to be connected to.
func refuseInternal(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q", ErrBlockedAddress, address)
	}
	return CheckAddr("", ap.Addr())
}
