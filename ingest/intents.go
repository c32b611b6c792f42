package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/paystream/paystream/pipeline/state"
)

// createIntentReq is seed 004's create body. Pointers tell "missing" from "zero".
type createIntentReq struct {
	Amount            json.RawMessage `json:"amount"` // ParseAmount's rule, whole taka
	Currency          *string         `json:"currency"`
	CustomerReference *string         `json:"customerReference"`
	IdempotencyKey    string          `json:"idempotencyKey"`
	TTLSeconds        *int64          `json:"ttlSeconds"`
	SuccessURL        string          `json:"successUrl"`
	FailedURL         string          `json:"failedUrl"`
	CancelURL         string          `json:"cancelUrl"`
	ExpiredURL        string          `json:"expiredUrl"`
	Provider          string          `json:"provider"`      // paystream extension: pick a wallet of this provider
	PaymentMethod     string          `json:"paymentMethod"` // paystream extension: "" or "bkash_tokenized" (ingest/tokenized)
	Metadata          json.RawMessage `json:"metadata"`
}

// intentView is seed 004's PaymentIntent object, plus what paystream knows beyond it.
type intentView struct {
	ID                string          `json:"id"`
	MerchantID        string          `json:"merchantId"`
	Environment       string          `json:"environment"`
	Amount            string          `json:"amount"`
	Currency          string          `json:"currency"`
	Status            string          `json:"status"`
	CustomerReference string          `json:"customerReference"`
	Provider          string          `json:"provider"`
	ReceiverMsisdn    string          `json:"receiverMsisdn"`
	PaymentMethod     string          `json:"paymentMethod,omitempty"`
	CheckoutURL       string          `json:"checkoutUrl"`
	ExpiresAt         string          `json:"expiresAt"`
	CreatedAt         string          `json:"createdAt"`
	UpdatedAt         string          `json:"updatedAt,omitempty"`
	TrxID             string          `json:"trxId,omitempty"`
	MatchType         string          `json:"matchType,omitempty"`
	Reason            string          `json:"reason,omitempty"`
	SuccessURL        string          `json:"successUrl,omitempty"`
	FailedURL         string          `json:"failedUrl,omitempty"`
	CancelURL         string          `json:"cancelUrl,omitempty"`
	ExpiredURL        string          `json:"expiredUrl,omitempty"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
}

// MaxRefLen bounds a customer reference or a payment reference, in characters.
const MaxRefLen = 100

const (
	defaultTTL = 300
	minTTL     = 10
	maxTTL     = 7 * 24 * 3600
	maxIdemLen = 255
	idemTTL    = 24 * time.Hour
)

// IntentIDRE is the form of a native intent id (a UUID, seed 004); a path id that does not match
// it is answered "not found" without a lookup.
var IntentIDRE = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)

// InvoiceIDRE is the form of a bdQuickPay intent id (invoice_id, seed 001): 20 upper-case letters
// and digits. Native intent ids are UUIDs.
var InvoiceIDRE = regexp.MustCompile(`^[A-Z0-9]{20}$`)

// idemClaim is what an idempotency key holds: the request's fingerprint and the intent it created.
type idemClaim struct {
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

func (s *Server) view(rec *state.IntentRecord) intentView {
	in := rec.Intent
	v := intentView{
		ID: in.ID, MerchantID: in.MerchantID, Environment: string(in.Environment), Amount: in.Amount.String(),
		Currency: in.Currency, Status: string(rec.Status), CustomerReference: in.CustomerReference,
		Provider: string(in.Provider), ReceiverMsisdn: in.ReceiverMsisdn, CheckoutURL: s.CheckoutURL(in.ID),
		ExpiresAt: pipeline.FormatTime(in.ExpiresAt), CreatedAt: pipeline.FormatTime(in.CreatedAt),
		TrxID: rec.TrxID, MatchType: string(rec.MatchType), Reason: rec.Reason,
		SuccessURL: in.SuccessURL, FailedURL: in.FailedURL, CancelURL: in.CancelURL, ExpiredURL: in.ExpiredURL,
		Metadata: in.Metadata,
	}
	if !rec.UpdatedAt.IsZero() {
		v.UpdatedAt = pipeline.FormatTime(rec.UpdatedAt)
	}
	if in.CheckoutURL != "" { // bKash tokenized: the customer pays at bKash's page
		v.CheckoutURL, v.PaymentMethod = in.CheckoutURL, in.PaymentMethod
	}
	return v
}

// authMerchant resolves X-Api-Key; it answers 401, 403, 429 (the key's rate limit) or 503 itself
// and returns nil when it fails.
func (s *Server) authMerchant(ctx *fasthttp.RequestCtx) (*pipeline.Merchant, pipeline.Environment) {
	key := strings.TrimSpace(string(ctx.Request.Header.Peek("X-Api-Key")))
	if key == "" {
		WriteError(ctx, errUnauthorized)
		return nil, ""
	}
	m, env, err := s.dir.authenticate(RequestContext(ctx), key)
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

// validate checks the body and returns the normalised amount and TTL.
func (r *createIntentReq) validate() (pipeline.Money, int64, *APIError) {
	amt, p := ParseAmount(r.Amount, WholeTaka)
	if p != AmountOK {
		return 0, 0, NativeAmountError(p, WholeTaka)
	}
	if r.Currency == nil || *r.Currency == "" {
		return 0, 0, Errf(http.StatusBadRequest, "currency is required")
	}
	if *r.Currency != "BDT" {
		return 0, 0, Errf(http.StatusBadRequest, "currency must be BDT")
	}
	if r.CustomerReference == nil || strings.TrimSpace(*r.CustomerReference) == "" {
		return 0, 0, Errf(http.StatusBadRequest, "customerReference is required")
	}
	if ref := *r.CustomerReference; len(ref) > MaxRefLen || !Printable(ref) {
		return 0, 0, Errf(http.StatusBadRequest, "customerReference must be at most %d printable characters", MaxRefLen)
	}
	if len(r.IdempotencyKey) > maxIdemLen || !Printable(r.IdempotencyKey) {
		return 0, 0, Errf(http.StatusBadRequest, "idempotencyKey must be at most %d printable characters", maxIdemLen)
	}
	ttl := int64(defaultTTL)
	if r.TTLSeconds != nil {
		ttl = *r.TTLSeconds
		if ttl < minTTL || ttl > maxTTL {
			return 0, 0, Errf(http.StatusBadRequest, "ttlSeconds must be between %d and %d", minTTL, maxTTL)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"successUrl", r.SuccessURL}, {"failedUrl", r.FailedURL}, {"cancelUrl", r.CancelURL}, {"expiredUrl", r.ExpiredURL},
	} {
		if ae := ValidURL(f.name, f.v); ae != nil {
			return 0, 0, ae
		}
	}
	switch strings.ToLower(r.PaymentMethod) {
	case "":
	case pipeline.PaymentMethodBkashTokenized:
		if r.Provider != "" && !strings.EqualFold(r.Provider, string(pipeline.BKash)) {
			return 0, 0, Errf(http.StatusBadRequest, "paymentMethod bkash_tokenized needs provider bkash")
		}
		r.Provider = string(pipeline.BKash)
	default:
		return 0, 0, Errf(http.StatusBadRequest, "paymentMethod must be bkash_tokenized or absent")
	}
	if len(r.Metadata) > 0 && (r.Metadata[0] != '{' || len(r.Metadata) > 4096) {
		return 0, 0, Errf(http.StatusBadRequest, "metadata must be a JSON object of at most 4096 bytes")
	}
	return amt, ttl, nil
}

// fingerprint identifies "the same body" for idempotency: the normalised request, so formatting
// differences (spaces, key order) of an identical request are not a conflict.
func (r *createIntentReq) fingerprint(amt pipeline.Money, ttl int64) string {
	meta := ""
	if len(r.Metadata) > 0 {
		var v any
		if json.Unmarshal(r.Metadata, &v) == nil {
			b, _ := json.Marshal(v) // map keys are sorted by encoding/json
			meta = string(b)
		}
	}
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%d\x00%s\x00%s\x00%d\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		amt, *r.Currency, *r.CustomerReference, ttl, r.SuccessURL, r.FailedURL, r.CancelURL, r.ExpiredURL,
		strings.ToLower(r.Provider), meta)
	if r.PaymentMethod != "" {
		_, _ = fmt.Fprintf(h, "\x00%s", strings.ToLower(r.PaymentMethod))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) handleCreateIntent(ctx *fasthttp.RequestCtx) {
	m, env := s.authMerchant(ctx)
	if m == nil {
		return
	}
	var req createIntentReq
	if ae := DecodeJSON(ctx.PostBody(), &req); ae != nil {
		WriteError(ctx, ae)
		return
	}
	amt, ttl, ae := req.validate()
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	wallets := m.WalletsIn(env)
	if req.Provider != "" {
		var ws []pipeline.Wallet
		for _, w := range wallets {
			if string(w.Provider) == strings.ToLower(req.Provider) {
				ws = append(ws, w)
			}
		}
		wallets = ws
	}
	if len(wallets) == 0 {
		WriteError(ctx, Errf(http.StatusUnprocessableEntity, "No %s wallet is configured for this merchant in %s", orAny(req.Provider), env))
		return
	}
	var start PaymentStart // the payment method's upstream for this merchant and environment, or 422
	if method := strings.ToLower(req.PaymentMethod); method != "" {
		pm := s.methods[method]
		if pm == nil { // not mounted: as if no upstream were configured
			WriteError(ctx, Errf(http.StatusUnprocessableEntity,
				"paymentMethod %s is not available in %s: no bKash upstream is configured for this merchant in %s", method, env, env))
			return
		}
		if start = pm.Prepare(ctx, m, env); start == nil {
			return
		}
	}

	var claimKey string
	fp := req.fingerprint(amt, ttl)
	if req.IdempotencyKey != "" {
		claimKey = s.cfg.Keys.Idempotency(m.ID, env, HashSecret(req.IdempotencyKey))
		prev, err := s.loadClaim(RequestContext(ctx), claimKey)
		if err != nil {
			s.Internal(ctx, "reading idempotency key", err)
			return
		}
		if prev != nil {
			s.replayIntent(ctx, prev, fp)
			return
		}
	}

	wallet, err := s.PickWallet(RequestContext(ctx), wallets, amt)
	if err != nil {
		s.Internal(ctx, "choosing wallet", err)
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	in := &pipeline.Intent{
		ID: uuid.Must(uuid.NewV7()).String(), MerchantID: m.ID, Environment: env, Amount: amt, Currency: "BDT",
		CustomerReference: strings.TrimSpace(*req.CustomerReference), Provider: wallet.Provider,
		ReceiverMsisdn: wallet.Account, IdempotencyKey: req.IdempotencyKey,
		SuccessURL: req.SuccessURL, FailedURL: req.FailedURL, CancelURL: req.CancelURL, ExpiredURL: req.ExpiredURL,
		Dialect: m.Dialect, Metadata: req.Metadata, CreatedAt: now, ExpiresAt: now.Add(time.Duration(ttl) * time.Second),
	}
	if start != nil && !start(ctx, in) { // the upstream's create first: its URL is the checkoutUrl
		return
	}
	if claimKey != "" {
		b, _ := json.Marshal(idemClaim{Fingerprint: fp, Intent: in})
		ok, err := s.rdb.SetNX(RequestContext(ctx), claimKey, b, idemTTL).Result()
		if err != nil {
			s.Internal(ctx, "claiming idempotency key", err)
			return
		}
		if !ok { // a concurrent request with the same key won the claim
			prev, err := s.loadClaim(RequestContext(ctx), claimKey)
			if err != nil || prev == nil {
				s.Internal(ctx, "reading idempotency key", err)
				return
			}
			s.replayIntent(ctx, prev, fp)
			return
		}
	}
	s.acceptIntent(ctx, in, ctx.PostBody())
}

func orAny(p string) string {
	if p == "" {
		return "receiving"
	}
	return strings.ToLower(p)
}

func (s *Server) loadClaim(ctx context.Context, key string) (*idemClaim, error) {
	b, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c idemClaim
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decoding idempotency claim: %w", err)
	}
	if c.Intent == nil {
		return nil, errors.New("decoding idempotency claim: it holds no intent")
	}
	return &c, nil
}

// replayIntent answers a request whose idempotency key was used before: a different body is a
// conflict; the same body gets the same intent. If the first request never got Kafka's ack (it
// answered 503, or is still in flight), the same event (same ids) is produced again: downstream
// drops the copy, so the intent exists exactly once either way.
func (s *Server) replayIntent(ctx *fasthttp.RequestCtx, c *idemClaim, fp string) {
	if c.Fingerprint != fp {
		WriteError(ctx, Errf(http.StatusConflict, "idempotencyKey was already used with a different request body"))
		return
	}
	rec, err := s.state.GetIntent(RequestContext(ctx), c.Intent.ID)
	if err == nil {
		ctx.Response.Header.Set("Idempotent-Replayed", "true")
		WriteJSON(ctx, http.StatusCreated, s.view(rec))
		return
	}
	if !errors.Is(err, state.ErrNotFound) {
		s.Internal(ctx, "loading intent", err)
		return
	}
	ctx.Response.Header.Set("Idempotent-Replayed", "true")
	s.acceptIntent(ctx, c.Intent, nil)
}

// acceptIntent accepts in (AcceptIntent) and answers 201 with its view, or 503.
func (s *Server) acceptIntent(ctx *fasthttp.RequestCtx, in *pipeline.Intent, raw []byte) {
	if err := s.AcceptIntent(ctx, in, raw); err != nil {
		s.Unavailable(ctx, "producing intent.created", err)
		return
	}
	WriteJSON(ctx, http.StatusCreated, s.view(&state.IntentRecord{Intent: *in, Status: pipeline.StatusPending, Version: 1}))
}

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
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(ws))
	for i, w := range ws {
		cmds[i] = pipe.ZCard(ctx, s.cfg.Keys.OpenByAmount(w, amt))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return pipeline.Wallet{}, err
	}
	best, bestN := 0, int64(-1)
	for i, c := range cmds {
		if n := c.Val(); bestN < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	return ws[best], nil
}

func (s *Server) handleGetIntent(ctx *fasthttp.RequestCtx) {
	m, env := s.authMerchant(ctx)
	if m == nil {
		return
	}
	id, _ := ctx.UserValue("id").(string)
	if !IntentIDRE.MatchString(id) {
		WriteError(ctx, errNotFound)
		return
	}
	rec, err := s.state.GetIntent(RequestContext(ctx), id)
	if errors.Is(err, state.ErrNotFound) || (err == nil && (rec.MerchantID != m.ID || rec.Environment != env)) {
		WriteError(ctx, errNotFound) // another merchant's (or environment's) intent does not exist for you
		return
	}
	if err != nil {
		s.Internal(ctx, "loading intent", err)
		return
	}
	WriteJSON(ctx, http.StatusOK, s.view(rec))
}

func (s *Server) handleListIntents(ctx *fasthttp.RequestCtx) {
	m, env := s.authMerchant(ctx)
	if m == nil {
		return
	}
	args := ctx.QueryArgs()
	page, ae := IntArg(args, "page", 1, 1, 1_000_000)
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	limit, ae := IntArg(args, "limit", 20, 1, 100)
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	status := pipeline.Status(strings.ToUpper(string(args.Peek("status"))))
	if status != "" && !status.Valid() {
		WriteError(ctx, Errf(http.StatusBadRequest, "status must be one of PENDING, PAID, EXPIRED, REJECTED, FAILED, REVIEW_REQUIRED"))
		return
	}
	if (page-1)*limit > 10_000 {
		WriteError(ctx, Errf(http.StatusBadRequest, "page is too deep: at most 10000 results can be paged; filter by status"))
		return
	}
	recs, total, err := s.state.ListIntents(RequestContext(ctx), m.WalletsIn(env), status, (page-1)*limit, limit)
	if err != nil {
		s.Internal(ctx, "listing intents", err)
		return
	}
	data := make([]intentView, 0, len(recs))
	for _, r := range recs {
		data = append(data, s.view(r))
	}
	WriteJSON(ctx, http.StatusOK, map[string]any{"data": data, "total": total, "page": page, "limit": limit})
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

// simulateReq is seed 004's sandbox SMS simulator body; reference is a paystream extension (the
// "Ref" a customer may type in the wallet app), absent by default so matching is by amount, as real
// SMS mostly are.
type simulateReq struct {
	PaymentIntentID *string         `json:"paymentIntentId"`
	Amount          json.RawMessage `json:"amount"` // ParseAmount's rule, paisa allowed
	TrxID           *string         `json:"trxId"`
	SenderMsisdn    string          `json:"senderMsisdn"`
	Reference       string          `json:"reference"`
}

// TrxIDRE is what a provider transaction id (TrxID) may be once upper-cased: 6 to 32 letters and
// digits.
var TrxIDRE = regexp.MustCompile(`^[A-Z0-9]{6,32}$`)

func (s *Server) handleSimulate(ctx *fasthttp.RequestCtx) {
	m, env := s.authMerchant(ctx)
	if m == nil {
		return
	}
	if env != pipeline.Sandbox {
		WriteError(ctx, Errf(http.StatusForbidden, "The SMS simulator is available with SANDBOX keys only"))
		return
	}
	var req simulateReq
	if ae := DecodeJSON(ctx.PostBody(), &req); ae != nil {
		WriteError(ctx, ae)
		return
	}
	if req.PaymentIntentID == nil || *req.PaymentIntentID == "" {
		WriteError(ctx, Errf(http.StatusBadRequest, "paymentIntentId is required"))
		return
	}
	amt, p := ParseAmount(req.Amount, WithPaisa)
	if p != AmountOK {
		WriteError(ctx, NativeAmountError(p, WithPaisa))
		return
	}
	if req.TrxID == nil || *req.TrxID == "" {
		WriteError(ctx, Errf(http.StatusBadRequest, "trxId is required"))
		return
	}
	trx := strings.ToUpper(strings.TrimSpace(*req.TrxID))
	if !TrxIDRE.MatchString(trx) {
		WriteError(ctx, Errf(http.StatusBadRequest, "trxId must be 6 to 32 letters and digits"))
		return
	}
	sender := ""
	if req.SenderMsisdn != "" {
		var ok bool
		if sender, ok = pipeline.NormalizeMSISDN(req.SenderMsisdn); !ok {
			WriteError(ctx, Errf(http.StatusBadRequest, "senderMsisdn must be a Bangladeshi mobile number such as 01711111111"))
			return
		}
	}
	if len(req.Reference) > MaxRefLen || !Printable(req.Reference) {
		WriteError(ctx, Errf(http.StatusBadRequest, "reference must be at most %d printable characters", MaxRefLen))
		return
	}
	id := *req.PaymentIntentID
	if !IntentIDRE.MatchString(id) {
		WriteError(ctx, errNotFound)
		return
	}
	ev, rec := s.ReportSandboxPayment(ctx, m, env, SandboxPayment{
		IntentID: id, Amount: amt, TrxID: trx, Sender: sender, Reference: strings.TrimSpace(req.Reference),
	}, errNotFound)
	if ev == nil {
		return
	}
	WriteJSON(ctx, http.StatusAccepted, map[string]any{
		"accepted": true, "eventId": ev.ID, "paymentIntentId": id, "trxId": trx,
		"amount": amt.String(), "receiverMsisdn": rec.ReceiverMsisdn,
	})
}

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
