package e2e

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Every metric that the Prometheus rules and the Grafana dashboards in deploy/ query must be
// exported by a running paystream: checkDeployMetrics, called by TestE2E after traffic. (promtool's
// check of the same files is cmd/paystream's TestPrometheusFilesValid.)

// deployDir is the repository's deploy/ directory, seen from this package.
const deployDir = "../../../deploy"

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
