package audit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
)

// Table names. They are part of the analysts' contract (SCHEMA.md): never rename one.
const (
	tableInbound  = "inbound_events"
	tableChanges  = "intent_status_changes"
	tablePayments = "payments"
	tableRefunds  = "refunds"
	tableGaps     = "balance_gaps"
	tableAttempts = "webhook_attempts"
	tableRejects  = "audit_rejects"
)

// tableNames lists the tables the sink writes, in insert order.
var tableNames = []string{tableInbound, tableChanges, tablePayments, tableRefunds, tableGaps, tableAttempts, tableRejects}

// maxErrorBytes bounds the free-text columns (webhook errors, reject reasons, refund reasons).
const maxErrorBytes = 2048

// Column lists of the inserts, in the order of each row's values method. Every insert names its
// columns: ClickHouse 18.16 answers a column-less INSERT with an empty header (PLATFORM.md).
var (
	inboundColumns = []string{
		"event_id", "kind", "source", "environment", "merchant_id", "provider", "wallet", "wallet_account",
		"intent_id", "trx_id", "amount", "reference", "sender", "occurred_at", "occurred_at_ms",
		"expires_at", "accepted_at", "accepted_at_ms", "raw", "request_id",
		"kafka_partition", "kafka_offset", "ingested_at_ms",
	}
	changeColumns = []string{
		"outcome_id", "event_id", "intent_id", "merchant_id", "environment", "provider", "wallet",
		"status", "previous_status", "version", "rule", "match_type", "reason",
		"trx_id", "amount", "payment_amount", "sender", "customer_reference",
		"intent_created_at", "intent_created_at_ms", "intent_expires_at",
		"accepted_at", "accepted_at_ms", "decided_at", "decided_at_ms",
		"intent_json", "decision_latency_ms", "intent_age_ms", "ingested_at_ms",
	}
	paymentColumns = []string{
		"outcome_id", "event_id", "provider", "wallet", "merchant_id", "environment",
		"trx_id", "amount", "sender", "reference", "disposition", "intent_id", "rule", "reason",
		"occurred_at", "occurred_at_ms", "accepted_at", "accepted_at_ms", "decided_at", "decided_at_ms",
		"decision_latency_ms", "ingested_at_ms",
	}
	refundColumns = []string{
		"outcome_id", "event_id", "intent_id", "merchant_id", "environment", "provider", "wallet",
		"payment_id", "trx_id", "refund_trx_id", "amount", "refunded_total", "intent_amount",
		"reason", "operator", "customer_reference",
		"accepted_at", "accepted_at_ms", "decided_at", "decided_at_ms", "decision_latency_ms", "ingested_at_ms",
	}
	gapColumns = []string{
		"outcome_id", "event_id", "merchant_id", "environment", "provider", "wallet",
		"direction", "amount", "fee", "trx_id", "sms_at", "sms_at_ms",
		"previous_event_id", "previous_at", "previous_at_ms", "previous_balance",
		"expected_balance", "actual_balance", "difference", "review",
		"accepted_at", "accepted_at_ms", "decided_at", "decided_at_ms", "ingested_at_ms",
	}
	attemptColumns = []string{
		"attempt_id", "outcome_id", "merchant_id", "environment", "intent_id", "event_type",
		"attempt", "result", "http_status", "error", "duration_ms", "url_host",
		"accepted_at", "accepted_at_ms", "attempted_at", "attempted_at_ms", "end_to_end_ms",
		"ingested_at_ms",
	}
	rejectColumns = []string{
		"kafka_topic", "kafka_partition", "kafka_offset", "kafka_key", "kafka_timestamp", "kafka_timestamp_ms",
		"error", "raw", "ingested_at_ms",
	}
)

// inboundRow is one inbound_events row: one canonical inbound event.
type inboundRow struct {
	EventID, Kind, Source, Environment, MerchantID, Provider, Wallet, WalletAccount string
	IntentID, TrxID                                                                 string
	Amount                                                                          pipeline.Money
	Reference, Sender                                                               string
	OccurredAt, ExpiresAt, AcceptedAt                                               time.Time
	Raw, RequestID                                                                  string
	Partition                                                                       int32
	Offset                                                                          int64
}

func (r *inboundRow) values(ingestedMs uint64) []any {
	return []any{
		r.EventID, r.Kind, r.Source, r.Environment, r.MerchantID, r.Provider, r.Wallet, r.WalletAccount,
		r.IntentID, r.TrxID, r.Amount.String(), r.Reference, r.Sender, dateTime(r.OccurredAt), unixMs(r.OccurredAt),
		dateTime(r.ExpiresAt), dateTime(r.AcceptedAt), unixMs(r.AcceptedAt), r.Raw, r.RequestID,
		r.Partition, r.Offset, ingestedMs,
	}
}

// changeRow is one intent_status_changes row: one pipeline.OutcomeIntentStatus outcome.
type changeRow struct {
	OutcomeID, EventID, IntentID, MerchantID, Environment, Provider, Wallet string
	Status, PreviousStatus                                                  string
	Version                                                                 uint32
	Rule, MatchType, Reason, TrxID                                          string
	Amount, PaymentAmount                                                   pipeline.Money
	Sender, CustomerReference                                               string
	IntentCreatedAt, IntentExpiresAt, AcceptedAt, DecidedAt                 time.Time
	IntentJSON                                                              string // the outcome's pipeline.Intent as JSON
}

func (r *changeRow) values(ingestedMs uint64) []any {
	return []any{
		r.OutcomeID, r.EventID, r.IntentID, r.MerchantID, r.Environment, r.Provider, r.Wallet,
		r.Status, r.PreviousStatus, r.Version, r.Rule, r.MatchType, r.Reason,
		r.TrxID, r.Amount.String(), r.PaymentAmount.String(), r.Sender, r.CustomerReference,
		dateTime(r.IntentCreatedAt), unixMs(r.IntentCreatedAt), dateTime(r.IntentExpiresAt),
		dateTime(r.AcceptedAt), unixMs(r.AcceptedAt), dateTime(r.DecidedAt), unixMs(r.DecidedAt),
		r.IntentJSON, msBetween(r.AcceptedAt, r.DecidedAt), msBetween(r.IntentCreatedAt, r.DecidedAt), ingestedMs,
	}
}

// paymentRow is one payments row: one pipeline.OutcomePayment outcome.
type paymentRow struct {
	OutcomeID, EventID, Provider, Wallet, MerchantID, Environment, TrxID string
	Amount                                                               pipeline.Money
	Sender, Reference, Disposition, IntentID, Rule, Reason               string
	OccurredAt, AcceptedAt, DecidedAt                                    time.Time
}

func (r *paymentRow) values(ingestedMs uint64) []any {
	return []any{
		r.OutcomeID, r.EventID, r.Provider, r.Wallet, r.MerchantID, r.Environment,
		r.TrxID, r.Amount.String(), r.Sender, r.Reference, r.Disposition, r.IntentID, r.Rule, r.Reason,
		dateTime(r.OccurredAt), unixMs(r.OccurredAt), dateTime(r.AcceptedAt), unixMs(r.AcceptedAt),
		dateTime(r.DecidedAt), unixMs(r.DecidedAt), msBetween(r.AcceptedAt, r.DecidedAt), ingestedMs,
	}
}

// refundRow is one refunds row: one pipeline.OutcomeRefund outcome (a refund bKash confirmed).
type refundRow struct {
	OutcomeID, EventID, IntentID, MerchantID, Environment, Provider, Wallet string
	PaymentID, TrxID, RefundTrxID                                           string
	Amount, RefundedTotal, IntentAmount                                     pipeline.Money
	Reason, Operator, CustomerReference                                     string
	AcceptedAt, DecidedAt                                                   time.Time
}

func (r *refundRow) values(ingestedMs uint64) []any {
	return []any{
		r.OutcomeID, r.EventID, r.IntentID, r.MerchantID, r.Environment, r.Provider, r.Wallet,
		r.PaymentID, r.TrxID, r.RefundTrxID, r.Amount.String(), r.RefundedTotal.String(), r.IntentAmount.String(),
		r.Reason, r.Operator, r.CustomerReference,
		dateTime(r.AcceptedAt), unixMs(r.AcceptedAt), dateTime(r.DecidedAt), unixMs(r.DecidedAt),
		msBetween(r.AcceptedAt, r.DecidedAt), ingestedMs,
	}
}

// gapRow is one balance_gaps row: one balance gap outcome of the matcher (pipeline.OutcomeBalanceGap).
// Balances and differences are signed paisa, stored as Decimal(18, 2) BDT like every amount.
type gapRow struct {
	OutcomeID, EventID, MerchantID, Environment, Provider, Wallet string
	Direction                                                     string
	Amount, Fee                                                   pipeline.Money
	TrxID                                                         string
	SMSAt                                                         time.Time
	PreviousEventID                                               string
	PreviousAt                                                    time.Time
	PreviousBalance, Expected, Actual, Difference                 pipeline.Money
	Review                                                        bool
	AcceptedAt, DecidedAt                                         time.Time
}

func (r *gapRow) values(ingestedMs uint64) []any {
	var review uint8
	if r.Review {
		review = 1
	}
	return []any{
		r.OutcomeID, r.EventID, r.MerchantID, r.Environment, r.Provider, r.Wallet,
		r.Direction, r.Amount.String(), r.Fee.String(), r.TrxID, dateTime(r.SMSAt), unixMs(r.SMSAt),
		r.PreviousEventID, dateTime(r.PreviousAt), unixMs(r.PreviousAt), r.PreviousBalance.String(),
		r.Expected.String(), r.Actual.String(), r.Difference.String(), review,
		dateTime(r.AcceptedAt), unixMs(r.AcceptedAt), dateTime(r.DecidedAt), unixMs(r.DecidedAt), ingestedMs,
	}
}

// attemptRow is one webhook_attempts row: one pipeline.WebhookAttempt.
type attemptRow struct {
	AttemptID, OutcomeID, MerchantID, Environment, IntentID, EventType string
	Attempt                                                            uint32
	Result                                                             string
	HTTPStatus                                                         uint16
	Error                                                              string
	Duration                                                           time.Duration
	URLHost                                                            string
	AcceptedAt, AttemptedAt                                            time.Time
}

func (r *attemptRow) values(ingestedMs uint64) []any {
	return []any{
		r.AttemptID, r.OutcomeID, r.MerchantID, r.Environment, r.IntentID, r.EventType,
		r.Attempt, r.Result, r.HTTPStatus, r.Error, uint64(max(r.Duration.Milliseconds(), 0)), r.URLHost,
		dateTime(r.AcceptedAt), unixMs(r.AcceptedAt), dateTime(r.AttemptedAt), unixMs(r.AttemptedAt),
		msBetween(r.AcceptedAt, r.AttemptedAt), ingestedMs,
	}
}

// rejectRow is one audit_rejects row: a record that could not be decoded, kept verbatim.
type rejectRow struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Timestamp time.Time
	Error     string
	Raw       string
}

func (r *rejectRow) values(ingestedMs uint64) []any {
	return []any{
		r.Topic, r.Partition, r.Offset, r.Key, dateTime(r.Timestamp), unixMs(r.Timestamp),
		r.Error, r.Raw, ingestedMs,
	}
}

// converter turns Kafka records into rows. It is pure (no I/O, no clock) and not safe for
// concurrent use only because the buffer it fills is not.
type converter struct {
	inbound, outcomes, attempts string // topic names
}

func newConverter(t pipeline.Topics) converter {
	return converter{inbound: t.Inbound(), outcomes: t.Outcomes(), attempts: t.WebhookAttempts()}
}

// add converts rec into exactly one row of buf: its table's row, or an audit_rejects row when it
// cannot be decoded. It returns the reason of a reject (nil when the record was accepted).
func (c converter) add(buf *buffer, rec *bus.Record) error {
	var err error
	switch rec.Topic {
	case c.inbound:
		var row inboundRow
		if row, err = eventRow(rec); err == nil {
			buf.inbound.rows = append(buf.inbound.rows, row)
		}
	case c.outcomes:
		err = addOutcome(buf, rec)
	case c.attempts:
		var row attemptRow
		if row, err = attemptRowOf(rec); err == nil {
			buf.attempts.rows = append(buf.attempts.rows, row)
		}
	default:
		err = fmt.Errorf("%w: %s", ErrUnknownTopic, rec.Topic)
	}
	if err != nil {
		buf.rejects.rows = append(buf.rejects.rows, rejectRow{
			Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: string(rec.Key),
			Timestamp: rec.Timestamp, Error: truncate(err.Error(), maxErrorBytes), Raw: string(rec.Value),
		})
	}
	return err
}

func eventRow(rec *bus.Record) (inboundRow, error) {
	e, err := pipeline.DecodeEvent(rec.Value)
	if err != nil {
		return inboundRow{}, err
	}
	r := inboundRow{
		EventID:       e.ID,
		Kind:          string(e.Kind),
		Source:        string(e.Source),
		Environment:   string(orEnv(e.Environment, e.Wallet.Environment)),
		MerchantID:    e.MerchantID,
		Provider:      string(e.Wallet.Provider),
		Wallet:        e.Wallet.Key(),
		WalletAccount: e.Wallet.Account,
		AcceptedAt:    e.AcceptedAt,
		Raw:           string(e.Raw),
		RequestID:     e.RequestID,
		Partition:     rec.Partition,
		Offset:        rec.Offset,
	}
	if len(e.Raw) == 0 {
		r.Raw = string(rec.Value)
	}
	if in := e.Intent; in != nil {
		r.IntentID, r.Amount, r.Reference = in.ID, in.Amount, in.CustomerReference
		r.OccurredAt, r.ExpiresAt = in.CreatedAt, in.ExpiresAt
		if r.MerchantID == "" {
			r.MerchantID = in.MerchantID
		}
	}
	if p := e.Payment; p != nil {
		r.TrxID, r.Amount, r.Reference, r.Sender, r.OccurredAt = p.TrxID, p.Amount, p.Reference, p.Sender, p.OccurredAt
	}
	return r, nil
}

func addOutcome(buf *buffer, rec *bus.Record) error {
	o, err := pipeline.DecodeOutcome(rec.Value)
	if err != nil {
		return err
	}
	switch o.Type {
	case pipeline.OutcomeIntentStatus:
		buf.changes.rows = append(buf.changes.rows, changeRowOf(o))
	case pipeline.OutcomePayment:
		buf.payments.rows = append(buf.payments.rows, paymentRowOf(o))
	case pipeline.OutcomeRefund:
		buf.refunds.rows = append(buf.refunds.rows, refundRowOf(o))
	case pipeline.OutcomeBalanceGap:
		row, err := gapRowOf(o, rec.Value)
		if err != nil {
			return err
		}
		buf.gaps.rows = append(buf.gaps.rows, row)
	default:
		return fmt.Errorf("%w: %q", ErrUnknownOutcome, o.Type)
	}
	return nil
}

// changeRowOf maps an intent status change; DecodeOutcome guarantees o.Intent != nil.
func changeRowOf(o *pipeline.Outcome) changeRow {
	in, w := o.Intent, intentWallet(o)
	r := changeRow{
		OutcomeID:         o.ID,
		EventID:           o.EventID,
		IntentID:          in.ID,
		MerchantID:        o.MerchantID,
		Environment:       string(orEnv(o.Environment, in.Environment)),
		Provider:          string(w.Provider),
		Wallet:            walletKey(w),
		Status:            string(o.Status),
		PreviousStatus:    string(o.PreviousStatus),
		Version:           uint32(min(max(o.Version, 0), 1<<31)),
		Rule:              string(o.Rule),
		MatchType:         string(o.MatchType),
		Reason:            o.Reason,
		Amount:            in.Amount,
		CustomerReference: in.CustomerReference,
		IntentCreatedAt:   in.CreatedAt,
		IntentExpiresAt:   in.ExpiresAt,
		AcceptedAt:        o.AcceptedAt,
		DecidedAt:         o.DecidedAt,
	}
	if p := o.Payment; p != nil {
		r.TrxID, r.PaymentAmount, r.Sender = p.TrxID, p.Amount, p.Sender
	}
	if b, err := json.Marshal(in); err == nil { // a decoded Intent always marshals
		r.IntentJSON = string(b)
	}
	return r
}

func paymentRowOf(o *pipeline.Outcome) paymentRow {
	r := paymentRow{
		OutcomeID:   o.ID,
		EventID:     o.EventID,
		Provider:    string(o.Wallet.Provider),
		Wallet:      walletKey(o.Wallet),
		MerchantID:  o.MerchantID,
		Environment: string(orEnv(o.Environment, o.Wallet.Environment)),
		Disposition: string(o.Disposition),
		IntentID:    o.IntentID,
		Rule:        string(o.Rule),
		Reason:      o.Reason,
		AcceptedAt:  o.AcceptedAt,
		DecidedAt:   o.DecidedAt,
	}
	if r.IntentID == "" && o.Intent != nil {
		r.IntentID = o.Intent.ID
	}
	if p := o.Payment; p != nil {
		r.TrxID, r.Amount, r.Sender, r.Reference, r.OccurredAt = p.TrxID, p.Amount, p.Sender, p.Reference, p.OccurredAt
		if p.Provider != "" {
			r.Provider = string(p.Provider)
		}
	}
	return r
}

// refundRowOf maps a refund; DecodeOutcome guarantees o.Intent != nil and o.Refund != nil.
func refundRowOf(o *pipeline.Outcome) refundRow {
	in, rf, w := o.Intent, o.Refund, intentWallet(o)
	r := refundRow{
		OutcomeID:         o.ID,
		EventID:           o.EventID,
		IntentID:          in.ID,
		MerchantID:        o.MerchantID,
		Environment:       string(orEnv(o.Environment, in.Environment)),
		Provider:          string(w.Provider),
		Wallet:            walletKey(w),
		PaymentID:         rf.PaymentID,
		TrxID:             rf.TrxID,
		RefundTrxID:       rf.RefundTrxID,
		Amount:            rf.Amount,
		RefundedTotal:     rf.RefundedTotal,
		IntentAmount:      in.Amount,
		Reason:            truncate(rf.Reason, maxErrorBytes),
		Operator:          rf.Operator,
		CustomerReference: in.CustomerReference,
		AcceptedAt:        o.AcceptedAt,
		DecidedAt:         o.DecidedAt,
	}
	if r.IntentID == "" {
		r.IntentID = rf.IntentID
	}
	return r
}

// balanceGapRecord is the part of a balance gap outcome record (pipeline.OutcomeBalanceGap,
// matcher.BalanceGapOutcome encoded) that pipeline.Outcome does not hold. TestBalanceGapRecordMatchesMatcher
// encodes a real matcher.BalanceGapOutcome and fails when the two drift apart.
type balanceGapRecord struct {
	BalanceGap *pipeline.BalanceGap `json:"balanceGap"`
}

// maxDecimalPaisa is the largest magnitude, in paisa, a Decimal(18, 2) column holds. A value
// beyond it would make the whole insert fail and stall the sink on that batch, so such a record
// is rejected instead.
const maxDecimalPaisa = 999_999_999_999_999_999

// gapRowOf maps a balance gap outcome; value is the record, decoded again for its balanceGap.
func gapRowOf(o *pipeline.Outcome, value []byte) (gapRow, error) {
	var rec balanceGapRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return gapRow{}, fmt.Errorf("%w: %w", ErrBadBalanceGap, err)
	}
	g := rec.BalanceGap
	if g == nil {
		return gapRow{}, fmt.Errorf("%w: no balanceGap", ErrBadBalanceGap)
	}
	for _, v := range []int64{g.FeePaisa, g.ExpectedPaisa, g.ActualPaisa, g.DifferencePaisa} {
		if v > maxDecimalPaisa || v < -maxDecimalPaisa {
			return gapRow{}, fmt.Errorf("%w: amount %d paisa out of range", ErrBadBalanceGap, v)
		}
	}
	return gapRow{
		OutcomeID:       o.ID,
		EventID:         o.EventID,
		MerchantID:      o.MerchantID,
		Environment:     string(orEnv(o.Environment, o.Wallet.Environment)),
		Provider:        string(o.Wallet.Provider),
		Wallet:          walletKey(o.Wallet),
		Direction:       g.Direction,
		Amount:          g.Amount,
		Fee:             pipeline.Money(g.FeePaisa),
		TrxID:           g.TrxID,
		SMSAt:           g.At,
		PreviousEventID: g.PreviousEventID,
		PreviousAt:      g.PreviousAt,
		PreviousBalance: g.PreviousBalance,
		Expected:        pipeline.Money(g.ExpectedPaisa),
		Actual:          pipeline.Money(g.ActualPaisa),
		Difference:      pipeline.Money(g.DifferencePaisa),
		Review:          g.Review,
		AcceptedAt:      o.AcceptedAt,
		DecidedAt:       o.DecidedAt,
	}, nil
}

func attemptRowOf(rec *bus.Record) (attemptRow, error) {
	a, err := pipeline.DecodeWebhookAttempt(rec.Value)
	if err != nil {
		return attemptRow{}, err
	}
	return attemptRow{
		AttemptID:   a.ID,
		OutcomeID:   a.OutcomeID,
		MerchantID:  a.MerchantID,
		Environment: string(a.Environment),
		IntentID:    a.IntentID,
		EventType:   a.EventType,
		Attempt:     uint32(min(max(a.Attempt, 0), 1<<31)),
		Result:      string(a.Result),
		HTTPStatus:  uint16(min(max(a.HTTPStatus, 0), 65535)),
		Error:       truncate(a.Error, maxErrorBytes),
		Duration:    a.Duration,
		URLHost:     a.URLHost,
		AcceptedAt:  a.AcceptedAt,
		AttemptedAt: a.AttemptedAt,
	}, nil
}

func orEnv(e, fallback pipeline.Environment) pipeline.Environment {
	if e != "" {
		return e
	}
	return fallback
}

// intentWallet is the wallet of an outcome about an intent: its own, else the intent's.
func intentWallet(o *pipeline.Outcome) pipeline.Wallet {
	if o.Wallet.Account == "" {
		return o.Intent.Wallet()
	}
	return o.Wallet
}

// walletKey is w.Key(), or "" for an absent wallet (rather than "::").
func walletKey(w pipeline.Wallet) string {
	if w.Account == "" && w.Provider == "" {
		return ""
	}
	return w.Key()
}

// maxDateTime is the last second a ClickHouse DateTime (UInt32 seconds) can hold.
var maxDateTime = time.Unix(1<<32-1, 0).UTC()

// dateTime clamps t into DateTime's range; the zero time (absent) becomes 1970-01-01 00:00:00.
func dateTime(t time.Time) time.Time {
	if t.Unix() <= 0 {
		return time.Unix(0, 0).UTC()
	}
	if t.After(maxDateTime) {
		return maxDateTime
	}
	return t
}

// unixMs is t in Unix milliseconds; 0 for the zero time or anything before 1970.
func unixMs(t time.Time) uint64 {
	return uint64(max(t.UnixMilli(), 0))
}

// msBetween is to-from in milliseconds, or 0 when either is absent or the clocks disagree
// (to before from): a latency is never negative.
func msBetween(from, to time.Time) uint64 {
	if from.Unix() <= 0 || to.Unix() <= 0 {
		return 0
	}
	return uint64(max(to.Sub(from).Milliseconds(), 0))
}

// truncate cuts s to at most n bytes (possibly mid-rune: ClickHouse Strings are bytes).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
