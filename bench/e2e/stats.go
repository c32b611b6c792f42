package main

import (
	"math"
	"slices"
)

// Percentiles summarises latencies in milliseconds by the nearest-rank method: Pq is the smallest
// value such that at least q of the values are at or below it.
type Percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99.9"`
	Max   float64 `json:"max"`
}

// percentiles computes Percentiles of ms. It sorts ms in place; an empty slice gives the zero value.
func percentiles(ms []float64) Percentiles {
	if len(ms) == 0 {
		return Percentiles{}
	}
	slices.Sort(ms)
	return Percentiles{
		Count: len(ms),
		P50:   rank(ms, 0.50),
		P90:   rank(ms, 0.90),
		P99:   rank(ms, 0.99),
		P999:  rank(ms, 0.999),
		Max:   ms[len(ms)-1],
	}
}

// rank returns the nearest-rank q-quantile of the sorted, non-empty sorted.
func rank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// nsToMs converts a duration in nanoseconds to milliseconds.
func nsToMs(ns int64) float64 { return float64(ns) / 1e6 }

// Second is one second of the run (T seconds after the first scheduled send): how many payments
// were offered (scheduled), sent, accepted (2xx), refused or failed, decided and delivered in it,
// and the latency percentiles of the payments offered in it. Latency fields are absent for a
// second that offered nothing that reached that stage; CPUCores and RSSMiB are absent without
// process samples in it.
type Second struct {
	T            int      `json:"t"`
	Offered      int      `json:"offered"`
	Sent         int      `json:"sent"`
	Accepted     int      `json:"accepted"`
	Errors       int      `json:"errors"`
	Decided      int      `json:"decided"`
	Delivered    int      `json:"delivered"`
	AcceptP50    *float64 `json:"accept_p50_ms,omitempty"`
	AcceptP99    *float64 `json:"accept_p99_ms,omitempty"`
	DeliveredP50 *float64 `json:"delivered_p50_ms,omitempty"`
	DeliveredP99 *float64 `json:"delivered_p99_ms,omitempty"`
	CPUCores     *float64 `json:"cpu_cores,omitempty"`
	RSSMiB       *float64 `json:"rss_mib,omitempty"`
	// The whole machine in this second, in cores: every process, and redis-server and
	// clickhouse-server alone (what competes with paystream for the CPU).
	MachineCores    *float64 `json:"machine_busy_cores,omitempty"`
	RedisCores      *float64 `json:"redis_cores,omitempty"`
	ClickHouseCores *float64 `json:"clickhouse_cores,omitempty"`
}

// seriesInput is what buildSeries needs of the run.
type seriesInput struct {
	t0      int64 // unix ns of the first scheduled send
	pays    []payment
	samples []procSample // paystream samples in time order, may be empty
}

// buildSeries buckets the run per second from t0 up to the last event it saw (sends, answers,
// decisions, deliveries), bounded to maxSeconds buckets.
func buildSeries(in seriesInput) []Second {
	const maxSeconds = 24 * 3600
	sec := func(ns int64) int {
		if ns == 0 || ns < in.t0 {
			return -1
		}
		return int(min((ns-in.t0)/1e9, maxSeconds-1))
	}
	last := 0
	for i := range in.pays {
		p := &in.pays[i]
		for _, ns := range [...]int64{p.scheduled, p.answered, p.decidedAt, p.paidAt} {
			last = max(last, sec(ns))
		}
	}
	out := make([]Second, last+1)
	for i := range out {
		out[i].T = i
	}
	acc := make([][]float64, len(out))
	del := make([][]float64, len(out))
	for i := range in.pays {
		p := &in.pays[i]
		s := sec(p.scheduled)
		if s < 0 {
			continue // never scheduled (the run was interrupted)
		}
		out[s].Offered++
		if t := sec(p.started); t >= 0 {
			out[t].Sent++
		}
		if a := sec(p.answered); a >= 0 {
			if p.accepted() {
				out[a].Accepted++
				acc[s] = append(acc[s], nsToMs(p.answered-p.scheduled))
			} else {
				out[a].Errors++
			}
		}
		if d := sec(p.decidedAt); d >= 0 {
			out[d].Decided++
		}
		if d := sec(p.paidAt); d >= 0 {
			out[d].Delivered++
			del[s] = append(del[s], nsToMs(p.paidAt-p.scheduled))
		}
	}
	for i := range out {
		if len(acc[i]) > 0 {
			pc := percentiles(acc[i])
			out[i].AcceptP50, out[i].AcceptP99 = &pc.P50, &pc.P99
		}
		if len(del[i]) > 0 {
			pc := percentiles(del[i])
			out[i].DeliveredP50, out[i].DeliveredP99 = &pc.P50, &pc.P99
		}
	}
	// Process samples: CPU cores over the sampling intervals that end in each second, and RSS of
	// the second's last sample.
	cpu := make([]float64, len(out))
	wall := make([]float64, len(out))
	var busy, redis, ch []float64
	for j := 1; j < len(in.samples); j++ {
		a, b := in.samples[j-1], in.samples[j]
		s := sec(b.at)
		if s < 0 || s >= len(out) || b.at <= a.at {
			continue
		}
		cpu[s] += b.cpuSeconds - a.cpuSeconds
		wall[s] += float64(b.at-a.at) / 1e9
		rss := float64(b.rssBytes) / (1 << 20)
		out[s].RSSMiB = &rss
		if a.machine != nil && b.machine != nil {
			if busy == nil {
				busy, redis, ch = make([]float64, len(out)), make([]float64, len(out)), make([]float64, len(out))
			}
			busy[s] += b.machine.busy - a.machine.busy
			redis[s] += b.machine.services["redis-server"] - a.machine.services["redis-server"]
			ch[s] += b.machine.services["clickhouse-server"] - a.machine.services["clickhouse-server"]
		}
	}
	perSecond := func(v []float64, i int) *float64 {
		if v == nil {
			return nil
		}
		x := max(0, v[i]) / wall[i]
		return &x
	}
	for i := range out {
		if wall[i] > 0 {
			cores := cpu[i] / wall[i]
			out[i].CPUCores = &cores
			out[i].MachineCores, out[i].RedisCores, out[i].ClickHouseCores = perSecond(busy, i), perSecond(redis, i), perSecond(ch, i)
		}
	}
	return out
}
