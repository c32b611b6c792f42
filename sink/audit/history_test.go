package audit

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// historyIntent is an intent of provider p as a surface creates it: milliseconds in its creation
// time, expiry a whole number of seconds later.
func historyIntent(id string, p pipeline.Provider, env pipeline.Environment, created time.Time) pipeline.Intent {
	return pipeline.Intent{
		ID: id, MerchantID: "mch_hist", Environment: env, Amount: pipeline.BDT(1250) + 50, Currency: "BDT",
		CustomerReference: "order-" + id, Provider: p, ReceiverMsisdn: "01711111111",
		// What History cannot rebuild: left empty below.
		SuccessURL: "https://shop.example/ok", Metadata: []byte(`{"cart":1}`), Dialect: "native",
		CreatedAt: created, ExpiresAt: created.Add(900 * time.Second),
	}
}

// statusChange is the outcome the matcher produces for in's change to version v in status to.
func statusChange(in pipeline.Intent, v int, from, to pipeline.Status, trx string, mt pipeline.MatchType, reason string, at time.Time) *pipeline.Outcome {
	o := &pipeline.Outcome{
		ID: pipeline.IntentOutcomeID(in.ID, v, to), Type: pipeline.OutcomeIntentStatus, EventID: "evt_" + in.ID,
		MerchantID: in.MerchantID, Environment: in.Environment, Wallet: in.Wallet(), Intent: &in,
		Status: to, PreviousStatus: from, Version: v, MatchType: mt, Reason: reason, AcceptedAt: at, DecidedAt: at,
	}
	if trx != "" {
		o.Payment = &pipeline.Payment{Provider: in.Provider, TrxID: trx, Amount: in.Amount + 100, OccurredAt: at}
	}
	return o
}

// writeOutcomes writes os through the sink's converter and row writer, twice over (a replay:
// History must read through unmerged copies). The rows of the intents in legacy lose their
// intent_json, as rows written before schema version 4.
func writeOutcomes(t *testing.T, conn driver.Conn, os []*pipeline.Outcome, legacy map[string]bool) {
	t.Helper()
	for copyN := range 2 {
		buf := newBuffer()
		conv := newConverter(pipeline.Topics{})
		for _, o := range os {
			b, err := pipeline.EncodeOutcome(o)
			if err != nil {
				t.Fatal(err)
			}
			if err := conv.add(buf, &bus.Record{Topic: pipeline.Topics{}.Outcomes(), Value: b}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range buf.changes.rows {
			if legacy[buf.changes.rows[i].IntentID] {
				buf.changes.rows[i].IntentJSON = ""
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for _, tb := range buf.all {
			if tb.pending() == 0 {
				continue
			}
			if err := tb.insert(ctx, conn, uint64(1000+copyN)); err != nil {
				cancel()
				t.Fatal(err)
			}
		}
		cancel()
	}
}

// TestHistoryIntentReadsTheLatestChange writes status changes of intents of every provider and
// both environments through the sink's row writer into a real ClickHouse and reads each back as
// the IntentRecord the store held after its last change: whole (URLs, metadata, dialect) from
// intent_json, and from the other columns for rows written before schema version 4.
func TestHistoryIntentReadsTheLatestChange(t *testing.T) {
	t.Parallel()
	dsn, conn := testDB(t)
	h, err := NewHistory(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })

	created := time.Date(2026, 6, 1, 9, 30, 15, 123_000_000, time.UTC)
	type intentCase struct {
		in     pipeline.Intent
		want   pipeline.IntentRecord // Intent filled below
		legacy bool                  // rows without intent_json (before schema version 4)
	}
	var (
		cases  []intentCase
		outs   []*pipeline.Outcome
		legacy = map[string]bool{}
	)
	for _, p := range []pipeline.Provider{pipeline.BKash, pipeline.Nagad, pipeline.Rocket, pipeline.Upay} {
		for _, env := range []pipeline.Environment{pipeline.Live, pipeline.Sandbox} {
			// Paid after review: three versions, the last one decides.
			paid := historyIntent("int_paid_"+string(p)+"_"+string(env), p, env, created)
			review, decided := created.Add(2*time.Minute+7*time.Millisecond), created.Add(time.Hour+450*time.Millisecond)
			outs = append(outs,
				statusChange(paid, 3, pipeline.StatusReviewRequired, pipeline.StatusPaid, "TRX9AB", pipeline.MatchManual, "", decided),
				statusChange(paid, 1, "", pipeline.StatusPending, "", "", "", created.Add(5*time.Millisecond)),
				statusChange(paid, 2, pipeline.StatusPending, pipeline.StatusReviewRequired, "TRX9AB", "", "amount_mismatch", review),
			)
			cases = append(cases, intentCase{in: paid, want: pipeline.IntentRecord{
				Status: pipeline.StatusPaid, Version: 3, UpdatedAt: decided, TrxID: "TRX9AB", MatchType: pipeline.MatchManual,
			}})
			// Only created: UpdatedAt is the creation time, as the store sets it.
			open := historyIntent("int_open_"+string(p)+"_"+string(env), p, env, created)
			outs = append(outs, statusChange(open, 1, "", pipeline.StatusPending, "", "", "", created.Add(9*time.Millisecond)))
			cases = append(cases, intentCase{in: open, want: pipeline.IntentRecord{Status: pipeline.StatusPending, Version: 1, UpdatedAt: created}})
		}
	}
	// The same intents once more with rows as written before schema version 4.
	for _, c := range slices.Clone(cases) {
		in := c.in
		in.ID += "_legacy"
		for _, o := range outs {
			if o.Intent.ID == c.in.ID {
				lo := *o
				lo.ID, lo.Intent = o.ID+"_legacy", &in
				outs = append(outs, &lo)
			}
		}
		legacy[in.ID] = true
		cases = append(cases, intentCase{in: in, want: c.want, legacy: true})
	}
	writeOutcomes(t, conn, outs, legacy)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	for _, c := range cases {
		got, err := h.Intent(ctx, c.in.MerchantID, c.in.Environment, c.in.ID)
		if err != nil {
			t.Fatalf("%s: %v", c.in.ID, err)
		}
		want := c.want
		want.Intent = c.in
		if c.legacy { // not in the other columns: left empty, never invented
			want.SuccessURL, want.Metadata, want.Dialect = "", nil, ""
		}
		if got == nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.in.ID, got, &want)
		}
	}
	// Another merchant's, another environment's, or an unknown intent is not there.
	in := cases[0].in
	for _, q := range []struct {
		merchant string
		env      pipeline.Environment
		id       string
	}{
		{"mch_other", in.Environment, in.ID},
		{in.MerchantID, otherEnv(in.Environment), in.ID},
		{in.MerchantID, in.Environment, "int_unknown"},
	} {
		got, err := h.Intent(ctx, q.merchant, q.env, q.id)
		if err != nil || got != nil {
			t.Errorf("Intent(%s, %s, %s) = %+v, %v; want nil, nil", q.merchant, q.env, q.id, got, err)
		}
	}
}

func otherEnv(e pipeline.Environment) pipeline.Environment {
	if e == pipeline.Live {
		return pipeline.Sandbox
	}
	return pipeline.Live
}

// TestNewHistoryRefusesABadDSN: the HTTP protocol and malformed DSNs are configuration errors.
func TestNewHistoryRefusesABadDSN(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{"http://127.0.0.1:8123/paystream", "clickhouse://127.0.0.1:9000/bad-name", "::"} {
		if _, err := NewHistory(dsn); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewHistory(%q) = %v, want ErrBadConfig", dsn, err)
		}
	}
}
