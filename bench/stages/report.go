package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Measure is one measured run: a baseline or a component, driven one way.
type Measure struct {
	What    string  `json:"what"`    // what ran, in words
	Ops     int64   `json:"ops"`     // operations completed (requests answered 2xx, records acked, events decided, rows accepted, webhooks received)
	Errors  int64   `json:"errors"`  // operations that failed (non-2xx answers, produce errors)
	Seconds float64 `json:"seconds"` // measured window
	// AllocsPerOp and BytesPerOp are the whole process's heap allocations in the window divided by
	// Ops: they include the load generator, the embedded broker and the clients, so compare a
	// component with its own baseline only.
	AllocsPerOp float64 `json:"allocsPerOp"`
	BytesPerOp  float64 `json:"bytesPerOp"`
	Profile     string  `json:"profile,omitempty"` // CPU profile path, with -cpuprofile
}

// OpsPerSec is Ops over Seconds (0 when nothing was measured).
func (m Measure) OpsPerSec() float64 {
	if m.Seconds <= 0 {
		return 0
	}
	return float64(m.Ops) / m.Seconds
}

// Row is one stage: its baseline and its component, driven the same way.
type Row struct {
	Stage     string  `json:"stage"`
	Unit      string  `json:"unit"` // what one op is
	Baseline  Measure `json:"baseline"`
	Component Measure `json:"component"`
	// Target is the ratio the component must reach (0: none stated).
	Target float64 `json:"target,omitempty"`
	Notes  string  `json:"notes,omitempty"`
}

// Ratio is the component's throughput over its baseline's; 0 when the baseline measured nothing.
func (r Row) Ratio() float64 { return ratio(r.Component.OpsPerSec(), r.Baseline.OpsPerSec()) }

func ratio(component, baseline float64) float64 {
	if baseline <= 0 || math.IsNaN(baseline) || math.IsNaN(component) || math.IsInf(baseline, 0) {
		return 0
	}
	return component / baseline
}

// Verdict says whether the row meets its target: "ok", "BELOW" or "" (no target, or nothing
// measured).
func (r Row) Verdict() string {
	if r.Target <= 0 || r.Baseline.OpsPerSec() <= 0 {
		return ""
	}
	if r.Ratio() >= r.Target {
		return "ok"
	}
	return "BELOW"
}

// Report is the whole run.
type Report struct {
	Started  time.Time `json:"started"`
	Host     string    `json:"host"`
	CPUs     int       `json:"cpus"`
	Duration string    `json:"duration"`
	Rows     []Row     `json:"rows"`
	Skipped  []string  `json:"skipped,omitempty"` // stages that failed, with why
}

// jsonRow is a Row as written by -json: the derived figures spelled out.
type jsonRow struct {
	Row
	BaselineOpsPerSec  float64 `json:"baselineOpsPerSec"`
	ComponentOpsPerSec float64 `json:"componentOpsPerSec"`
	Ratio              float64 `json:"ratio"`
	Verdict            string  `json:"verdict,omitempty"`
}

// WriteJSON writes rep as indented JSON, with each row's ops/s, ratio and verdict computed.
func (rep *Report) WriteJSON(w io.Writer) error {
	out := struct {
		*Report
		Rows []jsonRow `json:"rows"`
	}{Report: rep}
	for _, r := range rep.Rows {
		out.Rows = append(out.Rows, jsonRow{
			Row: r, BaselineOpsPerSec: round(r.Baseline.OpsPerSec(), 1), ComponentOpsPerSec: round(r.Component.OpsPerSec(), 1),
			Ratio: round(r.Ratio(), 4), Verdict: r.Verdict(),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	return nil
}

// WriteJSONFile writes the report to path.
func (rep *Report) WriteJSONFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := rep.WriteJSON(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// WriteTable prints the report as an aligned text table.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tunit\tbaseline ops/s\tcomponent ops/s\tratio\ttarget\tallocs/op base→comp\tB/op base→comp\terrors base/comp\t")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t\n",
			r.Stage, r.Unit, fmtRate(r.Baseline.OpsPerSec()), fmtRate(r.Component.OpsPerSec()),
			fmtRatio(r.Ratio()), fmtTarget(r), fmtPair(r.Baseline.AllocsPerOp, r.Component.AllocsPerOp, false),
			fmtPair(r.Baseline.BytesPerOp, r.Component.BytesPerOp, true), r.Baseline.Errors, r.Component.Errors)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "\n%s:\n  baseline:  %s (%d ops in %.2fs)\n  component: %s (%d ops in %.2fs)\n",
			r.Stage, r.Baseline.What, r.Baseline.Ops, r.Baseline.Seconds, r.Component.What, r.Component.Ops, r.Component.Seconds)
		if r.Notes != "" {
			fmt.Fprintf(w, "  notes:     %s\n", r.Notes)
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "\nSKIPPED %s\n", s)
	}
	return nil
}

// fmtRate writes ops/s with thousands separators, no decimals (one below 100).
func fmtRate(v float64) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return thousands(int64(math.Round(v)))
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtRatio writes a ratio as a percentage ("73.4%"), "-" when undefined.
func fmtRatio(r float64) string {
	if r <= 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return "-"
	}
	return strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
}

func fmtTarget(r Row) string {
	if r.Target <= 0 {
		return ""
	}
	s := "≥" + strconv.FormatFloat(r.Target*100, 'f', 0, 64) + "%"
	if v := r.Verdict(); v != "" {
		s += " " + v
	}
	return s
}

// fmtPair writes "a→b"; bytes are written in B, KiB or MiB.
func fmtPair(a, b float64, bytes bool) string {
	f := func(v float64) string {
		if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return "-"
		}
		if !bytes {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		switch {
		case v >= 1<<20:
			return strconv.FormatFloat(v/(1<<20), 'f', 1, 64) + "Mi"
		case v >= 1<<10:
			return strconv.FormatFloat(v/(1<<10), 'f', 1, 64) + "Ki"
		}
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return f(a) + "→" + f(b)
}

// parseOnly turns -only's comma list into the set of stages to run; empty means all. Unknown
// names are an error that lists the known ones.
func parseOnly(s string, known []string) (map[string]bool, error) {
	out := map[string]bool{}
	if strings.TrimSpace(s) == "" {
		for _, k := range known {
			out[k] = true
		}
		return out, nil
	}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(strings.ToLower(name))
		if name == "" {
			continue
		}
		found := false
		for _, k := range known {
			if k == name {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown stage %q in -only (known: %s)", name, strings.Join(known, ","))
		}
		out[name] = true
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-only names no stage (known: %s)", strings.Join(known, ","))
	}
	return out, nil
}
