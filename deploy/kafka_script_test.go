package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaSh runs deploy/local/kafka.sh with args and returns its stdout's last line and exit code.
func kafkaSh(t *testing.T, args ...string) (last string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "local/kafka.sh", args...)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok { //nolint:errorlint // exec returns *ExitError unwrapped
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kafka.sh %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], code
}

// pidAlive says whether pid is a live (not zombie) process.
func pidAlive(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(st))
	return len(f) > 2 && f[2] != "Z"
}

// TestKafkaScript drives deploy/local/kafka.sh as a user would, against a real Apache Kafka:
// start prints the bootstrap list last, and the broker answers on it; start again is idempotent;
// a node killed with -9 is started again on its port by start; status says what runs; stop ends
// exactly the recorded process and nothing is left. Needs PAYSTREAM_TEST_REAL_KAFKA=1 (Java,
// Maven Central or the cache): deploy/local/test.sh sets it.
func TestKafkaScript(t *testing.T) {
	if os.Getenv("PAYSTREAM_TEST_REAL_KAFKA") != "1" {
		t.Skip("set PAYSTREAM_TEST_REAL_KAFKA=1 to start a real Kafka with deploy/local/kafka.sh (deploy/local/test.sh does)")
	}
	dir := t.TempDir()
	t.Cleanup(func() { kafkaSh(t, "stop", "--dir", dir) })
	list, code := kafkaSh(t, "start", "--brokers", "1", "--dir", dir)
	if code != 0 || !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(list) {
		t.Fatalf("start: exit %d, last line %q; want 0 and 127.0.0.1:PORT", code, list)
	}
	ping := func() error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(list))
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	}
	if err := ping(); err != nil {
		t.Fatalf("the broker at %s does not answer after start: %v", list, err)
	}
	if again, code := kafkaSh(t, "start", "--dir", dir); code != 0 || again != list {
		t.Fatalf("start on a running cluster: exit %d, %q; want 0 and %q again", code, again, list)
	}
	if st, code := kafkaSh(t, "status", "--dir", dir); code != 0 || st != list {
		t.Fatalf("status: exit %d, last line %q; want 0 and %q", code, st, list)
	}
	pidOf := func() int {
		b, err := os.ReadFile(filepath.Join(dir, "node-1", "pid"))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || !pidAlive(pid) {
			t.Fatalf("pid file %q: not a live process (%v)", b, err)
		}
		return pid
	}

	// kill -9, as the chaos tests do; start brings the node back with its data on its port.
	first := pidOf()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); pidAlive(first); {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d survived kill -9", first)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, code := kafkaSh(t, "status", "--dir", dir); code == 0 {
		t.Fatal("status says all runs after the broker was killed")
	}
	if again, code := kafkaSh(t, "start", "--dir", dir); code != 0 || again != list {
		t.Fatalf("start after kill -9: exit %d, %q; want 0 and %q", code, again, list)
	}
	if err := ping(); err != nil {
		t.Fatalf("the restarted broker does not answer: %v", err)
	}

	second := pidOf()
	if _, code := kafkaSh(t, "stop", "--dir", dir); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	if pidAlive(second) {
		t.Fatalf("pid %d still runs after stop", second)
	}
	if _, code := kafkaSh(t, "status", "--dir", dir); code == 0 {
		t.Fatal("status says the cluster runs after stop")
	}
	if err := ping(); err == nil {
		t.Fatalf("something still answers on %s after stop", list)
	}
}
