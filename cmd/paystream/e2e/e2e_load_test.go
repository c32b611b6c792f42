package e2e

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/gowebpki/jcs"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
)

// Load, chaos and drain helpers for the multi-process fleet (e2e_crash_test.go): payments through
// the four payment surfaces, SIGKILLs tied to in-flight work, and a drain that waits for a
// sentinel (every consumer group committed up to the end of every topic, no webhook job or audit
// row pending, twice in a row with nothing new) before exact counts are taken.

// metricValue reads one unlabelled sample from a process's /metrics (0 if absent).
func metricValue(metricsURL, name string) (float64, error) {
	resp, err := http.Get(metricsURL + "/metrics") //nolint:noctx // a test helper with the default client
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, sc.Err()
}

// kafkaAdmin is a kadm client on the fleet's broker, closed at cleanup.
func (f *fleet) kafkaAdmin() *kadm.Client {
	f.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.seeds()...))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

var fleetGroups = []string{pipeline.GroupMatcher, pipeline.GroupWebhooks, pipeline.GroupAudit}

// uncommitted returns, per group, how many records of its topics the group has not committed at
// the broker (records waiting or in a consumer's hands), and the sum of the end offsets of every
// partition the groups consume (it grows with every record produced).
func uncommitted(ctx context.Context, adm *kadm.Client, groups ...string) (map[string]int64, int64, error) {
	lags, err := adm.Lag(ctx, groups...)
	if err != nil {
		return nil, 0, err
	}
	out := map[string]int64{}
	ends := map[string]int64{}
	for _, g := range groups {
		l, ok := lags[g]
		if !ok {
			return nil, 0, fmt.Errorf("group %s not described", g)
		}
		if err := l.Error(); err != nil {
			return nil, 0, fmt.Errorf("group %s: %w", g, err)
		}
		for topic, ps := range l.Lag {
			for p, ml := range ps {
				if ml.End.Err != nil {
					return nil, 0, fmt.Errorf("group %s %s/%d: %w", g, topic, p, ml.End.Err)
				}
				committed := ml.Commit.At
				if committed < 0 {
					committed = ml.Start.Offset
				}
				if n := ml.End.Offset - committed; n > 0 {
					out[g] += n
				}
				ends[fmt.Sprintf("%s/%d", topic, p)] = ml.End.Offset
			}
		}
	}
	var sum int64
	for _, e := range ends {
		sum += e
	}
	return out, sum, nil
}

// running reports whether p is started and not ended.
func (p *proc) running() bool {
	return p.cmd != nil && p.cmd.Process != nil && p.cmd.ProcessState == nil
}

// drain waits until the fleet is quiet: every consumer group committed everything (the sentinel:
// nothing is in a consumer's hands or waiting), no webhook job pending or in flight and no audit
// row buffered in any running sink, and no webhook arrived, twice in a row one second apart with
// the same end offsets. Only then are counts final: a poll that merely reaches the expected count
// could still be followed by a duplicate. It returns how long it waited.
func (f *fleet) drain(within time.Duration) time.Duration {
	f.t.Helper()
	adm := f.kafkaAdmin()
	start := time.Now()
	deadline := start.Add(within)
	last, why := "", ""
	for {
		state, ok := f.quiet(adm)
		if ok && state == last {
			return time.Since(start)
		}
		if ok {
			last = state
		} else {
			last, why = "", state
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the fleet did not drain within %v: %s", within, why)
		}
		time.Sleep(time.Second)
	}
}

// quiet returns a fingerprint of the fleet's progress and whether nothing is left to do; when
// something is, the first string says what.
func (f *fleet) quiet(adm *kadm.Client) (string, bool) {
	for _, p := range f.procs {
		if !p.running() {
			continue
		}
		var gauges []string
		switch p.args[0] {
		case "webhooks":
			gauges = []string{"paystream_webhook_pending_jobs", "paystream_webhook_inflight"}
		case "audit":
			gauges = []string{"paystream_audit_buffered_rows"}
		}
		for _, g := range gauges {
			v, err := metricValue(f.metrics[p], g)
			if err != nil || v != 0 {
				return fmt.Sprintf("%s %s = %v (%v)", p.name, g, v, err), false
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	left, ends, err := uncommitted(ctx, adm, f.groups()...)
	if err != nil {
		return "reading group offsets: " + err.Error(), false
	}
	for g, n := range left {
		if n > 0 {
			return fmt.Sprintf("group %s has %d uncommitted records", g, n), false
		}
	}
	f.rcv.mu.Lock()
	hooks := len(f.rcv.hooks)
	f.rcv.mu.Unlock()
	return fmt.Sprintf("ends %d hooks %d", ends, hooks), true
}

// inFlight reads, just before a kill, the work p has in hand that a SIGKILL interrupts: requests
// being handled (ingest); records of its group not committed at the broker (matcher, webhook
// sink); rows buffered and not yet in ClickHouse, or uncommitted records (audit sink). "" when
// there is none.
func (f *fleet) inFlight(adm *kadm.Client, p *proc) string {
	gauge := func(name string) float64 {
		v, _ := metricValue(f.metrics[p], name)
		return v
	}
	group := func(g string) int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		left, _, err := uncommitted(ctx, adm, g)
		if err != nil {
			return 0
		}
		return left[g]
	}
	switch p.args[0] {
	case "ingest":
		if v := gauge("paystream_http_inflight_requests"); v > 0 {
			return fmt.Sprintf("%.0f requests in flight", v)
		}
	case "matcher":
		if n := group(f.group(pipeline.GroupMatcher)); n > 0 {
			return fmt.Sprintf("%d records uncommitted by the matcher group", n)
		}
	case "webhooks":
		if v := gauge("paystream_webhook_inflight"); v > 0 {
			return fmt.Sprintf("%.0f webhook attempts in flight", v)
		}
		if n := group(f.group(pipeline.GroupWebhooks)); n > 0 {
			return fmt.Sprintf("%d outcomes uncommitted by the webhook group", n)
		}
	case "audit":
		if v := gauge("paystream_audit_buffered_rows"); v > 0 {
			return fmt.Sprintf("%.0f audit rows buffered", v)
		}
		if n := group(f.group(pipeline.GroupAudit)); n > 0 {
			return fmt.Sprintf("%d records uncommitted by the audit group", n)
		}
	}
	return ""
}

// kill is one SIGKILL and what the victim had in hand just before it.
type kill struct {
	proc, inFlight string
	at             time.Duration
}

// chaos SIGKILLs the victims, one at a time in a shuffled round robin (so each is hit once before
// any twice), every 1-2.5 s until stop is closed, each only at a moment it has in-flight work
// (inFlight, read just before the kill; a victim without any within 3 s is passed over and
// counted), restarting it after 0.1-0.6 s. It runs in the test goroutine.
func (f *fleet) chaos(stop <-chan struct{}, victims []*proc) (kills []kill, passedOver int) {
	f.t.Helper()
	adm := f.kafkaAdmin()
	start := time.Now()
	var order []*proc
	for {
		select {
		case <-stop:
			return kills, passedOver
		case <-time.After(time.Duration(1000+rand.IntN(1500)) * time.Millisecond):
		}
		if len(order) == 0 {
			order = append(order, victims...)
			rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		p := order[0]
		order = order[1:]
		evidence := ""
		for deadline := time.Now().Add(3 * time.Second); evidence == "" && time.Now().Before(deadline); {
			if evidence = f.inFlight(adm, p); evidence == "" {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if evidence == "" {
			passedOver++
			continue
		}
		p.kill9()
		kills = append(kills, kill{proc: p.name, inFlight: evidence, at: time.Since(start).Truncate(time.Millisecond)})
		time.Sleep(time.Duration(100+rand.IntN(500)) * time.Millisecond)
		f.restart(p)
	}
}

// loadMerchant is a merchant with one SANDBOX bKash wallet reachable through every payment
// surface: an SMS forwarder device, an SNS integration and a transaction-API integration (the
// sandbox simulator needs only the API key).
type loadMerchant struct {
	merchant
	acct                   string
	smsPath                string
	snsPath, app, client   string
	txnKey, txnSecret      string
	mu                     sync.Mutex
	lastStamp, balancePais int64 // the wallet's SMS clock (Unix ms) and balance, advanced together
}

// onboardLoad onboards n merchants for load().
func (f *fleet) onboardLoad(n int) []*loadMerchant {
	t := f.t
	t.Helper()
	f.rcv = newReceiver(t)
	admin := map[string]string{"Authorization": "Bearer " + f.in.admin}
	var ms []*loadMerchant
	for range n {
		m := &loadMerchant{acct: wallet(), balancePais: 10_000_00}
		m.merchant = onboard(t, f.in, f.rcv, m.acct)
		f.merchant = append(f.merchant, m.merchant)
		code, dev, _ := call(t, "POST", f.base+"/admin/v1/merchants/"+m.id+"/devices", admin,
			fmt.Sprintf(`{"name":"Counter phone","environment":"SANDBOX","wallets":{"1":{"provider":"bkash","account":%q}}}`, m.acct))
		if code != http.StatusCreated {
			t.Fatalf("registering device: %d %v", code, dev)
		}
		u, err := url.Parse(dev["forwardingUrls"].(map[string]any)["forwarder"].(string))
		if err != nil {
			t.Fatal(err)
		}
		m.smsPath = u.RequestURI()
		code, sns, _ := call(t, "POST", f.base+"/admin/v1/merchants/"+m.id+"/integrations", admin,
			fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q}}`, m.acct))
		if code != http.StatusCreated {
			t.Fatalf("creating the SNS integration: %d %v", code, sns)
		}
		m.snsPath = "/webhooks/notifications?shunno_id=" + sns["shunnoId"].(string) + "&client_app=SHUNNOIT"
		m.app, m.client = sns["appSecret"].(string), sns["clientSecret"].(string)
		code, txn, _ := call(t, "POST", f.base+"/admin/v1/merchants/"+m.id+"/integrations", admin, `{"type":"bkash_txn_api","environment":"SANDBOX"}`)
		if code != http.StatusCreated {
			t.Fatalf("creating the transaction-API integration: %d %v", code, txn)
		}
		m.txnKey, m.txnSecret = txn["apiKey"].(string), txn["signingSecret"].(string)
		ms = append(ms, m)
	}
	return ms
}

// Payment surfaces of load().
var loadSurfaces = []string{"sms", "sns", "txn", "sim"}

// loadResult is what load() did, per payment index.
type loadResult struct {
	intents    []string // intent id, "" when its creation was never answered 201
	surface    []string
	accepted   []bool // the payment report was answered 2xx (or "duplicate", which the seeds say means done)
	dupAnswers int    // reports answered "duplicate" (a retry of one already acknowledged)
	errs       []string
	statuses   map[string]int // "<surface or create> <status>" → count, every answer
	offered    int            // payments started: n, or fewer when stop ended the load early
	elapsed    time.Duration
}

// load creates n intents and pays each once through one of the four surfaces in turn (SMS
// forwarder, SNS, transaction API, sandbox simulator), spread over the merchants, at about rate
// payments per second from workers concurrent clients, spread over every ingest. A request that
// gets no answer, a 503 or a 429 is retried on the next ingest (its idempotency: the intent's key,
// the SMS's own stamps, the TrxID) until it is answered or 60 s passed. It never calls t.Fatal:
// it may run beside chaos().
func (f *fleet) load(ms []*loadMerchant, n, rate, workers int) *loadResult {
	return f.loadUntil(nil, ms, n, rate, workers)
}

// loadUntil is load that starts no further payment once stop is closed (nil: never); the result's
// offered says how many were started.
func (f *fleet) loadUntil(stop <-chan struct{}, ms []*loadMerchant, n, rate, workers int) *loadResult {
	r := &loadResult{intents: make([]string, n), surface: make([]string, n), accepted: make([]bool, n), statuses: map[string]int{}}
	var mu sync.Mutex
	var next atomic.Int64
	bases := make([]string, 0, len(f.ingests))
	for _, p := range f.ingests {
		bases = append(bases, f.bases[p])
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	tag := strings.ToUpper(randHex(2))
	// send retries one request until answered with something else than 503/429/no answer.
	send := func(what, method, path string, h map[string]string, body func() string) (int, string) {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			base := bases[int(next.Add(1))%len(bases)]
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body())) //nolint:noctx // bounded by the client's timeout
			req.Header.Set("Content-Type", "application/json")
			for k, v := range h {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			code, b := 0, []byte(nil)
			if err == nil {
				b, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			r.statuses[fmt.Sprintf("%s %d", what, code)]++
			mu.Unlock()
			if code != 0 && code != http.StatusServiceUnavailable && code != http.StatusTooManyRequests {
				return code, string(b)
			}
			time.Sleep(time.Duration(30+rand.IntN(70)) * time.Millisecond)
		}
		return 0, ""
	}
	fail := func(format string, args ...any) {
		mu.Lock()
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	pay := func(i int) {
		m := ms[(i/len(loadSurfaces))%len(ms)]
		surface := loadSurfaces[i%len(loadSurfaces)]
		r.surface[i] = surface
		amount := 100 + i // unique: SMS and simulator payments match by amount
		ref := fmt.Sprintf("LD%s-%d", tag, i)
		trx := fmt.Sprintf("L%s%05d", tag, i)
		apiKey := map[string]string{"X-Api-Key": m.testKey}
		code, b := send("create", "POST", "/v1/payments/intents", apiKey, func() string {
			return fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":%q,"idempotencyKey":"ld-%s-%d","ttlSeconds":3600,"provider":"bkash"}`, amount, ref, tag, i)
		})
		id := between(b, `"id":"`, `"`)
		if code != http.StatusCreated || id == "" {
			fail("payment %d: creating the intent: %d %s", i, code, b)
			return
		}
		r.intents[i] = id
		var ok func(int, string) bool
		var dup func(int, string) bool
		switch surface {
		case "sim":
			code, b = send(surface, "POST", "/v1/sandbox/sms-events/simulate", apiKey, func() string {
				return fmt.Sprintf(`{"paymentIntentId":%q,"amount":%d,"trxId":%q}`, id, amount, trx)
			})
			ok = func(c int, _ string) bool { return c == http.StatusAccepted }
			dup = func(int, string) bool { return false }
		case "sms":
			// The phone stamps and the balance advance together per wallet, as on a real phone.
			m.mu.Lock()
			stamp := max(time.Now().UnixMilli(), m.lastStamp+1)
			m.lastStamp, m.balancePais = stamp, m.balancePais+int64(amount)*100
			text := fmt.Sprintf("You have received Tk %d.00 from 01783110247. Fee Tk 0.00. Balance Tk %s. TrxID %s at %s",
				amount, taka(m.balancePais), trx, time.UnixMilli(stamp).In(time.FixedZone("Asia/Dhaka", 6*3600)).Format("02/01/2006 15:04"))
			m.mu.Unlock()
			tj, _ := json.Marshal(text)
			code, b = send(surface, "POST", m.smsPath, nil, func() string {
				return fmt.Sprintf(`{"from":"bKash","text":%s,"sentStamp":%d,"receivedStamp":%d,"sim":"sim1"}`, tj, stamp-1000, stamp)
			})
			ok = func(c int, b string) bool {
				return c == http.StatusAccepted && strings.Contains(b, `"pays":true`) ||
					c == http.StatusOK && strings.Contains(b, `"duplicate":true`)
			}
			dup = func(c int, _ string) bool { return c == http.StatusOK }
		case "sns":
			msg, _ := json.Marshal(map[string]any{
				"trxID": trx, "transactionStatus": "Completed", "amount": fmt.Sprintf("%d.00", amount), "currency": "BDT",
				"merchantInvoiceNumber": ref, "debitMSISDN": "8801700000001", "transactionType": "1003",
			})
			env, _ := json.Marshal(map[string]any{
				"Type": "Notification", "MessageId": "ld-" + trx, "TopicArn": "arn:aws:sns:ap-southeast-1:354285753755:bpt_" + m.acct,
				"Message": string(msg), "Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
			})
			code, b = send(surface, "POST", m.snsPath, map[string]string{"x-app-secret": m.app, "x-client-secret": m.client},
				func() string { return string(env) })
			ok = func(c int, b string) bool {
				return c == http.StatusOK && strings.Contains(b, "Notification processed.") || c == http.StatusConflict && strings.Contains(b, "Duplicate payment")
			}
			dup = func(c int, _ string) bool { return c == http.StatusConflict }
		case "txn":
			body := fmt.Sprintf(`{"transaction_id":%q,"amount":%d,"from_account":"01711111111","to_account":%q,"reference":%q}`, trx, amount, m.acct, ref)
			code, b = send(surface, "POST", "/api/external/v1/bkash/transactions/complete",
				map[string]string{"API-Key": m.txnKey, "X-Signature": loadTxnSign(m.txnSecret, body)}, func() string { return body })
			ok = func(c int, b string) bool {
				return c == http.StatusAccepted && strings.Contains(b, "transaction accepted") || c == http.StatusBadRequest && strings.Contains(b, "duplicate transaction id")
			}
			dup = func(c int, _ string) bool { return c == http.StatusBadRequest }
		}
		if !ok(code, b) {
			fail("payment %d (%s): %d %s", i, surface, code, b)
			return
		}
		r.accepted[i] = true
		if dup(code, b) {
			mu.Lock()
			r.dupAnswers++
			mu.Unlock()
		}
	}
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				pay(i)
			}
		})
	}
dispatch:
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case <-stop:
			break dispatch
		case jobs <- i:
			r.offered++
		}
	}
	close(jobs)
	wg.Wait()
	r.elapsed = time.Since(start)
	return r
}

// taka formats paisa as bKash writes a balance: 12,345.60.
func taka(paisa int64) string {
	s := strconv.FormatInt(paisa/100, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return fmt.Sprintf("%s.%02d", s, paisa%100)
}

// loadTxnSign is seed 002's X-Signature: hex HMAC-SHA256 of the body's JCS form.
func loadTxnSign(secret, body string) string {
	c, err := jcs.Transform([]byte(body))
	if err != nil {
		panic(err)
	}
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(c)
	return hex.EncodeToString(h.Sum(nil))
}

// verifyLoad checks, after drain(), that every accepted payment ended in exactly one decision and
// one webhook event, that none was lost and nothing was decided or announced twice, and that
// ClickHouse (after FINAL) holds exactly one row per fact. It returns the counts.
func (f *fleet) verifyLoad(ms []*loadMerchant, r *loadResult) (accepted, lost, dupDecisions, dupWebhooks int) {
	var heldForReview int
	t := f.t
	t.Helper()
	var mids []string
	for _, m := range ms {
		mids = append(mids, "'"+m.id+"'")
	}
	in := strings.Join(mids, ",")
	paidRows := chIntentCounts(t, f.in.dsn, "SELECT intent_id, toUInt64(count()) FROM intent_status_changes FINAL WHERE merchant_id IN ("+in+") AND status = 'PAID' GROUP BY intent_id")
	allRows := chIntentCounts(t, f.in.dsn, "SELECT intent_id, toUInt64(count()) FROM intent_status_changes FINAL WHERE merchant_id IN ("+in+") GROUP BY intent_id")
	f.rcv.mu.Lock()
	hookIDs := map[string]map[string]bool{}
	// held: intents whose forwarded SMS the balance chain could not place (review
	// balance_out_of_order). Such a payment is decided once, for an operator, not lost; the chain
	// should place every SMS of this generator (its stamps and balances advance together), so they
	// are counted, logged and bounded below (RELIABILITY.md, "Not covered yet").
	held := map[string]bool{}
	for _, h := range f.rcv.hooks {
		d, _ := h.event["data"].(map[string]any)
		id, _ := d["payment_intent_id"].(string)
		if hookIDs[id] == nil {
			hookIDs[id] = map[string]bool{}
		}
		hookIDs[id][h.header.Get("webhook-id")] = true
		switch {
		case h.event["event"] == "payment.paid":
		case h.event["event"] == "payment.review_required" && d["reason"] == "balance_out_of_order":
			held[id] = true
			t.Logf("intent %s: its SMS went to review: %s", id, h.body)
		default:
			t.Errorf("intent %s: webhook %s", id, h.body)
		}
	}
	f.rcv.mu.Unlock()
	created := 0
	for i, id := range r.intents {
		if id == "" {
			continue
		}
		created++
		if allRows[id] > 1 || len(hookIDs[id]) > 1 {
			dupDecisions += max(0, int(allRows[id])-1)
			dupWebhooks += max(0, len(hookIDs[id])-1)
			t.Errorf("intent %s (%s): %d decisions, %d webhook events; want at most 1", id, r.surface[i], allRows[id], len(hookIDs[id]))
		}
		if !r.accepted[i] {
			continue
		}
		accepted++
		if held[id] && r.surface[i] == "sms" && paidRows[id] == 0 && allRows[id] == 1 && len(hookIDs[id]) == 1 {
			heldForReview++
			continue
		}
		if paidRows[id] != 1 || len(hookIDs[id]) != 1 {
			lost++
			t.Errorf("accepted payment %d (%s) of intent %s: %d PAID rows, %d webhook events; want exactly 1 of each", i, r.surface[i], id, paidRows[id], len(hookIDs[id]))
		}
	}
	if len(hookIDs) > created {
		t.Errorf("webhooks for %d intents, only %d were created", len(hookIDs), created)
	}
	if heldForReview > 0 {
		t.Logf("%d of %d accepted payments held for review (balance_out_of_order)", heldForReview, accepted)
	}
	if heldForReview > max(1, accepted/500) {
		t.Errorf("%d of %d accepted payments held for review (balance_out_of_order): more than 1 in 500", heldForReview, accepted)
	}
	for q, want := range map[string]uint64{
		"SELECT count() FROM payments FINAL WHERE merchant_id IN (" + in + ") AND disposition = 'matched'":                    uint64(accepted - heldForReview),
		"SELECT uniqExact(outcome_id) FROM webhook_attempts FINAL WHERE merchant_id IN (" + in + ") AND result = 'delivered'": uint64(accepted),
	} {
		if n := chQuery(t, f.in.dsn, q); n != want {
			t.Errorf("%q = %d, want %d", q, n, want)
		}
	}
	if n := chQuery(t, f.in.dsn, "SELECT count() FROM inbound_events FINAL WHERE merchant_id IN ("+in+") AND kind = 'intent.created'"); n != uint64(created) {
		t.Errorf("%d intent.created events audited, want %d", n, created)
	}
	return accepted, lost, dupDecisions, dupWebhooks
}

// chIntentCounts runs a (intent_id, count) query.
func chIntentCounts(t *testing.T, dsn, q string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	conn := chConn(t, dsn)
	defer conn.Close()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("clickhouse %q: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n uint64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// envInt reads a test knob from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// summarizeStatuses renders the answer counts in a stable order.
func summarizeStatuses(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %d; ", k, m[k])
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// chConn opens a ClickHouse connection to dsn.
func chConn(t *testing.T, dsn string) driver.Conn {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}
