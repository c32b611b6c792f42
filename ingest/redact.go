package ingest

import (
	"regexp"
	"strings"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

// Logs never carry a credential. Most credentials travel in headers, which paystream never logs;
// two reach a log line by other ways, and are redacted here:
//
//   - An SMS forwarder's device token is a path segment (/v1/sms/<token>[/format]): the apps cannot
//     set headers. A log line names the route pattern (/v1/sms/{token}/forwarder) instead of the
//     path (logPath), and any text that may hold a path has the segment replaced (redactLog).
//   - fasthttp's own errors about a malformed request quote the raw request after "contents: "
//     (request line and headers: device tokens, X-Api-Key, X-Secret-Key, x-app-secret,
//     Authorization, X-Signature). slogAdapter drops that quote before logging. transportError
//     still reads it (restorePath) to answer in the path's shape, but never logs it.

// smsTokenRE is a device token in an SMS forwarding path (any segment after /v1/sms/).
var smsTokenRE = regexp.MustCompile(`/v1/sms/[^/?#\s"'\\]+`)

// redactedToken replaces a device token in logs; it is the route's own parameter name.
const redactedToken = "/v1/sms/{token}" //nolint:gosec // G101: a placeholder that replaces a token, not one

// redactLog returns s without credentials: fasthttp's quoted request and SMS device tokens.
func redactLog(s string) string {
	if before, _, ok := strings.Cut(s, "contents: "); ok {
		s = before + "contents: [redacted]"
	}
	return smsTokenRE.ReplaceAllString(s, redactedToken)
}

// logPath is what a log line may say about the request's path: the pattern of the route that
// matched (recorded by instrument under router.MatchedRoutePathParam), else the path with its credentials redacted.
func logPath(ctx *fasthttp.RequestCtx) string {
	if p, ok := ctx.UserValue(router.MatchedRoutePathParam).(string); ok && p != "" {
		return p
	}
	return redactLog(string(ctx.Path()))
}
