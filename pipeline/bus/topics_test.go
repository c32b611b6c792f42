package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The real-Kafka tier: these name the brokers deploy/local/kafka.sh started (deploy/local/test.sh
// sets both). Without them the tests below run on the embedded broker (kfake) only.
const (
	envKafkaBrokers = "PAYSTREAM_TEST_KAFKA_BROKERS" // one broker: kafka.sh start
	envKafkaCluster = "PAYSTREAM_TEST_KAFKA_CLUSTER" // three brokers: kafka.sh start --brokers 3
)

// target is a cluster a test runs on: kfake, a real broker, or a real three-broker cluster.
type target struct {
	name    string
	brokers []string
	n       int  // brokers in the cluster
	real    bool // Apache Kafka, not kfake
}

// targets returns kfake (started for t) and the real clusters; a real one whose variable is unset
// is returned with no brokers, and run skips it with the command that would enable it.
func targets(t *testing.T) []target {
	t.Helper()
	e, err := StartEmbedded("127.0.0.1:0", "", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return []target{
		{name: "kfake", brokers: e.Addrs(), n: 1},
		{name: "kafka-1", brokers: envList(envKafkaBrokers), n: 1, real: true},
		{name: "kafka-3", brokers: envList(envKafkaCluster), n: 3, real: true},
	}
}

func envList(name string) []string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// run runs f as a subtest on tg, skipping a real cluster that is not configured.
func (tg target) run(t *testing.T, f func(t *testing.T, tg target)) {
	t.Helper()
	t.Run(tg.name, func(t *testing.T) {
		if len(tg.brokers) == 0 {
			env, flag := envKafkaBrokers, ""
			if tg.n == 3 {
				env, flag = envKafkaCluster, " --brokers 3"
			}
			t.Skipf("no real Kafka: set %s=$(deploy/local/kafka.sh start%s | tail -1) (deploy/local/test.sh does)", env, flag)
		}
		f(t, tg)
	})
}

// prefix is a fresh topic/group name prefix, so tests share a cluster without meeting.
func prefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "pstest-" + hex.EncodeToString(b) + "."
}

func admin(t *testing.T, brokers []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSettingsDefaults: the replication factor follows the cluster (at most 3), min.insync.replicas
// keeps an acknowledged record on two brokers whenever there are two, explicit values win.
func TestSettingsDefaults(t *testing.T) {
	for _, tc := range []struct {
		c                   Config
		brokers             int
		parts               int32
		replicas, minInsync int16
	}{
		{Config{}, 1, 12, 1, 1},
		{Config{}, 2, 12, 2, 2},
		{Config{}, 3, 12, 3, 2},
		{Config{}, 6, 12, 3, 2},
		{Config{Partitions: 24, Replicas: 5}, 6, 24, 5, 4},
		{Config{Replicas: 3, MinInsyncReplicas: 3}, 3, 12, 3, 3},
	} {
		s := tc.c.Settings(tc.brokers)
		if s.Partitions != tc.parts || s.Replicas != tc.replicas || s.MinInsyncReplicas != tc.minInsync || s.Retention != DefaultRetention {
			t.Errorf("Settings(%+v, %d brokers) = %+v, want %d partitions, %d replicas, min.insync %d, retention %v",
				tc.c, tc.brokers, s, tc.parts, tc.replicas, tc.minInsync, DefaultRetention)
		}
		if err := s.validate("b:9092"); err != nil {
			t.Errorf("defaults for %d brokers refused: %v", tc.brokers, err)
		}
	}
}

// TestSettingsRefusedBeforeCreating: settings that would create unsafe topics are refused, each
// with the PAYSTREAM_ setting that fixes it.
func TestSettingsRefusedBeforeCreating(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       Config
		brokers int
		setting string
	}{
		{"one replica on three brokers", Config{Replicas: 1}, 3, "replication factor"},
		{"more replicas than brokers", Config{Replicas: 3}, 1, "replication factor"},
		{"min.insync 1 on three brokers", Config{MinInsyncReplicas: 1}, 3, "min.insync.replicas"},
		{"min.insync above replicas", Config{Replicas: 2, MinInsyncReplicas: 3}, 3, "min.insync.replicas"},
		{"retention of an hour", Config{Retention: time.Hour}, 1, "retention.ms"},
	} {
		err := tc.c.Settings(tc.brokers).validate("b:9092")
		var tse *TopicSettingsError
		if !errors.As(err, &tse) || !errors.Is(err, ErrUnsafeTopics) {
			t.Errorf("%s: got %v, want a TopicSettingsError", tc.name, err)
			continue
		}
		if !hasProblem(tse, "(all)", tc.setting) || !strings.Contains(err.Error(), "Fix: ") {
			t.Errorf("%s: %v names no %s problem with a fix", tc.name, err, tc.setting)
		}
	}
}

func hasProblem(e *TopicSettingsError, topic, setting string) bool {
	for _, p := range e.Problems {
		if p.Topic == topic && p.Setting == setting && p.Fix != "" && p.Why != "" {
			return true
		}
	}
	return false
}

// TestEnsureTopicsCreatesSafeTopics: on kfake, one real broker and three, missing topics are
// created with the documented settings, and a second call (another role starting) accepts them.
func TestEnsureTopicsCreatesSafeTopics(t *testing.T) {
	for _, tg := range targets(t) {
		tg.run(t, func(t *testing.T, tg target) {
			ctx := testCtx(t)
			p := prefix(t)
			topics := []string{p + "inbound", p + "outcomes"}
			c := Config{Brokers: tg.brokers, Partitions: 4}
			for range 2 {
				if err := EnsureTopics(ctx, c, topics...); err != nil {
					t.Fatalf("EnsureTopics: %v", err)
				}
			}
			states, err := topicStates(ctx, admin(t, tg.brokers), topics)
			if err != nil {
				t.Fatal(err)
			}
			wantRF, wantISR := int16(min(3, tg.n)), "1"
			if tg.n >= 3 {
				wantISR = "2"
			}
			for _, st := range states {
				if st.Partitions != 4 || st.Replicas != wantRF {
					t.Errorf("%s: %d partitions x %d replicas, want 4 x %d", st.Topic, st.Partitions, st.Replicas, wantRF)
				}
				for k, want := range map[string]string{
					"cleanup.policy": "delete", "retention.ms": "604800000", "retention.bytes": "-1", "min.insync.replicas": wantISR,
				} {
					if st.Configs[k] != want {
						t.Errorf("%s: %s=%q, want %q", st.Topic, k, st.Configs[k], want)
					}
				}
				if tg.real && st.Configs["unclean.leader.election.enable"] != "false" {
					t.Errorf("%s: unclean.leader.election.enable=%q, want false", st.Topic, st.Configs["unclean.leader.election.enable"])
				}
			}
		})
	}
}

// TestEnsureTopicsRefusesUnsafeTopics: an existing topic whose settings would lose or delete
// accepted records is refused, with the setting named and a fix, on every cluster where such a
// topic can exist. The topic is created first with kadm, as an operator might have.
func TestEnsureTopicsRefusesUnsafeTopics(t *testing.T) {
	str := func(v string) *string { return &v }
	cases := []struct {
		name       string
		minBrokers int
		realOnly   bool // kfake does not know the config
		partitions int32
		replicas   int16
		configs    map[string]*string
		setting    string
	}{
		{"compacted", 1, false, 4, -1, map[string]*string{"cleanup.policy": str("compact")}, "cleanup.policy"},
		{"compacted and deleted", 1, false, 4, -1, map[string]*string{"cleanup.policy": str("compact,delete")}, "cleanup.policy"},
		{"an hour of retention", 1, false, 4, -1, map[string]*string{"retention.ms": str("3600000")}, "retention.ms"},
		{"size-bounded retention", 1, false, 4, -1, map[string]*string{"retention.bytes": str("1073741824")}, "retention.bytes"},
		{"fewer partitions than configured", 1, false, 2, -1, nil, "partitions"},
		{"one replica on three brokers", 3, false, 4, 1, nil, "replication factor"},
		{"min.insync.replicas 1 with acks=all", 3, false, 4, 3, map[string]*string{"min.insync.replicas": str("1")}, "min.insync.replicas"},
		{"min.insync.replicas above the replicas", 3, false, 4, 2, map[string]*string{"min.insync.replicas": str("3")}, "min.insync.replicas"},
		{"unclean leader election", 3, true, 4, 3, map[string]*string{"unclean.leader.election.enable": str("true")}, "unclean.leader.election.enable"},
	}
	for _, tg := range targets(t) {
		tg.run(t, func(t *testing.T, tg target) {
			adm := admin(t, tg.brokers)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if tg.n < tc.minBrokers || (tc.realOnly && !tg.real) {
						t.Skipf("needs %d brokers%s", tc.minBrokers, map[bool]string{true: " of Apache Kafka"}[tc.realOnly])
					}
					ctx := testCtx(t)
					p := prefix(t)
					bad := p + "inbound"
					r, err := adm.CreateTopic(ctx, tc.partitions, tc.replicas, tc.configs, bad)
					if err == nil {
						err = r.Err
					}
					if err != nil {
						t.Fatalf("creating the unsafe topic: %v", err)
					}
					err = EnsureTopics(ctx, Config{Brokers: tg.brokers, Partitions: 4}, bad, p+"outcomes")
					var tse *TopicSettingsError
					if !errors.As(err, &tse) {
						t.Fatalf("EnsureTopics on a topic with %v: got %v, want a TopicSettingsError", tc.configs, err)
					}
					if !hasProblem(tse, bad, tc.setting) {
						t.Fatalf("the error names no %s problem of %s: %v", tc.setting, bad, err)
					}
					for _, pr := range tse.Problems {
						if pr.Topic != bad {
							t.Errorf("the topic paystream created is refused too: %v", pr)
						}
					}
				})
			}
		})
	}
}
