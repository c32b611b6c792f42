// Package netguard keeps paystream's outbound webhook calls away from internal networks (SSRF).
//
// Merchants choose their webhook URLs, so a URL is untrusted input that could point the webhook sink
// at the loopback interface, a private network, or the cloud metadata service (169.254.169.254).
// Two layers guard against that:
//
//   - CheckURL validates a URL when it is registered (scheme, host, no userinfo) and resolves the
//     host, refusing it if any address it resolves to is internal. Its errors are meant to be shown
//     to the operator or merchant who typed the URL.
//   - NewHTTPClient returns a client whose dialer refuses internal addresses at connect time, after
//     DNS resolution, so a host that resolved to a public address at registration and to an internal
//     one later (DNS rebinding) is still refused. It never follows redirects (a redirect could point
//     anywhere) and ignores proxy environment variables (a proxy would dial on its behalf).
//
// allowPrivate turns the address checks off, for local development and tests only.
//
// The package uses only the standard library and is safe for concurrent use.
package netguard
