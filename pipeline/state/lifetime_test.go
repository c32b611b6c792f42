package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/paystream/paystream/pipeline"
)

func TestFamilyOf(t *testing.T) {
	k := pipeline.Keys{Prefix: "ps"}
	w := walletA
	cases := map[string]string{
		k.Intent(w, "i1"): FamilyIntent,
		k.IntentsAll(w):   FamilyIntentIndex,
		k.IntentsByStatus(w, pipeline.StatusPaid): FamilyIntentIndex,
		k.OpenByAmount(w, 500):                    FamilyOpenByAmount,
		ExpiredByAmountKey(k, w, 500):             FamilyExpiredAmount,
		k.ByReference(w, "ord-1"):                 FamilyReference,
		k.Trx(w, "abc"):                           FamilyTrx,
		TrxPaidKey(k, w):                          FamilyTrxPaid,
		k.ReportedTrx(w, "abc"):                   FamilyReportedTrx,
		k.Applied(w, "e1"):                        FamilyApplied,
		k.Unmatched(w):                            FamilyPayments,
		PaymentRecordsKey(k, w):                   FamilyPayments,
		ReviewPaymentsKey(k, w):                   FamilyPayments,
		ReviewCandidatesKey(k, w, "i1"):           FamilyReview,
		ClaimsKey(k, w, "abc"):                    FamilyClaims,
		IntentClaimsKey(k, w, "i1"):               FamilyClaims,
		BalanceKey(k, w):                          FamilyBalance,
		BalanceGapsKey(k, w):                      FamilyBalance,
		WalletVersionKey(k, w):                    FamilyWalletVersion,
		k.IntentLocation("i1"):                    FamilyIntentLoc,
		k.Deadlines(3):                            FamilyDeadlines,
		RetireKey(k, 3):                           FamilyRetire,
		k.WebhookTag() + ":job:o1":                FamilyWebhookJob,
		k.WebhookTag() + ":done:o1":               FamilyWebhookDone,
		k.WebhookTag() + ":due":                   FamilyWebhookQueue,
		k.Idempotency("m1", pipeline.Live, "ab"):  FamilyIdempotency,
		k.Merchant("m1"):                          FamilyDirectory,
		k.Device("d1") + ":sms:e1":                FamilySMS,
		"other:ps:intent":                         "",
		"rate:ps:ratelimit:key:abc":               "",
		"psx:intentloc:i1":                        "",
	}
	for key, want := range cases {
		if got := FamilyOf(k, key); got != want {
			t.Errorf("FamilyOf(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestSamplerGauges: the sampler exports every family it owns, counted exactly on a keyspace it
// walks whole, and extrapolates (sample_complete 0) when its walk is bounded.
func TestSamplerGauges(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := context.Background()
	for _, id := range []string{"s1", "s2", "s3"} {
		if err := st.CreateIntentWithDeadline(ctx, testIntent(id, walletA, 500, "REF-"+id, t0), 1); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	sm, err := NewSampler(st, SamplerConfig{Limits: UsageLimits{MaxSampled: 2}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	for fam, want := range map[string]float64{FamilyIntent: 3, FamilyIntentLoc: 3, FamilyReference: 3, FamilyDeadlines: 1, FamilyTrx: 0} {
		if got := gauge(t, sm.keys.WithLabelValues(fam)); got != want {
			t.Errorf("paystream_redis_keys{family=%q} = %v, want %v", fam, got, want)
		}
	}
	if b := gauge(t, sm.bytes.WithLabelValues(FamilyIntent)); b < 3*100 {
		t.Errorf("paystream_redis_bytes{family=intent} = %v, want the three hashes' memory", b)
	}
	if c := gauge(t, sm.exact); c != 1 {
		t.Errorf("sample_complete = %v, want 1 (the whole keyspace was walked)", c)
	}
	// Bounded: one SCAN call of a keyspace bigger than it extrapolates.
	u, complete, err := st.Usage(ctx, UsageLimits{MaxScanned: 1, MaxSampled: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := st.rdb.DBSize(ctx).Result(); n > 1000 && complete {
		t.Errorf("a 1-key walk of %d keys reported complete: %+v", n, u)
	}
}

// TestRetireDue: a settled intent leaves Redis with every link once its retention ended; one
// changed since it was scheduled is rescheduled, one no longer settled is unscheduled.
func TestRetireDue(t *testing.T) {
	base, rdb := newTestStore(t)
	st, err := base.WithLifetimes(Lifetimes{FinalIntentRetention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := st.Keys()
	in := testIntent("r1", walletA, 500, "ORD-R1", t0)
	if err := st.CreateIntent(ctx, in); err != nil {
		t.Fatal(err)
	}
	paidAt := t0.Add(time.Minute)
	ch := &Change{Wallet: walletA, EventID: "p1", SeenTrxID: "TRXR1", Transitions: []pipeline.Transition{{
		IntentID: "r1", Amount: 500, CreatedAt: t0, ExpiresAt: in.ExpiresAt, From: pipeline.StatusPending, Version: 1,
		To: pipeline.StatusPaid, TrxID: "TRXR1", At: paidAt}}, RecordNoop: true}
	if _, _, err := st.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	fu := st.NewFollowups(0)
	fu.Transitions(walletA, ch.Transitions)
	if err := fu.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := st.RetireDue(ctx, 0, paidAt.Add(time.Hour-time.Second), 0); err != nil || n != 0 {
		t.Fatalf("RetireDue before the retention ended = %d, %v", n, err)
	}
	if n, err := st.RetireDue(ctx, 0, paidAt.Add(time.Hour+time.Second), 0); err != nil || n != 1 {
		t.Fatalf("RetireDue after the retention = %d, %v; want 1", n, err)
	}
	if _, err := st.GetIntent(ctx, "r1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetIntent after retirement = %v, want ErrNotFound", err)
	}
	for _, key := range []string{k.IntentsAll(walletA), k.IntentsByStatus(walletA, pipeline.StatusPaid), k.ByReference(walletA, "ORD-R1"), RetireKey(k, 0)} {
		if n, _ := rdb.Exists(ctx, key).Result(); n != 0 {
			t.Errorf("%s left after retirement", key)
		}
	}
	if _, paid, _ := st.TrxUse(ctx, walletA, "TRXR1"); paid != "" {
		t.Errorf("trxpaid of a retired intent = %q", paid)
	}
	if seen, _ := st.TrxSeen(ctx, walletA, "TRXR1"); !seen {
		t.Error("the TrxID mark left with the intent; it keeps the dedupe window")
	}
}

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
