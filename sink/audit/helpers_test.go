package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/matcher"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/dialect/native"
	"github.com/paystream/paystream/pipeline/testenv"
)

// chAddr is the ClickHouse the integration tests use (override: PAYSTREAM_TEST_CLICKHOUSE_ADDR).
// It skips the test when ClickHouse does not answer (fails it under PAYSTREAM_TEST_SERVICES=1).
func chAddr(t testing.TB) string {
	t.Helper()
	return testenv.ClickHouseAddr(t)
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testDB creates a fresh migrated database paystream_test_<random> on the real ClickHouse, drops
// it when the test ends, and returns its DSN and a connection to it. It fails (never skips) when
// ClickHouse is not reachable, except that chAddr skips first when nothing answers at its address
// and PAYSTREAM_TEST_SERVICES is not 1.
func testDB(t testing.TB) (string, driver.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Ping(ctx, "clickhouse://"+chAddr(t)+"/default"); err != nil {
		t.Fatalf("ClickHouse is not reachable at %s; start it with deploy/local/services.sh (%v)", chAddr(t), err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := "paystream_test_" + hex.EncodeToString(b[:])
	dsn := "clickhouse://" + chAddr(t) + "/" + db
	if err := Migrate(ctx, dsn); err != nil {
		t.Fatalf("migrating %s: %v", db, err)
	}
	opts, _, err := parseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Errorf("dropping %s: %v", db, err)
		}
		_ = conn.Close()
	})
	return dsn, conn
}

// count returns "SELECT count() FROM table [FINAL]" on conn's database.
func count(t testing.TB, conn driver.Conn, table string, final bool) uint64 {
	t.Helper()
	q := "SELECT count() FROM " + table
	if final {
		q += " FINAL"
	}
	var n uint64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// finalCounts returns the FINAL row count of every audit table.
func finalCounts(t testing.TB, conn driver.Conn) map[string]uint64 {
	t.Helper()
	m := make(map[string]uint64, len(tableNames))
	for _, tb := range tableNames {
		m[tb] = count(t, conn, tb, true)
	}
	return m
}

// eventually polls cond until it reports true or the deadline passes, then fails with cond's
// last description. It never asserts how long anything took.
func eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		ok, desc := cond()
		if ok {
			return
		}
		last = desc
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up after %s; last state: %s", what, within, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kafka is an embedded broker with the paystream topics and a producer.
type kafka struct {
	cfg    bus.Config
	topics pipeline.Topics
	prod   *kgo.Client
	adm    *kadm.Client
}

func startKafka(t testing.TB) *kafka {
	t.Helper()
	topics := pipeline.Topics{}
	emb, err := bus.StartEmbedded("127.0.0.1:0", "", 4, topics.All())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	cfg := bus.Config{Brokers: emb.Addrs(), Partitions: 4, Logger: quietLogger()}
	prod, err := bus.NewProducer(cfg, 10*time.Second, 10000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &kafka{cfg: cfg, topics: topics, prod: prod, adm: kadm.NewClient(prod)}
}

func (k *kafka) produce(t testing.TB, recs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cp := make([]*kgo.Record, len(recs))
	for i, r := range recs { // a produced record is owned by the client: send copies
		cp[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
	}
	if err := k.prod.ProduceSync(ctx, cp...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
}

// committed reports whether the audit group has committed every partition up to its end offset.
func (k *kafka) committed(t testing.TB) (bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := k.adm.ListEndOffsets(ctx, k.topics.All()...)
	if err != nil {
		return false, err.Error()
	}
	got, err := k.adm.FetchOffsets(ctx, pipeline.GroupAudit)
	if err != nil {
		return false, err.Error()
	}
	ok, behind := true, []string{}
	ends.Each(func(lo kadm.ListedOffset) {
		c, found := got.Lookup(lo.Topic, lo.Partition)
		at := int64(0)
		if found {
			at = c.At
		}
		if at < lo.Offset {
			ok = false
			behind = append(behind, fmt.Sprintf("%s/%d at %d of %d", lo.Topic, lo.Partition, at, lo.Offset))
		}
	})
	return ok, strings.Join(behind, ", ")
}

// committedTotal sums the audit group's committed offsets (0 when nothing was committed).
func (k *kafka) committedTotal(t testing.TB) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := k.adm.FetchOffsets(ctx, pipeline.GroupAudit)
	if err != nil {
		t.Fatalf("fetching offsets: %v", err)
	}
	var n int64
	got.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At > 0 {
			n += o.At
		}
	})
	return n
}

// rewind commits offset 0 for every partition of every topic: the next member replays everything.
func (k *kafka) rewind(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := k.adm.ListEndOffsets(ctx, k.topics.All()...)
	if err != nil {
		t.Fatal(err)
	}
	var os kadm.Offsets
	ends.Each(func(lo kadm.ListedOffset) {
		os.Add(kadm.Offset{Topic: lo.Topic, Partition: lo.Partition, At: 0, LeaderEpoch: -1})
	})
	if err := k.adm.CommitAllOffsets(ctx, pipeline.GroupAudit, os); err != nil {
		t.Fatalf("rewinding the audit group: %v", err)
	}
}

// runningSink is a Sink running in a goroutine.
type runningSink struct {
	*Sink
	t        testing.TB
	reg      *prometheus.Registry
	errc     chan error
	stopOnce sync.Once
}

func startSink(t testing.TB, dsn string, k *kafka, batch int) *runningSink {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(Config{
		DSN: dsn, Bus: k.cfg, Topics: k.topics, BatchSize: batch,
		FlushInterval: 200 * time.Millisecond, Logger: quietLogger(),
	}, reg, bus.NewConsumerMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	rs := &runningSink{Sink: s, t: t, reg: reg, errc: make(chan error, 1)}
	go func() { rs.errc <- s.Run(context.Background()) }()
	t.Cleanup(rs.stop)
	return rs
}

// stop closes the sink (which waits for Run) and checks Run's result. Idempotent.
func (rs *runningSink) stop() {
	rs.Close()
	rs.stopOnce.Do(func() {
		if err := <-rs.errc; err != nil {
			rs.t.Errorf("Run returned %v, want nil after Close", err)
		}
	})
}

// metric sums every sample of the named metric family.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// proxy forwards TCP to a target and can play "ClickHouse is down": while down it closes every
// connection, new and existing.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.setDown(true) })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

// ---- fixtures ----

// fixture is a small, fully known day of traffic: two LIVE merchants and one SANDBOX merchant,
// covering every rule, disposition and webhook result the analyst queries look at, refunds and
// balance gaps included.
type fixture struct {
	events   []*pipeline.Event
	outcomes []*pipeline.Outcome
	// gaps are the matcher's own balance gap outcomes, built with its types (the tests may import
	// the matcher, the sink may not): the records are what the matcher really produces.
	gaps     []*matcher.BalanceGapOutcome
	attempts []*pipeline.WebhookAttempt
	bad      []*kgo.Record // undecodable records, one row each in audit_rejects
}

var (
	walletM1 = pipeline.Wallet{Provider: pipeline.BKash, Account: "01700000001", Environment: pipeline.Live}
	walletM2 = pipeline.Wallet{Provider: pipeline.Nagad, Account: "01800000002", Environment: pipeline.Live}
	walletM3 = pipeline.Wallet{Provider: pipeline.BKash, Account: "01900000003", Environment: pipeline.Sandbox}
)

// newFixture builds the fixture around base (all times within an hour after it).
func newFixture(base time.Time) *fixture {
	f := &fixture{}
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	type intentSpec struct {
		id, merchant string
		w            pipeline.Wallet
		amount       pipeline.Money
		created      int
	}
	intents := map[string]*pipeline.Intent{}
	for _, s := range []intentSpec{
		{"int_1", "m1", walletM1, pipeline.BDT(500), 0},
		{"int_2", "m1", walletM1, 125050, 1000},
		{"int_3", "m2", walletM2, pipeline.BDT(300), 2000},
		{"int_4", "m1", walletM1, pipeline.BDT(700), 3000},
		{"int_5", "m3", walletM3, pipeline.BDT(100), 4000},
		{"int_6", "m2", walletM2, pipeline.BDT(200), 5000},
	} {
		in := &pipeline.Intent{
			ID: s.id, MerchantID: s.merchant, Environment: s.w.Environment, Amount: s.amount, Currency: "BDT",
			CustomerReference: "ORDER-" + s.id, Provider: s.w.Provider, ReceiverMsisdn: s.w.Account,
			Dialect: pipeline.DialectNative, CreatedAt: at(s.created), ExpiresAt: at(s.created + 15*60*1000),
		}
		intents[s.id] = in
		ev := &pipeline.Event{
			ID: "evt_" + s.id, Kind: pipeline.KindIntentCreated, Source: pipeline.SourceMerchantAPI, Wallet: s.w,
			MerchantID: s.merchant, AcceptedAt: at(s.created), Intent: in, Environment: s.w.Environment,
			Raw: json.RawMessage(`{"amount":"` + s.amount.String() + `"}`), RequestID: "req_" + s.id,
		}
		f.events = append(f.events, ev)
		f.outcomes = append(f.outcomes, &pipeline.Outcome{
			ID: pipeline.IntentOutcomeID(s.id, 1, pipeline.StatusPending), Type: pipeline.OutcomeIntentStatus,
			EventID: ev.ID, MerchantID: s.merchant, Environment: s.w.Environment, Wallet: s.w, Rule: "",
			Intent: in, Status: pipeline.StatusPending, Version: 1, AcceptedAt: ev.AcceptedAt, DecidedAt: at(s.created + 5),
		})
	}
	type paymentSpec struct {
		id, merchant string
		w            pipeline.Wallet
		trx          string
		amount       pipeline.Money
		ref          string
		accepted     int
		disposition  pipeline.Disposition
		rule         pipeline.Rule
		intent       string // the intent it went to, if any
		latency      int    // decision latency (ms)
		status       pipeline.Status
		reason       string
		match        pipeline.MatchType
	}
	payments := []paymentSpec{
		{"pay_1", "m1", walletM1, "TRX001", pipeline.BDT(500), "int_1", 10000, pipeline.DispositionMatched, pipeline.RuleReference, "int_1", 40, pipeline.StatusPaid, "", pipeline.MatchReference},
		{"pay_2", "m1", walletM1, "TRX002", 125050, "", 11000, pipeline.DispositionMatched, pipeline.RuleAmount, "int_2", 120, pipeline.StatusPaid, "", pipeline.MatchAuto},
		{"pay_3", "m2", walletM2, "TRX003", pipeline.BDT(300), "", 12000, pipeline.DispositionUnmatched, pipeline.RuleNone, "", 15, "", "", ""},
		{"pay_4", "m1", walletM1, "TRX004", 99900, "", 13000, pipeline.DispositionUnmatched, pipeline.RuleNone, "", 12, "", "", ""},
		{"pay_5", "m1", walletM1, "TRX001", pipeline.BDT(500), "int_1", 14000, pipeline.DispositionDuplicate, pipeline.RuleDedupe, "", 3, "", "", ""},
		{"pay_6", "m2", walletM2, "TRX006", 45075, "", 15000, pipeline.DispositionUnmatched, pipeline.RuleNone, "", 9, "", "", ""},
		{"pay_7", "m3", walletM3, "TRX007", pipeline.BDT(100), "int_5", 16000, pipeline.DispositionMatched, pipeline.RuleReference, "int_5", 30, pipeline.StatusPaid, "", pipeline.MatchReference},
		{"pay_8", "m2", walletM2, "TRX008", pipeline.BDT(250), "int_6", 17000, pipeline.DispositionReview, pipeline.RuleReference, "int_6", 25, pipeline.StatusReviewRequired, pipeline.ReasonAmountMismatch, pipeline.MatchReference},
	}
	for _, s := range payments {
		p := &pipeline.Payment{Provider: s.w.Provider, TrxID: s.trx, Amount: s.amount, Sender: "01711111111", Reference: s.ref, OccurredAt: at(s.accepted - 500)}
		ev := &pipeline.Event{
			ID: "evt_" + s.id, Kind: pipeline.KindPaymentReported, Source: pipeline.SourceSMS, Wallet: s.w,
			MerchantID: s.merchant, AcceptedAt: at(s.accepted), Payment: p, Environment: s.w.Environment,
		}
		f.events = append(f.events, ev)
		decided := at(s.accepted + s.latency)
		f.outcomes = append(f.outcomes, &pipeline.Outcome{
			ID: pipeline.PaymentOutcomeID(ev.ID), Type: pipeline.OutcomePayment, EventID: ev.ID, MerchantID: s.merchant,
			Environment: s.w.Environment, Wallet: s.w, Rule: s.rule, Payment: p, Disposition: s.disposition,
			IntentID: s.intent, Reason: s.reason, AcceptedAt: ev.AcceptedAt, DecidedAt: decided,
		})
		if s.status != "" {
			f.outcomes = append(f.outcomes, &pipeline.Outcome{
				ID: pipeline.IntentOutcomeID(s.intent, 2, s.status), Type: pipeline.OutcomeIntentStatus, EventID: ev.ID,
				MerchantID: s.merchant, Environment: s.w.Environment, Wallet: s.w, Rule: s.rule, Intent: intents[s.intent],
				Status: s.status, PreviousStatus: pipeline.StatusPending, Version: 2, MatchType: s.match, Reason: s.reason,
				Payment: p, AcceptedAt: ev.AcceptedAt, DecidedAt: decided,
			})
		}
	}
	// The customer claims TRX003 for int_3 after the payment was kept as unmatched: a claim match.
	claimAt := at(20000)
	f.outcomes = append(f.outcomes, &pipeline.Outcome{
		ID: pipeline.IntentOutcomeID("int_3", 2, pipeline.StatusPaid), Type: pipeline.OutcomeIntentStatus, EventID: "evt_claim_3",
		MerchantID: "m2", Environment: pipeline.Live, Wallet: walletM2, Rule: pipeline.RuleClaim, Intent: intents["int_3"],
		Status: pipeline.StatusPaid, PreviousStatus: pipeline.StatusPending, Version: 2, MatchType: pipeline.MatchClaim,
		Payment: payments3(f), AcceptedAt: claimAt, DecidedAt: claimAt.Add(80 * time.Millisecond),
	})
	// int_4 expires (no triggering request: AcceptedAt is zero).
	f.outcomes = append(f.outcomes, &pipeline.Outcome{
		ID: pipeline.IntentOutcomeID("int_4", 2, pipeline.StatusExpired), Type: pipeline.OutcomeIntentStatus, EventID: "tick_int_4",
		MerchantID: "m1", Environment: pipeline.Live, Wallet: walletM1, Rule: pipeline.RuleExpiry, Intent: intents["int_4"],
		Status: pipeline.StatusExpired, PreviousStatus: pipeline.StatusPending, Version: 2, DecidedAt: intents["int_4"].ExpiresAt.Add(time.Second),
	})

	// Refunds bKash confirmed: int_1 (m1, paid 500) twice, 200 then 100; int_5 (SANDBOX) in full.
	refund := func(n int, intent, trx string, amount, total pipeline.Money, acceptedMs int) {
		in := intents[intent]
		w := in.Wallet()
		rf := &pipeline.Refund{
			IntentID: in.ID, PaymentID: "bkpay_" + in.ID, TrxID: trx,
			RefundTrxID: fmt.Sprintf("RFD%03d", n), Amount: amount, RefundedTotal: total,
			Reason: "customer returned the goods", Operator: "ops@" + in.MerchantID,
		}
		ev := &pipeline.Event{
			ID: fmt.Sprintf("evt_refund_%d", n), Kind: pipeline.KindPaymentRefunded, Source: pipeline.SourceTokenized,
			Wallet: w, MerchantID: in.MerchantID, Environment: in.Environment, AcceptedAt: at(acceptedMs), Intent: in, Refund: rf,
		}
		f.events = append(f.events, ev)
		f.outcomes = append(f.outcomes, &pipeline.Outcome{
			ID: pipeline.RefundOutcomeID(ev.ID), Type: pipeline.OutcomeRefund, EventID: ev.ID, MerchantID: in.MerchantID,
			Environment: w.Environment, Wallet: w, Rule: pipeline.RuleRefund, Intent: in, IntentID: in.ID, Refund: rf,
			AcceptedAt: ev.AcceptedAt, DecidedAt: at(acceptedMs + 20),
		})
	}
	refund(1, "int_1", "TRX001", pipeline.BDT(200), pipeline.BDT(200), 30000)
	refund(2, "int_1", "TRX001", pipeline.BDT(100), pipeline.BDT(300), 40000)
	refund(3, "int_5", "TRX007", pipeline.BDT(100), pipeline.BDT(100), 50000)

	// Balance gaps. m1: TRX004's SMS reports 500 more than the chain expects (a missed credit).
	// m2: TRX008's SMS reports 250 less (its payment went to review), then a debit SMS 100 less.
	// m3 (SANDBOX): a credit SMS 50 more.
	sms := func(id, merchant string, w pipeline.Wallet, dir string, amount, balance pipeline.Money, trx string, ms int) {
		f.events = append(f.events, &pipeline.Event{
			ID: id, Kind: pipeline.KindSMSReceived, Source: pipeline.SourceSMS, Wallet: w, MerchantID: merchant,
			Environment: w.Environment, AcceptedAt: at(ms),
			SMS: &pipeline.SMS{
				Sender: string(w.Provider), Text: "fixture SMS " + trx, DeviceID: "dev_" + merchant, ReceivedAt: at(ms - 100),
				Trusted: true, Kind: dir, Direction: dir, Balance: &balance, Amount: &amount, TrxID: trx,
			},
		})
	}
	sms("evt_sms_9", "m2", walletM2, "debit", pipeline.BDT(100), 479815, "TRX009", 18000)
	sms("evt_sms_10", "m3", walletM3, "credit", pipeline.BDT(50), pipeline.BDT(200), "TRX010", 19000)
	gap := func(evID string, w pipeline.Wallet, merchant string, g pipeline.BalanceGap, p *pipeline.Payment, acceptedMs int) {
		g.EventID, g.MerchantID, g.Wallet = evID, merchant, w
		g.DifferencePaisa = g.ActualPaisa - g.ExpectedPaisa
		g.DetectedAt = at(acceptedMs + 10)
		o := &matcher.BalanceGapOutcome{
			Outcome: pipeline.Outcome{
				ID: matcher.BalanceGapOutcomeID(evID), Type: matcher.OutcomeBalanceGap, EventID: evID, MerchantID: merchant,
				Environment: w.Environment, Wallet: w, Rule: matcher.RuleBalanceChain, Payment: p,
				AcceptedAt: at(acceptedMs), DecidedAt: g.DetectedAt,
			},
			BalanceGap: &g,
		}
		if g.Review {
			o.Reason, o.Disposition = matcher.ReasonBalanceMismatch, pipeline.DispositionReview
		}
		f.gaps = append(f.gaps, o)
	}
	pay4, pay8 := f.event("evt_pay_4").Payment, f.event("evt_pay_8").Payment
	gap("evt_pay_4", walletM1, "m1", pipeline.BalanceGap{
		Direction: "credit", Amount: pay4.Amount, TrxID: "TRX004", At: pay4.OccurredAt,
		PreviousEventID: "evt_sms_0", PreviousAt: at(5000), PreviousBalance: pipeline.BDT(10000),
		ExpectedPaisa: 1_099_900, ActualPaisa: 1_149_900,
	}, pay4, 13000)
	gap("evt_pay_8", walletM2, "m2", pipeline.BalanceGap{
		Direction: "credit", Amount: pay8.Amount, TrxID: "TRX008", At: pay8.OccurredAt,
		PreviousEventID: "evt_pay_6", PreviousAt: at(14500), PreviousBalance: pipeline.BDT(5000),
		ExpectedPaisa: 525_000, ActualPaisa: 500_000, Review: true,
	}, pay8, 17000)
	gap("evt_sms_9", walletM2, "m2", pipeline.BalanceGap{
		Direction: "debit", Amount: pipeline.BDT(100), FeePaisa: 185, TrxID: "TRX009", At: at(17900),
		PreviousEventID: "evt_pay_8", PreviousAt: pay8.OccurredAt, PreviousBalance: pipeline.BDT(5000),
		ExpectedPaisa: 489_815, ActualPaisa: 479_815,
	}, nil, 18000)
	gap("evt_sms_10", walletM3, "m3", pipeline.BalanceGap{
		Direction: "credit", Amount: pipeline.BDT(50), TrxID: "TRX010", At: at(18900),
		PreviousEventID: "evt_pay_7", PreviousAt: at(15500), PreviousBalance: pipeline.BDT(100),
		ExpectedPaisa: 15_000, ActualPaisa: 20_000,
	}, nil, 19000)

	attempt := func(intent, merchant string, env pipeline.Environment, status pipeline.Status, n int, res pipeline.WebhookResult, code int, errText string, attemptedMs int) {
		oid := pipeline.IntentOutcomeID(intent, 2, status)
		f.attempts = append(f.attempts, &pipeline.WebhookAttempt{
			ID: fmt.Sprintf("%s/%d", oid, n), OutcomeID: oid, MerchantID: merchant, Environment: env, IntentID: intent,
			EventType: native.WebhookEvent(status), Attempt: n, Result: res, HTTPStatus: code, Error: errText,
			Duration: 35 * time.Millisecond, URLHost: "shop.example.com", AcceptedAt: at(10000), AttemptedAt: at(attemptedMs),
		})
	}
	attempt("int_1", "m1", pipeline.Live, pipeline.StatusPaid, 1, pipeline.WebhookRetry, 500, "HTTP 500", 10100)
	attempt("int_1", "m1", pipeline.Live, pipeline.StatusPaid, 2, pipeline.WebhookDelivered, 200, "", 11100)
	attempt("int_2", "m1", pipeline.Live, pipeline.StatusPaid, 1, pipeline.WebhookDelivered, 200, "", 11200)
	attempt("int_3", "m2", pipeline.Live, pipeline.StatusPaid, 1, pipeline.WebhookRetry, 0, "dial tcp: connection refused", 20200)
	attempt("int_3", "m2", pipeline.Live, pipeline.StatusPaid, 2, pipeline.WebhookRetry, 502, "HTTP 502", 21200)
	attempt("int_3", "m2", pipeline.Live, pipeline.StatusPaid, 3, pipeline.WebhookDeadLetter, 502, "HTTP 502", 25200)
	attempt("int_4", "m1", pipeline.Live, pipeline.StatusExpired, 1, pipeline.WebhookDelivered, 200, "", 15*60*1000+5000)
	attempt("int_5", "m3", pipeline.Sandbox, pipeline.StatusPaid, 1, pipeline.WebhookDelivered, 200, "", 16100)

	t := pipeline.Topics{}
	f.bad = []*kgo.Record{
		{Topic: t.Inbound(), Key: []byte("bkash:01700000001:LIVE"), Value: []byte(`{"id":"evt_bad","kind":"payment.reported"`)}, // truncated JSON
		{Topic: t.Inbound(), Key: []byte("x"), Value: []byte(`{"id":"evt_nowallet","kind":"intent.created"}`)},                  // fails Validate
		{Topic: t.Outcomes(), Key: []byte("m1"), Value: []byte(`{"id":"o_x","type":"payment.teleported","merchantId":"m1"}`)},   // unknown type
		{Topic: t.WebhookAttempts(), Key: []byte("m1"), Value: []byte(`{"outcomeId":"o_1","attempt":1}`)},                       // no id
	}
	return f
}

// event returns the fixture's inbound event id.
func (f *fixture) event(id string) *pipeline.Event {
	for _, e := range f.events {
		if e.ID == id {
			return e
		}
	}
	panic("fixture: no event " + id)
}

func payments3(f *fixture) *pipeline.Payment {
	for _, e := range f.events {
		if e.ID == "evt_pay_3" {
			return e.Payment
		}
	}
	panic("fixture: no pay_3")
}

// records encodes the fixture as Kafka records on their topics, keyed as the pipeline keys them.
func (f *fixture) records(t testing.TB) []*kgo.Record {
	t.Helper()
	tp := pipeline.Topics{}
	var recs []*kgo.Record
	for _, e := range f.events {
		b, err := pipeline.EncodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: tp.Inbound(), Key: []byte(e.Wallet.Key()), Value: b})
	}
	for _, o := range f.outcomes {
		b, err := pipeline.EncodeOutcome(o)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: tp.Outcomes(), Key: []byte(o.MerchantID), Value: b})
	}
	for _, g := range f.gaps {
		b, err := json.Marshal(g) // as the matcher stores and produces it (pipeline/state.Change.OtherOutcomes)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: tp.Outcomes(), Key: []byte(g.MerchantID), Value: b})
	}
	for _, a := range f.attempts {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: tp.WebhookAttempts(), Key: []byte(a.MerchantID), Value: b})
	}
	return append(recs, f.bad...)
}

// want is the number of rows (FINAL) each table holds after the fixture was written once.
func (f *fixture) want() map[string]uint64 {
	w := map[string]uint64{
		tableInbound: uint64(len(f.events)), tableGaps: uint64(len(f.gaps)),
		tableAttempts: uint64(len(f.attempts)), tableRejects: uint64(len(f.bad)),
	}
	for _, o := range f.outcomes {
		switch o.Type {
		case pipeline.OutcomePayment:
			w[tablePayments]++
		case pipeline.OutcomeRefund:
			w[tableRefunds]++
		default:
			w[tableChanges]++
		}
	}
	return w
}

// busRecord is r as the consumer hands it to the sink: a bus.Record aliasing r's bytes.
func busRecord(r *kgo.Record) *bus.Record {
	return &bus.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
}

// batchOf is recs as one batch the consumer hands to the sink's handle.
func batchOf(recs []*kgo.Record) *bus.Batch {
	bs := make([]bus.Record, len(recs))
	for i, r := range recs {
		bs[i] = *busRecord(r)
	}
	return bus.NewBatch(bs...)
}
