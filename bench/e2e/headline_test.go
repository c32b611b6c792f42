package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*max(1, math.Abs(b)) }

func TestParseInfo(t *testing.T) {
	info := "# Server\r\nredis_version:7.0.15\r\nprocess_id:10782\r\n\r\n# Memory\r\nused_memory:2412345\r\nused_memory_human:2.30M\r\n" +
		"# Stats\r\ntotal_commands_processed:987654\r\nnocolon\r\n"
	m := parseInfo(info)
	if m["process_id"] != "10782" || m["used_memory"] != "2412345" || m["used_memory_human"] != "2.30M" || m["redis_version"] != "7.0.15" {
		t.Errorf("parseInfo = %v", m)
	}
	if _, ok := m["# Server"]; ok {
		t.Errorf("a section header was read as a field: %v", m)
	}
	st, err := statsFromInfo(m)
	if err != nil {
		t.Fatal(err)
	}
	if st != (redisStats{pid: 10782, usedMemory: 2412345, commands: 987654}) {
		t.Errorf("statsFromInfo = %+v", st)
	}
	for _, field := range []string{"process_id", "used_memory", "total_commands_processed"} {
		bad := parseInfo(info)
		delete(bad, field)
		if _, err := statsFromInfo(bad); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("without %s: err = %v, want one naming it", field, err)
		}
	}
}

func TestKeyFamily(t *testing.T) {
	const p = "bench1a2b3c"
	for key, want := range map[string]string{
		p + ":{w:bkash:SANDBOX:01712345678}:intent:pi_1":  "intent",
		p + ":{w:bkash:SANDBOX:01712345678}:applied:ev_1": "applied",
		p + ":{w:bkash:SANDBOX:01712345678}:open:amt:100": "open",
		p + ":{w:bkash:SANDBOX:01712345678}:idx:PENDING":  "idx",
		p + ":{exp:3}:deadlines":                          "deadlines",
		p + ":{wh}:done:ev_1":                             "done",
		p + ":merchant:m_1":                               "merchant",
		p + ":merchants":                                  "merchants",
		p + ":intentloc:pi_1":                             "intentloc",
		"rate:" + p + ":ip:127.0.0.1":                     "rate",
		"other:merchant:m_1":                              "",
		p + "x:merchant:m_1":                              "", // another prefix that starts with ours
		p + ":{w:unclosed":                                "",
	} {
		if got := keyFamily(key, p); got != want {
			t.Errorf("keyFamily(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestFamilyEstimate(t *testing.T) {
	if got := familyEstimate(1000, []int64{100, 200, 300}); got != 200_000 {
		t.Errorf("familyEstimate = %d, want 200000 (mean 200 × 1000 keys)", got)
	}
	if got := familyEstimate(1000, nil); got != 0 {
		t.Errorf("no sample: %d, want 0", got)
	}
	if got := familyEstimate(3, []int64{10, 20, 30}); got != 60 {
		t.Errorf("whole family sampled: %d, want the exact sum 60", got)
	}
}

func TestPerPaymentArithmetic(t *testing.T) {
	if got := netCPU(12, 0.1, 30); !near(got, 9) {
		t.Errorf("netCPU = %v, want 12 - 0.1×30 = 9", got)
	}
	if got := perPaymentUs(9, 4000); !near(got, 2250) {
		t.Errorf("perPaymentUs = %v, want 2250", got)
	}
	if perPaymentUs(9, 0) != 0 || perPaymentCount(9, 0) != 0 || rate(9, 0) != 0 {
		t.Error("no payments or no time must give 0, not Inf/NaN")
	}
	r := roleCPU(procRef{name: "ingest-0", role: "ingest", pid: 7}, cpuPhase{idle: 0.5, window: 12}, 5, 30, 4000)
	if !near(r.IdleCores, 0.1) || !near(r.NetCPUSeconds, 9) || !near(r.UsPerPayment, 2250) || !near(r.UsPerPaymentRaw, 3000) {
		t.Errorf("roleCPU = %+v", r)
	}
	var h HeadlineReport
	h.Payments = 1000
	sumRoles(&h, []RoleCPU{
		{CPUSeconds: 2, IdleCores: 0.01, NetCPUSeconds: 1.5},
		{CPUSeconds: 1, IdleCores: 0.02, NetCPUSeconds: 0.5},
	})
	if !near(h.PaystreamCPUSeconds, 3) || !near(h.PaystreamIdleCores, 0.03) || !near(h.PaystreamUsPerPayment, 2000) || !near(h.PaystreamUsPerPaymentRaw, 3000) {
		t.Errorf("sumRoles = %+v", h)
	}
	rr := redisFigures(9, cpuPhase{idle: 0.05, window: 3}, 500, 100_500, 1_000_000, 6_000_000, 5, 20, 1000)
	// idle 0.01 cores × 20 s = 0.2 s; 100 commands/s idle × 20 s = 2,000 commands.
	if !near(rr.UsPerPayment, 2800) || !near(rr.UsPerPaymentRaw, 3000) || !near(rr.CommandsPerPayment, 98.5) || !near(rr.BytesRetainedPerPayment, 5000) {
		t.Errorf("redisFigures = %+v", rr)
	}
}

func TestBuildHeadline(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	in := &instance{
		procs:  []procRef{{name: "ingest-0", role: "ingest", pid: 1}, {name: "matcher-0", role: "matcher", pid: 2}},
		broker: procRef{name: "kafka-dev", role: "kafka-dev", pid: 3},
	}
	snap := func(at time.Duration, ingest, matcher, broker, redis float64, cmds int64, mem int64) snapshot {
		return snapshot{at: t0.Add(at), procs: []float64{ingest, matcher}, broker: broker, redisCPU: redis,
			redis: redisStats{pid: 9, commands: cmds, usedMemory: mem}}
	}
	x := headlineInput{
		in:        in,
		idle0:     snap(0, 10, 20, 30, 40, 0, 0),
		idle1:     snap(5*time.Second, 10.5, 20, 30.5, 40, 50, 0), // ingest and broker 0.1 cores idle
		win0:      snap(6*time.Second, 11, 21, 31, 41, 100, 0),
		win1:      snap(26*time.Second, 13, 22, 35, 42, 20_100, 0),
		memBefore: 1 << 20, memAfter: 1<<20 + 2_000_000,
		payments: 1000, loadSeconds: 10, pendingDeadlines: 0, hasRedis: true,
		families: []FamilyReport{{Family: "applied", Keys: 1000, Bytes: 1_500_000}, {Family: "intent", Keys: 1000, Bytes: 500_000}},
	}
	h := buildHeadline(HeadlineReport{Layout: layoutProduction, SetupInWindow: true, RateLimits: "defaults"}, x)
	// ingest: 2 s raw - 0.1 × 20 s = 0 net; matcher: 1 s, no idle: 1000 µs/payment.
	if !near(h.WindowSeconds, 20) || !near(h.IdleSeconds, 5) || !near(h.PaymentsPerSecond, 100) {
		t.Errorf("spans: %+v", h)
	}
	if len(h.Roles) != 2 || !near(h.Roles[0].UsPerPayment, 0) || !near(h.Roles[1].UsPerPayment, 1000) {
		t.Errorf("roles = %+v", h.Roles)
	}
	if !near(h.PaystreamUsPerPayment, 1000) || !near(h.PaystreamUsPerPaymentRaw, 3000) {
		t.Errorf("paystream = %v net, %v raw; want 1000, 3000", h.PaystreamUsPerPayment, h.PaystreamUsPerPaymentRaw)
	}
	if h.Broker == nil || !near(h.Broker.UsPerPayment, 2000) { // 4 s - 0.1 × 20 s
		t.Errorf("broker = %+v", h.Broker)
	}
	if h.Redis == nil || !near(h.Redis.UsPerPayment, 1000) || !near(h.Redis.CommandsPerPayment, 19.8) ||
		!near(h.Redis.BytesRetainedPerPayment, 2000) || !near(h.Redis.SampledBytesPerPayment, 2000) {
		t.Errorf("redis = %+v", h.Redis)
	}
	if h.Error != "" {
		t.Errorf("error %q", h.Error)
	}

	var b strings.Builder
	writeHeadline(&b, h)
	for _, want := range []string{"production layout", "intents created in the window", "rate limits defaults", "paystream (all roles)", "matcher-0", "broker kafka-dev", "redis-server", "applied 1500 B"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("headline text lacks %q:\n%s", want, b.String())
		}
	}
}

func TestReceiverRegister(t *testing.T) {
	r := &receiver{}
	r.register("pi_1", 3)
	if i, ok := r.index["pi_1"]; !ok || i != 3 {
		t.Errorf("index = %v", r.index)
	}
}

func TestIntentBody(t *testing.T) {
	p := &payment{amount: 123, payer: "01712345678", trx: "D000000001"}
	for _, idem := range []bool{false, true} {
		var v struct {
			Amount    int    `json:"amount"`
			Currency  string `json:"currency"`
			Reference string `json:"customerReference"`
			TTL       int    `json:"ttlSeconds"`
			Idem      string `json:"idempotencyKey"`
		}
		if err := json.Unmarshal(intentBody(p, 20*time.Second, idem), &v); err != nil {
			t.Fatal(err)
		}
		want := ""
		if idem {
			want = "bench-D000000001"
		}
		if v.Amount != 123 || v.Currency != "BDT" || v.Reference != p.payer || v.TTL != 20 || v.Idem != want {
			t.Errorf("idem %v: %+v", idem, v)
		}
	}
}
