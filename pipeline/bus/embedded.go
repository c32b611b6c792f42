package bus

import (
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is a single-node Kafka-protocol broker (franz-go's kfake) listening on 127.0.0.1, for dev
// and tests. With a data dir, the log and consumer-group offsets survive restarts (and kill -9).
// It is a test broker: no replication, no quotas. Production sets PAYSTREAM_KAFKA_BROKERS instead.
type Embedded struct {
	c *kfake.Cluster
}

// StartEmbedded starts the broker on addr ("127.0.0.1:9092"; port 0 picks a free one). dataDir ""
// keeps everything in memory. Close must be called to flush the data dir.
func StartEmbedded(addr, dataDir string, partitions int32, topics []string) (*Embedded, error) {
	host, portS, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("parsing embedded kafka address %q: %w", addr, err)
	}
	if host != "127.0.0.1" && host != "localhost" && host != "" {
		return nil, fmt.Errorf("embedded kafka listens on 127.0.0.1 only, not %q", host)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return nil, fmt.Errorf("parsing embedded kafka port %q: %w", portS, err)
	}
	if partitions <= 0 {
		partitions = 12
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DefaultNumPartitions(int(partitions)),
		kfake.ClusterID("paystream-dev"),
	}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	if dataDir != "" {
		// No SyncWrites: the page cache survives a kill -9 of this process; only a machine crash
		// could lose the last batches, and a real cluster (replication) is the answer to that.
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded kafka on %s: %w", addr, err)
	}
	return &Embedded{c: c}, nil
}

// Addrs returns the broker addresses clients should use.
func (e *Embedded) Addrs() []string { return e.c.ListenAddrs() }

// Close stops the broker and flushes its data dir. Safe to call more than once.
func (e *Embedded) Close() {
	if e != nil && e.c != nil {
		e.c.Close()
		e.c = nil
	}
}
