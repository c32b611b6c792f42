package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The deploy/ files are checked here: Prometheus rules and config with promtool (Debian's
// prometheus package; deploy/local/test.sh installs it), and every metric that the rules and the
// Grafana dashboard query must be exported by a running paystream (checkDeployMetrics, called by
// TestE2E after traffic).

const deployDir = "../../deploy"

func TestPrometheusFilesValid(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (deploy/local/test.sh does)")
	}
	for _, args := range [][]string{
		{"check", "rules", filepath.Join(deployDir, "monitoring/prometheus/alerts.yml")},
		{"check", "config", filepath.Join(deployDir, "monitoring/prometheus/prometheus.yml")},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

var metricRE = regexp.MustCompile(`\b((?:paystream|process|go)_[a-z0-9_]+)`)

// deployMetrics returns every metric name the alert rules and dashboards query, with histogram
// suffixes removed.
func deployMetrics(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(deployDir, "monitoring/prometheus/alerts.yml")}
	dash, _ := filepath.Glob(filepath.Join(deployDir, "monitoring/grafana/dashboards/*.json"))
	files = append(files, dash...)
	set := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricRE.FindAllStringSubmatch(string(b), -1) {
			set[baseName(m[1])] = true
		}
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	if len(out) < 20 {
		t.Fatalf("only %d metrics found in deploy files: the extraction is broken", len(out))
	}
	return out
}

func baseName(n string) string {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		n = strings.TrimSuffix(n, suf)
	}
	return n
}

// checkDeployMetrics fails for every metric the deploy files use that /metrics does not export.
func checkDeployMetrics(t *testing.T, exposition []byte) {
	t.Helper()
	have := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		have[baseName(name)] = true
	}
	for _, n := range deployMetrics(t) {
		if !have[n] {
			t.Errorf("deploy/ queries %s, which a running paystream does not export", n)
		}
	}
}
