package webhook

import (
	"context"
	"time"

	"github.com/google/uuid"
)

const (
	pollInterval  = 100 * time.Millisecond // how often due jobs are looked for when nothing wakes the dispatcher
	claimBatch    = 128                    // jobs claimed per Redis call at most
	gaugeInterval = 2 * time.Second        // queue gauges refresh
	laneIdleTTL   = time.Minute            // an idle lane's statistics are forgotten after this
	minLaneDefer  = 100 * time.Millisecond // a job whose lane is full comes back after at least this
	maxLaneDefer  = time.Minute
	// laneQueuePerSlot bounds the claimed jobs a full lane holds in memory, per concurrency slot:
	// they start as soon as one of the lane's attempts ends, instead of going back to Redis. Queued
	// jobs count against MaxInFlight, so memory stays bounded by it.
	laneQueuePerSlot = 8
)

// lane bounds one merchant environment's concurrent attempts. Guarded by Sink.mu.
type lane struct {
	active   int
	avg      time.Duration // moving average of attempt durations, to space out deferred jobs
	lastUsed time.Time
	queue    []queued // claimed jobs waiting for one of the lane's slots, oldest first
}

// queued is a claimed job waiting in its lane.
type queued struct {
	j         *job
	claimedAt time.Time
}

func laneKey(j *job) string { return j.MerchantID + "\x00" + string(j.Env) }

// task is a claimed job handed to a worker with the lane slot reserved for it.
type task struct {
	j  *job
	ln *lane
}

// startWorkers starts the bookkeeper and MaxInFlight attempt workers in s.attempts. Each worker
// takes tasks until run closes s.tasks; the last one to return closes s.settled, which ends the
// bookkeeper once it recorded everything. It reports false, having started nothing that waits, when
// the sink is already closing.
func (s *Sink) startWorkers() bool {
	if err := s.attempts.Go("webhook bookkeeper", func(context.Context) { s.bookkeeper() }); err != nil {
		return false
	}
	s.workers.Store(int64(s.cfg.MaxInFlight))
	for range s.cfg.MaxInFlight {
		if err := s.attempts.Go("webhook worker", func(context.Context) { s.worker() }); err != nil {
			s.workerDone()
		}
	}
	return true
}

// worker runs the tasks the dispatcher hands it until s.tasks is closed. Its context is not used:
// a task taken is finished (under the hard context), also after the soft stop.
func (s *Sink) worker() {
	defer s.workerDone()
	for t := range s.tasks {
		s.work(t.j, t.ln)
	}
}

func (s *Sink) workerDone() {
	if s.workers.Add(-1) == 0 {
		close(s.settled)
	}
}

// dispatch claims due jobs and starts them until ctx is done. Runs in one goroutine.
func (s *Sink) dispatch(ctx context.Context) {
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	gauges := time.NewTicker(gaugeInterval)
	defer gauges.Stop()
	var lastErrLog time.Time
	s.refreshGauges(ctx)
	for {
		if err := s.claimAndStart(ctx); err != nil && ctx.Err() == nil && time.Since(lastErrLog) > 10*time.Second {
			lastErrLog = time.Now()
			s.log.Warn("claiming webhook jobs failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-s.wake:
		case <-gauges.C:
			s.refreshGauges(ctx)
		}
	}
}

// claimAndStart claims as many due jobs as there is capacity for and starts them; jobs whose lane
// is full go back to the due set for a little later, so they do not hold the head of the queue.
func (s *Sink) claimAndStart(ctx context.Context) error {
	for ctx.Err() == nil {
		s.mu.Lock()
		free := s.cfg.MaxInFlight - s.inflight - s.queued
		s.mu.Unlock()
		if free <= 0 {
			return nil // a finishing attempt wakes the dispatcher
		}
		n := min(free, claimBatch)
		now := s.cfg.Now()
		jobs, err := s.store.claim(ctx, now, now.Add(s.cfg.lease()), n, uuid.NewString())
		if err != nil {
			return err
		}
		type deferred struct {
			j  *job
			at time.Time
		}
		var later []deferred
		var start []task
		perLane := map[string]int{}
		s.mu.Lock()
		for _, j := range jobs {
			k := laneKey(j)
			ln := s.lanes[k]
			if ln == nil {
				ln = &lane{}
				s.lanes[k] = ln
			}
			ln.lastUsed = now
			if ln.active >= s.cfg.PerMerchantConcurrency && len(ln.queue) < laneQueuePerSlot*s.cfg.PerMerchantConcurrency {
				ln.queue = append(ln.queue, queued{j, now})
				s.queued++
				continue
			}
			if ln.active >= s.cfg.PerMerchantConcurrency {
				// Space this lane's backlog out over roughly when its slots free up.
				i := perLane[k]
				perLane[k]++
				d := max(minLaneDefer, ln.avg) * time.Duration(1+i/s.cfg.PerMerchantConcurrency)
				d = min(d, maxLaneDefer)
				d += time.Duration(float64(d) * 0.2 * (randJitter() + 1) / 2)
				later = append(later, deferred{j, now.Add(d)})
				continue
			}
			ln.active++
			s.inflight++
			start = append(start, task{j, ln})
		}
		inflight, queuedJobs := s.inflight, s.queued
		s.mu.Unlock()
		s.m.inflight.Set(float64(inflight))
		s.m.laneQueued.Set(float64(queuedJobs))
		// Every task holds an in-flight slot and there are MaxInFlight workers, so a worker is free
		// or about to be (one that just gave its slot back): the send waits at most for that.
		for _, t := range start {
			select {
			case s.tasks <- t:
			case <-s.attempts.HardContext().Done(): // abandoned: no worker takes it any more
				s.mu.Lock()
				t.ln.active--
				s.inflight--
				s.mu.Unlock()
				s.release(t.j, now)
			}
		}
		if len(later) > 0 {
			s.m.laneFull.Add(float64(len(later)))
			changes := make([]change, len(later))
			for i, d := range later {
				changes[i] = change{kind: changeRetry, j: d.j, at: d.at}
			}
			for _, r := range s.store.apply(ctx, changes) { // one pipeline
				if r.err != nil {
					// The lease brings it back anyway.
					s.log.Debug("deferring webhook job of a full lane", "err", r.err)
				}
			}
		}
		if len(jobs) < n {
			return nil
		}
	}
	return nil
}

// work runs one attempt, then the attempts queued in its lane one after another, hands each result
// to the bookkeeper, and releases its slots. A queued job that waited past half its lease goes back
// to Redis instead (another claim could take it over once the lease ends), and so does every
// queued job once the sink stops.
func (s *Sink) work(j *job, ln *lane) {
	defer func() {
		s.mu.Lock()
		ln.active--
		s.inflight--
		ln.lastUsed = s.cfg.Now()
		inflight := s.inflight
		s.mu.Unlock()
		s.m.inflight.Set(float64(inflight))
		s.poke()
	}()
	for j != nil {
		start := time.Now()
		if st, ok := s.attempt(j); ok {
			s.settled <- st // bounded: Kafka or Redis slowing down slows the lanes too
		}
		d := time.Since(start)
		s.mu.Lock()
		if ln.avg == 0 {
			ln.avg = d
		} else {
			ln.avg = (ln.avg*4 + d) / 5
		}
		j = nil
		var stale []*job
		for len(ln.queue) > 0 && j == nil {
			q := ln.queue[0]
			ln.queue[0] = queued{}
			ln.queue = ln.queue[1:]
			s.queued--
			if s.attempts.HardContext().Err() != nil || s.life.Stopping() || s.cfg.Now().Sub(q.claimedAt) > s.cfg.lease()/2 {
				stale = append(stale, q.j)
				continue
			}
			j = q.j
		}
		if len(ln.queue) == 0 {
			ln.queue = nil // let the backing array go
		}
		queuedJobs := s.queued
		s.mu.Unlock()
		s.m.laneQueued.Set(float64(queuedJobs))
		for _, sj := range stale {
			s.release(sj, s.cfg.Now())
		}
	}
}

// releaseQueued puts every job waiting in a lane back in Redis, due now: the dispatcher stopped.
func (s *Sink) releaseQueued() {
	s.mu.Lock()
	var jobs []*job
	for _, ln := range s.lanes {
		for _, q := range ln.queue {
			jobs = append(jobs, q.j)
		}
		ln.queue = nil
	}
	s.queued = 0
	s.mu.Unlock()
	s.m.laneQueued.Set(0)
	for _, j := range jobs {
		s.release(j, s.cfg.Now())
	}
}

// refreshGauges updates the queue gauges and forgets idle lanes.
func (s *Sink) refreshGauges(ctx context.Context) {
	now := s.cfg.Now()
	s.mu.Lock()
	for k, ln := range s.lanes {
		if ln.active == 0 && len(ln.queue) == 0 && now.Sub(ln.lastUsed) > laneIdleTTL {
			delete(s.lanes, k)
		}
	}
	s.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	due, pending, dead, err := s.store.counts(cctx, now)
	if err != nil {
		return
	}
	s.m.due.Set(float64(due))
	s.m.pending.Set(float64(pending))
	s.m.dead.Set(float64(dead))
}
