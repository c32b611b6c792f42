// Package native is the home of paystream's native merchant dialect, seed 004's SMS-Pay style:
// camelCase API objects, {"statusCode","message","error"} errors, and webhooks
// {"id","event","environment","timestamp","data":{...}} with one event per intent status.
//
// The native ingest surface (intents, simulator) and the webhook sink both speak it from here.
// Everything is pure; see package dialect for the contract.
package native

import (
	"net/http"
	"time"

	"github.com/paystream/paystream/pipeline"
)

// Name is the dialect's name on merchants and intents. An empty name (records older than
// dialects) is native too.
const Name = pipeline.DialectNative

// TimeFormat is how the dialect writes time: seed 004's RFC 3339 UTC with milliseconds, which is
// also paystream's own format everywhere else (pipeline.TimeFormat, declared there once).
const TimeFormat = pipeline.TimeFormat

// FormatTime writes t in TimeFormat, in UTC ("2026-05-05T10:05:00.000Z").
func FormatTime(t time.Time) string { return pipeline.FormatTime(t) }

// Currency is the only currency of the dialect's amounts; an intent without one is in it.
const Currency = "BDT"

// Dialect is the native dialect as the webhook sink uses it (dialect.Dialect).
type Dialect struct{}

// Name returns Name.
func (Dialect) Name() pipeline.Dialect { return Name }

// Headers returns nil: native webhooks carry only the signatures.
func (Dialect) Headers(*pipeline.Merchant, pipeline.Environment) http.Header { return nil }
