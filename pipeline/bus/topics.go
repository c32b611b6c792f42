package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultRetention is how long paystream's topics keep records when it creates them: a week, so a
// consumer role that is down over a long weekend (and the alert on its lag that nobody answered)
// still finds every record when it comes back. Records are deleted by age only, never by size.
const DefaultRetention = 7 * 24 * time.Hour

// MinRetention is the shortest retention.ms paystream accepts on an existing topic: one day. A
// record a consumer has not read when retention deletes it is lost (an accepted payment never
// decided, an outcome never delivered or audited), so retention must outlast the longest outage
// of the slowest consumer that anyone would repair before acting.
const MinRetention = 24 * time.Hour

// TopicSettings is what EnsureTopics creates topics with, resolved against the cluster it talks to.
type TopicSettings struct {
	Partitions        int32
	Replicas          int16
	MinInsyncReplicas int16
	Retention         time.Duration
	Brokers           int // live brokers in the cluster's metadata
}

// Settings resolves c's topic settings for a cluster of brokers live brokers: Partitions 0 → 12;
// Replicas 0 → min(3, brokers); MinInsyncReplicas 0 → 1 with one replica, 2 with two, Replicas-1
// from three (an acknowledged record is on at least two brokers whenever there are two, and one
// broker can be down without stopping ingest from three); Retention 0 → DefaultRetention.
func (c Config) Settings(brokers int) TopicSettings {
	s := TopicSettings{
		Partitions: c.Partitions, Replicas: c.Replicas, MinInsyncReplicas: c.MinInsyncReplicas,
		Retention: c.Retention, Brokers: brokers,
	}
	if s.Partitions <= 0 {
		s.Partitions = 12
	}
	if s.Replicas <= 0 {
		s.Replicas = int16(min(3, max(brokers, 1)))
	}
	if s.MinInsyncReplicas <= 0 {
		s.MinInsyncReplicas = min(s.Replicas, max(2, s.Replicas-1))
	}
	if s.Retention <= 0 {
		s.Retention = DefaultRetention
	}
	return s
}

// validate refuses settings that could not keep paystream's guarantees before anything is created.
func (s TopicSettings) validate(brokers string) error {
	var p []TopicProblem
	add := func(setting, have, why, fix string) {
		p = append(p, TopicProblem{Topic: "(all)", Setting: setting, Have: have, Why: why, Fix: fix})
	}
	if int(s.Replicas) > s.Brokers {
		add("replication factor", strconv.Itoa(int(s.Replicas)),
			fmt.Sprintf("the cluster at %s has only %d live broker(s)", brokers, s.Brokers),
			"start the missing brokers, or set PAYSTREAM_KAFKA_REPLICAS to at most the broker count")
	}
	if s.Brokers >= 2 && s.Replicas < 2 {
		add("replication factor", strconv.Itoa(int(s.Replicas)), whyReplicas,
			"set PAYSTREAM_KAFKA_REPLICAS=3 (or unset it: the default is min(3, brokers))")
	}
	if s.Brokers >= 2 && s.MinInsyncReplicas < 2 {
		add("min.insync.replicas", strconv.Itoa(int(s.MinInsyncReplicas)), whyMinISR,
			"set PAYSTREAM_KAFKA_MIN_INSYNC_REPLICAS=2 (or unset it)")
	}
	if s.MinInsyncReplicas > s.Replicas {
		add("min.insync.replicas", strconv.Itoa(int(s.MinInsyncReplicas)), whyMinISRTooHigh,
			"set PAYSTREAM_KAFKA_MIN_INSYNC_REPLICAS to at most PAYSTREAM_KAFKA_REPLICAS")
	}
	if s.Retention < MinRetention {
		add("retention.ms", s.Retention.String(), whyRetention, "set PAYSTREAM_KAFKA_RETENTION to 24h or more (default 168h)")
	}
	if len(p) > 0 {
		return &TopicSettingsError{Problems: p}
	}
	return nil
}

// createConfigs are the topic-level configs EnsureTopics creates topics with.
func (s TopicSettings) createConfigs() map[string]*string {
	str := func(v string) *string { return &v }
	m := map[string]*string{
		"cleanup.policy":      str("delete"),
		"retention.ms":        str(strconv.FormatInt(s.Retention.Milliseconds(), 10)),
		"retention.bytes":     str("-1"),
		"min.insync.replicas": str(strconv.Itoa(int(s.MinInsyncReplicas))),
	}
	if s.Brokers >= 2 {
		// Pinned on the topic so that a broker-wide default of true cannot apply. With one broker
		// there is no other replica to elect, and the embedded broker (kfake) does not know it.
		m["unclean.leader.election.enable"] = str("false")
	}
	return m
}

// Why each refused setting breaks a guarantee (also in deploy/README.md, "Kafka topics on a real cluster").
const (
	whyReplicas      = "with one replica, losing that broker's disk loses payments Kafka already acknowledged to ingest"
	whyMinISR        = "ingest produces with acks=all, which waits only for the in-sync replicas: with min.insync.replicas=1 an acknowledged record can live on one broker alone and die with it"
	whyMinISRTooHigh = "more than the replicas there are: every acks=all produce fails with NOT_ENOUGH_REPLICAS and ingest answers 503 to everything"
	whyUnclean       = "an out-of-sync replica may become leader and truncate records that were acknowledged"
	whyCompact       = "compaction deletes every record but the last per key (a wallet, a merchant) before a lagging consumer has read them: payments and outcomes would vanish"
	whyRetention     = "records a consumer has not read when retention deletes them are lost; retention must outlast the longest outage of the slowest consumer (the webhook and audit sinks)"
	whyRetentionSize = "size-based retention deletes unread records exactly when a consumer falls behind (an outage, a burst); bound disk with retention.ms and a disk alert instead"
	whyPartitions    = "fewer partitions than PAYSTREAM_KAFKA_PARTITIONS: the configured matcher parallelism is not there (and adding partitions later moves wallets between partitions)"
)

// TopicState is what the cluster says about one existing topic: its partitions' replica counts
// and its effective configs (topic overrides, else broker defaults).
type TopicState struct {
	Topic      string
	Partitions int32
	Replicas   int16 // the smallest replica count of any partition
	Configs    map[string]string
}

// CheckTopic lists what in an existing topic would break paystream's guarantees under s, each with
// how to fix it; bootstrap is quoted in the fix commands. It is pure: EnsureTopics gathers the state.
func CheckTopic(s TopicSettings, t TopicState, bootstrap string) []TopicProblem {
	var p []TopicProblem
	alter := func(kv string) string {
		return fmt.Sprintf("kafka-configs.sh --bootstrap-server %s --alter --entity-type topics --entity-name %s --add-config %s", bootstrap, t.Topic, kv)
	}
	add := func(setting, have, why, fix string) {
		p = append(p, TopicProblem{Topic: t.Topic, Setting: setting, Have: have, Why: why, Fix: fix})
	}
	if t.Partitions < s.Partitions {
		add("partitions", strconv.Itoa(int(t.Partitions)), whyPartitions,
			fmt.Sprintf("set PAYSTREAM_KAFKA_PARTITIONS=%d (the topic's count), or drain the topic and recreate it", t.Partitions))
	}
	if s.Brokers >= 2 && t.Replicas < 2 {
		add("replication factor", strconv.Itoa(int(t.Replicas)), whyReplicas,
			"raise it to 3 with kafka-reassign-partitions.sh (or delete the empty topic and let paystream create it)")
	}
	minISR := int16(1)
	if v, ok := t.Configs["min.insync.replicas"]; ok {
		n, err := strconv.ParseInt(v, 10, 16)
		if err != nil {
			add("min.insync.replicas", v, "not a number", alter("min.insync.replicas=2"))
		}
		minISR = int16(n)
	}
	want := strconv.Itoa(int(min(s.MinInsyncReplicas, max(t.Replicas, 1))))
	if s.Brokers >= 2 && t.Replicas >= 2 && minISR < 2 {
		add("min.insync.replicas", strconv.Itoa(int(minISR)), whyMinISR, alter("min.insync.replicas="+want))
	}
	if minISR > t.Replicas {
		add("min.insync.replicas", strconv.Itoa(int(minISR)), whyMinISRTooHigh, alter("min.insync.replicas="+want))
	}
	if strings.EqualFold(strings.TrimSpace(t.Configs["unclean.leader.election.enable"]), "true") {
		add("unclean.leader.election.enable", "true", whyUnclean, alter("unclean.leader.election.enable=false"))
	}
	if pol, ok := t.Configs["cleanup.policy"]; ok && strings.Contains(strings.ToLower(pol), "compact") {
		add("cleanup.policy", pol, whyCompact, alter("cleanup.policy=delete"))
	}
	if v, ok := t.Configs["retention.ms"]; ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || (ms >= 0 && time.Duration(ms)*time.Millisecond < MinRetention) {
			add("retention.ms", v, whyRetention, alter(fmt.Sprintf("retention.ms=%d", s.Retention.Milliseconds())))
		}
	}
	if v, ok := t.Configs["retention.bytes"]; ok && strings.TrimSpace(v) != "-1" {
		add("retention.bytes", v, whyRetentionSize, alter("retention.bytes=-1"))
	}
	return p
}

// checkedConfigs are the topic configs CheckTopic reads.
var checkedConfigs = []string{"min.insync.replicas", "unclean.leader.election.enable", "cleanup.policy", "retention.ms", "retention.bytes"}

// EnsureTopics creates the missing topics with c's settings (see Config.Settings and
// TopicSettings.createConfigs), then checks every topic, new or old, against them (CheckTopic).
// It changes no existing topic: when a setting would break paystream's guarantees (an
// acknowledged record lost on one broker's failure, records deleted before they are consumed) it
// returns a *TopicSettingsError that lists each problem with why and how to fix it, and the caller
// must refuse to start. It blocks until done or ctx ends.
func EnsureTopics(ctx context.Context, c Config, topics ...string) error {
	// A short metadata age: the admin client's first requests otherwise wait up to 5 s (franz-go's
	// default minimum between metadata refreshes) for the controller or a just-created topic.
	cl, err := kgo.NewClient(append(c.opts(), kgo.MetadataMinAge(100*time.Millisecond))...)
	if err != nil {
		return fmt.Errorf("building kafka admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("reading kafka cluster metadata: %w", err)
	}
	bootstrap := strings.Join(c.Brokers, ",")
	s := c.Settings(len(meta.Brokers))
	if err := s.validate(bootstrap); err != nil {
		return err
	}
	// Create every topic and let the ones that exist answer TOPIC_ALREADY_EXISTS: asking the
	// metadata for missing topics first costs seconds (clients retry unknown topics).
	resp, err := adm.CreateTopics(ctx, s.Partitions, s.Replicas, s.createConfigs(), topics...)
	if err != nil {
		return fmt.Errorf("creating topics %s: %w", strings.Join(topics, ","), err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s (%d partitions, %d replicas): %w %s", r.Topic, s.Partitions, s.Replicas, r.Err, r.ErrMessage)
		}
	}
	states, err := topicStates(ctx, adm, topics)
	if err != nil {
		return err
	}
	var problems []TopicProblem
	for _, st := range states {
		problems = append(problems, CheckTopic(s, st, bootstrap)...)
	}
	if len(problems) > 0 {
		return &TopicSettingsError{Problems: problems}
	}
	return nil
}

// topicStates reads the partitions and checked configs of topics, waiting (until ctx ends) for
// topics just created to appear in the metadata every broker serves.
func topicStates(ctx context.Context, adm *kadm.Client, topics []string) ([]TopicState, error) {
	var details kadm.TopicDetails
	for {
		var err error
		details, err = adm.ListTopics(ctx, topics...)
		if err == nil {
			err = details.Error()
		}
		if err == nil {
			break
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) && !errors.Is(err, kerr.LeaderNotAvailable) {
			return nil, fmt.Errorf("describing topics: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for topics %s to appear: %w (last: %w)", strings.Join(topics, ","), ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The broker that answers DescribeConfigs may learn of a topic just created later than the one
	// that answered the metadata (seen on a three-broker cluster): wait for it the same way.
	var rcs kadm.ResourceConfigs
	for {
		var err error
		rcs, err = adm.DescribeTopicConfigs(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("describing topic configs: %w", err)
		}
		unknown := false
		for _, rc := range rcs {
			if errors.Is(rc.Err, kerr.UnknownTopicOrPartition) {
				unknown = true
			}
		}
		if !unknown {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the configs of topics %s: %w", strings.Join(topics, ","), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	states := make([]TopicState, 0, len(topics))
	for _, t := range topics {
		d := details[t]
		//nolint:gosec // G115: partition counts are int32 on the wire; a decoded list cannot exceed it.
		st := TopicState{Topic: t, Partitions: int32(len(d.Partitions)), Replicas: -1, Configs: map[string]string{}}
		for _, p := range d.Partitions {
			//nolint:gosec // G115: a replication factor is int16 in Kafka's protocol; replica lists are far shorter.
			if n := int16(len(p.Replicas)); st.Replicas < 0 || n < st.Replicas {
				st.Replicas = n
			}
		}
		st.Replicas = max(st.Replicas, 0)
		rc, err := rcs.On(t, nil)
		if err != nil {
			return nil, fmt.Errorf("describing configs of topic %s: %w", t, err)
		}
		if rc.Err != nil {
			return nil, fmt.Errorf("describing configs of topic %s: %w %s", t, rc.Err, rc.ErrMessage)
		}
		for _, cfg := range rc.Configs {
			if cfg.Value != nil && slices.Contains(checkedConfigs, cfg.Key) {
				st.Configs[cfg.Key] = *cfg.Value
			}
		}
		states = append(states, st)
	}
	return states, nil
}
