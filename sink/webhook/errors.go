package webhook

import (
	"errors"

	"github.com/paystream/paystream/pipeline/dialect"
	"github.com/paystream/paystream/pipeline/lifecycle"
)

var (
	// ErrConfig reports an unusable Config; the message says which field.
	ErrConfig = errors.New("invalid webhook sink config")
	// ErrClosed is returned (wrapped) by Run after Close, or when Run is called twice: lifecycle's
	// one ErrClosed.
	ErrClosed = lifecycle.ErrClosed
	// ErrUnsupportedDialect reports an intent whose dialect is not one of dialects.All. The outcome
	// is skipped (logged, counted in paystream_webhook_outcomes_skipped_total{reason="unsupported_dialect"}).
	// It is dialect.ErrUnknown.
	ErrUnsupportedDialect = dialect.ErrUnknown
	// ErrJobNotFound reports an outcome id that has no webhook job (never enqueued, or its done
	// marker expired).
	ErrJobNotFound = errors.New("no webhook job for this outcome id")
	// ErrAlreadyDelivered reports a Redeliver of an outcome that was delivered: its body is gone and
	// the merchant has it.
	ErrAlreadyDelivered = errors.New("webhook already delivered")
	// ErrNotDeadLettered reports a Redeliver of a job that is still being retried: it will be
	// attempted again by itself.
	ErrNotDeadLettered = errors.New("webhook is not dead-lettered; it is still scheduled for delivery")
	// errMerchantNotFound reports a job whose merchant record does not exist (any more).
	errMerchantNotFound = errors.New("merchant not found")
)
