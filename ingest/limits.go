package ingest

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

// Request limits that apply to every route, whatever its surface:
//
//   - Rate limits, GCRA in Redis (redis_rate) so every ingest replica shares the buckets, answered
//     from leases each replica takes from them in chunks (rateLimiter):
//     per client address (ClientKey: the TCP peer, or the rightmost public X-Forwarded-For hop
//     behind a loopback/private proxy) on every route but /admin, checked in instrument before the
//     handler; and per credential, checked by each surface's authentication once the credential
//     proved valid (allowKey), so requests with a wrong credential never spend a merchant's budget.
//     Over the limit → 429 + Retry-After (whole seconds, rounded up) in the surface's error shape.
//     When Redis cannot answer, the limiter lets the request through (fails open), counts it, and
//     lets every request through unchecked for rateLimitBypass after that, so an outage does not
//     add a failing Redis round trip (dial retries included) to every request: refusing payments
//     because a limiter is down is worse than serving them unlimited.
//   - JSON nesting depth: a body that is JSON (its first non-blank byte is { or [) and nests
//     deeper than maxJSONDepth is answered 400 before any handler unmarshals it.
//   - Header size is bounded by fasthttp's ReadBufferSize (431, see transportError and
//     restorePath) and the body by MaxRequestBodySize (413).
//
// Redis keys: rate:<prefix>:ratelimit:{key|ip}:<identity>; each expires once its bucket is full again.

// maxJSONDepth is the deepest nesting of arrays and objects a request body may have. The seeds'
// bodies nest a few levels; 32 leaves room for merchant metadata.
const maxJSONDepth = 32

// Rate-limit scopes: the label values of the metrics and part of the Redis key.
const (
	scopeKey = "key"
	scopeIP  = "ip"
)

const (
	// rateLimitBypass is how long the limiter lets requests through unchecked after Redis failed.
	rateLimitBypass = time.Second
	// rateLimitLogEvery bounds the limiter's error log to one line per interval while Redis is down.
	rateLimitLogEvery = 10 * time.Second
	// leaseDivisor sets the lease: a replica takes max(1, rate/leaseDivisor) requests of an
	// identity's budget from Redis in one round trip (a tenth of a second's worth).
	leaseDivisor = 10
	// leaseTTL is how long leased requests stay spendable; what is left of a lease then is dropped.
	leaseTTL = time.Second
	// maxLocalIdentities bounds the identities per scope whose lease a replica keeps (LRU); an
	// evicted identity's unspent lease is dropped (it only refuses earlier, never later).
	maxLocalIdentities = 100_000
)

// rateLimiter holds the two GCRA limits. A zero Rate disables its scope. Safe for concurrent use.
//
// Budgets are shared by every replica through Redis (redis_rate's GCRA bucket per identity), but
// answered locally: a replica leases requests of an identity from the shared bucket in one round
// trip (AllowAtMost) and spends them without Redis for up to leaseTTL. A lease starts at one
// request and doubles each time the last one was spent within its time, up to a tenth of a
// second's worth (scopeLimit.lease: 20 per credential and 100 per client address at cmd's
// defaults, 1 at rates under 20/s); when a lease runs out of time unspent, the next is what was
// used of it. So a quiet identity costs a round trip per request as before, a busy one one per
// lease, and what a replica leases and never spends stays near what it spends. A refusal is remembered until the Retry-After Redis gave, so a client
// over its limit costs no round trip either. Every admitted request was taken from the shared
// bucket, so k replicas admit at most k·lease requests more than one shared bucket would in any
// stretch of time, and only by spending, within leaseTTL, requests leased before it; an
// identity's leftover leases (at most k·lease) are lost, so it may be refused up to that many
// requests early. While a replica's lease of an identity is in flight, its other requests of that
// identity take one request each from Redis, as without leases.
type rateLimiter struct {
	lim    *redis_rate.Limiter
	prefix string // Redis key prefix (pipeline.Keys.Prefix)
	key    scopeLimit
	ip     scopeLimit
	log    *slog.Logger
	now    func() time.Time // the clock of the leases and refusals (time.Now)

	rejected    *prometheus.CounterVec
	errors      prometheus.Counter
	bypassUntil atomic.Int64 // unix nanoseconds: until then requests go through unchecked
	lastLog     atomic.Int64 // unix nanoseconds of the last error logged
}

// scopeLimit is one scope's limit and this replica's leases of it, by identity.
type scopeLimit struct {
	name  string // scopeKey or scopeIP
	what  string // how the 429 names the identity
	limit redis_rate.Limit
	lease int // requests leased per round trip
	local *lru.Cache[string, *localBucket]
}

// localBucket is what this replica holds of one identity's shared budget.
type localBucket struct {
	mu          sync.Mutex
	tokens      int   // leased requests not yet spent
	leasedUntil int64 // unix nanoseconds: tokens are void from then
	deniedUntil int64 // unix nanoseconds: until then the identity is refused without asking Redis
	leasing     bool  // a lease of this identity is in flight
	granted     int   // the size of the last lease Redis granted
	next        int   // the size of the next lease to ask for (0: 1)
}

// newRateLimiter builds the limiter on rdb: keyRate and ipRate are requests per second (burst
// twice that); 0 disables that scope. Its metrics are registered on reg.
func newRateLimiter(rdb redis.UniversalClient, prefix string, keyRate, ipRate int, log *slog.Logger, reg prometheus.Registerer) *rateLimiter {
	if prefix == "" {
		prefix = "ps"
	}
	l := &rateLimiter{
		lim: redis_rate.NewLimiter(rdb), prefix: prefix, log: log, now: time.Now,
		key: newScopeLimit(scopeKey, "API key", keyRate), ip: newScopeLimit(scopeIP, "client address", ipRate),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_ratelimit_rejected_total", Help: "Requests answered 429 by the rate limits, by scope (key: per credential; ip: per client address).",
		}, []string{"scope"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_ratelimit_errors_total", Help: "Rate-limit checks that Redis did not answer, or that were skipped for a second after such a failure; those requests were let through.",
		}),
	}
	l.rejected.WithLabelValues(scopeKey)
	l.rejected.WithLabelValues(scopeIP)
	reg.MustRegister(l.rejected, l.errors)
	return l
}

func newScopeLimit(name, what string, rate int) scopeLimit {
	sl := scopeLimit{name: name, what: what}
	if rate <= 0 {
		return sl
	}
	sl.limit = redis_rate.Limit{Rate: rate, Burst: 2 * rate, Period: time.Second}
	sl.lease = max(1, rate/leaseDivisor)
	sl.local, _ = lru.New[string, *localBucket](maxLocalIdentities) // only a size <= 0 fails
	return sl
}

// bucket is identity's localBucket, added when it has none.
func (sl *scopeLimit) bucket(identity string) *localBucket {
	if b, ok := sl.local.Get(identity); ok {
		return b
	}
	b := &localBucket{}
	if prev, ok, _ := sl.local.PeekOrAdd(identity, b); ok {
		return prev
	}
	return b
}

// resetLocal drops every lease and remembered refusal (tests that swap the limiter's Redis).
func (l *rateLimiter) resetLocal() {
	for _, sl := range []*scopeLimit{&l.key, &l.ip} {
		if sl.local != nil {
			sl.local.Purge()
		}
	}
}

// allow takes one request from the budget of identity in scope: from this replica's lease when it
// holds one, else from Redis (leasing more when no other lease of identity is in flight). It
// returns the 429 to answer, or nil when the request may go on: within the limit, the scope is
// disabled, or Redis failed now or less than rateLimitBypass ago (counted; logged at most once
// per rateLimitLogEvery).
func (l *rateLimiter) allow(ctx *fasthttp.RequestCtx, scope, identity string) *APIError {
	sl := &l.ip
	if scope == scopeKey {
		sl = &l.key
	}
	if sl.limit.IsZero() {
		return nil
	}
	now := l.now().UnixNano()
	if now < l.bypassUntil.Load() {
		l.errors.Inc()
		return nil
	}
	b := sl.bucket(identity)
	b.mu.Lock()
	if b.tokens > 0 && now < b.leasedUntil {
		if b.tokens--; b.tokens == 0 { // spent within its time: lease twice as much next
			b.next = min(2*b.granted, sl.lease)
		}
		b.mu.Unlock()
		return nil
	}
	if wait := b.deniedUntil - now; wait > 0 {
		b.mu.Unlock()
		return l.tooMany(sl, time.Duration(wait))
	}
	n, leaser := 1, !b.leasing
	if leaser {
		if b.tokens > 0 { // the last lease ran out of time: lease what was used of it next
			b.next = max(1, b.granted-b.tokens)
		}
		n, b.leasing, b.tokens = min(max(1, b.next), sl.lease), true, 0
	}
	b.mu.Unlock()

	res, err := l.lim.AllowAtMost(RequestContext(ctx), l.prefix+":ratelimit:"+scope+":"+identity, sl.limit, n)
	if err != nil {
		if leaser {
			b.mu.Lock()
			b.leasing = false
			b.mu.Unlock()
		}
		l.errors.Inc()
		now := time.Now().UnixNano()
		l.bypassUntil.Store(now + int64(rateLimitBypass))
		if last := l.lastLog.Load(); now-last >= int64(rateLimitLogEvery) && l.lastLog.CompareAndSwap(last, now) {
			l.log.Warn("rate limiter unavailable; letting requests through", "scope", scope, "err", err, "request_id", RequestID(ctx))
		}
		return nil
	}
	b.mu.Lock()
	if leaser {
		b.leasing = false
		b.granted = res.Allowed
		if res.Allowed > 1 {
			b.tokens, b.leasedUntil = res.Allowed-1, now+int64(leaseTTL)
		} else if res.Allowed == 1 { // a lease of one, spent at once: lease two next
			b.next = min(2, sl.lease)
		}
	}
	if res.Allowed <= 0 {
		b.deniedUntil = now + int64(res.RetryAfter)
	}
	b.mu.Unlock()
	if res.Allowed > 0 {
		return nil
	}
	return l.tooMany(sl, res.RetryAfter)
}

// tooMany counts a refusal of scope and returns its 429, Retry-After retry (whole seconds, rounded
// up, at least 1).
func (l *rateLimiter) tooMany(sl *scopeLimit, retry time.Duration) *APIError {
	l.rejected.WithLabelValues(sl.name).Inc()
	secs := max(1, int(math.Ceil(retry.Seconds())))
	return &APIError{
		Status: http.StatusTooManyRequests, RetryAfter: secs,
		Message: fmt.Sprintf("Rate limit of this %s exceeded; retry in %d seconds", sl.what, secs),
	}
}

// admit applies the limits every route shares before its handler runs: the per-address rate limit
// (not on /admin) and the JSON nesting depth. When the request may not go on it answers itself and
// returns false.
func (s *Server) admit(ctx *fasthttp.RequestCtx) bool {
	path := ctx.Path()
	if !bytes.Equal(path, []byte("/admin")) && !bytes.HasPrefix(path, []byte("/admin/")) {
		if ae := s.limit.allow(ctx, scopeIP, ClientKey(ctx)); ae != nil {
			s.refuse(ctx, ae)
			return false
		}
	}
	if body := ctx.PostBody(); isJSONDoc(body) && jsonTooDeep(body, maxJSONDepth) {
		s.refuse(ctx, Errf(http.StatusBadRequest, "Request body nests JSON deeper than %d levels", maxJSONDepth))
		return false
	}
	return true
}

// AllowKey applies the per-credential rate limit to a request whose credential was just verified;
// identity names the credential (kind and id, never the secret). When the credential is over its
// limit it answers 429 itself and returns false.
func (s *Server) AllowKey(ctx *fasthttp.RequestCtx, identity string) bool {
	if ae := s.limit.allow(ctx, scopeKey, identity); ae != nil {
		s.refuse(ctx, ae)
		return false
	}
	return true
}

// refuse answers ae in the surface's error shape, with the extra headers the path's surface
// registered for the edge's refusals (Mux.RefusalHeaders: the hosted checkout's security headers).
func (s *Server) refuse(ctx *fasthttp.RequestCtx, ae *APIError) {
	for _, rh := range s.refusalHeaders {
		if bytes.HasPrefix(ctx.Path(), rh.prefix) {
			rh.write(ctx)
			break
		}
	}
	WriteError(ctx, ae)
}

// ClientKey is the client address a request is counted under: by the edge's per-address rate
// limit, and by surfaces that count per client (the hosted checkout's claim limits). It is the TCP
// peer, unless the peer
// is a loopback or private address (a reverse proxy or load balancer in front of ingest): then it is
// the rightmost public address of X-Forwarded-For (entries to the left of it can be forged by the
// client), or its rightmost address when all are private. IPv6 clients are counted per /64, the
// block one subscriber usually gets.
func ClientKey(ctx *fasthttp.RequestCtx) string {
	peer, _ := netip.AddrFromSlice(ctx.RemoteIP())
	peer = peer.Unmap()
	client := peer
	if peer.IsLoopback() || peer.IsPrivate() {
		var hops []netip.Addr
		for _, v := range ctx.Request.Header.PeekAll("X-Forwarded-For") {
			for _, part := range strings.Split(string(v), ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(part)); err == nil {
					hops = append(hops, a.Unmap())
				}
			}
		}
		for i := len(hops) - 1; i >= 0; i-- {
			if i == len(hops)-1 {
				client = hops[i]
			}
			if a := hops[i]; !a.IsLoopback() && !a.IsPrivate() {
				client = a
				break
			}
		}
	}
	if client.Is6() {
		if p, err := client.Prefix(64); err == nil {
			return p.String()
		}
	}
	if !client.IsValid() {
		return "unknown"
	}
	return client.String()
}

// restorePath gives ctx back the path of a request whose headers overflowed the read buffer.
// fasthttp resets the request before calling the ErrorHandler, so its request line survives only in
// the error's text (`... contents: "POST /path HTTP/1.1\r\n..."...`, absent with
// SecureErrorLogMessage); when it cannot be found there the path stays "/" (native shape). The
// path only chooses the error's shape: nothing routes on it.
func restorePath(ctx *fasthttp.RequestCtx, err error) {
	_, snippet, ok := strings.Cut(err.Error(), "contents: ")
	if !ok || len(ctx.Path()) > 1 {
		return
	}
	quoted, qerr := strconv.QuotedPrefix(snippet)
	if qerr != nil {
		return
	}
	text, uerr := strconv.Unquote(quoted)
	if uerr != nil {
		return
	}
	line, _, _ := strings.Cut(text, "\n")
	if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[1], "/") {
		p, _, _ := strings.Cut(f[1], "?")
		ctx.URI().SetPath(p)
	}
}

// isJSONDoc reports whether body looks like a JSON object or array: its first byte that is not
// JSON whitespace is { or [. Only such a body can nest (form posts and empty bodies are skipped).
func isJSONDoc(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// jsonTooDeep reports whether b opens more than max arrays and objects at once, counting the
// brackets and braces outside string literals (a backslash escapes the next byte inside a string).
// It does not validate b: on malformed JSON the answer only bounds what a decoder would meet, and
// the decoder reports the syntax error. One pass, no allocation.
func jsonTooDeep(b []byte, max int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Skip the string: find its closing quote, stepping over escapes.
			for i++; i < len(b); i++ {
				j := bytes.IndexAny(b[i:], `"\`)
				if j < 0 {
					return false // unterminated string: nothing after it can nest
				}
				i += j
				if b[i] == '"' {
					break
				}
				i++ // the escaped byte
			}
		case '[', '{':
			if depth++; depth > max {
				return true
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return false
}
