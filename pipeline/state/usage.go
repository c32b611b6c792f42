package state

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// FamilyUsage is how many keys of one family Redis holds and the memory they take.
type FamilyUsage struct {
	Keys  int64
	Bytes int64
}

// UsageLimits bound one Usage call.
type UsageLimits struct {
	// MaxScanned bounds the keys SCAN walks (COUNT 1000 per call): beyond it the counts are
	// extrapolated from the share of the keyspace walked (DBSIZE). 0 walks the whole keyspace.
	MaxScanned int
	// MaxSampled bounds the MEMORY USAGE calls per family; a family's bytes are its sampled mean
	// times its keys. 0 measures every key found.
	MaxSampled int
}

// Usage counts the keys of every family under the store's prefix (FamilyOf) and their memory
// (MEMORY USAGE ... SAMPLES 0, exact for every kind of value), within lim. complete is true when
// the whole keyspace was walked (the counts are exact then, and so are the bytes when every key was
// measured). It never blocks Redis for long: SCAN walks at most about 1000 keys per call, and
// MEMORY USAGE calls are pipelined 500 at a time. It reads the one node the client talks to (on
// Redis Cluster, sample each master). Errors: Redis errors, wrapped.
func (s *Store) Usage(ctx context.Context, lim UsageLimits) (usage map[string]FamilyUsage, complete bool, err error) {
	match := s.keys.IntentLocation("")
	match = match[:len(match)-len("intentloc:")] + "*"
	found := map[string][]string{} // family -> sampled keys
	counts := map[string]int64{}
	var cursor uint64
	walked := 0
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, match, 1000).Result()
		if err != nil {
			return nil, false, fmt.Errorf("scanning keys: %w", err)
		}
		walked += 1000
		for _, k := range keys {
			f := FamilyOf(s.keys, k)
			if f == "" {
				continue
			}
			counts[f]++
			if lim.MaxSampled <= 0 || len(found[f]) < lim.MaxSampled {
				found[f] = append(found[f], k)
			}
		}
		cursor = next
		if cursor == 0 {
			complete = true
			break
		}
		if lim.MaxScanned > 0 && walked >= lim.MaxScanned {
			break
		}
	}
	scale := 1.0
	if !complete {
		size, err := s.rdb.DBSize(ctx).Result()
		if err != nil {
			return nil, false, fmt.Errorf("reading the keyspace size: %w", err)
		}
		if float64(size) > float64(walked) {
			scale = float64(size) / float64(walked)
		}
	}
	usage = make(map[string]FamilyUsage, len(counts))
	for f, n := range counts {
		sampled := found[f]
		var sum int64
		for chunk := range slices.Chunk(sampled, 500) {
			pipe := s.rdb.Pipeline()
			cmds := make([]*redis.IntCmd, len(chunk))
			for i, k := range chunk {
				cmds[i] = pipe.MemoryUsage(ctx, k, 0)
			}
			_, _ = pipe.Exec(ctx) // a key gone since SCAN answers redis.Nil: counted as 0 bytes
			for _, c := range cmds {
				sum += c.Val()
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		keys := int64(math.Round(float64(n) * scale))
		bytes := sum
		if len(sampled) > 0 && int64(len(sampled)) < keys {
			bytes = int64(math.Round(float64(sum) / float64(len(sampled)) * float64(keys)))
		}
		usage[f] = FamilyUsage{Keys: keys, Bytes: bytes}
	}
	return usage, complete, nil
}

// SamplerConfig configures a Sampler.
type SamplerConfig struct {
	// Families are the families the sampler exports (default MatcherFamilies): the role that
	// starts it owns them. A family not found in a sample is exported as 0.
	Families []string
	Interval time.Duration // between samples (default 1 minute)
	Limits   UsageLimits   // default 200,000 keys walked, 200 keys measured per family
	Logger   *slog.Logger  // default slog.Default()
}

// Sampler exports paystream_redis_keys{family} and paystream_redis_bytes{family}, refreshed by Run
// every Interval with Store.Usage (SCAN with a bounded walk and a bounded MEMORY USAGE sample per
// family, never KEYS). Build with NewSampler.
type Sampler struct {
	st    *Store
	cfg   SamplerConfig
	keys  *prometheus.GaugeVec
	bytes *prometheus.GaugeVec
	exact prometheus.Gauge
}

// NewSampler registers the gauges on reg (nil: unregistered) and starts nothing. Errors: a
// registration error.
func NewSampler(st *Store, cfg SamplerConfig, reg prometheus.Registerer) (*Sampler, error) {
	if len(cfg.Families) == 0 {
		cfg.Families = MatcherFamilies
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Limits == (UsageLimits{}) {
		cfg.Limits = UsageLimits{MaxScanned: 200_000, MaxSampled: 200}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sm := &Sampler{
		st: st, cfg: cfg,
		keys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paystream_redis_keys",
			Help: "Keys of each family in Redis, from the last sample (extrapolated from a bounded SCAN when paystream_redis_sample_complete is 0).",
		}, []string{"family"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paystream_redis_bytes",
			Help: "Memory of each key family in Redis (MEMORY USAGE), from the last sample: the sampled keys' mean times paystream_redis_keys.",
		}, []string{"family"}),
		exact: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paystream_redis_sample_complete",
			Help: "1 when the last sample walked the whole keyspace (exact key counts), 0 when it was extrapolated.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{sm.keys, sm.bytes, sm.exact} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering redis usage metrics: %w", err)
			}
		}
	}
	return sm, nil
}

// Sample takes one sample and sets the gauges. Errors: those of Store.Usage (the gauges keep
// their previous values then).
func (sm *Sampler) Sample(ctx context.Context) error {
	u, complete, err := sm.st.Usage(ctx, sm.cfg.Limits)
	if err != nil {
		return err
	}
	for _, f := range sm.cfg.Families {
		sm.keys.WithLabelValues(f).Set(float64(u[f].Keys))
		sm.bytes.WithLabelValues(f).Set(float64(u[f].Bytes))
	}
	if complete {
		sm.exact.Set(1)
	} else {
		sm.exact.Set(0)
	}
	return nil
}

// Run samples at once and then every Interval until ctx ends; it returns nil then. A failed sample
// is logged and retried at the next interval.
func (sm *Sampler) Run(ctx context.Context) error {
	t := time.NewTicker(sm.cfg.Interval)
	defer t.Stop()
	for {
		if err := sm.Sample(ctx); err != nil && ctx.Err() == nil {
			sm.cfg.Logger.Warn("sampling redis memory by key family", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
