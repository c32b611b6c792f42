package webhook

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// store is the durable webhook queue in Redis (layout in doc.go). Every script touches keys of the
// one {wh} hash tag only. Job keys built inside the scripts share that tag, so the scripts stay
// single-slot in Redis Cluster.
type store struct {
	rdb  redis.UniversalClient
	tag  string
	job  string // job key prefix: tag + ":job:"
	due  string
	dead string

	enqueueLoaded atomic.Bool
}

func newStore(rdb redis.UniversalClient, keys pipeline.Keys) *store {
	tag := keys.WebhookTag()
	return &store{rdb: rdb, tag: tag, job: tag + ":job:", due: tag + ":due", dead: tag + ":dead"}
}

func (s *store) jobKey(id string) string  { return s.job + id }
func (s *store) doneKey(id string) string { return s.tag + ":done:" + id }

// job is one outcome's webhook as stored.
type job struct {
	OutcomeID  string
	MerchantID string
	Env        pipeline.Environment
	Event      string
	IntentID   string
	URL        string // per-intent override of the endpoint URL, "" for none
	Body       []byte
	AcceptedAt time.Time
	EnqueuedAt time.Time
	Attempts   int // failed attempts in the current round (Redeliver resets it)
	Seq        int // attempts ever made (never reset): attempt n has id "<outcome id>/<n>"
	Lease      string

	LastStatus    int
	LastError     string
	LastAttemptAt time.Time
}

// Hash field names.
const (
	fMerchant      = "merchant"
	fEnv           = "env"
	fEvent         = "event"
	fIntent        = "intent"
	fURL           = "url"
	fBody          = "body"
	fAcceptedAt    = "accepted_at"
	fEnqueuedAt    = "enqueued_at"
	fAttempts      = "attempts"
	fSeq           = "seq"
	fLease         = "lease"
	fLastStatus    = "last_status"
	fLastError     = "last_error"
	fLastAttemptAt = "last_attempt_at"
)

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// formatTime and parseTime keep a time exactly (accepted_at is copied into attempt records, which
// the audit joins with the outcome's).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// KEYS: job, done, due. ARGV: id, score, field/value pairs...
// Returns 1 when stored, 0 when a job or done marker already exists (a replay).
var enqueueScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
`)

const enqueueChunk = 512

// enqueue stores jobs that have neither a job nor a done marker yet, pipelined, and returns the
// jobs that were new. It returns nil only when Redis answered every script.
func (s *store) enqueue(ctx context.Context, jobs []*job, now time.Time) ([]*job, error) {
	if !s.enqueueLoaded.Load() {
		if err := enqueueScript.Load(ctx, s.rdb).Err(); err != nil {
			return nil, fmt.Errorf("loading webhook enqueue script: %w", err)
		}
		s.enqueueLoaded.Store(true)
	}
	var added []*job
	for start := 0; start < len(jobs); start += enqueueChunk {
		chunk := jobs[start:min(start+enqueueChunk, len(jobs))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(chunk))
		for i, j := range chunk {
			cmds[i] = enqueueScript.EvalSha(ctx, pipe,
				[]string{s.jobKey(j.OutcomeID), s.doneKey(j.OutcomeID), s.due},
				j.OutcomeID, ms(now),
				fMerchant, j.MerchantID, fEnv, string(j.Env), fEvent, j.Event, fIntent, j.IntentID,
				fURL, j.URL, fBody, j.Body, fAcceptedAt, formatTime(j.AcceptedAt), fEnqueuedAt, ms(now),
				fAttempts, 0, fSeq, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			if redis.HasErrorPrefix(err, "NOSCRIPT") {
				s.enqueueLoaded.Store(false) // Redis lost its script cache; load again on the retry
			}
			return nil, fmt.Errorf("storing %d webhook jobs: %w", len(chunk), err)
		}
		for i, c := range cmds { // one command per job of chunk, in order
			if n, _ := c.Int(); n == 1 && i < len(chunk) {
				added = append(added, chunk[i])
			}
		}
	}
	return added, nil
}

// claimFields are the job fields a claim reads, in the order the claim script returns them.
var claimFields = []any{fMerchant, fEnv, fEvent, fIntent, fURL, fBody, fAcceptedAt, fEnqueuedAt, fAttempts, fSeq,
	fLastStatus, fLastError, fLastAttemptAt}

// KEYS: due. ARGV: now ms, lease-until ms, limit, lease token, job key prefix, claimFields...
// Returns a flat array id1, values1, id2, values2, ... of the claimed jobs, values in claimFields
// order (false for a missing field); ids whose job hash is gone are dropped from the due set.
var claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local jk = ARGV[5] .. id
  if redis.call('EXISTS', jk) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    local values = redis.call('HMGET', jk, unpack(ARGV, 6))
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', jk, 'lease', ARGV[4])
    out[#out + 1] = id
    out[#out + 1] = values
  end
end
return out
`)

// claim leases up to limit jobs due at now until leaseUntil under token.
func (s *store) claim(ctx context.Context, now, leaseUntil time.Time, limit int, token string) ([]*job, error) {
	args := append([]any{ms(now), ms(leaseUntil), limit, token, s.job}, claimFields...)
	v, err := claimScript.Run(ctx, s.rdb, []string{s.due}, args...).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("claiming due webhook jobs: %w", err)
	}
	jobs := make([]*job, 0, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		id, _ := v[i].(string)
		raw, _ := v[i+1].([]any)
		f := func(k int) string {
			if k >= len(raw) {
				return ""
			}
			s, _ := raw[k].(string)
			return s
		}
		jobs = append(jobs, &job{ // indexes: claimFields
			OutcomeID:     id,
			MerchantID:    f(0),
			Env:           pipeline.Environment(f(1)),
			Event:         f(2),
			IntentID:      f(3),
			URL:           f(4),
			Body:          []byte(f(5)),
			AcceptedAt:    parseTime(f(6)),
			EnqueuedAt:    fromMS(f(7)),
			Attempts:      atoi(f(8)),
			Seq:           atoi(f(9)),
			Lease:         token,
			LastStatus:    atoi(f(10)),
			LastError:     f(11),
			LastAttemptAt: fromMS(f(12)),
		})
	}
	return jobs, nil
}

// KEYS: job, due. ARGV: id, lease token, due-at ms, field/value pairs...
// Re-scores a job this claimer still holds and updates fields; 0 when the lease was lost.
var rescheduleScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[2] then
  return 0
end
if #ARGV > 3 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 4))
end
redis.call('HSET', KEYS[1], 'lease', '')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
`)

// reschedule puts a held job back in the due set at at, setting fields (pairs) first. It reports
// false when another claimer took the job over (lease expired): nothing was changed.
func (s *store) reschedule(ctx context.Context, j *job, at time.Time, fields ...any) (bool, error) {
	r := s.apply(ctx, []change{{kind: changeRetry, j: j, at: at, fields: fields}})[0]
	return r.ok, r.err
}

// KEYS: job, due, dead. ARGV: id, lease token, dead-at ms, field/value pairs...
var deadScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSET', KEYS[1], 'lease', '')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
`)

// deadLetter moves a held job to the dead-letter set, keeping it for Redeliver, setting fields
// (pairs) first. It reports false when another claimer took the job over: nothing was changed.
func (s *store) deadLetter(ctx context.Context, j *job, at time.Time, fields ...any) (bool, error) {
	r := s.apply(ctx, []change{{kind: changeDead, j: j, at: at, fields: fields}})[0]
	return r.ok, r.err
}

// KEYS: job, due, dead, done. ARGV: id, delivered-at ms, ttl seconds.
// Unconditional: a delivered webhook is delivered, whoever holds the lease now.
var doneScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
`)

// done records a delivery: the job is deleted and a done marker kept for DoneTTL.
func (s *store) done(ctx context.Context, id string, at time.Time) error {
	return s.apply(ctx, []change{{kind: changeDone, j: &job{OutcomeID: id}, at: at}})[0].err
}

// KEYS: job, due, dead, done. ARGV: id, now ms.
// 1 moved, 0 no job, 2 delivered, 3 still scheduled.
var redeliverScript = redis.NewScript(`
if redis.call('ZSCORE', KEYS[3], ARGV[1]) == false then
  if redis.call('EXISTS', KEYS[4]) == 1 then return 2 end
  if redis.call('EXISTS', KEYS[1]) == 1 then return 3 end
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 'attempts', 0, 'lease', '')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
`)

func (s *store) redeliver(ctx context.Context, id string, now time.Time) error {
	n, err := redeliverScript.Run(ctx, s.rdb, []string{s.jobKey(id), s.due, s.dead, s.doneKey(id)}, id, ms(now)).Int()
	if err != nil {
		return fmt.Errorf("redelivering webhook %s: %w", id, err)
	}
	switch n {
	case 1:
		return nil
	case 2:
		return fmt.Errorf("redelivering webhook %s: %w", id, ErrAlreadyDelivered)
	case 3:
		return fmt.Errorf("redelivering webhook %s: %w", id, ErrNotDeadLettered)
	default:
		return fmt.Errorf("redelivering webhook %s: %w", id, ErrJobNotFound)
	}
}

// counts returns the jobs due at now, all pending jobs and the dead letters.
func (s *store) counts(ctx context.Context, now time.Time) (due, pending, dead int64, err error) {
	pipe := s.rdb.Pipeline()
	d := pipe.ZCount(ctx, s.due, "-inf", strconv.FormatInt(ms(now), 10))
	p := pipe.ZCard(ctx, s.due)
	x := pipe.ZCard(ctx, s.dead)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, 0, 0, fmt.Errorf("counting webhook jobs: %w", err)
	}
	return d.Val(), p.Val(), x.Val(), nil
}

// changeKind is what an attempt's bookkeeping does to its job.
type changeKind uint8

const (
	changeDone  changeKind = iota + 1 // delivered: done (unconditional, see doneScript)
	changeRetry                       // re-scored to at, if the lease is still held
	changeDead                        // dead-lettered at at, if the lease is still held
)

// change is one job's new state after an attempt.
type change struct {
	kind   changeKind
	j      *job
	at     time.Time
	fields []any // field/value pairs stored with a retry or a dead letter
}

// applied is what storing one change came to: ok false with a nil err means the lease was lost
// (another claimer holds the job; nothing was changed).
type applied struct {
	ok  bool
	err error
}

// apply stores changes (of held jobs) in one pipeline, each with its own script, so each keeps its own lease
// check; the result of changes[i] is at index i. A script Redis does not have cached (NOSCRIPT) is
// sent again in full, on its own.
func (s *store) apply(ctx context.Context, changes []change) []applied {
	type call struct {
		verb string
		sc   *redis.Script
		keys []string
		args []any
		cmd  *redis.Cmd
	}
	calls := make([]call, 0, len(changes))
	for _, c := range changes {
		id := c.j.OutcomeID
		switch c.kind {
		case changeDone:
			calls = append(calls, call{verb: "marking webhook delivered", sc: doneScript,
				keys: []string{s.jobKey(id), s.due, s.dead, s.doneKey(id)}, args: []any{id, ms(c.at), int64(DoneTTL / time.Second)}})
		case changeRetry:
			calls = append(calls, call{verb: "rescheduling webhook job", sc: rescheduleScript,
				keys: []string{s.jobKey(id), s.due}, args: append([]any{id, c.j.Lease, ms(c.at)}, c.fields...)})
		default:
			calls = append(calls, call{verb: "dead-lettering webhook job", sc: deadScript,
				keys: []string{s.jobKey(id), s.due, s.dead}, args: append([]any{id, c.j.Lease, ms(c.at)}, c.fields...)})
		}
	}
	pipe := s.rdb.Pipeline()
	for i := range calls {
		c := &calls[i]
		c.cmd = c.sc.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	if len(calls) > 0 {
		_, _ = pipe.Exec(ctx) // errors are per command
	}
	out := make([]applied, 0, len(calls))
	for i := range calls {
		c := &calls[i]
		n, err := c.cmd.Int()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			n, err = c.sc.Run(ctx, s.rdb, c.keys, c.args...).Int()
		}
		if err != nil {
			out = append(out, applied{err: fmt.Errorf("%s: %w", c.verb, err)})
			continue
		}
		out = append(out, applied{ok: n == 1})
	}
	return out
}
