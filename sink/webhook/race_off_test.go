//go:build !race

package webhook

// raceAllocs: see race_on_test.go.
const raceAllocs = 0
