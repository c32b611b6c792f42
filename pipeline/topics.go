package pipeline

import (
	"errors"
	"fmt"
	"time"
)

// Topics names paystream's Kafka topics under one prefix (default "paystream.").
type Topics struct{ Prefix string }

func (t Topics) p() string {
	if t.Prefix == "" {
		return "paystream."
	}
	return t.Prefix
}

// Inbound carries Events keyed by Wallet.Key().
func (t Topics) Inbound() string { return t.p() + "inbound" }

// Outcomes carries Outcomes keyed by merchant id.
func (t Topics) Outcomes() string { return t.p() + "outcomes" }

// WebhookAttempts carries WebhookAttempts keyed by merchant id (for the audit).
func (t Topics) WebhookAttempts() string { return t.p() + "webhook-attempts" }

// All lists every topic, for creation at start.
func (t Topics) All() []string { return []string{t.Inbound(), t.Outcomes(), t.WebhookAttempts()} }

// Group returns the id of consumer group name (GroupMatcher, GroupWebhooks, GroupAudit) for these
// topics: name itself under the default prefix, so existing deployments keep their committed
// offsets; under any other prefix, the prefix followed by name ("acme.paystream-matcher"). Two
// deployments sharing a Kafka cluster with different prefixes thus never share a group: on a real
// group coordinator a shared group id makes the members of both rebalance together, and a group's
// lag and offsets would mix both deployments' topics.
func (t Topics) Group(name string) string {
	if t.p() == "paystream." {
		return name
	}
	return t.p() + name
}

// Consumer groups (their ids: Topics.Group).
const (
	GroupMatcher  = "paystream-matcher"
	GroupWebhooks = "paystream-webhooks" //nolint:gosec // G101: a consumer group name, not a credential
	GroupAudit    = "paystream-audit"
)

// WebhookResult classifies one delivery attempt.
type WebhookResult string

// Webhook attempt results.
const (
	WebhookDelivered  WebhookResult = "delivered"
	WebhookRetry      WebhookResult = "retry"       // failed, another attempt is scheduled
	WebhookDeadLetter WebhookResult = "dead_letter" // failed, no attempts left
)

// WebhookAttempt is one HTTP delivery attempt of one outcome's webhook, produced by the webhook sink
// to the webhook-attempts topic for the audit. ID is "<outcome id>/<attempt>".
type WebhookAttempt struct {
	ID          string        `json:"id"`
	OutcomeID   string        `json:"outcomeId"`
	MerchantID  string        `json:"merchantId"`
	Environment Environment   `json:"environment"`
	IntentID    string        `json:"intentId"`
	EventType   string        `json:"eventType"`
	Attempt     int           `json:"attempt"`
	Result      WebhookResult `json:"result"`
	HTTPStatus  int           `json:"httpStatus"`
	Error       string        `json:"error,omitempty"`
	Duration    time.Duration `json:"durationNs"`
	URLHost     string        `json:"urlHost"`
	AcceptedAt  time.Time     `json:"acceptedAt"`
	AttemptedAt time.Time     `json:"attemptedAt"`
}

// ErrBadAttempt reports a webhook-attempts record that cannot be decoded.
var ErrBadAttempt = errors.New("malformed webhook attempt")

// EncodeWebhookAttempt returns the JSON record value of a (as encoding/json writes it; see codec.go).
func EncodeWebhookAttempt(a *WebhookAttempt) ([]byte, error) { return marshalRecord(a) }

// DecodeWebhookAttempt parses a record value (as encoding/json reads it); it needs an id and an
// outcome id.
func DecodeWebhookAttempt(b []byte) (*WebhookAttempt, error) {
	var a WebhookAttempt
	if err := unmarshalRecord(b, &a); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAttempt, err)
	}
	if a.ID == "" || a.OutcomeID == "" {
		return nil, fmt.Errorf("%w: missing id or outcome id", ErrBadAttempt)
	}
	return &a, nil
}

// TimeFormat is how every API and webhook writes time: RFC 3339 UTC with milliseconds, as seed 004.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FormatTime writes t in TimeFormat, in UTC ("2026-05-05T10:05:00.000Z").
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
