package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paystream/paystream/pipeline/testenv"
)

// The deploy/ files are checked here: Prometheus rules and config with promtool (Debian's
// prometheus package; deploy/local/test.sh installs it). That every metric the rules and the
// Grafana dashboard query is exported by a running paystream is checked by the end-to-end tests
// (checkDeployMetrics in e2e/deploy_metrics_test.go, called by TestE2E after traffic).

const deployDir = "../../deploy"

func TestPrometheusFilesValid(t *testing.T) {
	promtool := testenv.Tool(t, "promtool") // Debian's prometheus package; deploy/local/test.sh installs it
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
