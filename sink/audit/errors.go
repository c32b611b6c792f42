package audit

import (
	"errors"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/lifecycle"
)

// Errors returned (wrapped) by this package. Test with errors.Is.
var (
	// ErrBadConfig reports a Config or DSN that cannot work; the message says which field to fix.
	ErrBadConfig = errors.New("invalid audit sink config")

	// ErrSchemaMissing reports an insert into a database or table that does not exist: run
	// `paystream migrate` (Migrate) against the same DSN. The sink keeps retrying the batch, so
	// running the migration while it waits is enough; nothing is lost.
	ErrSchemaMissing = errors.New("audit schema missing in clickhouse (run `paystream migrate`)")

	// ErrClosed is returned (wrapped) by Run after Close: lifecycle's one ErrClosed.
	ErrClosed = lifecycle.ErrClosed

	// ErrStarted is returned (wrapped) by a second call of Run: a Sink runs once.
	ErrStarted = lifecycle.ErrStarted
)

// Reasons a record is stored in audit_rejects instead of its table. DecodeEvent's and
// DecodeOutcome's own errors (pipeline.ErrBadEvent, pipeline.ErrBadOutcome) are the other reasons.
var (
	// ErrUnknownOutcome reports an outcome whose type this sink has no table for.
	ErrUnknownOutcome = errors.New("unknown outcome type")

	// ErrBadBalanceGap reports a balance gap outcome (type wallet.balance_gap) without its
	// balanceGap object, or with an amount a Decimal(18, 2) column cannot hold.
	ErrBadBalanceGap = errors.New("malformed balance gap outcome")

	// ErrBadAttempt reports a webhook-attempt record that is not JSON or lacks its ids
	// (pipeline.DecodeWebhookAttempt's error).
	ErrBadAttempt = pipeline.ErrBadAttempt

	// ErrUnknownTopic reports a record from a topic the sink does not subscribe to.
	ErrUnknownTopic = errors.New("record from an unknown topic")
)
