package directory

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cache is a bounded LRU whose entries are fresh for ttl on the injected clock: an expired entry is
// a miss (and is dropped). Safe for concurrent use.
type cache[V any] struct {
	lru *lru.Cache[string, entry[V]]
	ttl time.Duration
	now func() time.Time
}

type entry[V any] struct {
	v  V
	at time.Time
}

func newCache[V any](size int, ttl time.Duration, now func() time.Time) *cache[V] {
	l, err := lru.New[string, entry[V]](size)
	if err != nil {
		panic(err) // size > 0 is checked by Config.withDefaults
	}
	return &cache[V]{lru: l, ttl: ttl, now: now}
}

func (c *cache[V]) get(k string) (V, bool) {
	e, ok := c.lru.Get(k)
	if ok && c.now().Sub(e.at) < c.ttl {
		return e.v, true
	}
	if ok {
		c.lru.Remove(k)
	}
	var zero V
	return zero, false
}

func (c *cache[V]) add(k string, v V, at time.Time) { c.lru.Add(k, entry[V]{v: v, at: at}) }

func (c *cache[V]) remove(k string) { c.lru.Remove(k) }

func (c *cache[V]) len() int { return c.lru.Len() }
