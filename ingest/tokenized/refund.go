package tokenized

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
)

// refundReq is POST /admin/v1/intents/{id}/refund's body; every field is optional.
type refundReq struct {
	Amount   json.RawMessage `json:"amount"` // ingest.ParseAmount's rule with paisa; absent or null: what is left to refund
	Reason   string          `json:"reason"`
	Operator string          `json:"operator"`
}

// refundView is the answer: the refund bKash made and what is left.
type refundView struct {
	IntentID      string `json:"intentId"`
	PaymentID     string `json:"paymentId"`
	TrxID         string `json:"trxId"`
	RefundTrxID   string `json:"refundTrxId"`
	Amount        string `json:"amount"`
	RefundedTotal string `json:"refundedTotal"`
	Remaining     string `json:"remaining"`
	EventID       string `json:"eventId"`
}

const refundLockTTL = 2 * time.Minute

// handleTokenizedRefund refunds all or part of an intent's completed bKash tokenized payment
// (admin API). One refund per intent runs at a time (a Redis lock). The refund is recorded before
// its payment.refunded event is produced; if Kafka does not acknowledge the event, the answer is
// 503 and the next call for the intent produces the recorded event (same id) instead of refunding
// again. A refund whose answer bKash did not give in time is looked up (refund status) before
// anything is said. The refund goes to the upstream the payment was created at (recordedUpstream),
// never to another environment's or merchant's.
func (s *Surface) handleTokenizedRefund(ctx *fasthttp.RequestCtx) {
	if !s.admin.RequireAdmin(ctx) {
		return
	}
	id, _ := ctx.UserValue("id").(string)
	if !ingest.IntentIDRE.MatchString(id) {
		ingest.WriteError(ctx, errNotFound)
		return
	}
	var req refundReq
	if body := ctx.PostBody(); len(body) > 0 {
		if ae := ingest.DecodeJSON(body, &req); ae != nil {
			ingest.WriteError(ctx, ae)
			return
		}
	}
	// The amount follows paystream's one amount rule (ingest.ParseAmount), with paisa: a JSON number in
	// any spelling or a string holding a plain decimal, > 0, <= 100000000, at most 2 decimals. It
	// is checked before anything is looked up, so a bad amount is a 400 whatever the intent.
	var amt pipeline.Money
	hasAmount := len(req.Amount) > 0 && string(req.Amount) != "null"
	if hasAmount {
		var p ingest.AmountProblem
		if amt, p = ingest.ParseAmount(req.Amount, ingest.WithPaisa); p == ingest.AmountMissing {
			// A blank amount is not "refund everything": money leaves only as asked.
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "amount must be a number of BDT, such as 500; leave it out to refund what is left"))
			return
		} else if p != ingest.AmountOK {
			ingest.WriteError(ctx, ingest.NativeAmountError(p, ingest.WithPaisa))
			return
		}
	}
	if len(req.Reason) > 255 || !ingest.Printable(req.Reason) || len(req.Operator) > 100 || !ingest.Printable(req.Operator) {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "reason (255) and operator (100) must be short printable text"))
		return
	}
	if !s.on() {
		ingest.WriteError(ctx, ingest.Errf(http.StatusConflict, "bKash tokenized checkout is not configured"))
		return
	}
	ir := s.loadIntent(ctx, id, errNotFound)
	if ir == nil {
		return
	}
	lock := s.tokKey(id) + ":refundlock"
	ok, err := s.rdb.SetNX(ingest.RequestContext(ctx), lock, ingest.RequestID(ctx), refundLockTTL).Result()
	if err != nil {
		s.fail.Internal(ctx, "locking refund", err)
		return
	}
	if !ok {
		ingest.WriteError(ctx, &ingest.APIError{Status: http.StatusConflict, Message: "A refund of this intent is in progress; retry shortly", RetryAfter: 2})
		return
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.rdb.Del(uctx, lock).Err()
	}()
	rec, err := s.loadTokenized(ingest.RequestContext(ctx), id)
	if err != nil {
		s.fail.Internal(ctx, "loading tokenized record", err)
		return
	}
	if rec == nil {
		ingest.WriteError(ctx, ingest.Errf(http.StatusConflict, "Intent %s was not paid through bKash tokenized checkout", id))
		return
	}
	// A refund recorded earlier whose event Kafka did not acknowledge: produce it now.
	for i := range rec.Refunds {
		if !rec.Refunds[i].Published {
			s.publishRefund(ctx, &ir.Intent, rec, i)
			return
		}
	}
	if rec.Status != tokCompleted || rec.TrxID == "" {
		ingest.WriteError(ctx, ingest.Errf(http.StatusConflict, "Intent %s has no completed bKash payment to refund", id))
		return
	}
	left := rec.Paid - rec.Refunded
	if !hasAmount {
		amt = left
	}
	if left <= 0 {
		ingest.WriteError(ctx, ingest.Errf(http.StatusConflict, "The payment of intent %s is already fully refunded", id))
		return
	}
	if amt > left {
		ingest.WriteError(ctx, ingest.Errf(http.StatusUnprocessableEntity, "amount exceeds what is left to refund (%s BDT)", left))
		return
	}
	tc := &s.cfg
	cr := s.recordedUpstream(ctx, &ir.Intent, rec) // the payment's own upstream, or nothing
	if cr == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.Background(), 2*s.bkashCallTimeout())
	defer cancel()
	rr := bkash.RefundRequest{PaymentID: rec.PaymentID, TrxID: rec.TrxID, Amount: amt, SKU: "intent:" + id, Reason: firstNonEmpty(req.Reason, "refund")}
	r, err := tc.Client.Refund(cctx, cr, rr)
	if err != nil && bkash.Ambiguous(err) {
		// The refund may have happened: bKash's refund status says so if its last refund is new to us.
		if st, serr := tc.Client.RefundStatus(cctx, cr, rec.PaymentID, rec.TrxID); serr == nil && st.Money == amt && !rec.hasRefund(st.RefundTrxID) {
			r, err = st, nil
		}
	}
	var se *bkash.StatusError
	switch {
	case err == nil:
	case errors.As(err, &se) && (se.Outcome == bkash.OutcomeRefundRefused || se.Outcome == bkash.OutcomeInvalidRequest || se.Outcome == bkash.OutcomeNotFound):
		ingest.WriteError(ctx, ingest.Errf(http.StatusUnprocessableEntity, "bKash refused the refund: %s %s", se.Code, trimErr(se.Message)))
		return
	default:
		s.upstreamError(ctx, "refunding bkash payment", err)
		return
	}
	rec.Refunded += r.Money
	rec.Refunds = append(rec.Refunds, tokenizedRefnd{
		RefundTrxID: r.RefundTrxID, Amount: r.Money, Reason: strings.TrimSpace(req.Reason),
		EventID: tokenizedEventID("refund", r.RefundTrxID), At: time.Now().UTC(),
	})
	rec.raw = r.Raw
	rec.payer = req.Operator
	if err := s.saveTokenized(ingest.RequestContext(ctx), rec); err != nil {
		// bKash refunded, the record did not keep it: say so loudly, with what an operator needs.
		s.log.Error("bkash refunded but recording it failed", "intent", id, "refund_trx_id", r.RefundTrxID, "err", err)
		ingest.WriteError(ctx, ingest.ErrUnavailable)
		return
	}
	s.publishRefund(ctx, &ir.Intent, rec, len(rec.Refunds)-1)
}

func (r *tokenizedRecord) hasRefund(trx string) bool {
	for _, x := range r.Refunds {
		if strings.EqualFold(x.RefundTrxID, trx) {
			return true
		}
	}
	return false
}

// publishRefund produces refund i of rec as payment.refunded, marks it published and answers.
func (s *Surface) publishRefund(ctx *fasthttp.RequestCtx, in *pipeline.Intent, rec *tokenizedRecord, i int) {
	rf := &rec.Refunds[i]
	var total pipeline.Money
	for _, x := range rec.Refunds[:i+1] {
		total += x.Amount
	}
	ev := &pipeline.Event{
		ID: rf.EventID, Kind: pipeline.KindPaymentRefunded, Source: pipeline.SourceTokenized, Wallet: in.Wallet(),
		MerchantID: in.MerchantID, Environment: in.Environment, AcceptedAt: time.Now().UTC(), Intent: in,
		Refund: &pipeline.Refund{
			IntentID: in.ID, PaymentID: rec.PaymentID, TrxID: rec.TrxID, RefundTrxID: rf.RefundTrxID, Amount: rf.Amount,
			RefundedTotal: total, Reason: rf.Reason, Operator: rec.payer,
		},
		Raw: rec.raw, RequestID: ingest.RequestID(ctx),
	}
	if err := s.pub.Publish(ctx, ev); err != nil {
		s.fail.Unavailable(ctx, "producing payment.refunded", err)
		return
	}
	rf.Published = true
	if err := s.saveTokenized(ingest.RequestContext(ctx), rec); err != nil {
		s.log.Warn("marking refund published failed; a later refund call re-produces the same event", "intent", in.ID, "err", err)
	}
	ingest.WriteJSON(ctx, http.StatusOK, refundView{
		IntentID: in.ID, PaymentID: rec.PaymentID, TrxID: rec.TrxID, RefundTrxID: rf.RefundTrxID, Amount: rf.Amount.String(),
		RefundedTotal: total.String(), Remaining: (rec.Paid - rec.Refunded).String(), EventID: ev.ID,
	})
}

// trimErr bounds a message quoted from bKash to 120 bytes (as the kernel's errors do).
func trimErr(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
