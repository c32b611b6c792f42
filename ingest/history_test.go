package ingest_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	bqp "github.com/paystream/paystream/pipeline/dialect/bdquickpay"
)

// fakeHistory is an ingest.IntentHistory over a map, counting its reads.
type fakeHistory struct {
	mu    sync.Mutex
	recs  map[string]*pipeline.IntentRecord // by merchant/env/id
	err   error
	reads int
}

func historyKey(merchantID string, env pipeline.Environment, id string) string {
	return merchantID + "/" + string(env) + "/" + id
}

func (h *fakeHistory) Intent(_ context.Context, merchantID string, env pipeline.Environment, id string) (*pipeline.IntentRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads++
	if h.err != nil {
		return nil, h.err
	}
	r := h.recs[historyKey(merchantID, env, id)]
	if r == nil {
		return nil, nil
	}
	c := *r
	return &c, nil
}

func (h *fakeHistory) put(r *pipeline.IntentRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs[historyKey(r.MerchantID, r.Environment, r.ID)] = r
}

func (h *fakeHistory) readCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads
}

// uuidV7At is a UUIDv7 whose embedded time is t (as a native intent id created then).
func uuidV7At(t time.Time) string {
	u := uuid.Must(uuid.NewV7())
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(u[:6], ms[2:])
	return u.String()
}

// historyRecord is a decided intent of merchant m in SANDBOX as the audit history rebuilds it.
func historyRecord(merchantID, id string, created time.Time) *pipeline.IntentRecord {
	return &pipeline.IntentRecord{
		Intent: pipeline.Intent{
			ID: id, MerchantID: merchantID, Environment: pipeline.Sandbox, Amount: pipeline.BDT(750) + 25, Currency: "BDT",
			CustomerReference: "OLD-ORDER", Provider: pipeline.BKash, ReceiverMsisdn: "01700000009",
			CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute),
		},
		Status: pipeline.StatusPaid, Version: 2, UpdatedAt: created.Add(3 * time.Minute), TrxID: "TRXOLD123", MatchType: pipeline.MatchAuto,
	}
}

// asJSONMap is v marshalled and read back as a generic JSON value.
func asJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// historySurface is one merchant API's intent read, driven the same way for every case.
type historySurface struct {
	name  string
	newID func(created time.Time) string // an id of this surface's form
	// read asks for intent id with the SANDBOX credentials of bm (live: the LIVE ones).
	read func(f *fixture, bm bdqpMerchant, id string, live bool) (int, map[string]any)
	// ok is the 200 answer of rec, as the surface renders a record from Redis.
	ok       func(f *fixture, rec *pipeline.IntentRecord) map[string]any
	notFound map[string]any // the usual 404 body
	// beyond is the 404 body of an intent beyond the 180-day horizon.
	beyond map[string]any
	// idCarriesTime: the id itself says when it was created (UUIDv7).
	idCarriesTime bool
}

type bdqpMerchant = struct {
	id, app, secret, liveApp, liveSecret, testKey, liveKey string
}

func historySurfaces() []historySurface {
	const horizonMsg = "it was created more than 180 days ago, beyond paystream's history horizon"
	return []historySurface{{
		name:  "native GET",
		newID: uuidV7At,
		read: func(f *fixture, bm bdqpMerchant, id string, live bool) (int, map[string]any) {
			key := bm.testKey
			if live {
				key = bm.liveKey
			}
			code, m, _ := f.do("GET", "/v1/payments/intents/"+id, map[string]string{"X-Api-Key": key}, "")
			return code, m
		},
		ok: func(f *fixture, rec *pipeline.IntentRecord) map[string]any {
			return nil // filled by the caller with f.S.View (the same view a Redis record gets)
		},
		notFound:      map[string]any{"statusCode": float64(404), "message": "Payment intent not found", "error": "Not Found"},
		beyond:        map[string]any{"statusCode": float64(404), "message": "Payment intent not found: " + horizonMsg, "error": "Not Found"},
		idCarriesTime: true,
	}, {
		name:  "bdQuickPay verify",
		newID: func(time.Time) string { return bqp.NewInvoiceID() },
		read: func(f *fixture, bm bdqpMerchant, id string, live bool) (int, map[string]any) {
			h := map[string]string{"X-App-Key": bm.app, "X-Secret-Key": bm.secret}
			if live {
				h = map[string]string{"X-App-Key": bm.liveApp, "X-Secret-Key": bm.liveSecret}
			}
			code, m, _ := f.do("POST", "/api/bkash/v1/payment/verify", h, `{"invoice_id":"`+id+`"}`)
			return code, m
		},
		ok: func(_ *fixture, rec *pipeline.IntentRecord) map[string]any {
			return map[string]any{"status": true, "message": "Payment retrieved successfully.", "data": bqp.NewPayment(&rec.Intent, rec.Status, rec.TrxID, rec.UpdatedAt)}
		},
		notFound: map[string]any{"status": false, "message": "Invoice not found."},
		beyond:   map[string]any{"status": false, "message": "Invoice not found: " + horizonMsg + "."},
	}}
}

// TestHistoryAnswersIntentsThatLeftRedis: native GET and bdQuickPay verify answer an intent Redis
// no longer holds from the history, exactly as they render a record from Redis; an intent absent
// from both, another merchant's or environment's, is the usual 404; one created beyond the 180-day
// horizon (by its id's time, or by the history's creation time) is a 404 that says so; a history
// failure is a 503; and without a history the behaviour is as before (404).
func TestHistoryAnswersIntentsThatLeftRedis(t *testing.T) {
	for _, sf := range historySurfaces() {
		t.Run(sf.name, func(t *testing.T) {
			f := newFixture(t, 5*time.Second)
			h := &fakeHistory{recs: map[string]*pipeline.IntentRecord{}}
			f.History = h
			f.Rebuild(nil, nil)
			m := f.OnboardBDQuickPay(t)
			bm := bdqpMerchant{id: m.ID, app: m.AppKey, secret: m.SecretKey, liveApp: m.LiveApp, liveSecret: m.LiveSecret, testKey: m.TestKey, liveKey: m.LiveKey}
			other := f.OnboardBDQuickPay(t)
			om := bdqpMerchant{id: other.ID, app: other.AppKey, secret: other.SecretKey, testKey: other.TestKey}
			want := func(rec *pipeline.IntentRecord) map[string]any {
				if w := sf.ok(f, rec); w != nil {
					return asJSONMap(t, w)
				}
				return asJSONMap(t, f.S.View(rec))
			}
			check := func(what string, gotCode int, got map[string]any, wantCode int, wantBody map[string]any) {
				t.Helper()
				if gotCode != wantCode || !reflect.DeepEqual(got, wantBody) {
					t.Errorf("%s: got %d %v\nwant %d %v", what, gotCode, got, wantCode, wantBody)
				}
			}
			now := time.Now().UTC().Truncate(time.Millisecond)

			// Found in the history only: answered from it, as from Redis.
			recent := historyRecord(m.ID, sf.newID(now.Add(-170*24*time.Hour)), now.Add(-170*24*time.Hour))
			h.put(recent)
			code, got := sf.read(f, bm, recent.ID, false)
			check("history-only intent", code, got, 200, want(recent))

			// Another environment's or another merchant's credentials: not theirs.
			code, got = sf.read(f, bm, recent.ID, true)
			check("history intent asked with LIVE credentials", code, got, 404, sf.notFound)
			code, got = sf.read(f, om, recent.ID, false)
			check("history intent asked by another merchant", code, got, 404, sf.notFound)

			// Absent from both: the usual not found.
			code, got = sf.read(f, bm, sf.newID(now), false)
			check("unknown intent", code, got, 404, sf.notFound)

			// In the history but created beyond the horizon: said plainly.
			old := historyRecord(m.ID, sf.newID(now.Add(-181*24*time.Hour)), now.Add(-181*24*time.Hour))
			h.put(old)
			before := h.readCount()
			code, got = sf.read(f, bm, old.ID, false)
			check("intent beyond the horizon", code, got, 404, sf.beyond)
			if sf.idCarriesTime && h.readCount() != before {
				t.Errorf("an id older than the horizon consulted the history (%d reads)", h.readCount()-before)
			}

			// The history failing is not a "not found".
			h.mu.Lock()
			h.err = errors.New("clickhouse down")
			h.mu.Unlock()
			code, _ = sf.read(f, bm, recent.ID, false)
			if code != 503 {
				t.Errorf("history failure: got %d, want 503", code)
			}
			h.mu.Lock()
			h.err = nil
			h.mu.Unlock()

			// Without a history (the setting off): as before, not found.
			f.History = nil
			f.Rebuild(nil, nil)
			code, got = sf.read(f, bm, recent.ID, false)
			check("history off", code, got, 404, sf.notFound)
		})
	}
}

// TestHistoryNeverConsultedForIntentsInRedis: an intent Redis holds is answered from Redis on both
// surfaces, even when the history holds something else for the same id.
func TestHistoryNeverConsultedForIntentsInRedis(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	h := &fakeHistory{recs: map[string]*pipeline.IntentRecord{}}
	f.History = h
	f.Rebuild(nil, nil)
	m := f.OnboardBDQuickPay(t)

	code, nat, _ := f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": m.TestKey}, `{"amount":500,"currency":"BDT","customerReference":"HIST-1"}`)
	if code != 201 {
		t.Fatalf("native create: %d %v", code, nat)
	}
	code, inv, _ := f.do("POST", "/api/bkash/v1/payment/create", m.Sandbox(), `{"amount":500,"customer_reference":"HIST-2","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cancel"}`)
	if code != 200 {
		t.Fatalf("bdQuickPay create: %d %v", code, inv)
	}
	natID, _ := nat["id"].(string)
	invID, _ := inv["invoice_id"].(string)
	for _, id := range []string{natID, invID} {
		decoy := historyRecord(m.ID, id, time.Now().Add(-time.Hour)) // PAID in the "history"
		h.put(decoy)
	}
	code, got, _ := f.do("GET", "/v1/payments/intents/"+natID, map[string]string{"X-Api-Key": m.TestKey}, "")
	if code != 200 || got["status"] != "PENDING" || got["customerReference"] != "HIST-1" {
		t.Errorf("native GET of a Redis intent: %d %v", code, got)
	}
	code, got, _ = f.do("POST", "/api/bkash/v1/payment/verify", m.Sandbox(), `{"invoice_id":"`+invID+`"}`)
	data, _ := got["data"].(map[string]any)
	if code != 200 || data["status"] != "pending" || data["customer_reference"] != "HIST-2" {
		t.Errorf("bdQuickPay verify of a Redis intent: %d %v", code, got)
	}
	if n := h.readCount(); n != 0 {
		t.Errorf("the history was read %d times for intents Redis holds", n)
	}
}

var _ ingest.IntentHistory = (*fakeHistory)(nil)
