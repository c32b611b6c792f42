package webhook

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Bounded per-merchant failure top-k (paystream_webhook_failing_merchant_attempts).
//
// Every failed attempt (result retry or dead_letter) is counted in a sliding window of
// failWindowBuckets one-minute buckets per (merchant, environment). At scrape time the collector
// sums each window and exports only the failTopK largest non-zero counts, so the label set stays
// bounded: a merchant that drops out of the top k, or whose window empties, simply stops being
// exported (its series goes stale in Prometheus). At most failMaxTracked pairs are tracked; when a
// new one arrives at the bound the pair with the smallest windowed count is evicted.
//
// The counts are per replica: in PromQL aggregate across replicas with
// sum by (merchant, environment) (total failures) or max by (merchant, environment).
const (
	failWindowBuckets = 15
	failBucketWidth   = time.Minute
	failTopK          = 10
	failMaxTracked    = 10000
)

type failKey struct{ merchant, env string }

type failWindow struct {
	counts [failWindowBuckets]uint64
	epochs [failWindowBuckets]int64 // minute index each bucket holds
}

// sum returns the failures in the window ending at minute cur.
func (w *failWindow) sum(cur int64) uint64 {
	var n uint64
	for i := range w.counts {
		if cur-w.epochs[i] < failWindowBuckets && w.epochs[i] <= cur {
			n += w.counts[i]
		}
	}
	return n
}

type failTracker struct {
	now      func() time.Time
	topK     int
	max      int
	desc     *prometheus.Desc
	mu       sync.Mutex
	merchant map[failKey]*failWindow
}

func newFailTracker(now func() time.Time) *failTracker {
	if now == nil {
		now = time.Now
	}
	return &failTracker{
		now:  now,
		topK: failTopK,
		max:  failMaxTracked,
		desc: prometheus.NewDesc("paystream_webhook_failing_merchant_attempts",
			"Failed webhook attempts in the last 15 minutes, exported only for this replica's top 10 merchants "+
				"(aggregate across replicas with sum/max by (merchant, environment)).",
			[]string{"merchant", "environment"}, nil),
		merchant: make(map[failKey]*failWindow),
	}
}

func (t *failTracker) minute() int64 { return t.now().UnixNano() / int64(failBucketWidth) }

// fail records one failed attempt of merchant in env.
func (t *failTracker) fail(merchant, env string) {
	cur := t.minute()
	k := failKey{merchant, env}
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.merchant[k]
	if w == nil {
		if len(t.merchant) >= t.max {
			t.evictLocked(cur)
		}
		w = &failWindow{}
		t.merchant[k] = w
	}
	i := int(cur % failWindowBuckets)
	if w.epochs[i] != cur {
		w.epochs[i], w.counts[i] = cur, 0
	}
	w.counts[i]++
}

// evictLocked drops expired windows, then (still at the bound) the smallest one.
func (t *failTracker) evictLocked(cur int64) {
	var (
		minKey failKey
		minN   uint64
		found  bool
	)
	for k, w := range t.merchant {
		n := w.sum(cur)
		if n == 0 {
			delete(t.merchant, k)
			continue
		}
		if !found || n < minN {
			minKey, minN, found = k, n, true
		}
	}
	if len(t.merchant) >= t.max && found {
		delete(t.merchant, minKey)
	}
}

type failCount struct {
	failKey
	n uint64
}

// top returns the topK largest non-zero windowed counts (largest first) and forgets empty windows.
func (t *failTracker) top() []failCount {
	cur := t.minute()
	t.mu.Lock()
	all := make([]failCount, 0, len(t.merchant))
	for k, w := range t.merchant {
		if n := w.sum(cur); n > 0 {
			all = append(all, failCount{k, n})
		} else {
			delete(t.merchant, k)
		}
	}
	t.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		if all[i].merchant != all[j].merchant {
			return all[i].merchant < all[j].merchant
		}
		return all[i].env < all[j].env
	})
	if len(all) > t.topK {
		all = all[:t.topK]
	}
	return all
}

// Describe implements prometheus.Collector.
func (t *failTracker) Describe(ch chan<- *prometheus.Desc) { ch <- t.desc }

// Collect implements prometheus.Collector: the top-k is computed at scrape time, so it is always fresh
// and series of merchants that left the top k are not exported.
func (t *failTracker) Collect(ch chan<- prometheus.Metric) {
	for _, c := range t.top() {
		ch <- prometheus.MustNewConstMetric(t.desc, prometheus.GaugeValue, float64(c.n), c.merchant, c.env)
	}
}
