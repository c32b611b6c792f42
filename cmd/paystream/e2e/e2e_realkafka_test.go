package e2e

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/paystream/paystream/pipeline"
)

// The real-Kafka tier: the fleet (every role its own process) on Apache Kafka started by
// deploy/local/kafka.sh instead of kfake. The single-broker tests share the broker
// deploy/local/test.sh starts for the whole suite (PAYSTREAM_TEST_KAFKA_BROKERS); each fleet has a
// topic prefix, and so consumer groups, of its own (newFleetOn). The chaos test starts its own
// three-broker cluster (PAYSTREAM_TEST_REAL_KAFKA=1).

const (
	envTestKafkaBrokers = "PAYSTREAM_TEST_KAFKA_BROKERS" // one real broker, shared: kafka.sh start | tail -1
	envTestRealKafka    = "PAYSTREAM_TEST_REAL_KAFKA"    // 1: tests may start their own clusters with kafka.sh
)

// realBroker returns the shared real broker's bootstrap list, or skips.
func realBroker(t *testing.T) string {
	t.Helper()
	b := os.Getenv(envTestKafkaBrokers)
	if b == "" {
		t.Skipf("set %s to a real Kafka's bootstrap list (%s=$(deploy/local/kafka.sh start | tail -1)), or run deploy/local/test.sh, which does",
			envTestKafkaBrokers, envTestKafkaBrokers)
	}
	binary(t)
	return b
}

// kafkaScript runs deploy/local/kafka.sh with args and returns the last line of its output; a
// non-zero exit fails the test with what it printed.
func kafkaScript(t *testing.T, args ...string) string {
	t.Helper()
	script, err := filepath.Abs("../../../deploy/local/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(script, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("kafka.sh %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1]
}

// TestRealKafkaE2E is the core end-to-end flow through a fleet of roles (ingest, matcher, webhook
// sink, audit sink, each its own process) on a real Apache Kafka broker: intents created and
// paid, every intent PAID once, one webhook event id per decision, exact audit rows after a drain.
// The topics the roles created carry paystream's settings for one broker.
func TestRealKafkaE2E(t *testing.T) {
	brokers := realBroker(t)
	f := newFleetOn(t, brokers)
	for _, r := range []string{"ingest", "matcher", "webhooks", "audit"} {
		f.add(r)
	}
	f.onboard()
	summary := f.verify(<-f.traffic(60, 20*time.Millisecond))
	adm := f.kafkaAdmin()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tds, err := adm.ListTopics(ctx, f.topics.All()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range f.topics.All() {
		td, ok := tds[topic]
		if !ok || td.Err != nil || len(td.Partitions) != 4 {
			t.Errorf("topic %s on the real broker: %+v; want it created with 4 partitions", topic, td)
		}
	}
	t.Logf("real-kafka e2e (Apache Kafka at %s, topics %s*): %s", brokers, f.topics.Prefix, summary)
}

// TestRealKafkaCrashRecovery is TestE2ECrashRecovery on a real Apache Kafka broker: two ingests, a
// matcher, a webhook sink and an audit sink, each its own process, SIGKILLed at random moments
// with work in hand and restarted, while payments flow through the four surfaces; after the drain
// every accepted payment is decided exactly once with one webhook event, the audit exact.
// PAYSTREAM_REALKAFKA_CRASH_PAYMENTS and _RATE change the load (default 3000 at 150/s).
func TestRealKafkaCrashRecovery(t *testing.T) {
	started := time.Now()
	brokers := realBroker(t)
	crashRun(t, newFleetOn(t, brokers), "real-kafka crash test", started,
		envInt("PAYSTREAM_REALKAFKA_CRASH_PAYMENTS", 3000), envInt("PAYSTREAM_REALKAFKA_CRASH_RATE", 150))
}

// groupMember is one member of a consumer group as the coordinator describes it.
type groupMember struct {
	id    string   // member id (the coordinator's; a restart under the same instance id replaces it)
	parts []string // assigned "topic/partition", sorted
}

// groupMembers describes group and returns its members (instance id, or "(dynamic) <member id>",
// → member and assignment) and its state.
func groupMembers(ctx context.Context, adm *kadm.Client, group string) (map[string]groupMember, string, error) {
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil, "", err
	}
	g, ok := gs[group]
	if !ok {
		return nil, "", fmt.Errorf("group %s not described", group)
	}
	if g.Err != nil {
		return nil, "", g.Err
	}
	out := map[string]groupMember{}
	for _, m := range g.Members {
		id := "(dynamic) " + m.MemberID
		if m.InstanceID != nil {
			id = *m.InstanceID
		}
		gm := groupMember{id: m.MemberID}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range a.Topics {
				for _, p := range tp.Partitions {
					gm.parts = append(gm.parts, fmt.Sprintf("%s/%d", tp.Topic, p))
				}
			}
		}
		sort.Strings(gm.parts)
		out[id] = gm
	}
	return out, g.State, nil
}

// assignmentGaps says what is wrong with a group's assignment of topics' partitions (topic →
// partition count): a partition held by no member or by two; "" when each is held exactly once.
func assignmentGaps(ms map[string]groupMember, topics map[string]int32) string {
	holders := map[string][]string{}
	for inst, m := range ms {
		for _, p := range m.parts {
			holders[p] = append(holders[p], inst)
		}
	}
	var gaps []string
	for topic, n := range topics {
		for p := range n {
			tp := fmt.Sprintf("%s/%d", topic, p)
			if h := holders[tp]; len(h) != 1 {
				gaps = append(gaps, fmt.Sprintf("%s held by %v", tp, h))
			}
		}
	}
	sort.Strings(gaps)
	return strings.Join(gaps, "; ")
}

// TestRealKafkaRebalance runs matchers on the real group coordinator with static membership
// (PAYSTREAM_KAFKA_INSTANCE_ID): three join one after the other while payments flow and each is
// in the group under its instance id; one is killed with -9 and started again under the same id
// (it takes its place back: the group is three members again, its member id replaced, before
// the session timeout); one is killed for good, and the group goes on with two once the
// coordinator let it go (session timeout); one stops gracefully, and the last one has the group.
// In every stable group each of the matcher's partitions is held by exactly one member; the
// restarted member holds the same partitions as before its kill (nobody's moved), and the test
// logs which survivor took the dead member's partitions. Payments flow throughout; every one is
// decided exactly once.
func TestRealKafkaRebalance(t *testing.T) {
	brokers := realBroker(t)
	f := newFleetOn(t, brokers)
	for _, r := range []string{"ingest", "webhooks", "audit"} {
		f.add(r)
	}
	matchers := []*proc{f.add("matcher")}
	f.onboard()
	adm := f.kafkaAdmin()
	group := f.group(pipeline.GroupMatcher)
	members := func() (map[string]groupMember, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ms, state, err := groupMembers(ctx, adm, group)
		if err != nil {
			return nil, err.Error()
		}
		return ms, state
	}
	instance := func(p *proc) string { return p.name + "-" + group }
	// waitGroup waits until the group is stable with exactly procs' instance ids, and (extra) holds.
	// topics are the matcher group's topics and their partition counts, read from the first
	// member's assignment once it has one.
	topics := map[string]int32{}
	waitUntil(t, 30*time.Second, "the first matcher to be assigned partitions", func() string {
		ms, state := members()
		for _, m := range ms {
			for _, tp := range m.parts {
				topics[tp[:strings.LastIndexByte(tp, '/')]] = 0
			}
		}
		if len(topics) == 0 {
			return fmt.Sprintf("%s %v", state, ms)
		}
		return ""
	})
	{
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		tds, err := adm.ListTopics(ctx, slices.Collect(maps.Keys(topics))...)
		cancel()
		if err != nil {
			t.Fatalf("listing the matcher's topics: %v", err)
		}
		for _, td := range tds {
			topics[td.Topic] = int32(len(td.Partitions))
		}
	}
	waitGroup := func(what string, within time.Duration, extra func(map[string]groupMember) bool, procs ...*proc) time.Duration {
		t.Helper()
		start := time.Now()
		var want []string
		for _, p := range procs {
			want = append(want, instance(p))
		}
		sort.Strings(want)
		waitUntil(t, within, fmt.Sprintf("%s: group %s to be exactly %v and stable", what, group, want), func() string {
			ms, state := members()
			got := make([]string, 0, len(ms))
			for id := range ms {
				got = append(got, id)
			}
			sort.Strings(got)
			if state != "Stable" || strings.Join(got, ",") != strings.Join(want, ",") {
				return fmt.Sprintf("%s %v", state, ms)
			}
			// A stable group of the right members: the matcher's partitions are each held once.
			if gaps := assignmentGaps(ms, topics); gaps != "" {
				return "stable, but " + gaps
			}
			if extra != nil && !extra(ms) {
				return fmt.Sprintf("stable, but not yet as wanted: %v", ms)
			}
			return ""
		})
		return time.Since(start)
	}
	waitGroup("first matcher", 30*time.Second, nil, matchers...)
	done := f.traffic(200, 50*time.Millisecond) // lasts beyond the joins, the kills and the stop
	var log []string
	for range 2 {
		matchers = append(matchers, f.add("matcher"))
		d := waitGroup("a matcher joined", 30*time.Second, nil, matchers...)
		log = append(log, fmt.Sprintf("%s joined: %d members stable after %v", matchers[len(matchers)-1].name, len(matchers), d.Truncate(time.Millisecond)))
	}
	// kill -9 and the same instance id again: it replaces its old self in the group.
	// The coordinator gives the new process a new member id under the same instance id: the group
	// is stable with the same three instance ids, the victim's member id replaced.
	victim := matchers[1]
	before, _ := members()
	old, ok := before[instance(victim)]
	if !ok || len(old.parts) == 0 {
		t.Fatalf("%s is not in the group or holds nothing: %v", instance(victim), before)
	}
	victim.kill9()
	killed := time.Now()
	f.restart(victim)
	waitGroup("a killed matcher restarted under its instance id", 30*time.Second, func(ms map[string]groupMember) bool {
		return ms[instance(victim)].id != old.id
	}, matchers...)
	// Static membership's promise: the restarted member is handed back what it held, and nobody
	// else's partitions moved.
	after, _ := members()
	for inst, m := range before {
		if got := after[inst].parts; !slices.Equal(got, m.parts) {
			t.Errorf("%s held %v before %s's kill -9 and %v after its restart: static membership should not move partitions",
				inst, m.parts, victim.name, got)
		}
	}
	log = append(log, fmt.Sprintf("%s killed -9 and restarted: replaced its old member (new member id, same instance id) %v after the kill, without waiting for the session timeout, holding the same %d partitions",
		victim.name, time.Since(killed).Truncate(time.Millisecond), len(old.parts)))
	// One leaves for good: a static member is not removed by its close, only when its session
	// (PAYSTREAM_KAFKA_SESSION_TIMEOUT=6s) expires; then the other two take its partitions.
	gone := matchers[2]
	goneParts := after[instance(gone)].parts
	gone.kill9()
	left := time.Now()
	waitGroup("a killed matcher never came back", 30*time.Second, nil, matchers[:2]...)
	// The dead member's partitions went to the two left (waitGroup checked every partition is
	// held exactly once); say who took which.
	now, _ := members()
	took := map[string]int{}
	for _, p := range goneParts {
		for inst, m := range now {
			if slices.Contains(m.parts, p) {
				took[inst]++
			}
		}
	}
	log = append(log, fmt.Sprintf("%s killed -9 for good: group of 2 after %v (session timeout 6s); its %d partitions taken over %v",
		gone.name, time.Since(left).Truncate(time.Millisecond), len(goneParts), took))
	// A graceful stop (SIGINT) of a static member: the group is left with the last matcher.
	leaving := matchers[0]
	leaving.stop()
	left = time.Now()
	waitGroup("a matcher stopped gracefully", 30*time.Second, nil, matchers[1])
	log = append(log, fmt.Sprintf("%s stopped (SIGINT): group of 1 after %v", leaving.name, time.Since(left).Truncate(time.Millisecond)))
	summary := f.verify(<-done)
	t.Logf("real-kafka rebalance test (static membership on Apache Kafka's coordinator): %s; %s", strings.Join(log, "; "), summary)
}

// cluster is a three-broker Apache Kafka the chaos test started with kafka.sh in dir.
type cluster struct {
	t       *testing.T
	dir     string
	brokers string
}

// stop ends the cluster at the test's end: kill -9 of every node still running (a throwaway
// cluster in a temporary directory: a graceful stop of a cluster with a node down waits 20 s for a
// controller quorum), then kafka.sh stop, which finds nothing of its own left running.
func (c *cluster) stop() {
	for id := int32(1); id <= 3; id++ {
		if b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node-%d", id), "pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pidIsJava(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	kafkaScript(c.t, "stop", "--dir", c.dir)
}

// pidIsJava reports whether pid is a live java process (kafka.sh's node, not a reused pid).
func pidIsJava(pid int) bool {
	cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cl, []byte("kafka.Kafka"))
}

// pid returns node id's pid (kafka.sh writes DIR/node-<id>/pid; node ids are 1..3).
func (c *cluster) pid(id int32) int {
	b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node-%d", id), "pid"))
	if err != nil {
		c.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		c.t.Fatal(err)
	}
	return pid
}

// kill9 kills node id without warning and waits until it is gone (or a zombie).
func (c *cluster) kill9(id int32) {
	pid := c.pid(id)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		c.t.Fatalf("kill -9 of broker %d (pid %d): %v", id, pid, err)
	}
	waitFor(c.t, 10*time.Second, fmt.Sprintf("broker %d (pid %d) to die", id, pid), func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		fs := strings.Fields(string(st))
		return len(fs) > 2 && fs[2] == "Z"
	})
}

// leaders returns how many partitions of topics each broker leads.
func leaders(ctx context.Context, adm *kadm.Client, topics ...string) (map[int32]int, error) {
	tds, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, err
	}
	out := map[int32]int{}
	for _, td := range tds {
		if td.Err != nil {
			return nil, fmt.Errorf("topic %s: %w", td.Topic, td.Err)
		}
		for _, p := range td.Partitions {
			if p.Leader >= 0 {
				out[p.Leader]++
			}
		}
	}
	return out, nil
}

// allInSync returns "" when every partition of every topic (internal ones included) has a leader
// and all its replicas in sync, else the first that has not.
func allInSync(ctx context.Context, adm *kadm.Client) string {
	tds, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return err.Error()
	}
	for _, td := range tds {
		for _, p := range td.Partitions {
			if p.Err != nil || len(p.ISR) < len(p.Replicas) || p.Leader < 0 {
				return fmt.Sprintf("%s/%d: leader %d replicas %v isr %v (%v)", td.Topic, p.Partition, p.Leader, p.Replicas, p.ISR, p.Err)
			}
		}
	}
	return ""
}

// TestRealKafkaChaos runs the fleet (two ingests, two matchers, a webhook sink, an audit sink) on
// a three-broker Apache Kafka cluster it starts itself (kafka.sh --brokers 3 in a temporary
// directory; replication factor 3 and min.insync.replicas=2, paystream's defaults on three
// brokers, checked) under sustained load through the four payment surfaces, and meanwhile: kills
// -9 the broker leading most inbound partitions, then a matcher; restarts that broker (kafka.sh
// start) and waits until every replica is in sync again; kills a webhook sink; kills -9 the
// inbound leaders' broker of then, and keeps the load on the two brokers left for 2 s. After a
// drain every accepted payment is decided exactly once with one webhook event id, the audit
// exact; ingest answered only 2xx, 429 and 503 (and the surfaces' own "duplicate" answers to a
// retry of what it had accepted), at least one 503, and never left a request unanswered for the
// client's 5 s (its produce timeout is 2 s here). It logs, after each broker kill, the time until
// a produce with acks=all to every partition of a probe topic succeeds again and until the
// matcher group has committed past every inbound record that existed then. PAYSTREAM_CHAOS_RATE changes the load (default
// 100 payments/s).
func TestRealKafkaChaos(t *testing.T) {
	if os.Getenv(envTestRealKafka) != "1" {
		t.Skipf("set %s=1 to let this test start its own three-broker Apache Kafka with deploy/local/kafka.sh --brokers 3 (deploy/local/test.sh does)", envTestRealKafka)
	}
	started := time.Now()
	binary(t)
	c := &cluster{t: t, dir: t.TempDir()}
	t.Cleanup(c.stop)
	c.brokers = kafkaScript(t, "start", "--brokers", "3", "--dir", c.dir)
	clusterUp := time.Since(started)
	// Ingest waits at most 2 s for Kafka's ack before it answers 503 (PAYSTREAM_PRODUCE_TIMEOUT,
	// default 5 s: as long as the load's client waits), so a request without an answer within the
	// client's 5 s is a hang, not a slow 503.
	f := newFleetOn(t, c.brokers, "PAYSTREAM_PRODUCE_TIMEOUT=2s")
	f.add("ingest")
	f.add("ingest")
	matchers := []*proc{f.add("matcher"), f.add("matcher")}
	hook := f.add("webhooks")
	f.add("audit")
	adm := f.kafkaAdmin()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The topics the roles created: replication factor 3, min.insync.replicas=2.
	tds, err := adm.ListTopics(ctx, f.topics.All()...)
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, f.topics.All()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range f.topics.All() {
		for _, p := range tds[topic].Partitions {
			if len(p.Replicas) != 3 {
				t.Errorf("%s/%d has replicas %v, want 3", topic, p.Partition, p.Replicas)
			}
		}
		rc, err := cfgs.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		isr := ""
		for _, cv := range rc.Configs {
			if cv.Key == "min.insync.replicas" && cv.Value != nil {
				isr = *cv.Value
			}
		}
		if isr != "2" {
			t.Errorf("%s: min.insync.replicas=%q, want 2", topic, isr)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The probe: a topic like paystream's (3 replicas, min.insync.replicas=2 from the cluster's
	// defaults) with a record produced to every partition, acks=all, to time the recovery.
	probeTopic := f.topics.Prefix + "probe"
	if _, err := adm.CreateTopic(ctx, 4, 3, nil, probeTopic); err != nil {
		t.Fatal(err)
	}
	probe, err := kgo.NewClient(kgo.SeedBrokers(f.seeds()...), kgo.DefaultProduceTopic(probeTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(probe.Close)
	produceAll := func() error {
		pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer pcancel()
		var recs []*kgo.Record
		for p := range int32(4) {
			recs = append(recs, &kgo.Record{Partition: p, Value: []byte("probe")})
		}
		return probe.ProduceSync(pctx, recs...).FirstErr()
	}
	waitFor(t, 30*time.Second, "the probe topic to accept produces", func() bool { return produceAll() == nil })

	rate := envInt("PAYSTREAM_CHAOS_RATE", 100)
	n := 300 * rate // at most: the load stops 2 s after the last broker kill's recovery
	ms := f.onboardLoad(4)
	done := make(chan *loadResult, 1)
	stopLoad := make(chan struct{})
	go func() { done <- f.loadUntil(stopLoad, ms, n, rate, 32) }()
	loadStart := time.Now()

	// recovery times, after a broker kill, the first produce to every partition that succeeds, and
	// the moment the matcher group has committed past every inbound record that existed then (the
	// backlog of the outage is decided, while the load goes on).
	recovery := func(killed time.Time) (produce, lag time.Duration) {
		waitUntil(t, 60*time.Second, "produce to every partition to succeed again", func() string {
			if err := produceAll(); err != nil {
				return err.Error()
			}
			return ""
		})
		produce = time.Since(killed)
		var ends kadm.ListedOffsets
		waitUntil(t, 30*time.Second, "the inbound end offsets", func() string {
			lctx, lcancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer lcancel()
			var err error
			if ends, err = adm.ListEndOffsets(lctx, f.topics.Inbound()); err == nil {
				err = ends.Error()
			}
			if err != nil {
				return err.Error()
			}
			return ""
		})
		group := f.group(pipeline.GroupMatcher)
		waitUntil(t, 60*time.Second, "the matcher group to commit past the outage's backlog", func() string {
			lctx, lcancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer lcancel()
			got, err := adm.FetchOffsets(lctx, group)
			if err == nil {
				err = got.Error()
			}
			if err != nil {
				return err.Error()
			}
			behind := ""
			ends.Each(func(lo kadm.ListedOffset) {
				at := int64(0) // nothing committed: nothing consumed
				if c, ok := got.Lookup(lo.Topic, lo.Partition); ok {
					at = c.At
				}
				if behind == "" && at < lo.Offset {
					behind = fmt.Sprintf("%s/%d committed %d, end was %d", lo.Topic, lo.Partition, at, lo.Offset)
				}
			})
			return behind
		})
		return produce, time.Since(killed)
	}
	leadersBroker := func(not int32) int32 {
		var best int32 = -1
		waitFor(t, 30*time.Second, "the inbound partitions' leaders", func() bool {
			lctx, lcancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer lcancel()
			ls, err := leaders(lctx, adm, f.topics.Inbound())
			if err != nil {
				return false
			}
			best = -1
			for id, k := range ls {
				if id != not && (best < 0 || k > ls[best] || k == ls[best] && id < best) {
					best = id
				}
			}
			return best >= 0
		})
		return best
	}
	var events []string
	event := func(format string, args ...any) {
		events = append(events, fmt.Sprintf("%v: ", time.Since(loadStart).Truncate(100*time.Millisecond))+fmt.Sprintf(format, args...))
		t.Log(events[len(events)-1])
	}

	time.Sleep(3 * time.Second) // load is flowing
	first := leadersBroker(-1)
	at := time.Now()
	c.kill9(first)
	event("kill -9 broker %d (the inbound leaders' broker)", first)
	p1, l1 := recovery(at)
	event("broker %d down: produce to every partition again after %v, matcher past the backlog after %v", first, p1.Truncate(time.Millisecond), l1.Truncate(time.Millisecond))
	matchers[0].kill9()
	event("kill -9 %s", matchers[0].name)
	f.restart(matchers[0])
	restartAt := time.Now()
	kafkaScript(t, "start", "--dir", c.dir)
	event("broker %d restarted (kafka.sh start: %v)", first, time.Since(restartAt).Truncate(time.Millisecond))
	waitUntil(t, 60*time.Second, "every replica in sync again", func() string {
		ictx, icancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer icancel()
		return allInSync(ictx, adm)
	})
	event("every replica in sync %v after the restart", time.Since(restartAt).Truncate(time.Millisecond))
	hook.kill9()
	event("kill -9 %s", hook.name)
	f.restart(hook)
	second := leadersBroker(first)
	at = time.Now()
	c.kill9(second)
	event("kill -9 broker %d (the inbound leaders' broker now)", second)
	p2, l2 := recovery(at)
	event("broker %d down: produce to every partition again after %v, matcher past the backlog after %v", second, p2.Truncate(time.Millisecond), l2.Truncate(time.Millisecond))
	time.Sleep(2 * time.Second) // load on two brokers
	close(stopLoad)
	r := <-done
	waited := f.drain(120 * time.Second)
	for _, e := range r.errs {
		t.Errorf("load: %s", e)
	}
	// Every answer ingest gave: 2xx, 429, 503, or a surface's "duplicate" answer to a retry of a
	// request it had accepted (SNS 409, transaction API 400; load() checks their bodies). 0 is a
	// request left unanswered for 5 s: a hang.
	for k, count := range r.statuses {
		surface, codeStr, _ := strings.Cut(k, " ")
		code, _ := strconv.Atoi(codeStr)
		switch {
		case code >= 200 && code < 300, code == 429, code == 503:
		case surface == "sns" && code == 409, surface == "txn" && code == 400:
		case code == 0:
			t.Errorf("%d %s requests got no answer within 5 s (ingest hung)", count, surface)
		default:
			t.Errorf("%d %s requests answered %d", count, surface, code)
		}
	}
	accepted, lost, dupDecisions, dupWebhooks := f.verifyLoad(ms, r)
	if accepted != r.offered {
		t.Errorf("%d of %d payments accepted", accepted, r.offered)
	}
	if r.statuses["create 503"]+r.statuses["sms 503"]+r.statuses["sns 503"]+r.statuses["txn 503"]+r.statuses["sim 503"] == 0 {
		t.Error("no request was answered 503 while a leader's broker was down: the kills did not hit the load")
	}
	t.Logf("real-kafka chaos test (Apache Kafka, 3 brokers, replication factor 3, min.insync.replicas=2; cluster up in %v): "+
		"%d payments offered in %v (%.0f/s) through sms, sns, txn, sim by 2 ingests; %d accepted (%d answered duplicate after a retry); "+
		"2 broker kills -9 (%d then %d, each the inbound leaders' broker), 1 matcher and 1 webhook sink killed -9; recovery after broker kill 1: produce %v, matcher past the backlog %v; after kill 2: produce %v, matcher past the backlog %v; "+
		"drained in %v; lost %d, duplicate decisions %d, duplicate webhooks %d; wall %v; answers: %s; timeline: %s",
		clusterUp.Truncate(time.Second), r.offered, r.elapsed.Truncate(time.Millisecond), float64(r.offered)/r.elapsed.Seconds(), accepted, r.dupAnswers,
		first, second, p1.Truncate(time.Millisecond), l1.Truncate(time.Millisecond), p2.Truncate(time.Millisecond), l2.Truncate(time.Millisecond),
		waited.Truncate(time.Millisecond), lost, dupDecisions, dupWebhooks, time.Since(started).Truncate(time.Second), summarizeStatuses(r.statuses), strings.Join(events, "; "))
}

// waitUntil polls ok every 100 ms until it returns "" and fails the test after within with what
// and ok's last answer (what was still wrong).
func waitUntil(t *testing.T, within time.Duration, what string, ok func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		why := ok()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %s", within, what, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
