package webhook

import (
	"errors"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
)

func testJob(id string) *job {
	return &job{OutcomeID: id, MerchantID: "m1", Env: pipeline.Sandbox, Event: "payment.paid", IntentID: "i-" + id,
		Body: []byte(`{"id":"` + id + `"}`), AcceptedAt: time.UnixMilli(1_700_000_000_000)}
}

func TestStoreEnqueueDedupes(t *testing.T) {
	rdb, keys := testRedis(t)
	st := newStore(rdb, keys)
	ctx := t.Context()
	now := time.UnixMilli(1_800_000_000_000)

	added, err := st.enqueue(ctx, []*job{testJob("a"), testJob("b"), testJob("a")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 2 {
		t.Fatalf("added %d jobs, want 2 (a twice in one batch)", len(added))
	}
	if added, _ := st.enqueue(ctx, []*job{testJob("a")}, now); len(added) != 0 {
		t.Fatal("replayed job stored again")
	}
	// A delivered job's done marker blocks re-enqueueing.
	if err := st.done(ctx, "b", now); err != nil {
		t.Fatal(err)
	}
	if added, _ := st.enqueue(ctx, []*job{testJob("b")}, now); len(added) != 0 {
		t.Fatal("delivered job enqueued again")
	}
	if ttl := rdb.TTL(ctx, st.doneKey("b")).Val(); ttl < DoneTTL-time.Minute {
		t.Fatalf("done marker TTL %v", ttl)
	}
	// Every key is in the {wh} hash tag.
	for _, k := range rdb.Keys(ctx, keys.Prefix+":*").Val() {
		if !containsAll(k, ":{wh}:") {
			t.Errorf("key %q is outside the {wh} hash tag", k)
		}
	}
}

func TestStoreClaimLeaseAndFencing(t *testing.T) {
	rdb, keys := testRedis(t)
	st := newStore(rdb, keys)
	ctx := t.Context()
	t0 := time.UnixMilli(1_800_000_000_000)
	lease := 40 * time.Second
	if _, err := st.enqueue(ctx, []*job{testJob("a")}, t0); err != nil {
		t.Fatal(err)
	}

	jobs, err := st.claim(ctx, t0, t0.Add(lease), 10, "tok1")
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	j := jobs[0]
	if j.OutcomeID != "a" || j.MerchantID != "m1" || string(j.Body) != `{"id":"a"}` || j.Lease != "tok1" || !j.AcceptedAt.Equal(time.UnixMilli(1_700_000_000_000)) {
		t.Fatalf("claimed %+v", j)
	}
	if again, _ := st.claim(ctx, t0.Add(time.Second), t0.Add(lease), 10, "tok2"); len(again) != 0 {
		t.Fatal("a leased job was claimed twice")
	}
	// The claimer "crashes": after the lease the job is claimable again, under a new token.
	stolen, _ := st.claim(ctx, t0.Add(lease+time.Millisecond), t0.Add(2*lease), 10, "tok2")
	if len(stolen) != 1 || stolen[0].Lease != "tok2" {
		t.Fatalf("job did not come back after the lease: %v", stolen)
	}
	// The first claimer's late result is fenced off.
	if ok, err := st.reschedule(ctx, j, t0, fAttempts, 1); err != nil || ok {
		t.Fatalf("stale reschedule: ok=%v err=%v", ok, err)
	}
	if ok, err := st.deadLetter(ctx, j, t0, fAttempts, 1); err != nil || ok {
		t.Fatalf("stale dead letter: ok=%v err=%v", ok, err)
	}
	// The current holder's retry works.
	if ok, err := st.reschedule(ctx, stolen[0], t0.Add(time.Hour), fAttempts, 1, fSeq, 1); err != nil || !ok {
		t.Fatalf("reschedule: ok=%v err=%v", ok, err)
	}
	if n, _ := st.claim(ctx, t0.Add(time.Hour-time.Millisecond), t0.Add(2*time.Hour), 10, "x"); len(n) != 0 {
		t.Fatal("claimed before its retry time")
	}
	got, _ := st.claim(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 10, "tok3")
	if len(got) != 1 || got[0].Attempts != 1 || got[0].Seq != 1 {
		t.Fatalf("after retry: %+v", got)
	}
	// A due id whose job hash vanished is dropped.
	rdb.ZAdd(ctx, st.due, redisZ(t0, "ghost"))
	if g, _ := st.claim(ctx, t0.Add(3*time.Hour), t0.Add(4*time.Hour), 10, "tok4"); len(g) != 1 || g[0].OutcomeID != "a" {
		t.Fatalf("claim with ghost: %v", g)
	}
	if rdb.ZScore(ctx, st.due, "ghost").Err() == nil {
		t.Fatal("ghost id still in the due set")
	}
}

func TestStoreDeadLetterAndRedeliver(t *testing.T) {
	rdb, keys := testRedis(t)
	st := newStore(rdb, keys)
	ctx := t.Context()
	t0 := time.Now()
	if _, err := st.enqueue(ctx, []*job{testJob("a"), testJob("b")}, t0); err != nil {
		t.Fatal(err)
	}
	if err := Redeliver(ctx, rdb, keys, "a"); !errors.Is(err, ErrNotDeadLettered) {
		t.Fatalf("redeliver of a scheduled job: %v", err)
	}
	if err := Redeliver(ctx, rdb, keys, "nope"); !errors.Is(err, ErrJobNotFound) {
		t.Fatalf("redeliver of an unknown id: %v", err)
	}
	jobs, _ := st.claim(ctx, t0, t0.Add(time.Minute), 10, "tok")
	if len(jobs) != 2 {
		t.Fatalf("claimed %d", len(jobs))
	}
	for i, j := range jobs {
		ok, err := st.deadLetter(ctx, j, t0.Add(time.Duration(i)*time.Second), fAttempts, 5, fSeq, 5, fLastStatus, 500, fLastError, "HTTP 500", fLastAttemptAt, ms(t0))
		if err != nil || !ok {
			t.Fatalf("dead letter: %v %v", ok, err)
		}
	}
	dl, err := DeadLetters(ctx, rdb, keys, 10)
	if err != nil || len(dl) != 2 {
		t.Fatalf("dead letters %v %v", dl, err)
	}
	if dl[0].OutcomeID != jobs[1].OutcomeID || dl[0].Attempts != 5 || dl[0].LastHTTPStatus != 500 || dl[0].LastError != "HTTP 500" ||
		dl[0].MerchantID != "m1" || dl[0].Environment != pipeline.Sandbox || dl[0].EventType != "payment.paid" || dl[0].DeadAt.IsZero() {
		t.Fatalf("newest dead letter %+v", dl[0])
	}
	if one, _ := DeadLetters(ctx, rdb, keys, 1); len(one) != 1 {
		t.Fatalf("limit 1 gave %d", len(one))
	}
	if _, err := st.claim(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 10, "x"); err != nil {
		t.Fatal(err)
	}
	if err := Redeliver(ctx, rdb, keys, "a"); err != nil {
		t.Fatal(err)
	}
	back, _ := st.claim(ctx, time.Now(), time.Now().Add(time.Minute), 10, "tok2")
	if len(back) != 1 || back[0].OutcomeID != "a" || back[0].Attempts != 0 || back[0].Seq != 5 {
		t.Fatalf("redelivered job %+v", back)
	}
	if dl, _ := DeadLetters(ctx, rdb, keys, 10); len(dl) != 1 {
		t.Fatalf("dead letters after redeliver: %d", len(dl))
	}
	if err := st.done(ctx, "a", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := Redeliver(ctx, rdb, keys, "a"); !errors.Is(err, ErrAlreadyDelivered) {
		t.Fatalf("redeliver of a delivered job: %v", err)
	}
}

// TestStoreApplyBatchKeepsLeaseChecks: the bookkeeper stores many jobs' results in one pipeline;
// each change still checks its own job's lease, so one stale result in the batch is fenced off
// while the others (and an unconditional done) are stored, and the results come back in order.
func TestStoreApplyBatchKeepsLeaseChecks(t *testing.T) {
	rdb, keys := testRedis(t)
	st := newStore(rdb, keys)
	ctx := t.Context()
	t0 := time.UnixMilli(1_800_000_000_000)
	lease := 40 * time.Second
	ids := []string{"retry", "dead", "done", "stale-retry", "stale-dead", "stale-done"}
	var js []*job
	for _, id := range ids {
		js = append(js, testJob(id))
	}
	if _, err := st.enqueue(ctx, js, t0); err != nil {
		t.Fatal(err)
	}
	held, err := st.claim(ctx, t0, t0.Add(lease), 10, "tok1")
	if err != nil || len(held) != len(ids) {
		t.Fatalf("claim: %d jobs, %v", len(held), err)
	}
	byID := map[string]*job{}
	for _, j := range held {
		byID[j.OutcomeID] = j
	}
	// The stale ones were taken over by another claimer after the lease.
	for _, id := range []string{"stale-retry", "stale-dead", "stale-done"} {
		rdb.HSet(ctx, st.jobKey(id), fLease, "tok2")
	}
	later := t0.Add(time.Hour)
	changes := []change{
		{kind: changeRetry, j: byID["retry"], at: later, fields: []any{fAttempts, 1, fSeq, 1}},
		{kind: changeDead, j: byID["dead"], at: t0, fields: []any{fAttempts, 5, fSeq, 5}},
		{kind: changeDone, j: byID["done"], at: t0},
		{kind: changeRetry, j: byID["stale-retry"], at: later, fields: []any{fAttempts, 1}},
		{kind: changeDead, j: byID["stale-dead"], at: t0, fields: []any{fAttempts, 5}},
		{kind: changeDone, j: byID["stale-done"], at: t0}, // a delivery is a delivery, whoever holds the lease
	}
	got := st.apply(ctx, changes)
	want := []bool{true, true, true, false, false, true}
	if len(got) != len(want) {
		t.Fatalf("%d results for %d changes", len(got), len(want))
	}
	for i, r := range got {
		if r.err != nil || r.ok != want[i] {
			t.Errorf("%s: ok=%v err=%v, want ok=%v", changes[i].j.OutcomeID, r.ok, r.err, want[i])
		}
	}
	if s := rdb.ZScore(ctx, st.due, "retry").Val(); s != float64(ms(later)) || rdb.HGet(ctx, st.jobKey("retry"), fAttempts).Val() != "1" {
		t.Errorf("retry scored %v", s)
	}
	if rdb.ZScore(ctx, st.dead, "dead").Err() != nil || rdb.ZScore(ctx, st.due, "dead").Err() == nil {
		t.Error("dead letter not moved to the dead set")
	}
	for _, id := range []string{"done", "stale-done"} {
		if rdb.Exists(ctx, st.doneKey(id), st.jobKey(id)).Val() != 1 || rdb.Exists(ctx, st.doneKey(id)).Val() != 1 {
			t.Errorf("%s: not marked done", id)
		}
	}
	for _, id := range []string{"stale-retry", "stale-dead"} {
		if s := rdb.ZScore(ctx, st.due, id).Val(); s != float64(ms(t0.Add(lease))) || rdb.HGet(ctx, st.jobKey(id), fAttempts).Val() != "0" {
			t.Errorf("%s: a stale result changed the job (score %v)", id, s)
		}
	}
}
