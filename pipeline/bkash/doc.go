// Package bkash is paystream's client of bKash Tokenized Checkout v1.2.0-beta: token grant and
// refresh, create, execute, payment status (query), refund and transaction search, against bKash's
// sandbox (https://tokenized.sandbox.bka.sh/v1.2.0-beta), production
// (https://tokenized.pay.bka.sh/v1.2.0-beta) or the simulator in bkashsim.
//
// Environments. Every credential set declares the paystream environment it serves
// (Credentials.Environment). Validate refuses a LIVE set whose base URL is plain http or one of
// bKash's sandbox hosts, and a SANDBOX set at bKash production (CheckUpstream); a LIVE call
// answered by a simulator (SimulatorHeader) fails with ErrEnvironment before its answer is read.
//
// Tokens. bKash blocks merchants that grant a token per request, so one token per credential set
// (environment + owner + base URL + username + app key) is cached in Redis and shared by every ingest replica. The token
// key and its lock share one hash tag ({bkash:<credential hash>}), so Redis Cluster works; the hash
// never contains a secret. A replica that finds the token missing or within Config.RefreshBefore
// of its expiry takes the lock (SET NX PX, released only by its owner) and refreshes it (or grants
// one when there is no refresh token or the refresh is refused); the others keep using the still
// valid token, or poll briefly for the new one. When bKash answers a call with 401 (token expired
// or invalid), the client refreshes once and retries the call once.
//
// Errors. bKash answers most errors as HTTP 200 with a statusCode other than "0000": those become a
// *StatusError whose Outcome says what happened to the payment (errors.Is(err,
// ErrInsufficientBalance) and so on). Timeouts and transport failures wrap ErrTimeout or
// ErrTransport: the call may have taken effect, so Ambiguous(err) tells callers to ask
// payment/status. Every result keeps bKash's answer byte for byte (Raw) for the audit.
//
// Secrets. Credentials hold the password and app secret as Secret values, which never print,
// marshal or log their content; ResolveSecret loads them from references (env:NAME, file:PATH) so
// that configuration never holds them in clear. See credentials.go.
//
// A Client is safe for concurrent use; it starts no goroutine and needs no Close.
package bkash
