package txnapi

import (
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// handleTxnCheck answers whether acc_no may pay: yes (HTTP 202, code 200) when the integration
// allows any account, or when acc_no (normalised if it is a mobile number) is the customer
// reference of an open, unexpired intent of the integration's merchant on one of its bKash wallets
// of the integration's environment; otherwise 403. It changes nothing, so it may be repeated.
func (s *Surface) handleTxnCheck(ctx *fasthttp.RequestCtx) {
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
		ingest.WriteJSON(ctx, http.StatusAccepted, txnAllowed)
		return
	}
	if n, ok := pipeline.NormalizeMSISDN(acc); ok {
		acc = n
	}
	recs, err := s.intents.OpenIntentsByReference(ingest.RequestContext(ctx), bkashWallets(r.m, r.in.Environment), acc)
	if err != nil {
		s.fail.Internal(ctx, "finding intents by reference", err)
		return
	}
	now := time.Now()
	for _, rec := range recs {
		if rec.MerchantID == r.m.ID && rec.ExpiresAt.After(now) {
			ingest.WriteJSON(ctx, http.StatusAccepted, txnAllowed)
			return
		}
	}
	ingest.WriteJSON(ctx, http.StatusForbidden, txnRefused)
}
