package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scrape returns the value of one unlabelled sample from /metrics (0 if absent).
func scrape(t *testing.T, metricsURL, name string) float64 {
	t.Helper()
	resp, err := http.Get(metricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestE2EOverloadSheds offers far more concurrent requests than ingest's in-flight bound: ingest
// sheds the excess at once (503 + Retry-After, counted in paystream_http_shed_total) instead of
// queueing, every answer is a documented status, memory stays bounded, and what was accepted is
// still decided.
func TestE2EOverloadSheds(t *testing.T) {
	in := startDev(t, "PAYSTREAM_MAX_INFLIGHT=8", "PAYSTREAM_PRODUCE_TIMEOUT=1s")
	rcv := newReceiver(t)
	m := onboard(t, in, rcv, wallet())
	id := createIntent(t, in, m.testKey, `{"amount":100,"currency":"BDT","customerReference":"OVER-1"}`)["id"].(string)
	rssBefore := scrape(t, in.metrics, "process_resident_memory_bytes")

	var statuses sync.Map
	var total, missingRetryAfter atomic.Int64
	// Never a hang: every request is answered within a few produce timeouts (1 s), or counts as a
	// transport error, which fails the test.
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	stop := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for w := range 128 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				body := fmt.Sprintf(`{"paymentIntentId":%q,"amount":1,"trxId":"OV%03d%07d"}`, id, w, i)
				req, _ := http.NewRequest("POST", in.base+"/v1/sandbox/sms-events/simulate", strings.NewReader(body))
				req.Header.Set("X-Api-Key", m.testKey)
				resp, err := client.Do(req)
				if err != nil {
					statuses.Store("transport error", true)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				total.Add(1)
				n, _ := statuses.LoadOrStore(resp.StatusCode, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				if (resp.StatusCode == 503 || resp.StatusCode == 429) && resp.Header.Get("Retry-After") == "" {
					missingRetryAfter.Add(1)
				}
			}
		})
	}
	wg.Wait()
	counts := map[any]int64{}
	statuses.Range(func(k, v any) bool {
		if c, ok := v.(*atomic.Int64); ok {
			counts[k] = c.Load()
		} else {
			counts[k] = -1
		}
		return true
	})
	t.Logf("overload: %d requests from 128 concurrent clients against 8 in-flight slots: %v", total.Load(), counts)
	for k := range counts {
		if k != http.StatusAccepted && k != http.StatusServiceUnavailable && k != http.StatusTooManyRequests {
			t.Errorf("answer %v under overload; only 202, 429 and 503 are acceptable", k)
		}
	}
	if counts[http.StatusServiceUnavailable]+counts[http.StatusTooManyRequests] == 0 || counts[http.StatusAccepted] == 0 {
		t.Fatalf("expected both accepted and shed requests, got %v", counts)
	}
	if missingRetryAfter.Load() > 0 {
		t.Errorf("%d shed answers without Retry-After", missingRetryAfter.Load())
	}
	if shed := scrape(t, in.metrics, "paystream_http_shed_total"); shed == 0 {
		t.Error("paystream_http_shed_total did not count the shed requests")
	}
	// Memory: bounded by the in-flight limit and the producer buffer, not by the offered load
	// (about +14 MiB measured; +64 MiB leaves room for noise, and a queue that grows with the
	// offered load, tens of thousands of requests, breaks it).
	rss := scrape(t, in.metrics, "process_resident_memory_bytes")
	t.Logf("overload: resident memory of paystream dev %.0f MiB before, %.0f MiB after", rssBefore/(1<<20), rss/(1<<20))
	if rss > rssBefore+64<<20 {
		t.Errorf("resident memory grew from %.0f MiB to %.0f MiB under overload", rssBefore/(1<<20), rss/(1<<20))
	}
	// Nothing accepted is lost: every accepted payment is decided and audited once (as unmatched:
	// no intent of 1 BDT is open).
	waitCount(t, in.dsn, uint64(counts[http.StatusAccepted]), 60*time.Second,
		"SELECT count() FROM payments FINAL WHERE merchant_id = ?", m.id)
}
