package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// benchWallets returns n SANDBOX bKash wallets with distinct accounts.
func benchWallets(n int, prefix string) []pipeline.Wallet {
	ws := make([]pipeline.Wallet, n)
	for i := range ws {
		ws[i] = pipeline.Wallet{Provider: pipeline.BKash, Account: fmt.Sprintf("%s%08d", prefix, i), Environment: pipeline.Sandbox}
	}
	return ws
}

// simulatorEvent is a payment.reported event as the sandbox simulator route builds it.
func simulatorEvent(w pipeline.Wallet, merchantID, trx string, amount pipeline.Money, at time.Time) *pipeline.Event {
	raw := fmt.Appendf(nil, `{"paymentIntentId":%q,"amount":%s,"trxId":%q,"senderMsisdn":"01783110247"}`, uuid.NewString(), amount.String(), trx)
	return &pipeline.Event{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSandboxSim,
		Wallet: w, MerchantID: merchantID, Environment: w.Environment, AcceptedAt: at,
		Payment: &pipeline.Payment{Provider: w.Provider, TrxID: trx, Amount: amount, Sender: "01783110247", OccurredAt: at},
		Raw:     raw, RequestID: uuid.Must(uuid.NewV7()).String(),
	}
}

// runProduce measures ingest's produce path (bus.Producer.Send) against franz-go's ProduceSync of
// one record (bus.Producer.SendAll, which adds only a struct copy and one histogram observation):
// the same records (ingest-sized simulator events keyed by 64 wallets), the same number of
// goroutines, each waiting for its record's acknowledgement before sending the next.
func runProduce(e *env) ([]Row, error) {
	const stage = "produce"
	brk, bc, topics, err := e.broker(stage)
	if err != nil {
		return nil, err
	}
	defer brk.Close()

	const distinct = 1024
	wallets := benchWallets(64, "017")
	type kv struct{ k, v []byte }
	recs := make([]kv, distinct)
	for i := range recs {
		w := wallets[i%len(wallets)]
		ev := simulatorEvent(w, "m-bench", nextTrx(), pipeline.BDT(500), time.Now().UTC())
		v, err := pipeline.EncodeEvent(ev)
		if err != nil {
			return nil, err
		}
		recs[i] = kv{[]byte(w.Key()), v}
	}
	topic := topics.Inbound()
	n := e.opt.concurrency
	row := Row{Stage: "produce", Unit: "record",
		Notes: fmt.Sprintf("%d-byte values, keyed by 64 wallets over %d partitions; one record in flight per goroutine", len(recs[0].v), e.opt.partitions)}

	// Baseline: franz-go's ProduceSync with the same client settings (only pipeline/bus builds
	// franz-go clients; SendAll is ProduceSync behind a struct copy).
	raw, err := bus.NewBusProducer(bc, 5*time.Second, 100_000, prometheus.NewRegistry())
	if err != nil {
		return nil, fmt.Errorf("building the baseline producer: %w", err)
	}
	if err := raw.SendAll(context.Background(), bus.Record{Topic: topic, Key: recs[0].k, Value: recs[0].v}); err != nil {
		raw.Close(context.Background())
		return nil, fmt.Errorf("warming up the baseline producer: %w", err)
	}
	w := e.begin(stage + "-baseline")
	ok, failed, elapsed := closedLoop(e.opt.duration, n, func(i int) bool {
		r := recs[int(trxSeq.Add(1))%distinct]
		return raw.SendAll(context.Background(), bus.Record{Topic: topic, Key: r.k, Value: r.v}) == nil
	})
	row.Baseline = w.end(fmt.Sprintf("franz-go ProduceSync of one record (bus.Producer.SendAll; acks=all, idempotent, linger 0), %d goroutines", n), ok, failed, w.start, w.start.Add(elapsed))
	raw.Close(context.Background())

	prod, err := bus.NewBusProducer(bc, 5*time.Second, 100_000, prometheus.NewRegistry())
	if err != nil {
		return []Row{row}, err
	}
	defer prod.Close(context.Background())
	if err := prod.Send(context.Background(), topic, recs[0].k, recs[0].v); err != nil {
		return []Row{row}, fmt.Errorf("warming up bus.Producer: %w", err)
	}
	w = e.begin(stage + "-component")
	ok, failed, elapsed = closedLoop(e.opt.duration, n, func(i int) bool {
		r := recs[int(trxSeq.Add(1))%distinct]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // as ingest's publish
		defer cancel()
		return prod.Send(ctx, topic, r.k, r.v) == nil
	})
	row.Component = w.end(fmt.Sprintf("bus.Producer.Send (ingest's produce path), %d goroutines", n), ok, failed, w.start, w.start.Add(elapsed))
	return []Row{row}, nil
}
