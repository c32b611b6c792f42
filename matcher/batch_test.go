package matcher

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// batchWorkload is a seeded mix over three wallets: intents (with repeated amounts and
// references, so payments are ambiguous, reference-matched or amount-matched), payments (repeated
// TrxIDs, repeated event ids, unmatched amounts), claims, SMS balances (with gaps) and payments
// that depend on an intent created in the same poll.
func batchWorkload(seed uint64) []*pipeline.Event {
	r := rand.New(rand.NewPCG(seed, seed))
	wallets := []pipeline.Wallet{walletA, walletB, {Provider: pipeline.Rocket, Account: "01933333333", Environment: pipeline.Sandbox}}
	t0 := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	var evs []*pipeline.Event
	var intents []*pipeline.Event
	balance := map[string]int64{}
	for i := range 400 {
		w := wallets[r.IntN(len(wallets))]
		base := pipeline.Event{Wallet: w, MerchantID: merchantOf(w), AcceptedAt: at(i), Environment: w.Environment}
		switch k := r.IntN(10); {
		case k < 3 || len(intents) == 0:
			ev := base
			id := fmt.Sprintf("pi-%03d", i)
			ev.ID, ev.Kind, ev.Source = "ev-"+id, pipeline.KindIntentCreated, pipeline.SourceMerchantAPI
			ref := ""
			if r.IntN(2) == 0 {
				ref = fmt.Sprintf("order-%d", r.IntN(20))
			}
			ev.Intent = &pipeline.Intent{ID: id, MerchantID: ev.MerchantID, Environment: w.Environment, Amount: pipeline.BDT(int64(100 + r.IntN(15))),
				Currency: "BDT", CustomerReference: ref, Provider: w.Provider, ReceiverMsisdn: w.Account, Dialect: pipeline.DialectNative,
				// Deadlines far beyond the test's real time: the expiry tick compares them with the
				// clock, so a deadline that passed would expire intents at whatever moment the
				// consumer goes idle, and the two runs would race with it.
				CreatedAt: at(i), ExpiresAt: at(i).Add(100 * 365 * 24 * time.Hour)}
			intents = append(intents, &ev)
			evs = append(evs, &ev)
		case k < 7:
			in := intents[r.IntN(len(intents))]
			ev := base
			ev.Wallet, ev.MerchantID, ev.Environment = in.Wallet, in.MerchantID, in.Environment
			ev.ID, ev.Kind, ev.Source = fmt.Sprintf("pay-%03d", i), pipeline.KindPaymentReported, pipeline.SourceSMS
			amount := in.Intent.Amount
			if r.IntN(8) == 0 {
				amount = pipeline.BDT(int64(900 + r.IntN(5))) // pays nothing
			}
			ref := ""
			switch r.IntN(4) {
			case 0:
				ref = in.Intent.ID
			case 1:
				ref = in.Intent.CustomerReference
			}
			trx := fmt.Sprintf("TRX%05d", i)
			if r.IntN(6) == 0 {
				trx = fmt.Sprintf("TRX%05d", r.IntN(i+1)) // maybe seen before: a duplicate
			}
			ev.Payment = &pipeline.Payment{Provider: ev.Wallet.Provider, TrxID: trx, Amount: amount, Sender: "01999999999", Reference: ref, OccurredAt: at(i)}
			if r.IntN(3) == 0 {
				b := pipeline.Money(balance[ev.Wallet.Key()]) + amount
				if r.IntN(10) == 0 {
					b += pipeline.BDT(1) // a missed SMS
				}
				balance[ev.Wallet.Key()] = int64(b)
				ev.SMS = &pipeline.SMS{Sender: "bKash", DeviceID: "dev-1", ReceivedAt: at(i), Trusted: true, Kind: "received_send_money",
					Direction: "credit", Amount: &amount, Balance: &b, TrxID: trx}
			}
			evs = append(evs, &ev)
		case k < 8:
			in := intents[r.IntN(len(intents))]
			ev := base
			ev.Wallet, ev.MerchantID, ev.Environment = in.Wallet, in.MerchantID, in.Environment
			ev.ID, ev.Kind, ev.Source = fmt.Sprintf("claim-%03d", i), pipeline.KindClaimSubmitted, pipeline.SourceCheckout
			ev.Claim = &pipeline.Claim{IntentID: in.Intent.ID, TrxID: fmt.Sprintf("TRX%05d", r.IntN(i+40)), SenderMsisdn: "01999999999"}
			evs = append(evs, &ev)
		case k < 9 && len(evs) > 0:
			evs = append(evs, evs[r.IntN(len(evs))]) // a redelivered event
		default:
			ev := base
			ev.ID, ev.Kind, ev.Source = fmt.Sprintf("sms-%03d", i), pipeline.KindSMSReceived, pipeline.SourceSMS
			a := pipeline.BDT(int64(1 + r.IntN(50)))
			b := pipeline.Money(balance[w.Key()]) - a
			balance[w.Key()] = int64(b)
			ev.SMS = &pipeline.SMS{Sender: "bKash", Text: "...", DeviceID: "dev-1", ReceivedAt: at(i), Trusted: true, Kind: "send_money",
				Direction: "debit", Amount: &a, Balance: &b}
			evs = append(evs, &ev)
		}
	}
	return evs
}

// decided runs a matcher deciding maxRun events per run over evs, all produced before it starts
// (so it polls large batches), and returns a summary of every outcome by id.
func decided(t *testing.T, evs []*pipeline.Event, maxRun int) map[string]string {
	h := newHarness(t)
	h.produce(evs...)
	reg := prometheus.NewRegistry()
	m, err := New(Config{Bus: h.bus, Topics: h.topics, ExpiryInterval: time.Hour, Logger: testLogger()}, h.st, reg, bus.NewConsumerMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	m.maxRun = maxRun
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		m.Close()
		<-done
	}()
	want := float64(len(evs))
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n float64
		for _, res := range []string{resultApplied, resultReplayed, resultNoop, resultIgnored, resultPoison} {
			n += counterValue(t, reg, "paystream_matcher_events_total", map[string]string{"result": res})
		}
		if n >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("matcher (run length %d) handled %v of %v events", maxRun, n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every outcome was produced before its events were counted: read until the topic is drained.
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := h.outs.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			break
		}
		h.recs = append(h.recs, fs.Records()...)
	}
	byID := h.waitFor("every outcome", func(map[string][]*kgo.Record) bool { return true })
	if mean := histogramMean(t, reg, "paystream_matcher_run_events"); maxRun > 1 && mean < 2 {
		t.Errorf("mean run length %.1f: the events were not decided in runs", mean)
	} else {
		t.Logf("run length %d: mean run %.1f events, %d outcomes", maxRun, mean, len(byID))
	}
	out := map[string]string{}
	for id, rs := range byID {
		o, err := pipeline.DecodeOutcome(rs[0].Value)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = fmt.Sprintf("%s %s %s %s %s %s %d", o.Type, o.Status, o.Disposition, o.IntentID, o.Reason, o.MatchType, len(rs))
	}
	return out
}

// Deciding a poll in runs (pipelined loads and applies) decides exactly what deciding it one event
// at a time does.
func TestRunsDecideAsOneByOne(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		evs := batchWorkload(seed)
		one := decided(t, evs, 1)
		runs := decided(t, evs, maxRunLength)
		if len(one) < 100 {
			t.Fatalf("seed %d: only %d outcomes: the workload proves little", seed, len(one))
		}
		for _, id := range slices.Sorted(maps.Keys(one)) {
			if runs[id] != one[id] {
				t.Errorf("seed %d: outcome %s: in runs %q, one by one %q", seed, id, runs[id], one[id])
			}
		}
		for id := range runs {
			if _, ok := one[id]; !ok {
				t.Errorf("seed %d: outcome %s only in runs: %q", seed, id, runs[id])
			}
		}
	}
}

func histogramMean(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleSum() / float64(max(h.GetSampleCount(), 1))
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0
}

func TestMerchantKey(t *testing.T) {
	for raw, want := range map[string]string{
		`{"id":"o1","type":"intent.status","merchantId":"m-1","intent":{"merchantId":"m-1"}}`: "m-1",
		`{"id":"o1","merchantId":"m\"x","intent":{}}`:                                         `m"x`,
		`{"id":"o1"}`:  "",
		`not json`:     "",
		`{"merchantId`: "",
	} {
		if got := string(merchantKey([]byte(raw))); got != want {
			t.Errorf("merchantKey(%s) = %q, want %q", raw, got, want)
		}
	}
}
