//go:build !race

package ingest_test

// raceAllocs is 0 without the race detector (race_on_test.go).
const raceAllocs = 0
