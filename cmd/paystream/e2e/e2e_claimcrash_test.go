package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/testenv"
)

// TestAdversarialE2EIngestKilledBetweenClaimAndAck (issue 13, finding 0) really kills an ingest
// process while it holds a TrxID claim and waits for Kafka: the broker process is stopped so the
// produce cannot be acknowledged, the payment is sent to ingest A, the test waits until A's claim
// is in Redis and the record waits in A's producer (the sentinels that A is between claim and
// ack), SIGKILLs A and starts the broker again. The client's retry on ingest B must be accepted (not "duplicate":
// nothing was produced), the intent must become PAID with exactly one decision and one webhook
// event, and only then is a further report "duplicate". For the transaction API and SNS.
func TestAdversarialE2EIngestKilledBetweenClaimAndAck(t *testing.T) {
	f := newFleet(t, "PAYSTREAM_PRODUCE_TIMEOUT=30s") // A must still be waiting when it is killed
	a := f.add("ingest")
	b := f.add("ingest")
	f.add("matcher")
	f.add("webhooks")
	m := f.onboardLoad(1)[0]
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	keys := pipeline.Keys{Prefix: f.env("PAYSTREAM_REDIS_PREFIX")}
	w := pipeline.Wallet{Provider: pipeline.BKash, Account: m.acct, Environment: pipeline.Sandbox}

	type surface struct {
		name    string
		report  func(base, ref, trx string, amount int) (int, string, error)
		ok, dup func(int, string) bool
	}
	client := &http.Client{Timeout: 60 * time.Second}
	post := func(url string, h map[string]string, body string) (int, string, error) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body)) //nolint:noctx // bounded by the client's timeout
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	surfaces := []surface{
		{
			name: "transaction API",
			report: func(base, ref, trx string, amount int) (int, string, error) {
				body := fmt.Sprintf(`{"transaction_id":%q,"amount":%d,"from_account":"01711111111","to_account":%q,"reference":%q}`, trx, amount, m.acct, ref)
				return post(base+"/api/external/v1/bkash/transactions/complete", map[string]string{"API-Key": m.txnKey, "X-Signature": loadTxnSign(m.txnSecret, body)}, body)
			},
			ok: func(c int, b string) bool {
				return c == http.StatusAccepted && strings.Contains(b, "transaction accepted")
			},
			dup: func(c int, b string) bool {
				return c == http.StatusBadRequest && strings.Contains(b, "duplicate transaction id")
			},
		},
		{
			name: "SNS",
			report: func(base, ref, trx string, amount int) (int, string, error) {
				msg := fmt.Sprintf(`{"trxID":%q,"transactionStatus":"Completed","amount":"%d.00","currency":"BDT","merchantInvoiceNumber":%q}`, trx, amount, ref)
				env := fmt.Sprintf(`{"Type":"Notification","MessageId":"kill-%s","TopicArn":"arn:aws:sns:ap-southeast-1:354285753755:bpt_%s","Message":%q,"Timestamp":%q}`,
					trx, m.acct, msg, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
				return post(base+m.snsPath, map[string]string{"x-app-secret": m.app, "x-client-secret": m.client}, env)
			},
			ok: func(c int, b string) bool {
				return c == http.StatusOK && strings.Contains(b, "Notification processed.")
			},
			dup: func(c int, b string) bool {
				return c == http.StatusConflict && strings.Contains(b, "Duplicate payment")
			},
		},
	}
	for i, s := range surfaces {
		amount, ref, trx := 300+i, fmt.Sprintf("KILL-%d-%s", i, randHex(3)), "K"+strings.ToUpper(randHex(4))+fmt.Sprint(i)
		id := createIntent(t, f.in, m.testKey, fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":%q}`, amount, ref))["id"].(string)

		// The broker goes down, so A's produce cannot reach it: the record stays inside A. (A
		// broker stopped with SIGSTOP would not do: the produce request would wait in the broker's
		// socket buffer and be appended on SIGCONT, even after A's death, so nothing could be lost.)
		f.kafka.stop()
		answered := make(chan string, 1)
		go func() {
			code, body, err := s.report(f.bases[a], ref, trx, amount)
			answered <- fmt.Sprintf("%d %s %v", code, body, err)
		}()
		claim := keys.ReportedTrx(w, trx)
		waitFor(t, 20*time.Second, "ingest A's claim on "+trx, func() bool { return rdb.Exists(context.Background(), claim).Val() == 1 })
		waitFor(t, 20*time.Second, "the payment's record waiting in ingest A's producer", func() bool {
			v, err := metricValue(f.metrics[a], "paystream_kafka_producer_buffered_records")
			return err == nil && v == 1
		})
		a.kill9()
		f.kafka.start(t)
		waitFor(t, 20*time.Second, "the broker back", func() bool {
			c, err := net.Dial("tcp", f.broker)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		if got := <-answered; !strings.HasPrefix(got, "0 ") {
			t.Fatalf("%s: the killed ingest answered %s; it must have died before answering", s.name, got)
		}
		// The client retries on the other replica (through 503s while the broker recovers).
		var code int
		var body string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			c, bd, err := s.report(f.bases[b], ref, trx, amount)
			if err == nil && c != http.StatusServiceUnavailable {
				code, body = c, bd
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no answer from ingest B within 30 s: %d %s %v", s.name, c, bd, err)
			}
		}
		if !s.ok(code, body) {
			t.Fatalf("%s: the retry after ingest A died was answered %d %s; want it accepted (nothing was produced)", s.name, code, body)
		}
		onB := *f.in
		onB.base = f.bases[b]
		waitStatus(t, &onB, m.testKey, id, "PAID", 60*time.Second)
		if code, body, err := s.report(f.bases[b], ref, trx, amount); err != nil || !s.dup(code, body) {
			t.Fatalf("%s: the third report was answered %d %s %v; want duplicate", s.name, code, body, err)
		}
		f.restart(a)
		f.drain(60 * time.Second)
		hooks := f.rcv.waitHooks(t, 1, 0, forIntent(id))
		ids := map[string]bool{}
		for _, h := range hooks {
			ids[h.header.Get("webhook-id")] = true
			if h.event["event"] != "payment.paid" {
				t.Errorf("%s: webhook %s", s.name, h.body)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("%s: %d webhook events for the intent, want exactly 1", s.name, len(ids))
		}
		t.Logf("%s: ingest killed between claim and ack; retry on the other ingest answered %d, intent PAID, one webhook event (%d deliveries), third report duplicate",
			s.name, code, len(hooks))
	}
}

// env returns the value of name in the fleet's common environment.
func (f *fleet) env(name string) string {
	for _, kv := range f.common {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}
