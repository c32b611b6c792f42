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

// attempt makes one delivery attempt of a claimed job and returns its bookkeeping (nil when there
// is none): the attempt record is produced first, then the job's new state is stored (done, retry
// or dead letter). The caller runs the bookkeeping after releasing the lane's slot, so a merchant's
// concurrency bounds HTTP exchanges only, not Kafka and Redis round trips. attempt blocks up to
// Config.Timeout; the bookkeeping up to bookkeepingTimeout.
func (s *Sink) attempt(j *job) (bookkeeping func()) {
	ctx := s.attempts.HardContext()
	log := s.log.With("outcome", j.OutcomeID, "merchant", j.MerchantID, "environment", j.Env)
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
			log.Warn("reading merchant failed; the webhook is retried without counting an attempt", "err", err)
			s.release(j, s.cfg.Now().Add(min(s.cfg.BackoffBase, 5*time.Second)))
		}
		return nil
	}
	target := j.URL
	if target == "" {
		target = ep.URL
	}

	now := s.cfg.Now()
	res := s.post(ctx, target, ep.Secret, dialectHeaders(m, j.Env), j, now)
	if ctx.Err() != nil {
		return nil // shutdown cut the attempt short: not the merchant's failure; the lease brings the job back
	}
	return func() { s.bookkeep(j, res, now, maxAttempts, base) }
}

// bookkeep records one attempt's result (see attempt).
func (s *Sink) bookkeep(j *job, res result, now time.Time, maxAttempts int, base time.Duration) {
	ctx := s.attempts.HardContext()
	log := s.log.With("outcome", j.OutcomeID, "merchant", j.MerchantID, "environment", j.Env)

	seq := j.Seq + 1
	rec := pipeline.WebhookAttempt{
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
		AttemptedAt: now.UTC(),
	}
	failed := j.Attempts + 1
	var next time.Time
	switch {
	case res.ok():
		rec.Result = pipeline.WebhookDelivered
	case failed < maxAttempts:
		rec.Result = pipeline.WebhookRetry
		delay := backoff(base, failed, randJitter())
		if res.retryAfter > delay {
			delay = res.retryAfter
		}
		next = now.Add(delay)
	default:
		rec.Result = pipeline.WebhookDeadLetter
	}

	bctx, cancel := context.WithTimeout(ctx, bookkeepingTimeout)
	defer cancel()
	if err := s.record(bctx, &rec); err != nil {
		s.m.recordFailures.Inc()
		if ctx.Err() == nil {
			log.Error("producing the webhook attempt record failed; the attempt is repeated later", "err", err)
			s.release(j, s.cfg.Now().Add(backoff(base, 1, randJitter())))
		}
		return
	}

	env := envLabel(j.Env)
	s.m.attempts.WithLabelValues(string(rec.Result), env).Inc()
	if rec.Result != pipeline.WebhookDelivered {
		s.m.failing.fail(j.MerchantID, env)
	}
	if res.sent {
		s.m.attemptDuration.Observe(res.dur.Seconds())
	}
	fields := []any{fSeq, seq, fLastStatus, res.status, fLastError, res.err, fLastAttemptAt, ms(now)}
	switch rec.Result {
	case pipeline.WebhookDelivered:
		if !j.AcceptedAt.IsZero() {
			s.m.deliveryLatency.WithLabelValues(env).Observe(s.cfg.Now().Sub(j.AcceptedAt).Seconds())
		}
		if err := s.store.done(bctx, j.OutcomeID, s.cfg.Now()); err != nil {
			log.Error("webhook delivered but not marked done; it will be delivered again after the lease", "err", err)
		}
	case pipeline.WebhookRetry:
		ok, err := s.store.reschedule(bctx, j, next, append(fields, fAttempts, failed)...)
		if err != nil || !ok {
			log.Warn("storing the webhook retry failed; the job returns after its lease", "err", err, "lease_lost", !ok)
		}
	case pipeline.WebhookDeadLetter:
		log.Warn("webhook dead-lettered", "attempts", failed, "host", res.host, "status", res.status, "err", res.err)
		ok, err := s.store.deadLetter(bctx, j, s.cfg.Now(), append(fields, fAttempts, failed)...)
		if err != nil || !ok {
			log.Warn("storing the webhook dead letter failed; the job returns after its lease", "err", err, "lease_lost", !ok)
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

// record produces the attempt to the webhook-attempts topic, keyed by merchant id, and waits for
// the broker's acknowledgement.
func (s *Sink) record(ctx context.Context, a *pipeline.WebhookAttempt) error {
	b, err := pipeline.EncodeWebhookAttempt(a)
	if err != nil {
		return fmt.Errorf("encoding webhook attempt: %w", err)
	}
	r := bus.Record{Topic: s.cfg.Topics.WebhookAttempts(), Key: []byte(a.MerchantID), Value: b}
	if err := s.co.Load().Produce(ctx, r); err != nil {
		return fmt.Errorf("producing webhook attempt: %w", err)
	}
	return nil
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
