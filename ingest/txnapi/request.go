package txnapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

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
func (s *Surface) authTxn(ctx *fasthttp.RequestCtx) *txnRequest {
	key := strings.TrimSpace(string(ctx.Request.Header.Peek("API-Key")))
	if key == "" || len(key) > 128 {
		ingest.WriteJSON(ctx, http.StatusUnauthorized, txnDenied)
		return nil
	}
	in, err := s.auth.Integration(ingest.RequestContext(ctx), pipeline.IntegrationTxnAPI, ingest.HashSecret(key))
	if err != nil {
		s.fail.Internal(ctx, "looking up transaction-API key", err)
		return nil
	}
	if in == nil || in.SigningSecret == "" {
		ingest.WriteJSON(ctx, http.StatusUnauthorized, txnDenied)
		return nil
	}
	signed, canonical := txnSignedForm(ctx.PostBody())
	if !verifyTxnSignature(in.SigningSecret, signed, string(ctx.Request.Header.Peek("X-Signature"))) {
		ingest.WriteJSON(ctx, http.StatusUnauthorized, txnDenied)
		return nil
	}
	m, err := s.auth.Merchant(ingest.RequestContext(ctx), in.MerchantID)
	if err != nil {
		s.fail.Internal(ctx, "loading merchant of transaction-API key", err)
		return nil
	}
	if m == nil || m.Status != pipeline.MerchantActive {
		ingest.WriteJSON(ctx, http.StatusUnauthorized, txnDenied)
		return nil
	}
	if !s.auth.AllowKey(ctx, "txnapi:"+in.ID) {
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
	case !ingest.Printable(v):
		r.fail(name, name+" is invalid")
	default:
		return v
	}
	return ""
}

// amount returns field name as whole taka under ParseAmount's rule; 0 when it is refused (the
// reason is recorded).
func (r *txnRequest) amount(name string) int64 {
	m, p := ingest.ParseAmount(r.sent[name], ingest.WholeTaka)
	if p != ingest.AmountOK {
		r.fail(name, amountMessage(name, p))
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
	ingest.WriteJSON(ctx, http.StatusUnprocessableEntity, txnInvalidAnswer{
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

// amountMessage words p for the transaction API's errors map, "" for AmountOK. Seed 002's
// messages start with the field's name and its example is "amount is invalid": that stays the
// start of every refusal, followed by the reason.
func amountMessage(field string, p ingest.AmountProblem) string {
	switch p {
	case ingest.AmountMissing:
		return field + " is required"
	case ingest.AmountNotNumber:
		return field + " is invalid: it must be a number of taka, such as 100"
	case ingest.AmountNotPositive:
		return field + " is invalid: it must be greater than 0"
	case ingest.AmountTooLarge:
		return field + " is invalid: it must not be greater than " + ingest.MaxAmountText
	case ingest.AmountTooPrecise:
		return field + " is invalid: it must be a whole number of taka"
	}
	return ""
}
