// Package deploy holds no code: its test checks the deployment files against the real binary's
// configuration (every env name and subcommand they use exists) and the Kubernetes manifests
// against the Kubernetes API types (strict decoding: a misspelled or misplaced field fails).
package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// config reads the binary's config tree (cmd/paystream/main.go): env names and subcommands.
func config(t *testing.T) (envs, cmds map[string]bool) {
	t.Helper()
	src, err := os.ReadFile("../cmd/paystream/main.go")
	if err != nil {
		t.Fatal(err)
	}
	envs, cmds = map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`env:"(PAYSTREAM_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		envs[m[1]] = true
	}
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.Contains(line, `cmd:""`) {
			continue
		}
		if m := regexp.MustCompile(`name:"([a-z-]+)"`).FindStringSubmatch(line); m != nil {
			cmds[m[1]] = true
		} else if f := strings.Fields(line); len(f) > 0 {
			cmds[strings.ToLower(f[0])] = true
		}
	}
	if len(envs) < 20 || !cmds["ingest"] || !cmds["migrate"] || !cmds["kafka-dev"] {
		t.Fatalf("reading the config tree failed: %d envs, commands %v", len(envs), cmds)
	}
	return envs, cmds
}

func docs(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func TestKubernetesManifests(t *testing.T) {
	envs, cmds := config(t)
	var kust struct {
		Resources []string `json:"resources"`
	}
	kb, err := os.ReadFile("k8s/base/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(kb, &kust); err != nil {
		// labels/apiVersion/kind are fine; only resources is checked strictly below.
		_ = yaml.Unmarshal(kb, &kust)
	}
	kinds := map[string]int{}
	roles := map[string]bool{}
	for _, res := range kust.Resources {
		for _, d := range docs(t, filepath.Join("k8s/base", res)) {
			var meta struct{ Kind string }
			if err := yaml.Unmarshal(d, &meta); err != nil {
				t.Fatalf("%s: %v", res, err)
			}
			kinds[meta.Kind]++
			var obj any
			switch meta.Kind {
			case "Deployment":
				var dep appsv1.Deployment
				obj = &dep
				strict(t, res, d, obj)
				checkPodSpec(t, res, dep.Spec.Template.Spec, envs, cmds)
				c := dep.Spec.Template.Spec.Containers[0]
				roles[c.Args[0]] = true
				if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
					t.Errorf("%s: probes must use /readyz and /healthz", res)
				}
				if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
					t.Errorf("%s: resource requests missing", res)
				}
				if sc := dep.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
					t.Errorf("%s: pods must run as non-root", res)
				}
			case "Job":
				var job batchv1.Job
				strict(t, res, d, &job)
				checkPodSpec(t, res, job.Spec.Template.Spec, envs, cmds)
			case "Service":
				strict(t, res, d, &corev1.Service{})
			case "ConfigMap":
				var cm corev1.ConfigMap
				strict(t, res, d, &cm)
				for k := range cm.Data {
					if !envs[k] {
						t.Errorf("%s: ConfigMap key %s is not a paystream setting", res, k)
					}
				}
			case "PodDisruptionBudget":
				strict(t, res, d, &policyv1.PodDisruptionBudget{})
			case "HorizontalPodAutoscaler":
				strict(t, res, d, &autoscalingv2.HorizontalPodAutoscaler{})
			case "ServiceMonitor": // a CRD: check the fields Prometheus Operator needs
				var sm struct {
					APIVersion string `json:"apiVersion"`
					Spec       struct {
						Selector  map[string]any `json:"selector"`
						Endpoints []struct {
							Port string `json:"port"`
							Path string `json:"path"`
						} `json:"endpoints"`
					} `json:"spec"`
				}
				if err := yaml.Unmarshal(d, &sm); err != nil || sm.APIVersion != "monitoring.coreos.com/v1" ||
					len(sm.Spec.Endpoints) == 0 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
					t.Errorf("%s: ServiceMonitor is incomplete: %+v %v", res, sm, err)
				}
			default:
				t.Errorf("%s: unexpected kind %q", res, meta.Kind)
			}
		}
	}
	for _, r := range []string{"ingest", "matcher", "webhooks", "audit"} {
		if !roles[r] {
			t.Errorf("no Deployment runs role %s", r)
		}
	}
	if kinds["PodDisruptionBudget"] < 4 || kinds["HorizontalPodAutoscaler"] < 3 || kinds["ServiceMonitor"] != 1 {
		t.Errorf("kinds: %v", kinds)
	}
	ov, err := os.ReadFile("k8s/overlays/production/kustomization.yaml")
	if err != nil || !bytes.Contains(ov, []byte("../../base")) {
		t.Errorf("production overlay must build on the base: %v", err)
	}
}

func strict(t *testing.T, file string, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Errorf("%s: not a valid Kubernetes object: %v", file, err)
	}
}

func checkPodSpec(t *testing.T, file string, spec corev1.PodSpec, envs, cmds map[string]bool) {
	t.Helper()
	if len(spec.Containers) == 0 {
		t.Fatalf("%s: no container", file)
	}
	for _, c := range spec.Containers {
		if len(c.Args) == 0 || !cmds[c.Args[0]] {
			t.Errorf("%s: container args %v do not start with a paystream subcommand", file, c.Args)
		}
		for _, e := range c.Env {
			if !envs[e.Name] {
				t.Errorf("%s: env %s is not a paystream setting", file, e.Name)
			}
		}
		if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("%s: containers must not allow privilege escalation", file)
		}
	}
}

func TestCompose(t *testing.T) {
	envs, cmds := config(t)
	b, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image       string            `json:"image"`
			Command     []string          `json:"command"`
			Environment map[string]string `json:"environment"`
			Volumes     []string          `json:"volumes"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, want := range []string{"redpanda", "redis", "clickhouse", "prometheus", "grafana", "ingest", "matcher", "webhooks", "audit", "migrate"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("compose has no %s service", want)
		}
	}
	for name, s := range c.Services {
		if s.Image != "paystream:dev" {
			if s.Image == "" || !strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest") {
				t.Errorf("service %s: image %q must be pinned to a version", name, s.Image)
			}
			continue
		}
		if len(s.Command) == 0 || !cmds[s.Command[0]] {
			t.Errorf("service %s: command %v is not a paystream subcommand", name, s.Command)
		}
		for k := range s.Environment {
			if !envs[k] {
				t.Errorf("service %s: %s is not a paystream setting", name, k)
			}
		}
	}
	for _, v := range append(c.Services["prometheus"].Volumes, c.Services["grafana"].Volumes...) {
		src := strings.Split(v, ":")[0]
		if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
			t.Errorf("compose mounts %s, which does not exist: %v", src, err)
		}
	}
	prom, _ := os.ReadFile("monitoring/prometheus/prometheus.yml")
	for _, r := range []string{"ingest", "matcher", "webhooks", "audit"} {
		if !bytes.Contains(prom, []byte(r+":9464")) {
			t.Errorf("prometheus.yml does not scrape %s:9464", r)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(s, -1)
	if len(froms) < 2 {
		t.Fatal("the Dockerfile must be multi-stage")
	}
	final := froms[len(froms)-1][1]
	if !strings.Contains(final, "distroless") && final != "scratch" {
		t.Errorf("final stage %s is neither distroless nor scratch", final)
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(s, -1)
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1][1], "0") || users[len(users)-1][1] == "root" {
		t.Error("the image must run as a non-root USER")
	}
	if regexp.MustCompile(`(?m)^ADD\s+https?://`).MatchString(s) {
		t.Error("ADD of a URL: fetch in a build stage with a checksum instead")
	}
	if !strings.Contains(s, "./cmd/paystream") || !strings.Contains(s, `ENTRYPOINT ["/usr/local/bin/paystream"]`) {
		t.Error("the Dockerfile must build ./cmd/paystream and use it as the entrypoint")
	}
}
