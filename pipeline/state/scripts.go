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

// applyScript stores one decision, all or nothing: it checks every precondition before it writes
// anything, and the write operations it runs are validated first, so a malformed call writes
// nothing either.
//
//	KEYS: 1 applied marker, 2 wallet version, 3 trx key (or KEYS[1] when ARGV[4] is '0'),
//	      then one intent hash per transition (compare-and-set), then the keys of the operations
//	ARGV: 1 outcomes JSON, 2 marker TTL seconds, 3 event id, 4 the TrxID mark's TTL in ms ('0': no mark),
//	      5 expected wallet version ('' for no check), 6 transition count n, 7 operation count m,
//	      8 new wallet version ('' to increment it),
//	      then 3 per transition: intent id, from status, from version,
//	      then 4 per operation: name, key index, a, b (see the table in the script)
//
// Returns {1, outcomes} when the marker existed (nothing written), {2, kind, a, b} on a failed
// compare-and-set (nothing written; kind is 'trx', 'version' or the intent id), {0, outcomes} when
// applied.
var applyScript = redis.NewScript(`
local prev = redis.call('GET', KEYS[1])
if prev then
  return {1, prev}
end
if ARGV[5] ~= '' then
  local v = redis.call('GET', KEYS[2]) or '0'
  if v ~= ARGV[5] then
    return {2, 'version', v, ''}
  end
end
if ARGV[4] ~= '0' then
  local seen = redis.call('GET', KEYS[3])
  if seen and seen ~= ARGV[3] then
    return {2, 'trx', seen, ''}
  end
end
local n = tonumber(ARGV[6])
local m = tonumber(ARGV[7])
local a = 9
for i = 1, n do
  local cur = redis.call('HMGET', KEYS[3 + i], 'status', 'version')
  if cur[1] ~= ARGV[a + 1] or cur[2] ~= ARGV[a + 2] then
    return {2, ARGV[a], cur[1] or '', cur[2] or ''}
  end
  a = a + 3
end
local known = {hset = true, hdel = true, zadd = true, zrem = true, sadd = true, srem = true,
  set = true, setex = true, del = true, zcap = true, zbelow = true}
for i = 0, m - 1 do
  local o = a + i * 4
  if not known[ARGV[o]] or not KEYS[tonumber(ARGV[o + 1])] then
    return redis.error_reply('applyScript: bad operation ' .. tostring(ARGV[o]) .. ' on key ' .. tostring(ARGV[o + 1]))
  end
end
for i = 0, m - 1 do
  local o = a + i * 4
  local op, k, x, y = ARGV[o], KEYS[tonumber(ARGV[o + 1])], ARGV[o + 2], ARGV[o + 3]
  if op == 'hset' then
    redis.call('HSET', k, x, y)
  elseif op == 'hdel' then
    redis.call('HDEL', k, x)
  elseif op == 'zadd' then
    redis.call('ZADD', k, x, y)
  elseif op == 'zrem' then
    redis.call('ZREM', k, x)
  elseif op == 'sadd' then
    redis.call('SADD', k, x)
  elseif op == 'srem' then
    redis.call('SREM', k, x)
  elseif op == 'set' then
    redis.call('SET', k, x)
  elseif op == 'setex' then
    redis.call('SET', k, x, 'EX', y)
  elseif op == 'del' then
    redis.call('DEL', k)
  elseif op == 'zcap' then
    redis.call('ZREMRANGEBYRANK', k, 0, -tonumber(x) - 1)
  elseif op == 'zbelow' then
    redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. x)
  end
end
if ARGV[4] ~= '0' then
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
end
if ARGV[8] ~= '' then
  redis.call('SET', KEYS[2], ARGV[8])
else
  redis.call('INCR', KEYS[2])
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
