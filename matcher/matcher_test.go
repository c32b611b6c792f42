package matcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/pipeline/testenv"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newTestStore returns a store on the real Redis (PAYSTREAM_TEST_REDIS_ADDR, default
// 127.0.0.1:6379) under a unique prefix whose keys are deleted when the test ends.
func newTestStore(t testing.TB) *state.Store {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	return state.New(rdb, keys)
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// harness is an embedded Kafka, a Redis store, a producer of inbound events and a reader of the
// outcomes topic.
type harness struct {
	t      testing.TB
	topics pipeline.Topics
	bus    bus.Config
	st     *state.Store
	prod   *kgo.Client
	outs   *kgo.Client
	recs   []*kgo.Record // outcome records read so far
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	topics := pipeline.Topics{Prefix: "t" + randHex(4) + "."}
	emb, err := bus.StartEmbedded("127.0.0.1:0", "", 4, topics.All())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	bc := bus.Config{Brokers: emb.Addrs(), Logger: testLogger()}
	prod, err := bus.NewProducer(bc, time.Minute, 10000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	outs, err := kgo.NewClient(kgo.SeedBrokers(emb.Addrs()...), kgo.ConsumeTopics(topics.Outcomes()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(outs.Close)
	return &harness{t: t, topics: topics, bus: bc, st: newTestStore(t), prod: prod, outs: outs}
}

// startMatcher runs a matcher until the returned stop (also run at cleanup) is called.
func (h *harness) startMatcher(reg *prometheus.Registry) (stop func()) {
	h.t.Helper()
	return h.startMatcherOn(h.st, reg)
}

func (h *harness) startMatcherOn(st *state.Store, reg *prometheus.Registry) (stop func()) {
	h.t.Helper()
	m, err := New(Config{Bus: h.bus, Topics: h.topics, ExpiryInterval: 100 * time.Millisecond, Logger: testLogger()},
		st, reg, bus.NewConsumerMetrics(reg))
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			m.Close()
			m.Close() // idempotent
			if err := <-errc; err != nil {
				h.t.Errorf("Run: %v", err)
			}
		})
	}
	h.t.Cleanup(stop)
	return stop
}

func (h *harness) produce(evs ...*pipeline.Event) {
	h.t.Helper()
	var recs []*kgo.Record
	for _, ev := range evs {
		v, err := pipeline.EncodeEvent(ev)
		if err != nil {
			h.t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: h.topics.Inbound(), Key: []byte(ev.Wallet.Key()), Value: v})
	}
	h.produceRecords(recs...)
}

func (h *harness) produceRecords(recs ...*kgo.Record) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		h.t.Fatalf("producing inbound events: %v", err)
	}
}

// waitFor reads outcomes until cond holds for the records read so far, or fails after 20s.
func (h *harness) waitFor(what string, cond func(byID map[string][]*kgo.Record) bool) map[string][]*kgo.Record {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		byID := map[string][]*kgo.Record{}
		for _, r := range h.recs {
			o, err := pipeline.DecodeOutcome(r.Value)
			if err != nil {
				h.t.Fatalf("undecodable outcome %s: %v", r.Value, err)
			}
			byID[o.ID] = append(byID[o.ID], r)
		}
		if cond(byID) {
			return byID
		}
		if time.Now().After(deadline) {
			var got []string
			for _, r := range h.recs {
				got = append(got, string(r.Value))
			}
			h.t.Fatalf("timed out waiting for %s; outcomes so far:\n%s", what, strings.Join(got, "\n"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := h.outs.PollFetches(ctx)
		cancel()
		h.recs = append(h.recs, fs.Records()...)
	}
}

func outcomeOf(t *testing.T, byID map[string][]*kgo.Record, id string) *pipeline.Outcome {
	t.Helper()
	rs := byID[id]
	if len(rs) == 0 {
		t.Fatalf("no outcome %s", id)
	}
	o, err := pipeline.DecodeOutcome(rs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if string(rs[0].Key) != o.MerchantID {
		t.Errorf("outcome %s keyed %q, want its merchant %q", id, rs[0].Key, o.MerchantID)
	}
	return o
}

var (
	walletA = pipeline.Wallet{Provider: pipeline.BKash, Account: "01711111111", Environment: pipeline.Sandbox}
	walletB = pipeline.Wallet{Provider: pipeline.Nagad, Account: "01822222222", Environment: pipeline.Live}
)

func merchantOf(w pipeline.Wallet) string { return "m-" + string(w.Provider) }

func intentEvent(id string, w pipeline.Wallet, amount int64, ref string, ttl time.Duration) *pipeline.Event {
	now := time.Now().UTC()
	return &pipeline.Event{
		ID: "ev-" + id, Kind: pipeline.KindIntentCreated, Source: pipeline.SourceMerchantAPI, Wallet: w,
		MerchantID: merchantOf(w), AcceptedAt: now, Environment: w.Environment,
		Intent: &pipeline.Intent{
			ID: id, MerchantID: merchantOf(w), Environment: w.Environment, Amount: pipeline.BDT(amount), Currency: "BDT",
			CustomerReference: ref, Provider: w.Provider, ReceiverMsisdn: w.Account, Dialect: pipeline.DialectNative,
			CreatedAt: now, ExpiresAt: now.Add(ttl),
		},
	}
}

func paymentEvent(id string, w pipeline.Wallet, amount int64, ref, trx string) *pipeline.Event {
	now := time.Now().UTC()
	return &pipeline.Event{
		ID: id, Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSMS, Wallet: w,
		MerchantID: merchantOf(w), AcceptedAt: now, Environment: w.Environment,
		Payment: &pipeline.Payment{Provider: w.Provider, TrxID: trx, Amount: pipeline.BDT(amount), Sender: "01999999999",
			Reference: ref, OccurredAt: now},
	}
}

func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metrics
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

func TestMatcherEndToEnd(t *testing.T) {
	h := newHarness(t)
	reg := prometheus.NewRegistry()
	stop := h.startMatcher(reg)

	// A poison pill first in wallet A's partition: skipped, it must not block what follows.
	h.produceRecords(&kgo.Record{Topic: h.topics.Inbound(), Key: []byte(walletA.Key()), Value: []byte("{not json")})
	h.produce(
		intentEvent("i1", walletA, 500, "ORDER-1", 10*time.Minute),
		intentEvent("i2", walletA, 700, "ORDER-2", 10*time.Minute),
		intentEvent("i3", walletB, 300, "", 10*time.Minute),
		intentEvent("i4", walletB, 300, "", 10*time.Minute),
		intentEvent("i5", walletA, 900, "", time.Second), // expires
	)
	p1 := paymentEvent("p1", walletA, 500, "", "TRX1")
	h.produce(
		p1,
		paymentEvent("p2", walletA, 700, "order-2", "TRX2"),
		paymentEvent("p3", walletB, 300, "", "TRX3"),
		paymentEvent("p4", walletA, 500, "", "trx1"), // the same transaction reported again (another source)
		paymentEvent("p5", walletA, 123, "", "TRX5"),
	)

	want := map[string]func(o *pipeline.Outcome) bool{
		pipeline.IntentOutcomeID("i1", 2, pipeline.StatusPaid): func(o *pipeline.Outcome) bool {
			return o.MatchType == pipeline.MatchAuto && o.Payment.TrxID == "TRX1" && o.EventID == "p1"
		},
		pipeline.IntentOutcomeID("i2", 2, pipeline.StatusPaid): func(o *pipeline.Outcome) bool {
			return o.MatchType == pipeline.MatchReference && o.Rule == pipeline.RuleReference
		},
		pipeline.IntentOutcomeID("i3", 2, pipeline.StatusReviewRequired): func(o *pipeline.Outcome) bool {
			return o.Reason == pipeline.ReasonAmbiguous && o.MerchantID == merchantOf(walletB)
		},
		pipeline.IntentOutcomeID("i4", 2, pipeline.StatusReviewRequired): func(o *pipeline.Outcome) bool {
			return o.Reason == pipeline.ReasonAmbiguous
		},
		pipeline.IntentOutcomeID("i5", 2, pipeline.StatusExpired): func(o *pipeline.Outcome) bool {
			return o.Rule == pipeline.RuleExpiry && o.EventID == ExpiryEventID("i5") && o.PreviousStatus == pipeline.StatusPending
		},
		pipeline.PaymentOutcomeID("p1"): func(o *pipeline.Outcome) bool {
			return o.Disposition == pipeline.DispositionMatched && o.IntentID == "i1"
		},
		pipeline.PaymentOutcomeID("p2"): func(o *pipeline.Outcome) bool {
			return o.Disposition == pipeline.DispositionMatched && o.IntentID == "i2"
		},
		pipeline.PaymentOutcomeID("p3"): func(o *pipeline.Outcome) bool {
			return o.Disposition == pipeline.DispositionReview && o.Rule == pipeline.RuleAmount
		},
		pipeline.PaymentOutcomeID("p4"): func(o *pipeline.Outcome) bool {
			return o.Disposition == pipeline.DispositionDuplicate && o.Rule == pipeline.RuleDedupe
		},
		pipeline.PaymentOutcomeID("p5"): func(o *pipeline.Outcome) bool {
			return o.Disposition == pipeline.DispositionUnmatched
		},
	}
	byID := h.waitFor("every decision and the expiry", func(byID map[string][]*kgo.Record) bool {
		for id := range want {
			if len(byID[id]) == 0 {
				return false
			}
		}
		return true
	})
	for id, ok := range want {
		if o := outcomeOf(t, byID, id); !ok(o) {
			t.Errorf("outcome %s is not as expected: %s", id, byID[id][0].Value)
		}
	}
	if len(byID) != len(want) {
		t.Errorf("%d distinct outcomes, want %d", len(byID), len(want))
	}

	ctx := context.Background()
	for id, st := range map[string]pipeline.Status{"i1": pipeline.StatusPaid, "i2": pipeline.StatusPaid, "i3": pipeline.StatusReviewRequired,
		"i5": pipeline.StatusExpired} {
		rec, err := h.st.GetIntent(ctx, id)
		if err != nil || rec.Status != st || rec.Version != 2 {
			t.Errorf("GetIntent(%s) = %+v, %v; want %s v2", id, rec, err, st)
		}
	}
	un, total, err := h.st.ListPayments(ctx, []pipeline.Wallet{walletA}, pipeline.DispositionUnmatched, 0, 10)
	if err != nil || total != 1 || un[0].EventID != "p5" {
		t.Errorf("unmatched payments = %+v (%d), %v; want p5", un, total, err)
	}

	if v := counterValue(t, reg, "paystream_matcher_events_total", map[string]string{"kind": "unknown", "result": "poison"}); v != 1 {
		t.Errorf("poison events = %v, want 1", v)
	}
	if v := counterValue(t, reg, "paystream_matcher_duplicates_total", map[string]string{"environment": "SANDBOX"}); v != 1 {
		t.Errorf("duplicates = %v, want 1", v)
	}
	if v := counterValue(t, reg, "paystream_matcher_decisions_total", map[string]string{"rule": "expiry", "status": "EXPIRED"}); v != 1 {
		t.Errorf("expiry decisions = %v, want 1", v)
	}
	if v := counterValue(t, reg, "paystream_matcher_outcomes_produced_total", nil); v < float64(len(want)) {
		t.Errorf("outcomes produced = %v, want >= %d", v, len(want))
	}

	// Replay: the same inbound record again, after Kafka acknowledged its outcomes, changes nothing
	// and emits nothing (its applied marker was compacted: the outcomes are in Kafka already). A
	// sentinel payment on the same wallet, so the same partition, is decided after it. The replay
	// of an event whose outcomes were not acknowledged re-emits them byte for byte:
	// TestAdversarialReplayBeforeAck.
	h.produce(p1, paymentEvent("p7", walletA, 77, "", "TRX7"))
	paidID := pipeline.IntentOutcomeID("i1", 2, pipeline.StatusPaid)
	byID = h.waitFor("the sentinel after the replay", func(byID map[string][]*kgo.Record) bool {
		return len(byID[pipeline.PaymentOutcomeID("p7")]) == 1
	})
	for _, id := range []string{paidID, pipeline.PaymentOutcomeID("p1")} {
		if n := len(byID[id]); n != 1 {
			t.Errorf("outcome %s emitted %d times after the replay, want once", id, n)
		}
	}
	if rec, _ := h.st.GetIntent(ctx, "i1"); rec.Version != 2 || rec.TrxID != "TRX1" {
		t.Errorf("replay changed i1: %+v", rec)
	}
	if v := counterValue(t, reg, "paystream_matcher_events_total", map[string]string{"kind": "payment.reported", "result": "replayed"}); v != 1 {
		t.Errorf("replayed events = %v, want 1", v)
	}

	// Restart: a new member of the group picks up where the first one committed.
	stop()
	h.produce(intentEvent("i6", walletB, 42, "", 10*time.Minute), paymentEvent("p6", walletB, 42, "", "TRX6"))
	reg2 := prometheus.NewRegistry()
	h.startMatcher(reg2)
	h.waitFor("i6 paid after the restart", func(byID map[string][]*kgo.Record) bool {
		return len(byID[pipeline.IntentOutcomeID("i6", 2, pipeline.StatusPaid)]) == 1
	})
	if v := counterValue(t, reg2, "paystream_matcher_events_total", map[string]string{"kind": "payment.reported"}); v != 1 {
		t.Errorf("the restarted matcher handled %v payments, want only p6 (the rest was committed)", v)
	}
}

// TestMatcherApplyPath drives the matcher's per-event path against Redis: applying the same event
// twice returns the same bytes and changes nothing; a decision whose intent was changed under it (a
// zombie matcher) conflicts and is decided again over the fresh state; expiry of a decided intent
// is a no-op and a deadline not due yet is kept.
func TestMatcherApplyPath(t *testing.T) {
	st := newTestStore(t)
	m, err := New(Config{Bus: bus.Config{Brokers: []string{"127.0.0.1:1"}}, Logger: testLogger()}, st, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	created := intentEvent("x1", walletA, 500, "", 10*time.Minute)
	if err := st.CreateIntentWithDeadline(ctx, created.Intent, 0); err != nil {
		t.Fatal(err)
	}
	ev := paymentEvent("pay-1", walletA, 500, "", "TRXA")
	apply := func(ev *pipeline.Event) []string {
		_, upTo := PaymentWindow(ev)
		q := &state.SnapshotQuery{Wallet: ev.Wallet, EventID: ev.ID, TrxID: ev.Payment.TrxID, Amount: ev.Payment.Amount, CreatedUpTo: upTo}
		out, err := m.decideAndApply(ctx, "payment.reported", q, func(*state.Snapshot) *pipeline.Event { return ev })
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, o := range out {
			s = append(s, string(o))
		}
		return s
	}
	first := apply(ev)
	second := apply(ev)
	if len(first) != 2 || fmt.Sprint(first) != fmt.Sprint(second) {
		t.Fatalf("replay differs:\n%v\n%v", first, second)
	}
	if rec, _ := st.GetIntent(ctx, "x1"); rec.Status != pipeline.StatusPaid || rec.Version != 2 {
		t.Errorf("x1 = %+v, want PAID v2", rec)
	}
	// A second transaction of the same amount: nothing open any more.
	if out := apply(paymentEvent("pay-2", walletA, 500, "", "TRXB")); !strings.Contains(out[0], `"disposition":"unmatched"`) {
		t.Errorf("second payment = %v, want unmatched", out)
	}

	// A zombie pays y1 between our load and our apply: we conflict, reload and decide again.
	reg := prometheus.NewRegistry()
	mz, err := New(Config{Bus: bus.Config{Brokers: []string{"127.0.0.1:1"}}, Logger: testLogger()}, st, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	y1 := intentEvent("y1", walletA, 800, "", 10*time.Minute)
	if err := st.CreateIntent(ctx, y1.Intent); err != nil {
		t.Fatal(err)
	}
	ev3 := paymentEvent("pay-3", walletA, 800, "", "TRXY")
	_, upTo := PaymentWindow(ev3)
	q := &state.SnapshotQuery{Wallet: walletA, EventID: ev3.ID, TrxID: "TRXY", Amount: ev3.Payment.Amount, CreatedUpTo: upTo}
	calls := 0
	out3, err := mz.decideAndApply(ctx, "payment.reported", q, func(snap *state.Snapshot) *pipeline.Event {
		if calls++; calls == 1 {
			zombie := paymentEvent("zombie", walletA, 800, "", "TRXZ")
			d := Decide(zombie, Snapshot{Intents: snap.Intents}, time.Now())
			if _, _, err := st.Apply(ctx, d.Change(zombie)); err != nil {
				t.Fatalf("zombie apply: %v", err)
			}
		}
		return ev3
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || len(out3) != 1 || !strings.Contains(string(out3[0]), `"disposition":"unmatched"`) {
		t.Errorf("after the conflict: %d decisions, outcomes %s; want 2 decisions ending unmatched", calls, out3)
	}
	if v := counterValue(t, reg, "paystream_matcher_apply_conflicts_total", nil); v != 1 {
		t.Errorf("conflicts = %v, want 1", v)
	}
	if rec, _ := st.GetIntent(ctx, "y1"); rec.TrxID != "TRXZ" || rec.Version != 2 {
		t.Errorf("y1 = %+v, want paid once, by the zombie's payment", rec)
	}

	// Expiry after the payment: a no-op that leaves nothing behind.
	out, keep, err := m.expireOne(ctx, state.Deadline{Wallet: walletA, IntentID: "x1"})
	if err != nil || keep || len(out) != 0 {
		t.Errorf("expiring a paid intent = %v, %v, %v; want nothing", out, keep, err)
	}
	// Expiry of an intent not due yet keeps its deadline.
	later := intentEvent("x2", walletA, 600, "", time.Hour)
	if err := st.CreateIntent(ctx, later.Intent); err != nil {
		t.Fatal(err)
	}
	if out, keep, err := m.expireOne(ctx, state.Deadline{Wallet: walletA, IntentID: "x2"}); err != nil || !keep || len(out) != 0 {
		t.Errorf("expiring an intent not due = %v, %v, %v; want keep", out, keep, err)
	}
	// Close without Run is fine; Run after Close refuses.
	m.Close()
	if err := m.Run(ctx); !errors.Is(err, ErrAlreadyRun) {
		t.Errorf("Run after Close = %v, want ErrAlreadyRun", err)
	}
}

// A batch interrupted by Close (here: Redis down, so it never finishes) must not be committed: the
// next member of the group decides it.
func TestCloseDoesNotCommitUnfinishedBatch(t *testing.T) {
	h := newHarness(t)
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = down.Close() })
	reg1 := prometheus.NewRegistry()
	stop := h.startMatcherOn(state.New(down, h.st.Keys()), reg1)
	h.produce(intentEvent("c1", walletA, 500, "", 10*time.Minute), paymentEvent("cp1", walletA, 500, "", "TRXC"))
	deadline := time.Now().Add(20 * time.Second)
	for counterValue(t, reg1, "paystream_consumer_batch_failures_total", nil) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the matcher never tried the batch")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()

	h.startMatcher(prometheus.NewRegistry())
	h.waitFor("c1 paid by the next member", func(byID map[string][]*kgo.Record) bool {
		return len(byID[pipeline.IntentOutcomeID("c1", 2, pipeline.StatusPaid)]) == 1
	})
}

// While a partition has a backlog, an intent expires only once the records accepted before its
// deadline were decided: a payment made in time but decided late still pays it.
func TestExpiryWaitsForBacklog(t *testing.T) {
	h := newHarness(t)
	now := time.Now().UTC()
	in := intentEvent("b1", walletA, 500, "ORDER-B", time.Minute)
	in.Intent.CreatedAt, in.Intent.ExpiresAt, in.AcceptedAt = now.Add(-10*time.Second), now.Add(-5*time.Second), now.Add(-10*time.Second)
	pay := paymentEvent("bp1", walletA, 500, "ORDER-B", "TRXB")
	pay.AcceptedAt, pay.Payment.OccurredAt = now.Add(-7*time.Second), now.Add(-7*time.Second)
	rec := func(ev *pipeline.Event, ts time.Time) *kgo.Record {
		v, err := pipeline.EncodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: h.topics.Inbound(), Key: []byte(walletA.Key()), Value: v, Timestamp: ts}
	}
	recs := []*kgo.Record{rec(in, now.Add(-10*time.Second))}
	for range 3000 { // more than one poll: the intent and the payment land in different batches
		recs = append(recs, &kgo.Record{Topic: h.topics.Inbound(), Key: []byte(walletA.Key()), Value: []byte("{}"), Timestamp: now.Add(-9 * time.Second)})
	}
	recs = append(recs, rec(pay, now.Add(-7*time.Second)))
	h.produceRecords(recs...)

	reg := prometheus.NewRegistry()
	h.startMatcher(reg)
	byID := h.waitFor("b1 paid", func(byID map[string][]*kgo.Record) bool {
		return len(byID[pipeline.PaymentOutcomeID("bp1")]) == 1
	})
	if o := outcomeOf(t, byID, pipeline.PaymentOutcomeID("bp1")); o.Disposition != pipeline.DispositionMatched {
		t.Fatalf("payment made before the deadline = %s, want matched", byID[pipeline.PaymentOutcomeID("bp1")][0].Value)
	}
	// Once caught up, expiry runs past b1's deadline (a sentinel intent whose deadline is passed
	// expires); b1's deadline was removed when it was paid, so it never expires.
	sentinel := intentEvent("b2", walletA, 700, "", time.Minute)
	sentinel.Intent.ExpiresAt = time.Now().UTC()
	h.produce(sentinel)
	byID = h.waitFor("the sentinel expired", func(byID map[string][]*kgo.Record) bool {
		return len(byID[pipeline.IntentOutcomeID("b2", 2, pipeline.StatusExpired)]) == 1
	})
	if len(byID[pipeline.IntentOutcomeID("b1", 2, pipeline.StatusExpired)]) != 0 {
		t.Error("b1 expired although paid in time")
	}
}
