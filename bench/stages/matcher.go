package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/matcher"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/state"
)

// matcherPoll is the matcher consumer's batch bound (bus.ConsumerConfig's default MaxPollRecords).
const matcherPoll = 2000

// rawScript is the baseline's per-event Redis work: one Lua script on one hash-tagged key that
// reads a field, writes it and bumps a version, about the weight of one matcher apply.
var rawScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'ver', 1)`)

// runMatcher measures the matcher draining a backlog of K intent.created + K payment.reported
// events against raw pipelined EVALSHA of the same number of events, batched like polled
// partitions.
func runMatcher(e *env) ([]Row, error) {
	const stage = "matcher"
	keys := e.keys(stage)
	defer e.cleanRedis(keys.Prefix)
	k := e.opt.matcherIntents
	const nWallets = 64
	wallets := benchWallets(nWallets, "019")
	total := 2 * k
	row := Row{Stage: "matcher", Unit: "event", Target: 0.60}

	// Baseline: the same number of events, in polled-sized batches; each batch split by partition
	// (wallet i on partition i % P), one goroutine per partition pipelining one EVALSHA per event.
	ctx := context.Background()
	if err := rawScript.Load(ctx, e.rdb).Err(); err != nil {
		return nil, fmt.Errorf("loading the baseline script: %w", err)
	}
	val := strings.Repeat("x", 200)
	parts := int(e.opt.partitions)
	w := e.begin(stage + "-baseline")
	var ops, errs int64
	for rounds := 0; ops < int64(total) || time.Since(w.start) < e.opt.minBaseline; rounds++ {
		for start := 0; start < total; start += matcherPoll {
			n := min(matcherPoll, total-start)
			var wg sync.WaitGroup
			var mu sync.Mutex
			for p := range parts {
				wg.Go(func() {
					pipe := e.rdb.Pipeline()
					cnt := 0
					for j := start; j < start+n; j++ {
						wi := j % nWallets
						if wi%parts != p {
							continue
						}
						rawScript.EvalSha(ctx, pipe, []string{keys.WalletTag(wallets[wi]) + ":bench"}, fmt.Sprintf("f%d", j%512), val)
						cnt++
					}
					if cnt == 0 {
						return
					}
					_, err := pipe.Exec(ctx)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs += int64(cnt)
					} else {
						ops += int64(cnt)
					}
				})
			}
			wg.Wait()
		}
	}
	row.Baseline = w.end(fmt.Sprintf("raw go-redis pipelined EVALSHA (HGET+HSET+HINCRBY on one hash-tagged key), batches of %d split over %d partition goroutines", matcherPoll, parts),
		ops, errs, time.Time{}, time.Time{})

	// Component.
	brk, bc, topics, err := e.broker(stage)
	if err != nil {
		return []Row{row}, err
	}
	defer brk.Close()
	if err := produceMatcherBacklog(bc, topics, wallets, k); err != nil {
		return []Row{row}, err
	}
	reg := prometheus.NewRegistry()
	m, err := matcher.New(matcher.Config{Bus: bc, Topics: topics, Logger: e.log}, state.New(e.rdb, keys), reg, bus.NewConsumerMetrics(reg))
	if err != nil {
		return []Row{row}, err
	}
	events := func() float64 {
		return sumMetric(reg, "paystream_matcher_events_total", func(l map[string]string) bool {
			return l["kind"] == string(pipeline.KindIntentCreated) || l["kind"] == string(pipeline.KindPaymentReported)
		})
	}
	produced := func() float64 { return sumMetric(reg, "paystream_matcher_outcomes_produced_total", nil) }
	w = e.begin(stage + "-component")
	rctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.Run(rctx); err != nil {
			e.log.Error("matcher stopped", "err", err)
		}
	})
	from, to, done, timedOut := track(rctx, progress{started: consumerPolled(reg, pipeline.GroupMatcher), count: events}, float64(total), e.opt.timeout)
	// Then until the outcomes of the last batch are acknowledged (a matched payment yields two:
	// the intent's PAID change and the payment's disposition).
	if !timedOut {
		if _, t2, _, late := track(rctx, progress{started: func() bool { return true }, count: produced}, float64(total), 10*time.Second); !late {
			to = t2
		}
	}
	poison := sumMetric(reg, "paystream_matcher_events_total", func(l map[string]string) bool { return l["result"] == "poison" })
	row.Component = w.end(fmt.Sprintf("matcher.Run draining %d intent.created + %d payment.reported (%d wallets, %d partitions), from first poll to last outcome acked", k, k, nWallets, parts),
		int64(done-poison), int64(poison), from, to)
	paid := sumMetric(reg, "paystream_matcher_decisions_total", func(l map[string]string) bool { return l["status"] == string(pipeline.StatusPaid) })
	row.Notes = fmt.Sprintf("component: %.0f outcomes produced, %.0f intents PAID of %d", produced(), paid, k)
	if timedOut {
		row.Notes += fmt.Sprintf("; TIMED OUT after %s with %.0f of %d events", e.opt.timeout, done, total)
	}
	cancel()
	wg.Wait()
	m.Close()
	return []Row{row}, nil
}

// produceMatcherBacklog produces k intent.created events (unique amounts per wallet), then one
// payment.reported event paying each intent by amount.
func produceMatcherBacklog(bc bus.Config, topics pipeline.Topics, wallets []pipeline.Wallet, k int) error {
	now := time.Now().UTC()
	type intent struct {
		w      pipeline.Wallet
		amount pipeline.Money
	}
	intents := make([]intent, k)
	recs := make([]bus.Record, 0, 2*k)
	for i := range intents {
		w := wallets[i%len(wallets)]
		amount := pipeline.BDT(int64(100 + i/len(wallets)))
		intents[i] = intent{w, amount}
		id := uuid.NewString()
		ev := &pipeline.Event{
			ID: "ev-" + id, Kind: pipeline.KindIntentCreated, Source: pipeline.SourceMerchantAPI, Wallet: w,
			MerchantID: "m-bench", AcceptedAt: now, Environment: w.Environment,
			Intent: &pipeline.Intent{
				ID: id, MerchantID: "m-bench", Environment: w.Environment, Amount: amount, Currency: "BDT",
				CustomerReference: fmt.Sprintf("ORDER-%d", i), Provider: w.Provider, ReceiverMsisdn: w.Account,
				Dialect: pipeline.DialectNative, CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour),
			},
		}
		v, err := pipeline.EncodeEvent(ev)
		if err != nil {
			return err
		}
		recs = append(recs, bus.Record{Topic: topics.Inbound(), Key: []byte(w.Key()), Value: v})
	}
	for _, in := range intents {
		v, err := pipeline.EncodeEvent(simulatorEvent(in.w, "m-bench", nextTrx(), in.amount, now))
		if err != nil {
			return err
		}
		recs = append(recs, bus.Record{Topic: topics.Inbound(), Key: []byte(in.w.Key()), Value: v})
	}
	return produceAll(bc, recs)
}

// produceAll produces recs in order (per partition) with a producer of its own and waits for every
// acknowledgement: the backlog a component stage drains.
func produceAll(bc bus.Config, recs []bus.Record) error {
	p, err := bus.NewBusProducer(bc, time.Minute, 100_000, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	defer p.Close(ctx)
	const chunk = 10000
	for i := 0; i < len(recs); i += chunk {
		if err := p.SendAll(ctx, recs[i:min(i+chunk, len(recs))]...); err != nil {
			return fmt.Errorf("producing the backlog: %w", err)
		}
	}
	return nil
}
