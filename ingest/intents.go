package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect/native"
	"github.com/paystream/paystream/pipeline/state"
)

// IntentView is seed 004's PaymentIntent object, plus what paystream knows beyond it: the native
// dialect's Intent (pipeline/dialect/native), declared there once.
type IntentView = native.Intent

// MaxRefLen bounds a customer reference or a payment reference, in characters.
const MaxRefLen = 100

// idemTTL is how long an idempotency key holds its intent.
const idemTTL = 24 * time.Hour

// IntentIDRE is the form of a native intent id (a UUID, seed 004); a path id that does not match
// it is answered "not found" without a lookup.
var IntentIDRE = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)

// IdempotentIntent is what an idempotency key holds: the fingerprint of the request that first
// used it and the intent that request created.
type IdempotentIntent struct {
	Fingerprint string           `json:"fingerprint"`
	Intent      *pipeline.Intent `json:"intent"`
}

// PaymentMethod is a way to pay an intent that runs at an upstream of its own (bKash tokenized
// checkout, ingest/tokenized), plugged into intent acceptance with Mux.PaymentMethod. The native
// create of an intent with that paymentMethod calls Prepare after validating the request and
// before the idempotency lookup, and the PaymentStart it returned once the intent is built, before
// the intent is produced.
type PaymentMethod interface {
	// Prepare chooses the upstream that serves merchant m's intents in env. When there is none, or
	// it cannot be read, it answers the request itself in the native error shape (422, 502, 503)
	// and returns nil.
	Prepare(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment) PaymentStart
}

// PaymentStart creates the payment of the new intent in at the upstream Prepare chose and records
// it; it sets in.PaymentMethod and in.CheckoutURL (the upstream's payment page). When it fails it
// answers the request itself and returns false: nothing is produced to Kafka then.
type PaymentStart func(ctx *fasthttp.RequestCtx, in *pipeline.Intent) bool

// CheckoutURL is the hosted checkout page of intent id under Config.PublicURL.
func (s *Server) CheckoutURL(id string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/v1/checkout/" + id
}

// View is rec as seed 004's PaymentIntent object (native.NewIntent), with its checkout URL.
func (s *Server) View(rec *pipeline.IntentRecord) IntentView {
	return native.NewIntent(&rec.Intent, native.IntentState{
		Status: rec.Status, UpdatedAt: rec.UpdatedAt, TrxID: rec.TrxID, MatchType: rec.MatchType, Reason: rec.Reason,
	}, s.CheckoutURL(rec.ID))
}

// AuthMerchant authenticates a native request by its X-Api-Key (sk_test_/sk_live_): the merchant
// and the key's environment. It answers 401, 403 (inactive merchant), 429 (the key's rate limit)
// or 503 itself and returns nil when it fails.
func (s *Server) AuthMerchant(ctx *fasthttp.RequestCtx) (*pipeline.Merchant, pipeline.Environment) {
	key := strings.TrimSpace(string(ctx.Request.Header.Peek("X-Api-Key")))
	if key == "" {
		WriteError(ctx, errUnauthorized)
		return nil, ""
	}
	m, env, err := s.dir.MerchantByAPIKey(RequestContext(ctx), key)
	if err != nil {
		s.Internal(ctx, "authenticating api key", err)
		return nil, ""
	}
	if m == nil {
		WriteError(ctx, errUnauthorized)
		return nil, ""
	}
	if m.Status != pipeline.MerchantActive {
		WriteError(ctx, Errf(http.StatusForbidden, "Merchant account is inactive"))
		return nil, ""
	}
	if !s.AllowKey(ctx, "apikey:"+m.ID+":"+string(env)) {
		return nil, ""
	}
	return m, env
}

// ValidURL refuses (400, naming field) a URL a client gave that is not an absolute http(s) URL
// of at most 2048 bytes; "" is accepted (the field is optional).
func ValidURL(field, raw string) *APIError {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > 2048 || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Errf(http.StatusBadRequest, "%s must be an absolute http(s) URL", field)
	}
	return nil
}

// Printable reports whether s holds only printable characters (no controls): the rule for a
// free-text field a client sends.
func Printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// IdempotencyKey is the Redis key of merchant merchantID's idempotency key raw in env (under its
// hash: the client's text is unbounded).
func (s *Server) IdempotencyKey(merchantID string, env pipeline.Environment, raw string) string {
	return s.cfg.Keys.Idempotency(merchantID, env, HashSecret(raw))
}

// LoadIdempotent returns what the idempotency key (IdempotencyKey) holds, nil if it was not used
// (or expired after a day). Errors are Redis's or an undecodable value.
func (s *Server) LoadIdempotent(ctx context.Context, key string) (*IdempotentIntent, error) {
	b, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c IdempotentIntent
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decoding idempotency claim: %w", err)
	}
	if c.Intent == nil {
		return nil, errors.New("decoding idempotency claim: it holds no intent")
	}
	return &c, nil
}

// ClaimIdempotent stores c under the idempotency key unless it holds something already (SET NX,
// for a day): false means a concurrent request with the same key won, and LoadIdempotent returns
// its claim.
func (s *Server) ClaimIdempotent(ctx context.Context, key string, c *IdempotentIntent) (bool, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return false, fmt.Errorf("encoding idempotency claim: %w", err)
	}
	return s.rdb.SetNX(ctx, key, b, idemTTL).Result()
}

// PaymentMethodFor returns the payment method mounted under name (Mux.PaymentMethod), nil if none.
func (s *Server) PaymentMethodFor(name string) PaymentMethod { return s.methods[name] }

// AcceptIntent is the last step of intent acceptance, shared by every surface that creates
// intents (after its validation, idempotency and PickWallet): it produces in's intent.created
// (a deterministic event id, so a re-produced intent is the same event) and blocks until Kafka
// acknowledged it; then it records the intent for immediate reads and remembers its identity. raw
// is the request body the event keeps (nil for a replay). A non-nil error is Publish's: the caller
// answers Unavailable (503), never 2xx, and nothing was recorded.
func (s *Server) AcceptIntent(ctx *fasthttp.RequestCtx, in *pipeline.Intent, raw []byte) error {
	ev := &pipeline.Event{
		ID: intentEventID(in.ID), Kind: pipeline.KindIntentCreated, Source: pipeline.SourceMerchantAPI,
		Wallet: in.Wallet(), MerchantID: in.MerchantID, Environment: in.Environment,
		AcceptedAt: time.Now().UTC(), Intent: in, Raw: RawCopy(raw), RequestID: RequestID(ctx),
	}
	if err := s.Publish(ctx, ev); err != nil {
		return err
	}
	// Read-your-writes: the intent is readable as soon as the 2xx is out. If this write fails the
	// intent is still safe in Kafka and the matcher writes the same record moments later.
	if err := s.state.CreateIntent(RequestContext(ctx), in); err != nil {
		s.log.Warn("recording intent for reads failed; the matcher will record it", "intent", in.ID, "err", err)
	}
	s.look.rememberIntent(in)
	return nil
}

var intentEventNS = uuid.MustParse("0b6b1f0e-7f59-4c1e-9d43-2b7d7e0c1a55")

// intentEventID is deterministic so that a re-produced intent.created (idempotent retry) is the same event.
func intentEventID(intentID string) string {
	return uuid.NewSHA1(intentEventNS, []byte("intent.created/"+intentID)).String()
}

// RawCopy keeps a request body exactly as received for the event's Raw field (fasthttp reuses its
// buffers, so it must be copied).
func RawCopy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// PickWallet spreads intents over the merchant's wallets so that two open intents of the same
// amount share a wallet as rarely as possible: amount-only matching (rule 4) is ambiguous exactly
// then. It prefers the first wallet with no open intent of this amount, else the least loaded.
func (s *Server) PickWallet(ctx context.Context, ws []pipeline.Wallet, amt pipeline.Money) (pipeline.Wallet, error) {
	if len(ws) == 1 {
		return ws[0], nil
	}
	counts, err := s.state.OpenIntentsOfAmount(ctx, ws, amt)
	if err != nil {
		return pipeline.Wallet{}, err
	}
	best, bestN := 0, int64(-1)
	for i, n := range counts {
		if bestN < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	return ws[best], nil
}

// IntArg reads integer query parameter name: def when absent, else a 400 unless it is an integer
// in [lo, hi].
func IntArg(args *fasthttp.Args, name string, def, lo, hi int) (int, *APIError) {
	raw := args.Peek(name)
	if len(raw) == 0 {
		return def, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < lo || n > hi {
		return 0, Errf(http.StatusBadRequest, "%s must be an integer between %d and %d", name, lo, hi)
	}
	return n, nil
}

// TrxIDRE is what a provider transaction id (TrxID) may be once upper-cased: 6 to 32 letters and
// digits.
var TrxIDRE = regexp.MustCompile(`^[A-Z0-9]{6,32}$`)

// SandboxPayment is a validated sandbox payment report, whichever dialect's simulator took it.
type SandboxPayment struct {
	IntentID  string         // the intent whose wallet receives the money
	Amount    pipeline.Money // positive
	TrxID     string         // upper case, matching TrxIDRE
	Sender    string         // normalised MSISDN, or ""
	Reference string         // trimmed "Ref" the customer typed, or ""
}

// ReportSandboxPayment reports p to the wallet of its intent, as a forwarded wallet SMS would: the
// matcher then decides by the matching rules, exactly as for a real payment. It answers notFound
// when the intent does not exist or is not m's in env, and 503 when Redis or Kafka fails; it then
// returns nil and the request is answered. Otherwise it returns the payment.reported event, which
// Kafka acknowledged, and the intent's identity; the caller answers in its dialect. m and env must
// come from the request's credentials and env must be SANDBOX (callers check it first).
func (s *Server) ReportSandboxPayment(ctx *fasthttp.RequestCtx, m *pipeline.Merchant, env pipeline.Environment, p SandboxPayment, notFound *APIError) (*pipeline.Event, IntentIdentity) {
	id, err := s.loadIdentity(RequestContext(ctx), p.IntentID)
	if errors.Is(err, state.ErrNotFound) || (err == nil && (id.MerchantID != m.ID || id.Environment != env)) {
		WriteError(ctx, notFound)
		return nil, id
	}
	if err != nil {
		s.Internal(ctx, "loading intent", err)
		return nil, id
	}
	now := time.Now().UTC()
	ev := &pipeline.Event{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSandboxSim,
		Wallet: id.Wallet(), MerchantID: m.ID, Environment: env, AcceptedAt: now,
		Payment: &pipeline.Payment{
			Provider: id.Provider, TrxID: p.TrxID, Amount: p.Amount, Sender: p.Sender,
			Reference: p.Reference, OccurredAt: now,
		},
		Raw: RawCopy(ctx.PostBody()), RequestID: RequestID(ctx),
	}
	if err := s.Publish(ctx, ev); err != nil {
		s.Unavailable(ctx, "producing payment.reported", err)
		return nil, id
	}
	return ev, id
}

// EnvArg reads the optional env query parameter of a listing ("" = both environments); a 400
// for anything but SANDBOX or LIVE.
func EnvArg(args *fasthttp.Args) (pipeline.Environment, *APIError) {
	env := pipeline.Environment(strings.ToUpper(string(args.Peek("env"))))
	if env != "" && !env.Valid() {
		return "", Errf(http.StatusBadRequest, "env must be SANDBOX or LIVE")
	}
	return env, nil
}
