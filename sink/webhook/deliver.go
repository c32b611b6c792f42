package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/netguard"
	"github.com/paystream/paystream/pipeline/webhooksig"
)

const (
	bookkeepingTimeout = 15 * time.Second // producing the attempt record and storing the result
	maxErrorLen        = 512
	maxSnippetLen      = 160
)

// result is what one HTTP attempt came to.
type result struct {
	status     int           // HTTP status, 0 when no response
	err        string        // "" on 2xx; operator-readable, never the full URL
	host       string        // URL host only
	dur        time.Duration // of the HTTP exchange, 0 when no request was sent
	sent       bool
	retryAfter time.Duration // from a 429/503 Retry-After, 0 if none
}

func (r result) ok() bool { return r.sent && r.err == "" && r.status >= 200 && r.status < 300 }

// settled is one finished attempt waiting for its bookkeeping.
type settled struct {
	j           *job
	res         result
	at          time.Time // when the attempt was made (Config.Now)
	maxAttempts int
	base        time.Duration
}

// attempt makes one delivery attempt of a claimed job and returns its result for the bookkeeper
// (ok false when there is none to record: the merchant could not be read, and the job was put back,
// or shutdown cut the attempt short). The worker hands the result on and takes its lane's next job,
// so a merchant's concurrency bounds HTTP exchanges only, not Kafka and Redis round trips. attempt
// blocks up to Config.Timeout.
func (s *Sink) attempt(j *job) (st settled, ok bool) {
	ctx := s.attempts.HardContext()
	maxAttempts, base := s.cfg.MaxAttempts, s.cfg.BackoffBase

	var ep pipeline.WebhookEndpoint
	m, err := s.merchants.get(ctx, j.MerchantID)
	switch {
	case err == nil:
		ep = m.Webhooks[j.Env]
		if ep.MaxAttempts > 0 {
			maxAttempts = ep.MaxAttempts
		}
		if ep.BackoffBase > 0 {
			base = ep.BackoffBase
		}
	case errors.Is(err, errMerchantNotFound):
		// Counted as a failed attempt below ("no webhook URL configured").
	default:
		if ctx.Err() == nil {
			s.log.Warn("reading merchant failed; the webhook is retried without counting an attempt",
				"outcome", j.OutcomeID, "merchant", j.MerchantID, "environment", j.Env, "err", err)
			s.release(j, s.cfg.Now().Add(min(s.cfg.BackoffBase, 5*time.Second)))
		}
		return settled{}, false
	}
	target := j.URL
	if target == "" {
		target = ep.URL
	}

	now := s.cfg.Now()
	res := s.post(ctx, target, ep.Secret, dialectHeaders(m, j.Env), j, now)
	if ctx.Err() != nil {
		return settled{}, false // shutdown cut the attempt short: not the merchant's failure; the lease brings the job back
	}
	return settled{j: j, res: res, at: now, maxAttempts: maxAttempts, base: base}, true
}

// bookkeeper records finished attempts until s.settled is closed and drained: it takes what has
// arrived (at most settleBatch at a time, never waiting for more) and records it with bookkeep.
func (s *Sink) bookkeeper() {
	batch := make([]settled, 0, settleBatch)
	for st := range s.settled {
		batch = append(batch[:0], st)
	more:
		for len(batch) < settleBatch {
			select {
			case st, ok := <-s.settled:
				if !ok {
					break more
				}
				batch = append(batch, st)
			default:
				break more
			}
		}
		s.bookkeep(batch)
		clear(batch) // let the jobs go
	}
}

// settleBatch bounds the attempts recorded by one produce and one Redis pipeline.
const settleBatch = 256

// bookkeep records a batch of attempts: every attempt record is produced to the webhook-attempts
// topic, in one call, and only once Kafka acknowledged them all is each job's new state stored
// (done, retry or dead letter), in one Redis pipeline; each state change still checks its job's
// lease in its own script. If producing fails, every job of the batch is put back without a stored
// attempt and repeated later under the same attempt id.
func (s *Sink) bookkeep(batch []settled) {
	ctx := s.attempts.HardContext()
	recs := make([]pipeline.WebhookAttempt, len(batch))
	out := make([]bus.Record, len(batch))
	changes := make([]change, len(batch))
	n := 0 // entries kept: batch[:n], recs[:n], out[:n], changes[:n]
	for k := range batch {
		i := n
		batch[i] = batch[k]
		st := &batch[i]
		j, res := st.j, st.res
		seq := j.Seq + 1
		rec := &recs[i]
		*rec = pipeline.WebhookAttempt{
			ID:          j.OutcomeID + "/" + strconv.Itoa(seq),
			OutcomeID:   j.OutcomeID,
			MerchantID:  j.MerchantID,
			Environment: j.Env,
			IntentID:    j.IntentID,
			EventType:   j.Event,
			Attempt:     seq,
			HTTPStatus:  res.status,
			Error:       res.err,
			Duration:    res.dur,
			URLHost:     res.host,
			AcceptedAt:  j.AcceptedAt,
			AttemptedAt: st.at.UTC(),
		}
		failed := j.Attempts + 1
		c := change{j: j}
		switch {
		case res.ok():
			rec.Result = pipeline.WebhookDelivered
			c.kind = changeDone
		case failed < st.maxAttempts:
			rec.Result = pipeline.WebhookRetry
			delay := backoff(st.base, failed, randJitter())
			if res.retryAfter > delay {
				delay = res.retryAfter
			}
			c.kind, c.at = changeRetry, st.at.Add(delay)
		default:
			rec.Result = pipeline.WebhookDeadLetter
			c.kind = changeDead
		}
		if c.kind != changeDone {
			c.fields = []any{fSeq, seq, fLastStatus, res.status, fLastError, res.err, fLastAttemptAt, ms(st.at), fAttempts, failed}
		}
		changes[i] = c
		b, err := pipeline.EncodeWebhookAttempt(rec)
		if err != nil { // not expected: the record is built here. Dropped from the batch, repeated later.
			s.m.recordFailures.Inc()
			s.log.Error("encoding the webhook attempt record failed; the attempt is repeated later", "outcome", j.OutcomeID, "err", err)
			s.release(j, s.cfg.Now().Add(backoff(st.base, 1, randJitter())))
			continue
		}
		out[i] = bus.Record{Topic: s.cfg.Topics.WebhookAttempts(), Key: []byte(j.MerchantID), Value: b}
		n++
	}
	batch, recs, out, changes = batch[:n], recs[:n], out[:n], changes[:n]

	bctx, cancel := context.WithTimeout(ctx, bookkeepingTimeout)
	defer cancel()
	if err := s.co.Load().Produce(bctx, out...); err != nil {
		s.m.recordFailures.Add(float64(len(batch)))
		if ctx.Err() == nil {
			s.log.Error("producing webhook attempt records failed; the attempts are repeated later", "attempts", len(batch), "err", err)
			for i := range batch {
				s.release(batch[i].j, s.cfg.Now().Add(backoff(batch[i].base, 1, randJitter())))
			}
		}
		return
	}

	now := s.cfg.Now()
	for i := range batch {
		st, rec := &batch[i], &recs[i]
		env := envLabel(st.j.Env)
		s.m.attempts.WithLabelValues(string(rec.Result), env).Inc()
		if rec.Result != pipeline.WebhookDelivered {
			s.m.failing.fail(st.j.MerchantID, env)
		}
		if st.res.sent {
			s.m.attemptDuration.Observe(st.res.dur.Seconds())
		}
		switch rec.Result {
		case pipeline.WebhookDelivered:
			changes[i].at = now
			if !st.j.AcceptedAt.IsZero() {
				s.m.deliveryLatency.WithLabelValues(env).Observe(now.Sub(st.j.AcceptedAt).Seconds())
			}
		case pipeline.WebhookDeadLetter:
			changes[i].at = now
			s.log.Warn("webhook dead-lettered", "outcome", st.j.OutcomeID, "merchant", st.j.MerchantID, "environment", st.j.Env,
				"attempts", st.j.Attempts+1, "host", st.res.host, "status", st.res.status, "err", st.res.err)
		}
	}
	results := s.store.apply(bctx, changes)
	for i, r := range results {
		if r.err == nil && r.ok {
			continue
		}
		j := changes[i].j
		switch changes[i].kind {
		case changeDone:
			s.log.Error("webhook delivered but not marked done; it will be delivered again after the lease",
				"outcome", j.OutcomeID, "merchant", j.MerchantID, "environment", j.Env, "err", r.err)
		case changeRetry:
			s.log.Warn("storing the webhook retry failed; the job returns after its lease",
				"outcome", j.OutcomeID, "merchant", j.MerchantID, "environment", j.Env, "err", r.err, "lease_lost", r.err == nil)
		case changeDead:
			s.log.Warn("storing the webhook dead letter failed; the job returns after its lease",
				"outcome", j.OutcomeID, "merchant", j.MerchantID, "environment", j.Env, "err", r.err, "lease_lost", r.err == nil)
		}
	}
}

// release puts a held job back, due at at, without counting an attempt.
func (s *Sink) release(j *job, at time.Time) {
	ctx, cancel := context.WithTimeout(s.attempts.HardContext(), bookkeepingTimeout)
	defer cancel()
	if _, err := s.store.reschedule(ctx, j, at); err != nil {
		s.log.Warn("releasing webhook job failed; it returns after its lease", "outcome", j.OutcomeID, "err", err)
	}
}

// post signs and sends the job's body to rawURL with the dialect's extra headers (which never
// replace the signature headers). Errors are described for the audit and for operators without the
// URL's path or query (they may carry the merchant's tokens).
func (s *Sink) post(ctx context.Context, rawURL, secret string, extra http.Header, j *job, now time.Time) result {
	var r result
	if rawURL == "" {
		r.err = fmt.Sprintf("no webhook URL configured for %s", j.Env)
		return r
	}
	u, err := netguard.ParseURL(rawURL)
	if err != nil {
		r.err = "invalid webhook URL: " + err.Error()
		return r
	}
	r.host = u.Hostname()
	if secret == "" {
		r.err = fmt.Sprintf("no webhook secret configured for %s", j.Env)
		return r
	}
	h, err := webhooksig.Sign(secret, j.OutcomeID, now, j.Body)
	if err != nil {
		r.err = "signing webhook: " + err.Error()
		return r
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u.String(), bytes.NewReader(j.Body))
	if err != nil {
		r.err = "building request: " + describe(err)
		return r
	}
	req.Header = h
	for k, vs := range extra {
		if req.Header.Get(k) == "" {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)

	start := time.Now()
	r.sent = true
	resp, err := s.client.Do(req)
	if err != nil {
		r.dur = time.Since(start)
		r.err = describe(err)
		return r
	}
	// A body that breaks off after a 2xx status line does not undo the delivery: ignore read errors.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	_ = resp.Body.Close()
	r.dur = time.Since(start)
	r.status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		r.err = "HTTP " + strconv.Itoa(resp.StatusCode)
		if sn := snippet(body); sn != "" {
			r.err += ": " + sn
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			r.retryAfter, _ = retryAfter(resp.Header.Get("Retry-After"), s.cfg.Now())
		}
	}
	return r
}

// describe renders an HTTP client error without the request URL that *url.Error repeats.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			err = fmt.Errorf("timeout: %w", ue.Err)
		} else {
			err = ue.Err
		}
	}
	s := err.Error()
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
	}
	return strings.ToValidUTF8(s, "?")
}

// snippet is the start of a response body, printable, for the attempt's error text.
func snippet(b []byte) string {
	if len(b) > maxSnippetLen {
		b = b[:maxSnippetLen]
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.ToValidUTF8(string(b), ""))
	return strings.TrimSpace(s)
}
