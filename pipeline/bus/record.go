package bus

import (
	"iter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is one Kafka record as the stages see it: what they read of a consumed record, and what
// they give Consumer.Produce. It is a small value; Key and Value alias the fetched bytes (nothing
// is copied), so a consumed Record is valid only while the Batch holding it is (see Batch), and a
// stage that keeps its bytes longer copies them.
type Record struct {
	Topic     string
	Partition int32 // consumed: the record's partition; ignored by Produce (the key decides)
	Offset    int64 // consumed: the record's offset; ignored by Produce
	Key       []byte
	Value     []byte
	// Timestamp is the record's (producer's) time; Produce leaves a zero Timestamp to the client,
	// which stamps the time of producing.
	Timestamp time.Time
}

// Partition is a batch's records of one topic partition, in offset order.
type Partition struct {
	Topic     string
	Partition int32
	Records   []Record
}

// Batch is what a Consumer hands to ConsumerConfig.Handle: the records of one poll (or of several,
// see ConsumerConfig.Fill), grouped by topic partition, each partition's records in offset order,
// partitions in the order they were first fetched. The consumer owns it and reuses its memory for
// the next batch once Handle returned nil: a handler must not keep the Batch, its Partitions or its
// Records (nor their Key and Value) past its return. After a failed Handle the consumer hands the
// very same Batch again. A Batch is not safe for concurrent modification; concurrent reads are fine.
type Batch struct {
	// Partitions holds the records, never an empty Partition.
	Partitions []Partition

	recs    []Record // the records in fetch order, Key and Value aliasing the fetched bytes
	chunks  []chunk  // runs of recs of one partition, in fetch order
	grouped []Record // recs regrouped when a partition came in more than one run
	index   map[topicPartition]int
	n       int
}

type topicPartition struct {
	topic     string
	partition int32
}

// chunk is a run of Batch.recs of one partition.
type chunk struct {
	tp         topicPartition
	start, end int
}

// NewBatch returns a Batch of recs, grouped as a Consumer groups them (by topic partition, in the
// order given). The consumer builds its batches itself; NewBatch is for handlers' tests and
// benchmarks. The Batch aliases nothing of recs but the bytes of Key and Value.
func NewBatch(recs ...Record) *Batch {
	b := &Batch{}
	for i := range recs {
		r := &recs[i]
		b.appendRecord(topicPartition{r.Topic, r.Partition}, *r)
	}
	b.group()
	return b
}

// Len is the number of records in the batch.
func (b *Batch) Len() int { return b.n }

// Records yields every record of the batch, partition by partition, each in offset order. The
// yielded pointers point into the batch (no copy) and share its lifetime.
func (b *Batch) Records() iter.Seq[*Record] {
	return func(yield func(*Record) bool) {
		for pi := range b.Partitions {
			recs := b.Partitions[pi].Records
			for i := range recs {
				if !yield(&recs[i]) {
					return
				}
			}
		}
	}
}

// First returns the batch's first record (that of Records), or nil for an empty batch.
func (b *Batch) First() *Record {
	if len(b.Partitions) == 0 {
		return nil
	}
	return &b.Partitions[0].Records[0]
}

// reset empties the batch, keeping its memory for the next one. The records it held are dropped
// from the reused slices so that the fetched bytes they alias can be collected.
func (b *Batch) reset() {
	clear(b.recs)
	clear(b.grouped)
	clear(b.Partitions)
	b.recs, b.grouped, b.Partitions, b.chunks = b.recs[:0], b.grouped[:0], b.Partitions[:0], b.chunks[:0]
	b.n = 0
}

// add appends the records of one poll, copying each *kgo.Record's fields into the reused slice
// (no allocation per record once the slice has grown to a poll's size). It returns the number of
// records added. Call group before handing the batch out.
func (b *Batch) add(fetches kgo.Fetches) int {
	n := 0
	for i := range fetches {
		for ti := range fetches[i].Topics {
			t := &fetches[i].Topics[ti]
			for pi := range t.Partitions {
				p := &t.Partitions[pi]
				if len(p.Records) == 0 {
					continue
				}
				tp := topicPartition{t.Topic, p.Partition}
				for _, r := range p.Records {
					b.appendRecord(tp, Record{
						Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
						Key: r.Key, Value: r.Value, Timestamp: r.Timestamp,
					})
				}
				n += len(p.Records)
			}
		}
	}
	return n
}

func (b *Batch) appendRecord(tp topicPartition, r Record) {
	if k := len(b.chunks) - 1; k >= 0 && b.chunks[k].tp == tp && b.chunks[k].end == len(b.recs) {
		b.chunks[k].end++
	} else {
		b.chunks = append(b.chunks, chunk{tp: tp, start: len(b.recs), end: len(b.recs) + 1})
	}
	b.recs = append(b.recs, r)
	b.n++
}

// group builds Partitions from the runs added. In the usual case (each partition in one run) the
// partitions alias the fetch-order slice; a partition fetched in several runs (several polls of a
// filled batch) is regrouped, its runs concatenated in fetch (so offset) order.
func (b *Batch) group() {
	clear(b.Partitions)
	b.Partitions = b.Partitions[:0]
	if b.index == nil {
		b.index = make(map[topicPartition]int)
	}
	clear(b.index)
	split := false
	for _, c := range b.chunks {
		if i, ok := b.index[c.tp]; ok {
			b.Partitions[i].Records = nil // sized below
			split = true
			continue
		}
		b.index[c.tp] = len(b.Partitions)
		b.Partitions = append(b.Partitions, Partition{Topic: c.tp.topic, Partition: c.tp.partition, Records: b.recs[c.start:c.end:c.end]})
	}
	if !split {
		return
	}
	// Count each partition's records, lay the partitions out one after the other, copy the runs.
	counts := make([]int, len(b.Partitions))
	for _, c := range b.chunks {
		counts[b.index[c.tp]] += c.end - c.start
	}
	b.grouped = append(b.grouped[:0], make([]Record, len(b.recs))...)
	at := 0
	for i := range b.Partitions {
		b.Partitions[i].Records = b.grouped[at : at : at+counts[i]]
		at += counts[i]
	}
	for _, c := range b.chunks {
		p := &b.Partitions[b.index[c.tp]]
		p.Records = append(p.Records, b.recs[c.start:c.end]...)
	}
}

// toProduce makes the records franz-go produces of recs: two allocations per call, none per record.
// franz-go owns them until their promises ran (ProduceSync returns after that).
func toProduce(recs []Record) []*kgo.Record {
	krs := make([]kgo.Record, len(recs))
	ptrs := make([]*kgo.Record, len(recs))
	for i := range recs {
		r := &recs[i]
		krs[i] = kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		ptrs[i] = &krs[i]
	}
	return ptrs
}
