package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/testenv"
)

// startRedisCluster starts three redis-server masters on free loopback ports as child processes,
// joins them with `redis-cli --cluster create`, and stops them (by PID) at cleanup. It returns
// the nodes' addresses.
func startRedisCluster(t *testing.T) []string {
	t.Helper()
	binary(t) // the end-to-end tier's gate, before starting anything
	testenv.Tool(t, "redis-server")
	testenv.Tool(t, "redis-cli")
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
// request or stall a stage, and the payment would never be decided). The intents are spread over
// six wallets (six hash tags) of three merchants, chosen so that every master holds two of them.
func TestE2ERedisCluster(t *testing.T) {
	addrs := startRedisCluster(t)
	prefix := "e2ecl" + randHex(3)
	in := startDev(t, "PAYSTREAM_REDIS_ADDR="+strings.Join(addrs, ","), "PAYSTREAM_REDIS_PREFIX="+prefix)
	rcv := newReceiver(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = cc.Close() })
	keys := pipeline.Keys{Prefix: prefix}
	perNode := map[string][]string{}
	for n := 0; n < 6; {
		acct := wallet()
		m, err := cc.MasterForKey(context.Background(), keys.WalletTag(pipeline.Wallet{Provider: pipeline.BKash, Account: acct, Environment: pipeline.Sandbox}))
		if err != nil {
			t.Fatal(err)
		}
		if node := m.Options().Addr; len(perNode[node]) < 2 {
			perNode[node] = append(perNode[node], acct)
			n++
		}
	}
	var accts []string
	for _, as := range perNode {
		accts = append(accts, as...)
	}
	// Each merchant owns two wallets on different masters; two intents of one amount go to its two
	// wallets (ingest spreads equal amounts to avoid ambiguity).
	type paidIntent struct{ id, key string }
	var paid []paidIntent
	seen := map[string]bool{}
	for k := range 3 {
		m := onboard(t, in, rcv, accts[k], accts[k+3])
		for j := range 2 {
			amt := amt(k)
			it := createIntent(t, in, m.testKey, fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":"CL-%d-%d","idempotencyKey":"cl-%d-%d"}`, amt, k, j, k, j))
			id := it["id"].(string)
			seen[it["receiverMsisdn"].(string)] = true
			paid = append(paid, paidIntent{id, m.testKey})
		}
		for j, p := range paid[2*k:] {
			simulate(t, in, m.testKey, p.id, amt(k), fmt.Sprintf("CLUS%04d%02d", k, j))
		}
		code, list, _ := call(t, "GET", in.base+"/v1/payments/intents?limit=100", map[string]string{"X-Api-Key": m.testKey}, "")
		if code != http.StatusOK || list["total"] != float64(2) {
			t.Fatalf("listing across wallets on a cluster: %d %v", code, list)
		}
		// Idempotent replay works on a cluster too.
		again := createIntent(t, in, m.testKey, fmt.Sprintf(`{"amount":%d,"currency":"BDT","customerReference":"CL-%d-0","idempotencyKey":"cl-%d-0"}`, amt(k), k, k))
		if again["id"] != paid[2*k].id {
			t.Fatalf("idempotency on a cluster: %v != %v", again["id"], paid[2*k].id)
		}
	}
	if len(seen) != 6 || len(perNode) != 3 {
		t.Fatalf("intents on %d wallets over %d masters, want 6 over 3", len(seen), len(perNode))
	}
	for _, p := range paid {
		h := rcv.waitHooks(t, 1, 30*time.Second, forIntent(p.id))[0]
		if h.event["event"] != "payment.paid" {
			t.Fatalf("intent %s: %s", p.id, h.body)
		}
		waitStatus(t, in, p.key, p.id, "PAID", 10*time.Second)
	}
	t.Logf("cluster: 6 intents on 6 wallets, 2 per master of 3, each paid; listing and idempotent replay per merchant")
}

func amt(k int) int { return 100 + k }
