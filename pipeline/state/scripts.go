package state

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// createScript creates an intent if its record does not exist.
//
//	KEYS: 1 intent hash, 2 idx:all, 3 idx:PENDING, 4 open:amt, [5 ref set]
//	ARGV: 1 intent id, 2 intent JSON, 3 created ms, 4 status PENDING
//
// Returns 1 when created, 0 when the record existed (whatever its status).
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'status', ARGV[4], 'version', '1', 'updatedAt', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
if #KEYS >= 5 then
  redis.call('SADD', KEYS[5], ARGV[1])
end
return 1
`)

// applyScript stores one decision, all or nothing.
//
//	KEYS: 1 applied marker, 2 trx key (or KEYS[1] when ARGV[4] is '0'), 3 payment records hash,
//	      4 payment index zset (unmatched or review), then 4 per transition starting at 5:
//	      intent hash, old status index, new status index, open-by-amount index
//	ARGV: 1 outcomes JSON, 2 marker TTL seconds, 3 event id, 4 mark trx '1'/'0',
//	      5 payment record JSON ('' for none), 6 payment score ms, 7 transition count, 8 'PENDING',
//	      then 10 per transition starting at 9: intent id, from status, from version, to status,
//	      to version, updatedAt ms, trx id, match type, reason, created ms
//
// Returns {1, outcomes} when the marker existed (nothing written), {2, kind, a, b} on a failed
// compare-and-set (nothing written), {0, outcomes} when applied.
var applyScript = redis.NewScript(`
local prev = redis.call('GET', KEYS[1])
if prev then
  return {1, prev}
end
if ARGV[4] == '1' then
  local seen = redis.call('GET', KEYS[2])
  if seen and seen ~= ARGV[3] then
    return {2, 'trx', seen, ''}
  end
end
local n = tonumber(ARGV[7])
for i = 0, n - 1 do
  local a = 9 + i * 10
  local k = 5 + i * 4
  local cur = redis.call('HMGET', KEYS[k], 'status', 'version')
  if cur[1] ~= ARGV[a + 1] or cur[2] ~= ARGV[a + 2] then
    return {2, ARGV[a], cur[1] or '', cur[2] or ''}
  end
end
for i = 0, n - 1 do
  local a = 9 + i * 10
  local k = 5 + i * 4
  redis.call('HSET', KEYS[k], 'status', ARGV[a + 3], 'version', ARGV[a + 4], 'updatedAt', ARGV[a + 5],
    'trxId', ARGV[a + 6], 'matchType', ARGV[a + 7], 'reason', ARGV[a + 8])
  redis.call('ZREM', KEYS[k + 1], ARGV[a])
  redis.call('ZADD', KEYS[k + 2], ARGV[a + 9], ARGV[a])
  if ARGV[a + 1] == ARGV[8] then
    redis.call('ZREM', KEYS[k + 3], ARGV[a])
  end
end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[2], ARGV[3])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return {0, ARGV[1]}
`)

// hashTag returns the part of key Redis Cluster hashes: the content of the first non-empty {...},
// else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// sameSlot checks that every key carries one hash tag.
func sameSlot(keys []string) error {
	for _, k := range keys[1:] {
		if hashTag(k) != hashTag(keys[0]) {
			return fmt.Errorf("%w: %q and %q", errCrossSlot, keys[0], k)
		}
	}
	return nil
}

// runScript runs sc with EVALSHA, falling back to EVAL when Redis lost its script cache, after
// checking the keys share one slot.
func (s *Store) runScript(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	if err := sameSlot(keys); err != nil {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(err)
		return cmd
	}
	return sc.Run(ctx, s.rdb, keys, args...)
}

// isNoScript reports Redis's answer to EVALSHA of an unknown script.
func isNoScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }
