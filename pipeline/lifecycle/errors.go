package lifecycle

import "errors"

var (
	// ErrClosed is returned by Go and Run once the group's stop began (Close, a trigger, or the end
	// of Run's context). Components return it (or wrap it) from their own Run after Close.
	ErrClosed = errors.New("closed")
	// ErrStarted is returned by a second call of Run: a component runs once.
	ErrStarted = errors.New("already running")
)
