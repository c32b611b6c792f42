package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startRedisCluster starts three redis-server masters on free loopback ports as child processes,
// joins them with `redis-cli --cluster create`, and stops them (by PID) at cleanup. It returns
// the nodes' addresses.
func startRedisCluster(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found: run deploy/local/services.sh")
	}
	dir := t.TempDir()
	var addrs []string
	for i := range 3 {
		addr := freePort(t)
		port := addr[strings.LastIndex(addr, ":")+1:]
		nodeDir := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"), "--dir", nodeDir,
			"--save", "", "--appendonly", "no", "--protected-mode", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addrs = append(addrs, addr)
	}
	for _, a := range addrs {
		waitFor(t, 10*time.Second, "redis node "+a, func() bool {
			return exec.Command("redis-cli", "-h", "127.0.0.1", "-p", a[strings.LastIndex(a, ":")+1:], "ping").Run() == nil
		})
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		waitFor(t, 20*time.Second, "cluster state ok on "+a, func() bool {
			out, _ := exec.Command("redis-cli", "-p", a[strings.LastIndex(a, ":")+1:], "cluster", "info").Output()
			return strings.Contains(string(out), "cluster_state:ok")
		})
	}
	return addrs
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2ERedisCluster runs the whole pipeline unchanged against a real three-master Redis Cluster:
// every script touches one hash tag, so no CROSSSLOT error is possible (a CROSSSLOT would fail a
// request or stall a stage, and the payment would never be decided).
func TestE2ERedisCluster(t *testing.T) {
	addrs := startRedisCluster(t)
	in := startDev(t, "PAYSTREAM_REDIS_ADDR="+strings.Join(addrs, ","))
	rcv := newReceiver(t)
	m := onboard(t, in, rcv, wallet(), wallet())

	// Several wallets, amounts and an ambiguity, so keys land on different slots and nodes.
	var paid []string
	for i := range 6 {
		it := createIntent(t, in, m.testKey, fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":"CL-%d","idempotencyKey":"cl-%d"}`, 100+i, i, i))
		id := it["id"].(string)
		simulate(t, in, m.testKey, id, 100+i, fmt.Sprintf("CLUS%06d", i))
		paid = append(paid, id)
	}
	for _, id := range paid {
		h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(id))[0]
		if h.event["event"] != "payment.paid" {
			t.Fatalf("intent %s: %s", id, h.body)
		}
		waitStatus(t, in, m.testKey, id, "PAID", 10*time.Second)
	}
	code, list, _ := call(t, "GET", in.base+"/v1/payments/intents?status=PAID&limit=100", map[string]string{"X-Api-Key": m.testKey}, "")
	if code != http.StatusOK || list["total"] != float64(len(paid)) {
		t.Fatalf("listing across wallets on a cluster: %d %v", code, list)
	}
	// Idempotent replay works on a cluster too.
	again := createIntent(t, in, m.testKey, `{"amount":100,"currency":"BDT","customerReference":"CL-0","idempotencyKey":"cl-0"}`)
	if again["id"] != paid[0] {
		t.Fatalf("idempotency on a cluster: %v != %v", again["id"], paid[0])
	}
}
