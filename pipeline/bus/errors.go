package bus

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnsafeTopics is wrapped by every *TopicSettingsError: the cluster's topics (or the settings
// paystream was given to create them) would break its guarantees, and it must not start.
var ErrUnsafeTopics = errors.New("kafka topic settings would break paystream's guarantees")

// TopicProblem is one setting of one topic that would break a guarantee: what it is, why that
// matters, and the operator's fix (a command or a PAYSTREAM_KAFKA_* setting).
type TopicProblem struct {
	Topic   string // "(all)" for a problem of the settings paystream was given
	Setting string // "min.insync.replicas", "replication factor", "partitions", ...
	Have    string // the value found
	Why     string
	Fix     string
}

func (p TopicProblem) String() string {
	return fmt.Sprintf("%s: %s=%s: %s. Fix: %s", p.Topic, p.Setting, p.Have, p.Why, p.Fix)
}

// TopicSettingsError lists every problem EnsureTopics found; errors.Is(err, ErrUnsafeTopics) holds.
type TopicSettingsError struct {
	Problems []TopicProblem
}

func (e *TopicSettingsError) Error() string {
	var b strings.Builder
	b.WriteString(ErrUnsafeTopics.Error())
	b.WriteString(" (see deploy/README.md, \"Kafka topics on a real cluster\"):")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *TopicSettingsError) Unwrap() error { return ErrUnsafeTopics }
