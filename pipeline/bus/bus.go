package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Config says where Kafka is and how topics are made.
type Config struct {
	Brokers    []string // seed brokers; required (the embedded broker's address in dev)
	Partitions int32    // partition count of topics created at start (default 12); existing topics need at least this many
	Replicas   int16    // replication factor of topics created at start (default min(3, live brokers))
	// MinInsyncReplicas is the min.insync.replicas of topics created at start (default 1 with one
	// replica, 2 with two, Replicas-1 from three); see Config.Settings and EnsureTopics.
	MinInsyncReplicas int16
	// Retention is the retention.ms of topics created at start (default DefaultRetention, at least
	// MinRetention).
	Retention time.Duration
	ClientID  string // default "paystream"
	// SessionTimeout is how long the group waits for a silent member (a process killed with -9)
	// before giving its partitions to the others; 0 keeps franz-go's default (45 s).
	SessionTimeout time.Duration
	// InstanceID, if set, makes this process a static group member (KIP-345): when it restarts
	// (crash, kill -9, rolling update) with the same id it takes over its old membership at once,
	// with no rebalance and no wait for the old session to time out. It must be unique per
	// process within a role (a StatefulSet pod name is ideal). Static members do not leave the
	// group on shutdown: their partitions move only after SessionTimeout.
	InstanceID string // also bounds the rebalance timeout (2x, at least 10 s)
	Logger     *slog.Logger
}

func (c Config) opts() []kgo.Opt {
	id := c.ClientID
	if id == "" {
		id = "paystream"
	}
	return []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(id)}
}

// NewProducer returns a client for producing with acks=all and the idempotent producer (franz-go's
// defaults, stated here so nobody weakens them by accident). Records are retried until
// deliveryTimeout, after which Produce's promise fails and callers must answer "unavailable".
// maxBuffered bounds records waiting in memory; beyond it Produce blocks, or fails fast when the
// client was built with kgo.MaxBufferedRecords + the caller's context expires.
func NewProducer(c Config, deliveryTimeout time.Duration, maxBuffered int, extra ...kgo.Opt) (*kgo.Client, error) {
	opts := append(c.opts(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
		kgo.MaxBufferedRecords(maxBuffered),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("building kafka producer: %w", err)
	}
	return cl, nil
}

// NewGroupConsumer returns a client consuming topics in group with auto-commit disabled: the owner
// commits only what it finished (see Loop). Rebalances are blocked while a polled batch is being
// processed, so a partition is never processed by two members at once in this process's view.
func NewGroupConsumer(c Config, group string, topics []string, extra ...kgo.Opt) (*kgo.Client, error) {
	opts := append(c.opts(),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
	)
	if c.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(c.InstanceID+"-"+group))
	}
	if c.SessionTimeout > 0 {
		// A member killed in the middle of a rebalance is bounded by the rebalance timeout, not the
		// session timeout (Kafka's default is 60 s): tie both to the one setting. A batch that takes
		// longer than this to finish (a dependency down) costs its member the partitions, and
		// its uncommitted records are replayed by the next owner.
		opts = append(opts,
			kgo.SessionTimeout(c.SessionTimeout),
			kgo.RebalanceTimeout(max(2*c.SessionTimeout, 10*time.Second)),
			kgo.HeartbeatInterval(max(c.SessionTimeout/10, 100*time.Millisecond)))
	}
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("building kafka consumer for group %s: %w", group, err)
	}
	return cl, nil
}

// Ping checks that a broker answers metadata requests within ctx.
func Ping(ctx context.Context, cl *kgo.Client) error {
	return cl.Ping(ctx)
}

// Pinger answers readiness checks ("does a broker answer?") with a client of its own that neither
// produces nor consumes. Build with NewPinger; safe for concurrent use.
type Pinger struct{ cl *kgo.Client }

// NewPinger builds a Pinger; it connects lazily, on the first Ping.
func NewPinger(c Config) (*Pinger, error) {
	cl, err := kgo.NewClient(c.opts()...)
	if err != nil {
		return nil, fmt.Errorf("building kafka client: %w", err)
	}
	return &Pinger{cl: cl}, nil
}

// Ping checks that a broker answers metadata requests within ctx.
func (p *Pinger) Ping(ctx context.Context) error { return p.cl.Ping(ctx) }

// Close closes the client. Idempotent.
func (p *Pinger) Close() { p.cl.Close() }
