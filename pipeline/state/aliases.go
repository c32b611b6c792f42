package state

import "github.com/paystream/paystream/pipeline"

// The matcher's records live in the vocabulary (pipeline/records.go), so that matcher.Decide
// depends on pipeline only; this package loads and stores them. The aliases below keep the names
// ingest (and its tests) still use compiling while ingest is being moved into per-surface packages
// (issue 14): new code uses the pipeline names, and the aliases go once nothing uses them.

// IntentRecord is pipeline.IntentRecord: alias kept while ingest is being moved; use
// pipeline.IntentRecord.
type IntentRecord = pipeline.IntentRecord

// PaymentRecord is pipeline.PaymentRecord: alias kept while ingest is being moved; use
// pipeline.PaymentRecord.
type PaymentRecord = pipeline.PaymentRecord

// Transition is pipeline.Transition: alias kept while ingest is being moved; use
// pipeline.Transition.
type Transition = pipeline.Transition

// BalanceGap is pipeline.BalanceGap: alias kept while ingest is being moved; use
// pipeline.BalanceGap.
type BalanceGap = pipeline.BalanceGap
