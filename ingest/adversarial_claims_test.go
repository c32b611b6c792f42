package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"sync"
	"testing"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
)

// dyingPub stops the request's goroutine dead inside Send, as a process killed (SIGKILL, OOM, node
// loss) while it waits for Kafka's acknowledgement: no code of the handler after Send runs, no
// deferred release, no answer. With afterAck the record reaches Kafka first (the process died
// between the ack and its bookkeeping).
type dyingPub struct {
	next     ingest.Publisher
	afterAck bool
}

func (p dyingPub) Send(ctx context.Context, topic string, key, value []byte) error {
	if p.afterAck {
		if err := p.next.Send(ctx, topic, key, value); err != nil {
			return err
		}
	}
	runtime.Goexit()
	return nil
}

// claimSurface is a surface that claims a TrxID in Redis before producing: how to report a TrxID
// through it, and how it answers "accepted" and "duplicate".
type claimSurface struct {
	name   string
	report func(trx string) (int, string)
	ok     func(code int, body string) bool
	dup    func(code int, body string) bool
}

func claimSurfaces(t *testing.T, f *snsFixture) []claimSurface {
	key, secret := f.txnIntegration(t, f.sns.MerchantID, pipeline.Sandbox, true)
	return []claimSurface{
		{
			name: "bKash transaction API",
			report: func(trx string) (int, string) {
				body := fmt.Sprintf(`{"transaction_id":%q,"amount":100,"from_account":"01711111111","to_account":%q}`, trx, f.sns.Wallet.Account)
				code, b := f.txn(txnCompletePath, key, txnSign(secret, body), body)
				return code, string(b)
			},
			ok:  func(code int, b string) bool { return code == http.StatusAccepted && jsonEqual(b, seedAccepted) },
			dup: func(code int, b string) bool { return code == http.StatusBadRequest && jsonEqual(b, seedDuplicate) },
		},
		{
			name: "SNS notification",
			report: func(trx string) (int, string) {
				_, _, resp := f.post(f.sns.Notification(t, ingesttest.SNSMessage(trx, nil), true, ""))
				return resp.StatusCode(), string(resp.Body())
			},
			ok: func(code int, b string) bool {
				return code == http.StatusOK && jsonEqual(b, `{"status":200,"message":"Notification processed."}`)
			},
			dup: func(code int, b string) bool {
				return code == http.StatusConflict && jsonEqual(b, `{"code":409,"message":"Duplicate payment"}`)
			},
		},
	}
}

// TestAdversarialCrashBetweenClaimAndAckLosesNoPayment (issue 13, finding 0): an ingest process
// that dies after claiming a TrxID and before Kafka acknowledged its event leaves the claim behind.
// The client's retry (on another replica) must be produced and answered as accepted, never
// "duplicate" (which the seeds tell clients to treat as done) for a payment that was never
// produced; and it must be the same event, so consumers keep one. Only after an acknowledged
// report is the TrxID a duplicate. For each surface that claims before producing, and for a death
// before the produce and after the ack.
func TestAdversarialCrashBetweenClaimAndAckLosesNoPayment(t *testing.T) {
	f := newSNSFixture(t)
	real := f.Pub.Next()
	for _, sf := range claimSurfaces(t, f) {
		for _, afterAck := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, died after ack %t", sf.name, afterAck), func(t *testing.T) {
				trx := newTrx()
				f.Pub.Swap(dyingPub{next: real, afterAck: afterAck})
				done := make(chan struct{})
				go func() {
					defer close(done)
					sf.report(trx)
				}()
				<-done
				f.Pub.Swap(real)
				// The dead request did take its claim (else this test shows nothing).
				if n, err := f.RDB.Exists(context.Background(), f.keys.ReportedTrx(f.sns.Wallet, trx)).Result(); err != nil || n != 1 {
					t.Fatalf("the dead request left no claim on %s (%d, %v)", trx, n, err)
				}
				code, body := sf.report(trx)
				if !sf.ok(code, body) {
					t.Fatalf("retry after the crash: %d %s, want it accepted (the payment was never acknowledged to the client)", code, body)
				}
				code, body = sf.report(trx)
				if !sf.dup(code, body) {
					t.Fatalf("report after the acknowledged retry: %d %s, want duplicate", code, body)
				}
				records, ids := f.reported(t, trx)
				want := 1
				if afterAck {
					want = 2 // the dead process's record and the retry's: the same event
				}
				if records != want || len(ids) != 1 {
					t.Fatalf("%s: %d records with %d distinct event ids in Kafka, want %d records of one event", trx, records, len(ids), want)
				}
			})
		}
	}
}

// TestAdversarialConcurrentReportsOfOneTrxAreOneEvent: while a first report waits for Kafka, a
// second report of the same TrxID (the client's impatient retry, on another replica) is produced
// too and both are answered accepted; they are the same event, so consumers keep one.
func TestAdversarialConcurrentReportsOfOneTrxAreOneEvent(t *testing.T) {
	f := newSNSFixture(t)
	real := f.Pub.Next()
	for _, sf := range claimSurfaces(t, f) {
		t.Run(sf.name, func(t *testing.T) {
			trx := newTrx()
			gate := &gatedPub{next: real, entered: make(chan struct{}), release: make(chan struct{})}
			f.Pub.Swap(gate)
			var wg sync.WaitGroup
			var firstCode int
			var firstBody string
			wg.Go(func() { firstCode, firstBody = sf.report(trx) })
			<-gate.entered // the first report holds its claim and waits for Kafka
			code, body := sf.report(trx)
			close(gate.release)
			wg.Wait()
			f.Pub.Swap(real)
			if !sf.ok(code, body) || !sf.ok(firstCode, firstBody) {
				t.Fatalf("concurrent reports: first %d %s, second %d %s; want both accepted", firstCode, firstBody, code, body)
			}
			if code, body := sf.report(trx); !sf.dup(code, body) {
				t.Fatalf("report after both were acknowledged: %d %s, want duplicate", code, body)
			}
			if records, ids := f.reported(t, trx); records != 2 || len(ids) != 1 {
				t.Fatalf("%d records with %d distinct event ids, want 2 records of one event", records, len(ids))
			}
		})
	}
}

// gatedPub blocks the first Send until release is closed.
type gatedPub struct {
	next    ingest.Publisher
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (p *gatedPub) Send(ctx context.Context, topic string, key, value []byte) error {
	first := false
	p.once.Do(func() { first = true })
	if first {
		close(p.entered)
		<-p.release
	}
	return p.next.Send(ctx, topic, key, value)
}

// reported reads the inbound topic up to a sentinel report on the same wallet (same partition) and
// returns how many records reported trx and their distinct event ids.
func (f *snsFixture) reported(t *testing.T, trx string) (records int, ids map[string]bool) {
	t.Helper()
	sentinel := newTrx()
	if code, m, _ := f.post(f.sns.Notification(t, ingesttest.SNSMessage(sentinel, nil), true, "")); code != http.StatusOK {
		t.Fatalf("sentinel: %d %v", code, m)
	}
	ids = map[string]bool{}
	for ev := range f.Events(t, func(ev *pipeline.Event) bool { return ev.Payment != nil && ev.Payment.TrxID == sentinel }) {
		if ev.Payment != nil && ev.Payment.TrxID == trx {
			records++
			ids[ev.ID] = true
		}
	}
	return records, ids
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
