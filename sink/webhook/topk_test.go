package webhook

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func topMap(t *failTracker) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range t.top() {
		out[c.merchant+"/"+c.env] = c.n
	}
	return out
}

func countSeries(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	return n
}

func TestFailTrackerWindowExpiry(t *testing.T) {
	clk := &fakeClock{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := newFailTracker(clk.now)
	tr.fail("m1", "live")
	clk.t = clk.t.Add(10 * time.Minute)
	tr.fail("m1", "live")
	tr.fail("m1", "sandbox")
	if got := topMap(tr); got["m1/live"] != 2 || got["m1/sandbox"] != 1 {
		t.Fatalf("top = %v, want m1/live=2 m1/sandbox=1", got)
	}
	clk.t = clk.t.Add(6 * time.Minute) // the first failure is now 16 minutes old
	if got := topMap(tr); got["m1/live"] != 1 {
		t.Fatalf("after expiry top = %v, want m1/live=1", got)
	}
	clk.t = clk.t.Add(15 * time.Minute) // everything expired: no series, map emptied
	if got := topMap(tr); len(got) != 0 {
		t.Fatalf("after full expiry top = %v, want empty", got)
	}
	if n := len(tr.merchant); n != 0 {
		t.Fatalf("tracked = %d after expiry, want 0", n)
	}
	// A bucket slot reused a window later starts from zero.
	tr.fail("m1", "live")
	if got := topMap(tr); got["m1/live"] != 1 {
		t.Fatalf("reused bucket top = %v, want m1/live=1", got)
	}
}

func TestFailTrackerBound(t *testing.T) {
	clk := &fakeClock{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := newFailTracker(clk.now)
	tr.max = 3
	for i, m := range []string{"a", "b", "c"} {
		for range i + 2 {
			tr.fail(m, "live")
		}
	}
	tr.fail("d", "live") // at the bound: evicts the smallest ("a", 2 failures)
	if n := len(tr.merchant); n != 3 {
		t.Fatalf("tracked = %d, want 3", n)
	}
	if _, ok := tr.merchant[failKey{"a", "live"}]; ok {
		t.Fatal("smallest merchant a not evicted")
	}
	if got := topMap(tr); got["b/live"] != 3 || got["c/live"] != 4 || got["d/live"] != 1 {
		t.Fatalf("top = %v", got)
	}
}

func TestFailTrackerCollectTopKAndDeletion(t *testing.T) {
	clk := &fakeClock{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := newFailTracker(clk.now)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(tr)
	for i := range 15 { // m00 has 1 failure … m14 has 15
		for range i + 1 {
			tr.fail(fmt.Sprintf("m%02d", i), "live")
		}
	}
	if n := countSeries(t, reg); n != failTopK {
		t.Fatalf("exported %d series, want %d", n, failTopK)
	}
	got := topMap(tr)
	for i := range 15 {
		k := fmt.Sprintf("m%02d/live", i)
		if want := i >= 5; (got[k] != 0) != want {
			t.Fatalf("series %s exported=%v, want %v (top %v)", k, got[k] != 0, want, got)
		}
	}
	// m00 climbs into the top 10; m05 (6 failures, now the smallest) drops out and is no longer exported.
	clk.t = clk.t.Add(time.Minute)
	for range 20 {
		tr.fail("m00", "live")
	}
	got = topMap(tr)
	if got["m00/live"] != 21 || got["m05/live"] != 0 || len(got) != failTopK {
		t.Fatalf("after m00 climbs: %v", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "paystream_webhook_failing_merchant_attempts" || len(mfs[0].GetMetric()) != failTopK {
		t.Fatalf("gathered %v", mfs)
	}
	for _, m := range mfs[0].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "merchant" && l.GetValue() == "m05" {
				t.Fatal("m05 still exported after dropping out of the top 10")
			}
		}
	}
	// All windows expire: no series at all.
	clk.t = clk.t.Add(time.Hour)
	if n := countSeries(t, reg); n != 0 {
		t.Fatalf("exported %d series after expiry, want 0", n)
	}
}
