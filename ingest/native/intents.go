package native

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/native"
	"github.com/paystream/paystream/pipeline/state"
)

const (
	defaultTTL = 300
	minTTL     = 10
	maxTTL     = 7 * 24 * 3600
	maxIdemLen = 255
)

// validateCreate checks a create body and returns the normalised amount and TTL.
func validateCreate(r *dialect.CreateIntentRequest) (pipeline.Money, int64, *ingest.APIError) {
	amt, p := ingest.ParseAmount(r.Amount, ingest.WholeTaka)
	if p != ingest.AmountOK {
		return 0, 0, ingest.NativeAmountError(p, ingest.WholeTaka)
	}
	if r.Currency == nil || *r.Currency == "" {
		return 0, 0, ingest.Errf(http.StatusBadRequest, "currency is required")
	}
	if *r.Currency != dialect.Currency {
		return 0, 0, ingest.Errf(http.StatusBadRequest, "currency must be %s", dialect.Currency)
	}
	if r.CustomerReference == nil || strings.TrimSpace(*r.CustomerReference) == "" {
		return 0, 0, ingest.Errf(http.StatusBadRequest, "customerReference is required")
	}
	if ref := *r.CustomerReference; len(ref) > ingest.MaxRefLen || !ingest.Printable(ref) {
		return 0, 0, ingest.Errf(http.StatusBadRequest, "customerReference must be at most %d printable characters", ingest.MaxRefLen)
	}
	if len(r.IdempotencyKey) > maxIdemLen || !ingest.Printable(r.IdempotencyKey) {
		return 0, 0, ingest.Errf(http.StatusBadRequest, "idempotencyKey must be at most %d printable characters", maxIdemLen)
	}
	ttl := int64(defaultTTL)
	if r.TTLSeconds != nil {
		ttl = *r.TTLSeconds
		if ttl < minTTL || ttl > maxTTL {
			return 0, 0, ingest.Errf(http.StatusBadRequest, "ttlSeconds must be between %d and %d", minTTL, maxTTL)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"successUrl", r.SuccessURL}, {"failedUrl", r.FailedURL}, {"cancelUrl", r.CancelURL}, {"expiredUrl", r.ExpiredURL},
	} {
		if ae := ingest.ValidURL(f.name, f.v); ae != nil {
			return 0, 0, ae
		}
	}
	switch strings.ToLower(r.PaymentMethod) {
	case "":
	case pipeline.PaymentMethodBkashTokenized:
		if r.Provider != "" && !strings.EqualFold(r.Provider, string(pipeline.BKash)) {
			return 0, 0, ingest.Errf(http.StatusBadRequest, "paymentMethod bkash_tokenized needs provider bkash")
		}
		r.Provider = string(pipeline.BKash)
	default:
		return 0, 0, ingest.Errf(http.StatusBadRequest, "paymentMethod must be bkash_tokenized or absent")
	}
	if len(r.Metadata) > 0 && (r.Metadata[0] != '{' || len(r.Metadata) > 4096) {
		return 0, 0, ingest.Errf(http.StatusBadRequest, "metadata must be a JSON object of at most 4096 bytes")
	}
	return amt, ttl, nil
}

// fingerprint identifies "the same body" for idempotency: the normalised request, so formatting
// differences (spaces, key order) of an identical request are not a conflict.
func fingerprint(r *dialect.CreateIntentRequest, amt pipeline.Money, ttl int64) string {
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

func (s *Surface) handleCreateIntent(ctx *fasthttp.RequestCtx) {
	m, env := s.auth.AuthMerchant(ctx)
	if m == nil {
		return
	}
	var req dialect.CreateIntentRequest
	if ae := ingest.DecodeJSON(ctx.PostBody(), &req); ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	amt, ttl, ae := validateCreate(&req)
	if ae != nil {
		ingest.WriteError(ctx, ae)
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
		ingest.WriteError(ctx, ingest.Errf(http.StatusUnprocessableEntity, "No %s wallet is configured for this merchant in %s", orAny(req.Provider), env))
		return
	}
	var start ingest.PaymentStart // the payment method's upstream for this merchant and environment, or 422
	if method := strings.ToLower(req.PaymentMethod); method != "" {
		pm := s.accept.PaymentMethodFor(method)
		if pm == nil { // not mounted: as if no upstream were configured
			ingest.WriteError(ctx, ingest.Errf(http.StatusUnprocessableEntity,
				"paymentMethod %s is not available in %s: no bKash upstream is configured for this merchant in %s", method, env, env))
			return
		}
		if start = pm.Prepare(ctx, m, env); start == nil {
			return
		}
	}

	var claimKey string
	fp := fingerprint(&req, amt, ttl)
	if req.IdempotencyKey != "" {
		claimKey = s.accept.IdempotencyKey(m.ID, env, req.IdempotencyKey)
	}
	// With a payment method, a used key is looked up before its upstream creates a payment. Without
	// one nothing happens before the claim but a read, so the claim itself finds a used key (one
	// round trip less for a new intent; a replay takes the lost-claim path below).
	if claimKey != "" && start != nil {
		prev, err := s.accept.LoadIdempotent(ingest.RequestContext(ctx), claimKey)
		if err != nil {
			s.fail.Internal(ctx, "reading idempotency key", err)
			return
		}
		if prev != nil {
			s.replayIntent(ctx, prev, fp)
			return
		}
	}

	wallet, err := s.accept.PickWallet(ingest.RequestContext(ctx), wallets, amt)
	if err != nil {
		s.fail.Internal(ctx, "choosing wallet", err)
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	in := &pipeline.Intent{
		ID: uuid.Must(uuid.NewV7()).String(), MerchantID: m.ID, Environment: env, Amount: amt, Currency: dialect.Currency,
		CustomerReference: strings.TrimSpace(*req.CustomerReference), Provider: wallet.Provider,
		ReceiverMsisdn: wallet.Account, IdempotencyKey: req.IdempotencyKey,
		SuccessURL: req.SuccessURL, FailedURL: req.FailedURL, CancelURL: req.CancelURL, ExpiredURL: req.ExpiredURL,
		Dialect: m.Dialect, Metadata: req.Metadata, CreatedAt: now, ExpiresAt: now.Add(time.Duration(ttl) * time.Second),
	}
	if start != nil && !start(ctx, in) { // the upstream's create first: its URL is the checkoutUrl
		return
	}
	if claimKey != "" {
		ok, err := s.accept.ClaimIdempotent(ingest.RequestContext(ctx), claimKey, &ingest.IdempotentIntent{Fingerprint: fp, Intent: in})
		if err != nil {
			s.fail.Internal(ctx, "claiming idempotency key", err)
			return
		}
		if !ok { // the key was used before, or a concurrent request with it won the claim
			prev, err := s.accept.LoadIdempotent(ingest.RequestContext(ctx), claimKey)
			if err != nil || prev == nil {
				s.fail.Internal(ctx, "reading idempotency key", err)
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

// replayIntent answers a request whose idempotency key was used before: a different body is a
// conflict; the same body gets the same intent. If the first request never got Kafka's ack (it
// answered 503, or is still in flight), the same event (same ids) is produced again: downstream
// drops the copy, so the intent exists exactly once either way.
func (s *Surface) replayIntent(ctx *fasthttp.RequestCtx, c *ingest.IdempotentIntent, fp string) {
	if c.Fingerprint != fp {
		ingest.WriteError(ctx, ingest.Errf(http.StatusConflict, "idempotencyKey was already used with a different request body"))
		return
	}
	rec, err := s.reader.GetIntent(ingest.RequestContext(ctx), c.Intent.ID)
	if err == nil {
		ctx.Response.Header.Set("Idempotent-Replayed", "true")
		ingest.WriteJSON(ctx, http.StatusCreated, s.accept.View(rec))
		return
	}
	if !errors.Is(err, state.ErrNotFound) {
		s.fail.Internal(ctx, "loading intent", err)
		return
	}
	ctx.Response.Header.Set("Idempotent-Replayed", "true")
	s.acceptIntent(ctx, c.Intent, nil)
}

// acceptIntent accepts in (AcceptIntent) and answers 201 with its view, or 503.
func (s *Surface) acceptIntent(ctx *fasthttp.RequestCtx, in *pipeline.Intent, raw []byte) {
	if err := s.accept.AcceptIntent(ctx, in, raw); err != nil {
		s.fail.Unavailable(ctx, "producing intent.created", err)
		return
	}
	ingest.WriteJSON(ctx, http.StatusCreated, s.accept.View(&pipeline.IntentRecord{Intent: *in, Status: pipeline.StatusPending, Version: 1}))
}

func (s *Surface) handleGetIntent(ctx *fasthttp.RequestCtx) {
	m, env := s.auth.AuthMerchant(ctx)
	if m == nil {
		return
	}
	id, _ := ctx.UserValue("id").(string)
	if !ingest.IntentIDRE.MatchString(id) {
		ingest.WriteError(ctx, errNotFound)
		return
	}
	rec, err := s.accept.MerchantIntent(ingest.RequestContext(ctx), m, env, id)
	var he *ingest.HorizonError
	switch {
	case errors.As(err, &he):
		ingest.WriteError(ctx, ingest.Errf(http.StatusNotFound, "%s: %s", errNotFound.Message, he))
		return
	case errors.Is(err, state.ErrNotFound):
		ingest.WriteError(ctx, errNotFound) // another merchant's (or environment's) intent does not exist for you
		return
	case err != nil:
		s.fail.Internal(ctx, "loading intent", err)
		return
	}
	ingest.WriteJSON(ctx, http.StatusOK, s.accept.View(rec))
}

func (s *Surface) handleListIntents(ctx *fasthttp.RequestCtx) {
	m, env := s.auth.AuthMerchant(ctx)
	if m == nil {
		return
	}
	args := ctx.QueryArgs()
	page, ae := ingest.IntArg(args, "page", 1, 1, 1_000_000)
	if ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	limit, ae := ingest.IntArg(args, "limit", 20, 1, 100)
	if ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	status := pipeline.Status(strings.ToUpper(string(args.Peek("status"))))
	if status != "" && !status.Valid() {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "status must be one of PENDING, PAID, EXPIRED, REJECTED, FAILED, REVIEW_REQUIRED"))
		return
	}
	if (page-1)*limit > 10_000 {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "page is too deep: at most 10000 results can be paged; filter by status"))
		return
	}
	recs, total, err := s.reader.ListIntents(ingest.RequestContext(ctx), m.WalletsIn(env), status, (page-1)*limit, limit)
	if err != nil {
		s.fail.Internal(ctx, "listing intents", err)
		return
	}
	data := make([]dialect.Intent, 0, len(recs))
	for _, r := range recs {
		data = append(data, s.accept.View(r))
	}
	ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"data": data, "total": total, "page": page, "limit": limit})
}

// simulateReq is seed 004's sandbox SMS simulator body; reference is a paystream extension (the
// "Ref" a customer may type in the wallet app), absent by default so matching is by amount, as real
// SMS mostly are.
type simulateReq struct {
	PaymentIntentID *string         `json:"paymentIntentId"`
	Amount          json.RawMessage `json:"amount"` // ingest.ParseAmount's rule, paisa allowed
	TrxID           *string         `json:"trxId"`
	SenderMsisdn    string          `json:"senderMsisdn"`
	Reference       string          `json:"reference"`
}

func (s *Surface) handleSimulate(ctx *fasthttp.RequestCtx) {
	m, env := s.auth.AuthMerchant(ctx)
	if m == nil {
		return
	}
	if env != pipeline.Sandbox {
		ingest.WriteError(ctx, ingest.Errf(http.StatusForbidden, "The SMS simulator is available with SANDBOX keys only"))
		return
	}
	var req simulateReq
	if ae := ingest.DecodeJSON(ctx.PostBody(), &req); ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	if req.PaymentIntentID == nil || *req.PaymentIntentID == "" {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "paymentIntentId is required"))
		return
	}
	amt, p := ingest.ParseAmount(req.Amount, ingest.WithPaisa)
	if p != ingest.AmountOK {
		ingest.WriteError(ctx, ingest.NativeAmountError(p, ingest.WithPaisa))
		return
	}
	if req.TrxID == nil || *req.TrxID == "" {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "trxId is required"))
		return
	}
	trx := strings.ToUpper(strings.TrimSpace(*req.TrxID))
	if !ingest.TrxIDRE.MatchString(trx) {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "trxId must be 6 to 32 letters and digits"))
		return
	}
	sender := ""
	if req.SenderMsisdn != "" {
		var ok bool
		if sender, ok = pipeline.NormalizeMSISDN(req.SenderMsisdn); !ok {
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "senderMsisdn must be a Bangladeshi mobile number such as 01711111111"))
			return
		}
	}
	if len(req.Reference) > ingest.MaxRefLen || !ingest.Printable(req.Reference) {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "reference must be at most %d printable characters", ingest.MaxRefLen))
		return
	}
	id := *req.PaymentIntentID
	if !ingest.IntentIDRE.MatchString(id) {
		ingest.WriteError(ctx, errNotFound)
		return
	}
	ev, rec := s.sim.ReportSandboxPayment(ctx, m, env, ingest.SandboxPayment{
		IntentID: id, Amount: amt, TrxID: trx, Sender: sender, Reference: strings.TrimSpace(req.Reference),
	}, errNotFound)
	if ev == nil {
		return
	}
	ingest.WriteJSON(ctx, http.StatusAccepted, simulateAnswer{
		Accepted: true, EventID: ev.ID, PaymentIntentID: id, TrxID: trx,
		Amount: amt.String(), ReceiverMsisdn: rec.ReceiverMsisdn,
	})
}

// simulateAnswer is the simulator's 202 (fields in the order the seed's map answer had: by name).
type simulateAnswer struct {
	Accepted        bool   `json:"accepted"`
	Amount          string `json:"amount"`
	EventID         string `json:"eventId"`
	PaymentIntentID string `json:"paymentIntentId"`
	ReceiverMsisdn  string `json:"receiverMsisdn"`
	TrxID           string `json:"trxId"`
}
