package matcher

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/state"
	"github.com/paystream/paystream/pipeline/testenv"
)

// runPayments sends n intents and n payments paying them (by reference, one wallet per 50
// payments) through a running matcher and waits for every PAID outcome.
func runPayments(h *harness, n int, tag string) {
	h.t.Helper()
	var intents, pays []*pipeline.Event
	for i := range n {
		w := pipeline.Wallet{Provider: pipeline.BKash, Account: fmt.Sprintf("017%08d", i/50), Environment: pipeline.Sandbox}
		id := fmt.Sprintf("%s-in-%05d", tag, i)
		ref := fmt.Sprintf("ORD-%s-%05d", tag, i)
		intents = append(intents, intentEvent(id, w, 100+int64(i%7), ref, 10*time.Minute))
		pays = append(pays, paymentEvent(fmt.Sprintf("%s-pay-%05d", tag, i), w, 100+int64(i%7), ref, fmt.Sprintf("TRX%s%05d", strings.ToUpper(tag), i)))
	}
	h.produce(intents...)
	h.produce(pays...)
	h.waitFor(fmt.Sprintf("%d payments of %s paid", n, tag), func(byID map[string][]*kgo.Record) bool {
		for _, ev := range intents {
			if len(byID[pipeline.IntentOutcomeID(ev.Intent.ID, 2, pipeline.StatusPaid)]) == 0 {
				return false
			}
		}
		return true
	})
}

// logUsage measures the store's keys by family (every key, MEMORY USAGE of each) and logs bytes
// per payment; it returns the usage.
func logUsage(t testing.TB, st *state.Store, payments int, title string) map[string]state.FamilyUsage {
	t.Helper()
	u, complete, err := st.Usage(context.Background(), state.UsageLimits{})
	if err != nil || !complete {
		t.Fatalf("measuring redis usage: complete=%v err=%v", complete, err)
	}
	fams := make([]string, 0, len(u))
	var total int64
	for f, x := range u {
		fams = append(fams, f)
		total += x.Bytes
	}
	slices.Sort(fams)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: Redis bytes per payment by family (%d payments)\n", title, payments)
	for _, f := range fams {
		fmt.Fprintf(&b, "  %-16s keys %6d  bytes/payment %7.1f\n", f, u[f].Keys, float64(u[f].Bytes)/float64(payments))
	}
	fmt.Fprintf(&b, "  %-16s              bytes/payment %7.1f", "total", float64(total)/float64(payments))
	t.Log(b.String())
	return u
}

// TestRedisBytesPerPayment is the measurement of issue 16: n payments through the matcher, then
// every key of the run measured by family. Run with -v to read the table.
func TestRedisBytesPerPayment(t *testing.T) {
	h := newHarness(t)
	h.startMatcher(prometheus.NewRegistry())
	const n = 500
	runPayments(h, n, "m")
	logUsage(t, h.st, n, "after the run")
}

// restoreMarker puts the outcomes of eventID, as read from the outcomes topic so far, back in its
// applied marker on wallet w: the marker as a crash between the apply and Kafka's acknowledgement
// leaves it (full; the matcher compacts it once its outcomes are acknowledged), so that a test
// redelivering the event replays it as after such a crash.
func (h *harness) restoreMarker(w pipeline.Wallet, eventID string) {
	h.t.Helper()
	var items [][]byte
	for _, r := range h.recs {
		o, err := pipeline.DecodeOutcome(r.Value)
		if err == nil && o.EventID == eventID {
			items = append(items, r.Value)
		}
	}
	if len(items) == 0 {
		h.t.Fatalf("no outcome of %s read yet", eventID)
	}
	body := "[" + string(bytes.Join(items, []byte(","))) + "]"
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(h.t)})
	defer rdb.Close()
	if err := rdb.Set(context.Background(), h.st.Keys().Applied(w, eventID), body, time.Hour).Err(); err != nil {
		h.t.Fatal(err)
	}
}

// perPaymentFamilies are the families every payment adds to; after its lifetimes they must be
// empty again (wallet-level keys, one per wallet, are not among them).
var perPaymentFamilies = []string{
	state.FamilyIntent, state.FamilyIntentIndex, state.FamilyOpenByAmount, state.FamilyReference, state.FamilyTrx,
	state.FamilyTrxPaid, state.FamilyApplied, state.FamilyIntentLoc, state.FamilyDeadlines, state.FamilyRetire,
}

// TestRedisFlatOverRetentionWindows (issue 16) runs ten retention windows on compressed
// lifetimes (settled intents retire after 1s, TrxID marks last 2s, applied markers 1s): each
// window pays a batch of intents, then waits until every per-payment key left Redis, and Redis
// usage after window 10 equals usage after window 2, family by family (only the per-wallet keys
// stay). Before the fix intents, their indexes, locations, TrxID marks and deadlines stayed, so
// the wait never ended.
func TestRedisFlatOverRetentionWindows(t *testing.T) {
	h := newHarness(t)
	st, err := h.st.WithLifetimes(state.Lifetimes{FinalIntentRetention: time.Second, TrxWindow: 2 * time.Second, AppliedRetention: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.startMatcherOn(st, prometheus.NewRegistry())
	const perWindow = 30
	var after2 map[string]state.FamilyUsage
	for win := 1; win <= 10; win++ {
		runPayments(h, perWindow, fmt.Sprintf("w%02d", win))
		var u map[string]state.FamilyUsage
		deadline := time.Now().Add(30 * time.Second)
		for {
			var complete bool
			u, complete, err = st.Usage(context.Background(), state.UsageLimits{})
			if err != nil || !complete {
				t.Fatalf("usage: %v", err)
			}
			left := 0
			for _, f := range perPaymentFamilies {
				left += int(u[f].Keys)
			}
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("window %d: per-payment keys still in Redis after their lifetimes: %+v", win, u)
			}
			time.Sleep(100 * time.Millisecond)
		}
		switch win {
		case 2:
			after2 = u
		case 10:
			for f, x := range u {
				if b := after2[f]; x.Keys != b.Keys || float64(x.Bytes) > 1.1*float64(b.Bytes)+64 {
					t.Errorf("family %s grew from window 2 to 10: %+v -> %+v", f, b, x)
				}
			}
			logUsage(t, st, perWindow*10, "after 10 windows")
		}
	}
}
