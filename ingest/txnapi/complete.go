package txnapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// handleTxnComplete turns a reported transaction into a payment.reported event on the receiving
// wallet (to_account) and answers 202 once Kafka acknowledged it. The transaction id is marked
// "pending" before the event is produced and "done" after the ack (ingest.Server.ClaimTrx, MarkTrxDone): a report of a "done"
// (or decided) TrxID answers 400 duplicate at once; a report that finds it "pending" (the first
// is in flight, got a 503, or its process died) produces the same event (TrxEventID) and answers
// 202, so a retry after a crash is never told "duplicate" for a payment that was never produced.
func (s *Surface) handleTxnComplete(ctx *fasthttp.RequestCtx) {
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
		ID: ingest.TrxEventID(pipeline.SourceTxnAPI, wallet, strings.ToUpper(trx)), Kind: pipeline.KindPaymentReported, Source: pipeline.SourceTxnAPI,
		Wallet: wallet, MerchantID: r.m.ID, Environment: r.in.Environment, AcceptedAt: now,
		Payment: &pipeline.Payment{
			Provider: pipeline.BKash, TrxID: strings.ToUpper(trx), Amount: pipeline.BDT(amount),
			Sender: from, Reference: ref, OccurredAt: occurred,
		},
		Raw: ingest.RawCopy(ctx.PostBody()), RequestID: ingest.RequestID(ctx),
	}
	dup, err := s.trx.ClaimTrx(ingest.RequestContext(ctx), wallet, ev.Payment.TrxID)
	if err != nil {
		s.fail.Internal(ctx, "claiming transaction id", err)
		return
	}
	if dup {
		ingest.WriteJSONBytes(ctx, http.StatusBadRequest, txnDuplicateJSON)
		return
	}
	if err := s.pub.Publish(ctx, ev); err != nil {
		s.fail.Unavailable(ctx, "producing payment.reported", err) // the mark stays "pending": the retry produces the same event
		return
	}
	s.trx.MarkTrxDone(ingest.RequestContext(ctx), wallet, ev.Payment.TrxID, ingest.RequestID(ctx))
	ingest.WriteJSONBytes(ctx, http.StatusAccepted, txnAcceptedJSON)
}
