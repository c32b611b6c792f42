package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
)

// Seed 002, the bKash transaction API. bKash (or an aggregator in front of it) asks whether a payer
// account may pay a merchant (check) and reports a completed transaction to one of the merchant's
// wallets (complete). Both routes authenticate with an integration of kind
// pipeline.IntegrationTxnAPI (POST /admin/v1/merchants/:id/integrations) in two steps, before the
// body's meaning is looked at:
//
//   - API-Key: the integration's key, looked up by its SHA-256.
//   - X-Signature: HMAC-SHA256, keyed with the integration's signing secret (its UTF-8 bytes), of the
//     RFC 8785 (JCS) form of the body, as hex (either case) or base64 (standard or URL alphabet,
//     padded or not), compared in constant time. A body that is not JSON JCS accepts (malformed,
//     duplicate keys, invalid UTF-8, a number beyond an IEEE 754 double) can only be signed as
//     received; its sender then learns that the body is malformed (422), anyone else gets 401.
//
// The fields are read from the JCS form, that is from exactly the bytes the signature covers, so
// no parser disagreement (duplicate keys, number spelling) can make a signed body mean something
// else. Numbers therefore follow JCS: 100.0 and 1e2 are the integer 100; 100.5 is not an integer.
//
// Answers keep the seed's shapes and quirks: check success is HTTP 202 with "code": 200; a
// complete success is HTTP 202 with "code": 202; 401 has "errors": "access denied"; 422 lists
// messages per field. paystream adds 403 (check refused), 413 (body too large) and 503 with
// Retry-After (Redis or Kafka did not answer: retrying is safe) in the {"code","message","type"}
// shape, and never answers 500.

// Field limits of seed 002 (in characters, after trimming spaces) and of paystream.
const (
	txnMaxAccNo     = 11
	txnMaxTrxID     = 32
	txnMaxAccount   = 32
	txnMaxReference = 255
	// txnEarliest is the earliest transaction_datetime accepted: 2000-01-01T00:00:00Z.
	txnEarliest = 946684800
	// txnFutureSkew is how far ahead of ingest's clock a transaction_datetime may be. It allows for
	// clock skew, and refuses milliseconds sent where seconds are expected.
	txnFutureSkew = 24 * time.Hour
	// txnMaxSignature bounds the X-Signature value decoded (hex of 32 bytes is 64 characters).
	txnMaxSignature = 128
)

// txnIDRE is what a transaction_id may contain. bKash TrxIDs are letters and digits; dots, dashes
// and underscores are let through for aggregators that prefix them.
var txnIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// txnAnswer is seed 002's {"code","message","type"} answer.
type txnAnswer struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type"`
}

// txnDeniedAnswer is seed 002's 401 answer, fields in the seed's order.
type txnDeniedAnswer struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
	Errors  string `json:"errors"`
}

// txnInvalidAnswer is seed 002's 422 answer: messages per field.
type txnInvalidAnswer struct {
	Code    int                 `json:"code"`
	Message string              `json:"message"`
	Type    string              `json:"type"`
	Errors  map[string][]string `json:"errors"`
}

var (
	txnAllowed   = txnAnswer{Code: http.StatusOK, Message: "transaction allowed", Type: "success"} // sent with HTTP 202, as the seed shows
	txnAccepted  = txnAnswer{Code: http.StatusAccepted, Message: "transaction accepted", Type: "success"}
	txnRefused   = txnAnswer{Code: http.StatusForbidden, Message: "transaction not allowed", Type: "error"}
	txnDuplicate = txnAnswer{Code: http.StatusBadRequest, Message: "duplicate transaction id", Type: "error"}
	txnDenied    = txnDeniedAnswer{Message: "access denied", Type: "error", Code: http.StatusUnauthorized, Errors: "access denied"}
)

// txnAPIRoutes registers seed 002's bKash transaction API.
func (s *Server) txnAPIRoutes(route routeFunc) {
	route(http.MethodPost, prefixTxnAPI+"transactions/check", "bkash_txn_check", s.handleTxnCheck)
	route(http.MethodPost, prefixTxnAPI+"transactions/complete", "bkash_txn_complete", s.handleTxnComplete)
}

// handleTxnCheck answers whether acc_no may pay: yes (HTTP 202, code 200) when the integration
// allows any account, or when acc_no (normalised if it is a mobile number) is the customer
// reference of an open, unexpired intent of the integration's merchant on one of its bKash wallets
// of the integration's environment; otherwise 403. It changes nothing, so it may be repeated.
func (s *Server) handleTxnCheck(ctx *fasthttp.RequestCtx) {
	r := s.authTxn(ctx)
	if r == nil {
		return
	}
	acc := r.str("acc_no", txnMaxAccNo, true)
	if len(r.errs) > 0 {
		writeTxnInvalid(ctx, r.errs)
		return
	}
	if r.in.AllowAnyAccount {
		writeJSON(ctx, http.StatusAccepted, txnAllowed)
		return
	}
	if n, ok := pipeline.NormalizeMSISDN(acc); ok {
		acc = n
	}
	recs, err := s.state.OpenIntentsByReference(rc(ctx), bkashWallets(r.m, r.in.Environment), acc)
	if err != nil {
		s.internal(ctx, "finding intents by reference", err)
		return
	}
	now := time.Now()
	for _, rec := range recs {
		if rec.MerchantID == r.m.ID && rec.ExpiresAt.After(now) {
			writeJSON(ctx, http.StatusAccepted, txnAllowed)
			return
		}
	}
	writeJSON(ctx, http.StatusForbidden, txnRefused)
}

// handleTxnComplete turns a reported transaction into a payment.reported event on the receiving
// wallet (to_account) and answers 202 once Kafka acknowledged it. The transaction id is marked
// "pending" before the event is produced and "done" after the ack (claimTrx): a report of a "done"
// (or decided) TrxID answers 400 duplicate at once; a report that finds it "pending" (the first
// is in flight, got a 503, or its process died) produces the same event (trxEventID) and answers
// 202, so a retry after a crash is never told "duplicate" for a payment that was never produced.
func (s *Server) handleTxnComplete(ctx *fasthttp.RequestCtx) {
	r := s.authTxn(ctx)
	if r == nil {
		return
	}
	trx := r.str("transaction_id", txnMaxTrxID, true)
	if trx != "" && !txnIDRE.MatchString(trx) {
		r.fail("transaction_id", "transaction_id is invalid")
	}
	from := r.str("from_account", txnMaxAccount, true)
	to := r.str("to_account", txnMaxAccount, true)
	amount := r.amount("amount") // whole taka

	ts, tsOK := r.integer("transaction_datetime", false)
	now := time.Now().UTC()
	occurred := now
	if tsOK {
		if ts < txnEarliest || ts > now.Add(txnFutureSkew).Unix() {
			r.fail("transaction_datetime", "transaction_datetime is invalid")
		}
		occurred = time.Unix(ts, 0).UTC()
	}
	ref := r.str("reference", txnMaxReference, false)
	var wallet pipeline.Wallet
	if to != "" {
		var ok bool
		if wallet, ok = merchantBKashWallet(r.m, r.in.Environment, to); !ok {
			r.fail("to_account", "to_account is not a wallet of this merchant")
		}
	}
	if len(r.errs) > 0 {
		writeTxnInvalid(ctx, r.errs)
		return
	}
	if n, ok := pipeline.NormalizeMSISDN(from); ok {
		from = n
	}
	ev := &pipeline.Event{
		ID: trxEventID(pipeline.SourceTxnAPI, wallet, strings.ToUpper(trx)), Kind: pipeline.KindPaymentReported, Source: pipeline.SourceTxnAPI,
		Wallet: wallet, MerchantID: r.m.ID, Environment: r.in.Environment, AcceptedAt: now,
		Payment: &pipeline.Payment{
			Provider: pipeline.BKash, TrxID: strings.ToUpper(trx), Amount: pipeline.BDT(amount),
			Sender: from, Reference: ref, OccurredAt: occurred,
		},
		Raw: rawCopy(ctx.PostBody()), RequestID: requestID(ctx),
	}
	dup, err := s.claimTrx(rc(ctx), wallet, ev.Payment.TrxID)
	if err != nil {
		s.internal(ctx, "claiming transaction id", err)
		return
	}
	if dup {
		writeJSON(ctx, http.StatusBadRequest, txnDuplicate)
		return
	}
	if err := s.publish(ctx, ev); err != nil {
		s.unavailable(ctx, "producing payment.reported", err) // the mark stays "pending": the retry produces the same event
		return
	}
	s.markTrxDone(rc(ctx), wallet, ev.Payment.TrxID, requestID(ctx))
	writeJSON(ctx, http.StatusAccepted, txnAccepted)
}

// txnRequest is a transaction-API request that passed authentication: its integration, the
// integration's merchant, the top-level fields of the body's JCS form, and the field errors found
// so far.
type txnRequest struct {
	in     *pipeline.Integration
	m      *pipeline.Merchant
	fields map[string]json.RawMessage
	// sent are the top-level fields as the client wrote them: amounts are read from here, because
	// the JCS form rounds numbers through an IEEE 754 double (500.0000000000000001 reads 500 there,
	// 1e-400 reads 0).
	sent map[string]json.RawMessage
	errs map[string][]string
}

// authTxn authenticates the request (API-Key, then X-Signature over the body) and decodes the body
// into its top-level fields. On failure it answers itself (401, 422 for a body that is not a JSON
// object, 429 over the key's rate limit, 503 when Redis did not answer) and returns nil.
func (s *Server) authTxn(ctx *fasthttp.RequestCtx) *txnRequest {
	key := strings.TrimSpace(string(ctx.Request.Header.Peek("API-Key")))
	if key == "" || len(key) > 128 {
		writeJSON(ctx, http.StatusUnauthorized, txnDenied)
		return nil
	}
	in, err := s.integration(rc(ctx), pipeline.IntegrationTxnAPI, hashSecret(key))
	if err != nil {
		s.internal(ctx, "looking up transaction-API key", err)
		return nil
	}
	if in == nil || in.SigningSecret == "" {
		writeJSON(ctx, http.StatusUnauthorized, txnDenied)
		return nil
	}
	signed, canonical := txnSignedForm(ctx.PostBody())
	if !verifyTxnSignature(in.SigningSecret, signed, string(ctx.Request.Header.Peek("X-Signature"))) {
		writeJSON(ctx, http.StatusUnauthorized, txnDenied)
		return nil
	}
	m, err := s.merchant(rc(ctx), in.MerchantID)
	if err != nil {
		s.internal(ctx, "loading merchant of transaction-API key", err)
		return nil
	}
	if m == nil || m.Status != pipeline.MerchantActive {
		writeJSON(ctx, http.StatusUnauthorized, txnDenied)
		return nil
	}
	if !s.allowKey(ctx, "txnapi:"+in.ID) {
		return nil
	}
	var fields map[string]json.RawMessage
	if !canonical || json.Unmarshal(signed, &fields) != nil || fields == nil {
		writeTxnInvalid(ctx, map[string][]string{"body": {"body must be a JSON object"}})
		return nil
	}
	var sent map[string]json.RawMessage
	_ = json.Unmarshal(ctx.PostBody(), &sent) // the same keys: JCS refused duplicates
	return &txnRequest{in: in, m: m, fields: fields, sent: sent, errs: map[string][]string{}}
}

// fail records a message for field.
func (r *txnRequest) fail(field, msg string) { r.errs[field] = append(r.errs[field], msg) }

// str returns string field name, trimmed; "" when it is absent, null or invalid (the reason is
// recorded: required, not a string, longer than max characters, not printable).
func (r *txnRequest) str(name string, max int, required bool) string {
	raw, ok := r.fields[name]
	if !ok || string(raw) == "null" {
		if required {
			r.fail(name, name+" is required")
		}
		return ""
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		r.fail(name, name+" is invalid")
		return ""
	}
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		r.fail(name, name+" is required")
	case utf8.RuneCountInString(v) > max:
		r.fail(name, fmt.Sprintf("%s must be at most %d characters", name, max))
	case !printable(v):
		r.fail(name, name+" is invalid")
	default:
		return v
	}
	return ""
}

// amount returns field name as whole taka under parseAmount's rule; 0 when it is refused (the
// reason is recorded).
func (r *txnRequest) amount(name string) int64 {
	m, p := parseAmount(r.sent[name], wholeTaka)
	if p != amountOK {
		r.fail(name, txnAmountMessage(name, p))
		return 0
	}
	return int64(m / 100)
}

// integer returns integer field name; ok is false when it is absent, null or not an integer (the
// reason is recorded, "required" only if required).
func (r *txnRequest) integer(name string, required bool) (n int64, ok bool) {
	raw, present := r.fields[name]
	if !present || string(raw) == "null" {
		if required {
			r.fail(name, name+" is required")
		}
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64) // JCS writes integral numbers below 1e21 as plain digits
	if err != nil {
		r.fail(name, name+" is invalid")
		return 0, false
	}
	return n, true
}

func writeTxnInvalid(ctx *fasthttp.RequestCtx, errs map[string][]string) {
	writeJSON(ctx, http.StatusUnprocessableEntity, txnInvalidAnswer{
		Code: http.StatusUnprocessableEntity, Message: "please fix the given errors", Type: "error", Errors: errs,
	})
}

// bkashWallets returns the merchant's bKash wallets of env: the only wallets a bKash transaction
// can pay.
func bkashWallets(m *pipeline.Merchant, env pipeline.Environment) []pipeline.Wallet {
	var ws []pipeline.Wallet
	for _, w := range m.WalletsIn(env) {
		if w.Provider == pipeline.BKash {
			ws = append(ws, w)
		}
	}
	return ws
}

// merchantBKashWallet resolves account (a mobile number in any accepted spelling) to one of the
// merchant's bKash wallets of env.
func merchantBKashWallet(m *pipeline.Merchant, env pipeline.Environment, account string) (pipeline.Wallet, bool) {
	acct, ok := pipeline.NormalizeMSISDN(account)
	if !ok {
		return pipeline.Wallet{}, false
	}
	w := pipeline.Wallet{Provider: pipeline.BKash, Account: acct, Environment: env}
	return w, m.HasWallet(w)
}

// txnSignedForm returns the bytes X-Signature must sign: the JCS (RFC 8785) form of body, with
// canonical true; or body as received when JCS refuses it (not JSON, duplicate keys, invalid
// UTF-8, a number beyond an IEEE 754 double), with canonical false.
func txnSignedForm(body []byte) (signed []byte, canonical bool) {
	c, err := jcs.Transform(body)
	if err != nil {
		return body, false
	}
	return c, true
}

// decodeTxnSignature decodes an X-Signature value: a 32-byte MAC as hex (either case) or base64
// (standard or URL alphabet, padded or not). ok is false for anything else.
func decodeTxnSignature(v string) (mac []byte, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > txnMaxSignature {
		return nil, false
	}
	if len(v) == hex.EncodedLen(sha256.Size) {
		b, err := hex.DecodeString(v)
		return b, err == nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == sha256.Size {
			return b, true
		}
	}
	return nil, false
}

// verifyTxnSignature reports whether header carries HMAC-SHA256(secret, signed), in constant time.
func verifyTxnSignature(secret string, signed []byte, header string) bool {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(signed)
	want := h.Sum(nil)
	got, ok := decodeTxnSignature(header)
	return ok && hmac.Equal(got, want)
}
