//go:build race

package ingest_test

// raceAllocs is how many more allocations per request the race detector may add (it makes
// sync.Pool drop entries): measured up to 27 more on the hot routes (SMS forward).
const raceAllocs = 40
