package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestOpsPerSecAndRatio(t *testing.T) {
	tests := []struct {
		name        string
		base, comp  Measure
		wantBase    float64
		wantComp    float64
		wantRatio   float64
		target      float64
		wantVerdict string
	}{
		{"normal", Measure{Ops: 1000, Seconds: 2}, Measure{Ops: 700, Seconds: 2}, 500, 350, 0.7, 0.7, "ok"},
		{"below target", Measure{Ops: 1000, Seconds: 1}, Measure{Ops: 300, Seconds: 0.5}, 1000, 600, 0.6, 0.7, "BELOW"},
		{"component faster", Measure{Ops: 100, Seconds: 1}, Measure{Ops: 300, Seconds: 1}, 100, 300, 3, 0.8, "ok"},
		{"no target", Measure{Ops: 100, Seconds: 1}, Measure{Ops: 50, Seconds: 1}, 100, 50, 0.5, 0, ""},
		{"baseline measured nothing", Measure{}, Measure{Ops: 50, Seconds: 1}, 0, 50, 0, 0.6, ""},
		{"zero seconds", Measure{Ops: 100, Seconds: 0}, Measure{Ops: 50, Seconds: 1}, 0, 50, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Row{Baseline: tt.base, Component: tt.comp, Target: tt.target}
			if got := r.Baseline.OpsPerSec(); got != tt.wantBase {
				t.Errorf("baseline ops/s %v, want %v", got, tt.wantBase)
			}
			if got := r.Component.OpsPerSec(); got != tt.wantComp {
				t.Errorf("component ops/s %v, want %v", got, tt.wantComp)
			}
			if got := r.Ratio(); math.Abs(got-tt.wantRatio) > 1e-9 {
				t.Errorf("ratio %v, want %v", got, tt.wantRatio)
			}
			if got := r.Verdict(); got != tt.wantVerdict {
				t.Errorf("verdict %q, want %q", got, tt.wantVerdict)
			}
		})
	}
	if got := ratio(1, math.NaN()); got != 0 {
		t.Errorf("ratio over NaN = %v, want 0", got)
	}
	if got := ratio(1, math.Inf(1)); got != 0 {
		t.Errorf("ratio over +Inf = %v, want 0", got)
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[float64]string{0: "-", -3: "-", 12.34: "12.3", 999.6: "1,000", 1234567: "1,234,567", 100: "100", math.NaN(): "-"} {
		if got := fmtRate(in); got != want {
			t.Errorf("fmtRate(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int64]string{0: "0", 12: "12", 123: "123", 1234: "1,234", 123456: "123,456", -1234567: "-1,234,567"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "-", 0.7345: "73.5%", 1.5: "150.0%", math.Inf(1): "-"} {
		if got := fmtRatio(in); got != want {
			t.Errorf("fmtRatio(%v) = %q, want %q", in, got, want)
		}
	}
	if got := fmtPair(12.4, 150, false); got != "12→150" {
		t.Errorf("fmtPair allocs = %q", got)
	}
	if got := fmtPair(0, 3*1024+512, true); got != "-→3.5Ki" {
		t.Errorf("fmtPair bytes = %q", got)
	}
	if got := fmtPair(512, 2.5*(1<<20), true); got != "512→2.5Mi" {
		t.Errorf("fmtPair bytes = %q", got)
	}
	if got := fmtTarget(Row{Target: 0.7, Baseline: Measure{Ops: 10, Seconds: 1}, Component: Measure{Ops: 8, Seconds: 1}}); got != "≥70% ok" {
		t.Errorf("fmtTarget = %q", got)
	}
	if got := fmtTarget(Row{}); got != "" {
		t.Errorf("fmtTarget without target = %q", got)
	}
}

func sampleReport() *Report {
	return &Report{
		Started: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), Host: "h", CPUs: 2, Duration: "3s",
		Rows: []Row{
			{Stage: "ingest/simulator", Unit: "req", Target: 0.7,
				Baseline:  Measure{What: "hello", Ops: 30000, Seconds: 1, AllocsPerOp: 6, BytesPerOp: 227},
				Component: Measure{What: "ingest", Ops: 3000, Errors: 2, Seconds: 1, AllocsPerOp: 149, BytesPerOp: 13107},
				Notes:     "a note"},
			{Stage: "produce", Unit: "record", Baseline: Measure{Ops: 100, Seconds: 1}, Component: Measure{Ops: 90, Seconds: 1}},
		},
		Skipped: []string{"audit: clickhouse down"},
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"baseline ops/s", "30,000", "3,000", "10.0%", "≥70% BELOW", "6→149", "227→12.8Ki", "0/2",
		"produce", "90.0%", "notes:     a note", "SKIPPED audit: clickhouse down"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		CPUs int `json:"cpus"`
		Rows []struct {
			Stage              string  `json:"stage"`
			BaselineOpsPerSec  float64 `json:"baselineOpsPerSec"`
			ComponentOpsPerSec float64 `json:"componentOpsPerSec"`
			Ratio              float64 `json:"ratio"`
			Verdict            string  `json:"verdict"`
			Target             float64 `json:"target"`
			Component          Measure `json:"component"`
		} `json:"rows"`
		Skipped []string `json:"skipped"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got.CPUs != 2 || len(got.Rows) != 2 || len(got.Skipped) != 1 {
		t.Fatalf("decoded %+v", got)
	}
	r := got.Rows[0]
	if r.Stage != "ingest/simulator" || r.BaselineOpsPerSec != 30000 || r.ComponentOpsPerSec != 3000 || r.Ratio != 0.1 ||
		r.Verdict != "BELOW" || r.Target != 0.7 || r.Component.Errors != 2 || r.Component.AllocsPerOp != 149 {
		t.Errorf("row %+v", r)
	}
	if got.Rows[1].Verdict != "" || got.Rows[1].Ratio != 0.9 {
		t.Errorf("row without target %+v", got.Rows[1])
	}
}

func TestParseOnly(t *testing.T) {
	known := []string{"ingest", "produce", "matcher"}
	all, err := parseOnly("", known)
	if err != nil || len(all) != 3 {
		t.Fatalf("empty: %v %v", all, err)
	}
	got, err := parseOnly(" Ingest, matcher ,", known)
	if err != nil || len(got) != 2 || !got["ingest"] || !got["matcher"] || got["produce"] {
		t.Fatalf("list: %v %v", got, err)
	}
	if _, err := parseOnly("ingest,audit", known); err == nil || !strings.Contains(err.Error(), "known: ingest,produce,matcher") {
		t.Fatalf("unknown stage: %v", err)
	}
	if _, err := parseOnly(" , ", known); err == nil {
		t.Fatal("a list of nothing must be an error")
	}
}

func TestNextTrxIsFreshAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		s := nextTrx()
		if len(s) != 10 || s[0] != 'B' || strings.ToUpper(s) != s {
			t.Fatalf("TrxID %q is not 10 upper-case characters starting with B", s)
		}
		if seen[s] {
			t.Fatalf("TrxID %q repeated", s)
		}
		seen[s] = true
	}
}

func TestTrack(t *testing.T) {
	n := 0.0
	from, to, done, timedOut := track(t.Context(), progress{
		started: func() bool { return n >= 2 },
		count:   func() float64 { n++; return n },
	}, 5, time.Minute)
	if timedOut || done != 5 || from.IsZero() || to.Before(from) {
		t.Fatalf("track: from %v to %v done %v timedOut %v", from, to, done, timedOut)
	}
	_, to, done, timedOut = track(t.Context(), progress{
		started: func() bool { return true },
		count:   func() float64 { return 3 },
	}, 5, 20*time.Millisecond)
	if !timedOut || done != 3 || to.IsZero() {
		t.Fatalf("stuck progress: done %v timedOut %v to %v", done, timedOut, to)
	}
}
