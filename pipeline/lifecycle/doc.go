// Package lifecycle is the one way paystream's long-lived components (the matcher, the sinks, the
// group consumer, ingest's server) start goroutines and stop them.
//
// A Group tracks goroutines by name, as nats-server's startGoRoutine does: Go adds one only while
// the group runs and refuses with ErrClosed once its stop began, so nothing is started that Close
// would not wait for. Stopping has two steps on one signaller, as benthos' shutdown signaller:
//
//   - soft stop (TriggerStopConsuming): stop taking new work. The context Go and Run hand to their
//     functions ends; work already taken goes on under HardContext and finishes.
//   - hard stop (TriggerCloseNow): abandon work in flight. HardContext ends too.
//
// Close(ctx) triggers the soft stop, waits until every tracked goroutine returned or ctx ended, and
// in the second case triggers the hard stop and returns. It may be called any number of times, from
// any goroutine, before, during or after Run.
//
// The package imports no client library: it belongs to the vocabulary layer.
package lifecycle
