package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// newRedisClient connects to the Redis paystream uses: the first of $PAYSTREAM_REDIS_ADDR
// (default 127.0.0.1:6379), with $PAYSTREAM_REDIS_PASSWORD.
func newRedisClient() *redis.Client {
	addr, _, _ := strings.Cut(os.Getenv("PAYSTREAM_REDIS_ADDR"), ",")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	return redis.NewClient(&redis.Options{Addr: addr, Password: os.Getenv("PAYSTREAM_REDIS_PASSWORD")})
}

// parseInfo reads the "field:value" lines of a Redis INFO answer; section headers ("# Memory"),
// blank lines and lines without a colon are skipped.
func parseInfo(s string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// redisStats is what INFO says about the Redis server at one instant.
type redisStats struct {
	pid        int   // process_id
	usedMemory int64 // used_memory, bytes
	commands   int64 // total_commands_processed
}

// statsFromInfo picks redisStats out of a parsed INFO answer.
func statsFromInfo(info map[string]string) (redisStats, error) {
	var s redisStats
	var err error
	if s.pid, err = strconv.Atoi(info["process_id"]); err != nil {
		return s, fmt.Errorf("INFO process_id %q: %w", info["process_id"], err)
	}
	if s.usedMemory, err = strconv.ParseInt(info["used_memory"], 10, 64); err != nil {
		return s, fmt.Errorf("INFO used_memory %q: %w", info["used_memory"], err)
	}
	if s.commands, err = strconv.ParseInt(info["total_commands_processed"], 10, 64); err != nil {
		return s, fmt.Errorf("INFO total_commands_processed %q: %w", info["total_commands_processed"], err)
	}
	return s, nil
}

// readRedisStats asks the server for INFO server, memory and stats.
func readRedisStats(ctx context.Context, rdb *redis.Client) (redisStats, error) {
	s, err := rdb.Info(ctx, "server", "memory", "stats").Result()
	if err != nil {
		return redisStats{}, fmt.Errorf("reading redis INFO: %w", err)
	}
	return statsFromInfo(parseInfo(s))
}

// redisCPU returns the CPU seconds (utime+stime) of Redis's process pid, after checking in
// /proc/<pid>/stat that it is a redis-server here (not a pid of another namespace).
func redisCPU(pid int) (float64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("redis pid %d", pid)
	}
	x, err := readProc(pid)
	if err != nil {
		return 0, fmt.Errorf("redis-server's CPU: %w", err)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(string(comm), "redis-server") {
		return 0, fmt.Errorf("/proc/%d is not redis-server (%q): is Redis in another container?", pid, strings.TrimSpace(string(comm)))
	}
	return x.cpuSeconds, nil
}

// keyFamily is the family of one of the run's keys: its first segment after the prefix and, if
// there is one, the hash tag ("p:{w:bkash:…}:intent:pi_1" → "intent", "p:{exp:3}:deadlines" →
// "deadlines", "p:merchant:m_1" → "merchant"); rate-limiter keys ("rate:p:…") are "rate". A key
// outside the run's prefix is "".
func keyFamily(key, prefix string) string {
	if strings.HasPrefix(key, "rate:"+prefix+":") {
		return "rate"
	}
	rest, ok := strings.CutPrefix(key, prefix+":")
	if !ok {
		return ""
	}
	if strings.HasPrefix(rest, "{") {
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return ""
		}
		rest = strings.TrimPrefix(rest[end+1:], ":")
	}
	fam, _, _ := strings.Cut(rest, ":")
	return fam
}

// FamilyReport is one key family of the run in Redis after the drain.
type FamilyReport struct {
	Family          string  `json:"family"`
	Keys            int     `json:"keys"`
	Sampled         int     `json:"sampled"`          // keys whose MEMORY USAGE was read
	Bytes           int64   `json:"bytes"`            // estimated: keys × mean sampled MEMORY USAGE
	KeysPerPayment  float64 `json:"keys_per_payment"` // over accepted payments (buildHeadline)
	BytesPerPayment float64 `json:"bytes_per_payment"`
}

// familyEstimate estimates a family's bytes from its key count and the MEMORY USAGE of a sample.
func familyEstimate(keys int, sampled []int64) int64 {
	if len(sampled) == 0 {
		return 0
	}
	var sum int64
	for _, b := range sampled {
		sum += b
	}
	return int64(float64(sum) / float64(len(sampled)) * float64(keys))
}

// scanFamilies counts every key under the run's prefix (and the rate limiter's) by family, and
// reads MEMORY USAGE of at most perFamily keys of each (a uniform reservoir sample), so the cost
// stays bounded on a large keyspace. Families are sorted by estimated bytes, largest first.
func scanFamilies(ctx context.Context, rdb *redis.Client, prefix string, perFamily int) ([]FamilyReport, error) {
	counts := map[string]int{}
	samples := map[string][]string{}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, pat := range []string{prefix + ":*", "rate:" + prefix + ":*"} {
		it := rdb.Scan(ctx, 0, pat, 1000).Iterator()
		for it.Next(ctx) {
			k := it.Val()
			f := keyFamily(k, prefix)
			if f == "" {
				continue
			}
			counts[f]++
			if s := samples[f]; len(s) < perFamily {
				samples[f] = append(s, k)
			} else if j := rng.IntN(counts[f]); j < perFamily {
				s[j] = k
			}
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("scanning %s: %w", pat, err)
		}
	}
	out := make([]FamilyReport, 0, len(counts))
	for _, f := range slices.Sorted(maps.Keys(counts)) {
		pipe := rdb.Pipeline()
		cmds := make([]*redis.IntCmd, len(samples[f]))
		for i, k := range samples[f] {
			cmds[i] = pipe.MemoryUsage(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("MEMORY USAGE of %s keys: %w", f, err)
		}
		var sizes []int64
		for _, c := range cmds {
			if v, err := c.Result(); err == nil {
				sizes = append(sizes, v) // a key gone meanwhile is left out
			}
		}
		fr := FamilyReport{Family: f, Keys: counts[f], Sampled: len(sizes), Bytes: familyEstimate(counts[f], sizes)}
		out = append(out, fr)
	}
	slices.SortStableFunc(out, func(a, b FamilyReport) int { return int(b.Bytes - a.Bytes) })
	return out, nil
}

// pendingDeadlines is how many intent deadlines the run's expiry shards (one per partition of
// the inbound topic) still hold: a ZCARD of each, in one pipeline.
func pendingDeadlines(ctx context.Context, rdb *redis.Client, prefix string, partitions int) (int64, error) {
	pipe := rdb.Pipeline()
	cmds := make([]*redis.IntCmd, partitions)
	for p := range partitions {
		cmds[p] = pipe.ZCard(ctx, prefix+":{exp:"+strconv.Itoa(p)+"}:deadlines")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("counting deadlines: %w", err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}
