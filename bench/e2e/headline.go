package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// HeadlineReport is issue 16's headline: paystream's CPU per payment, every role and everything
// the run did included, beside the broker's and Redis's CPU per payment and the bytes the run left
// in Redis per payment, all from one run. "Net" figures subtract the idle rate (CPU per second
// with nothing offered, measured just before the load) times the window; "raw" ones do not.
type HeadlineReport struct {
	Layout        string  `json:"layout"`          // dev, production, or "" (-url)
	SetupInWindow bool    `json:"setup_in_window"` // intents created inside the window, just before their payments
	RateLimits    string  `json:"rate_limits"`     // "defaults" or "off" (spawned), "" when unknown
	IntentTTL     float64 `json:"intent_ttl_seconds"`
	Payments      int     `json:"payments"` // accepted payments: the divisor of every per-payment figure
	// PaymentsPerSecond is accepted payments over the load (not the window, which also holds the wait).
	PaymentsPerSecond float64 `json:"payments_per_second"`
	WindowSeconds     float64 `json:"window_seconds"` // the first scheduled send to the end of the drain
	IdleSeconds       float64 `json:"idle_seconds"`
	// PaystreamUsPerPayment is the headline: net CPU-µs of every paystream process (the broker
	// apart in production; included in dev, where it runs inside the one process).
	PaystreamUsPerPayment    float64      `json:"paystream_cpu_us_per_payment"`
	PaystreamUsPerPaymentRaw float64      `json:"paystream_cpu_us_per_payment_raw"`
	PaystreamCPUSeconds      float64      `json:"paystream_cpu_seconds"` // raw, over the window
	PaystreamIdleCores       float64      `json:"paystream_idle_cores"`
	Roles                    []RoleCPU    `json:"roles"`
	Broker                   *RoleCPU     `json:"broker,omitempty"`
	Redis                    *RedisReport `json:"redis,omitempty"`
	// PendingDeadlines is how many intent deadlines Redis still held at the end of the window
	// (-setup-in-window waits for 0: every expiry check ran inside the window); -1 unknown.
	PendingDeadlines int64  `json:"pending_deadlines"`
	Error            string `json:"error,omitempty"`
}

// RoleCPU is one process's CPU over the window.
type RoleCPU struct {
	Name            string  `json:"name"`
	Role            string  `json:"role"`
	PID             int     `json:"pid"`
	CPUSeconds      float64 `json:"cpu_seconds"` // raw
	IdleCores       float64 `json:"idle_cores"`
	NetCPUSeconds   float64 `json:"net_cpu_seconds"`
	UsPerPayment    float64 `json:"cpu_us_per_payment"` // net
	UsPerPaymentRaw float64 `json:"cpu_us_per_payment_raw"`
}

// RedisReport is the Redis server's share of the run.
type RedisReport struct {
	PID             int     `json:"pid"`
	CPUSeconds      float64 `json:"cpu_seconds"` // raw, over the window
	IdleCores       float64 `json:"idle_cores"`
	UsPerPayment    float64 `json:"cpu_us_per_payment"` // net
	UsPerPaymentRaw float64 `json:"cpu_us_per_payment_raw"`
	// CommandsPerPayment is total_commands_processed over the window less the idle rate's share,
	// per payment: every client of the server counts, so on a shared Redis it is an upper bound.
	CommandsPerPayment float64 `json:"commands_per_payment"`
	UsedMemoryBefore   int64   `json:"used_memory_before"` // INFO used_memory before the set-up
	UsedMemoryAfter    int64   `json:"used_memory_after"`  // and after the drain
	// BytesRetainedPerPayment is (after - before) / payments: the whole server, so on a shared
	// Redis other clients' keys count too; SampledBytesPerPayment counts the run's keys only.
	BytesRetainedPerPayment float64        `json:"bytes_retained_per_payment"`
	SampledBytesPerPayment  float64        `json:"sampled_bytes_per_payment"`
	Families                []FamilyReport `json:"families,omitempty"`
	Error                   string         `json:"error,omitempty"`
}

// netCPU is raw CPU seconds over secs less what the idle rate (cores) would have used anyway.
func netCPU(raw, idleCores, secs float64) float64 { return raw - idleCores*secs }

// perPaymentUs is CPU seconds per payment in microseconds (0 without payments).
func perPaymentUs(cpuSeconds float64, payments int) float64 {
	if payments <= 0 {
		return 0
	}
	return cpuSeconds * 1e6 / float64(payments)
}

// perPaymentCount is x per payment (0 without payments).
func perPaymentCount(x float64, payments int) float64 {
	if payments <= 0 {
		return 0
	}
	return x / float64(payments)
}

// rate is a per-second rate (0 for a zero or negative span).
func rate(x, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return x / secs
}

// cpuPhase is the CPU seconds a process used in the idle phase and in the window.
type cpuPhase struct{ idle, window float64 }

// roleCPU computes one process's figures.
func roleCPU(ref procRef, c cpuPhase, idleSecs, windowSecs float64, payments int) RoleCPU {
	r := RoleCPU{Name: ref.name, Role: ref.role, PID: ref.pid, CPUSeconds: c.window, IdleCores: rate(c.idle, idleSecs)}
	r.NetCPUSeconds = netCPU(c.window, r.IdleCores, windowSecs)
	r.UsPerPayment = perPaymentUs(r.NetCPUSeconds, payments)
	r.UsPerPaymentRaw = perPaymentUs(c.window, payments)
	return r
}

// sumRoles adds the processes' figures into h (paystream's totals).
func sumRoles(h *HeadlineReport, roles []RoleCPU) {
	h.Roles = roles
	var raw, idle, net float64
	for _, r := range roles {
		raw += r.CPUSeconds
		idle += r.IdleCores
		net += r.NetCPUSeconds
	}
	h.PaystreamCPUSeconds, h.PaystreamIdleCores = raw, idle
	h.PaystreamUsPerPayment = perPaymentUs(net, h.Payments)
	h.PaystreamUsPerPaymentRaw = perPaymentUs(raw, h.Payments)
}

// redisFigures computes the Redis report from its readings: CPU and commands at the idle start,
// idle end (= just before the load), and window end; memory before set-up and after the drain.
func redisFigures(pid int, cpu cpuPhase, cmdsIdle, cmdsWindow int64, memBefore, memAfter int64, idleSecs, windowSecs float64, payments int) *RedisReport {
	r := &RedisReport{PID: pid, CPUSeconds: cpu.window, IdleCores: rate(cpu.idle, idleSecs), UsedMemoryBefore: memBefore, UsedMemoryAfter: memAfter}
	r.UsPerPayment = perPaymentUs(netCPU(cpu.window, r.IdleCores, windowSecs), payments)
	r.UsPerPaymentRaw = perPaymentUs(cpu.window, payments)
	r.CommandsPerPayment = perPaymentCount(netCPU(float64(cmdsWindow), rate(float64(cmdsIdle), idleSecs), windowSecs), payments)
	r.BytesRetainedPerPayment = perPaymentCount(float64(memAfter-memBefore), payments)
	return r
}

// snapshot is every CPU reading the headline needs at one instant.
type snapshot struct {
	procs    []float64 // paystream's processes, in instance.procs order
	broker   float64
	redis    redisStats
	redisCPU float64
	at       time.Time
	err      error // the first reading that failed
}

// takeSnapshot reads the CPU of in's processes and broker, and Redis's INFO and CPU. A failed
// reading leaves its figure 0 and sets err.
func takeSnapshot(ctx context.Context, in *instance, rdb *redis.Client) snapshot {
	s := snapshot{at: time.Now(), procs: make([]float64, len(in.procs))}
	keep := func(err error) {
		if err != nil && s.err == nil {
			s.err = err
		}
	}
	for i, p := range in.procs {
		x, err := readProc(p.pid)
		keep(err)
		s.procs[i] = x.cpuSeconds
	}
	if in.broker.pid > 0 {
		x, err := readProc(in.broker.pid)
		keep(err)
		s.broker = x.cpuSeconds
	}
	if rdb != nil {
		var err error
		s.redis, err = readRedisStats(ctx, rdb)
		keep(err)
		if err == nil {
			s.redisCPU, err = redisCPU(s.redis.pid)
			keep(err)
		}
	}
	return s
}

// headlineInput is the run's readings for the headline.
type headlineInput struct {
	in                       *instance
	idle0, idle1, win0, win1 snapshot // idle1 is taken just before the load; win0 at its start
	memBefore, memAfter      int64
	payments                 int
	loadSeconds              float64 // for payments per second
	families                 []FamilyReport
	familiesErr              error
	pendingDeadlines         int64
	hasRedis                 bool
}

// buildHeadline computes the headline from the snapshots.
func buildHeadline(h HeadlineReport, x headlineInput) *HeadlineReport {
	h.Payments = x.payments
	h.IdleSeconds = x.idle1.at.Sub(x.idle0.at).Seconds()
	h.WindowSeconds = x.win1.at.Sub(x.win0.at).Seconds()
	h.PaymentsPerSecond = rate(float64(x.payments), x.loadSeconds)
	h.PendingDeadlines = x.pendingDeadlines
	var errs []string
	for _, s := range []snapshot{x.idle0, x.idle1, x.win0, x.win1} {
		if s.err != nil {
			errs = append(errs, s.err.Error())
			break
		}
	}
	roles := make([]RoleCPU, len(x.in.procs))
	for i, p := range x.in.procs {
		c := cpuPhase{idle: x.idle1.procs[i] - x.idle0.procs[i], window: x.win1.procs[i] - x.win0.procs[i]}
		roles[i] = roleCPU(p, c, h.IdleSeconds, h.WindowSeconds, x.payments)
	}
	sumRoles(&h, roles)
	if x.in.broker.pid > 0 {
		b := roleCPU(x.in.broker, cpuPhase{idle: x.idle1.broker - x.idle0.broker, window: x.win1.broker - x.win0.broker}, h.IdleSeconds, h.WindowSeconds, x.payments)
		h.Broker = &b
	}
	if x.hasRedis {
		h.Redis = redisFigures(x.win1.redis.pid,
			cpuPhase{idle: x.idle1.redisCPU - x.idle0.redisCPU, window: x.win1.redisCPU - x.win0.redisCPU},
			x.idle1.redis.commands-x.idle0.redis.commands, x.win1.redis.commands-x.win0.redis.commands,
			x.memBefore, x.memAfter, h.IdleSeconds, h.WindowSeconds, x.payments)
		h.Redis.Families = x.families
		var sampled int64
		for i := range x.families {
			f := &x.families[i]
			f.KeysPerPayment = perPaymentCount(float64(f.Keys), x.payments)
			f.BytesPerPayment = perPaymentCount(float64(f.Bytes), x.payments)
			sampled += f.Bytes
		}
		h.Redis.SampledBytesPerPayment = perPaymentCount(float64(sampled), x.payments)
		if x.familiesErr != nil {
			h.Redis.Error = x.familiesErr.Error()
		}
	}
	if len(errs) > 0 {
		h.Error = fmt.Sprint(errs)
	}
	return &h
}
