package matcher

import "errors"

// ErrBadConfig reports a Config that cannot work; the message says what to set.
var ErrBadConfig = errors.New("bad matcher config")

// ErrTooManyConflicts reports an event whose decision kept conflicting with concurrent changes
// (maxConflictRetries in a row). The batch fails and is retried by the consumer.
var ErrTooManyConflicts = errors.New("decision kept conflicting with concurrent state changes")

// ErrAlreadyRun reports a second call of Run, or Run after Close.
var ErrAlreadyRun = errors.New("matcher already running or closed")
