package snsverify

import (
	"crypto/rsa"
	"fmt"
	"testing"
	"time"
)

func TestCertCacheBoundedWithTTL(t *testing.T) {
	c := certCache{max: 4, ttl: time.Minute, m: map[string]certEntry{}}
	t0 := time.Unix(1_700_000_000, 0)
	key := &rsa.PublicKey{}
	for i := range 10 {
		c.put(fmt.Sprint(i), key, t0.Add(time.Duration(i)*time.Second))
		if c.len() > 4 {
			t.Fatalf("cache grew to %d", c.len())
		}
	}
	if _, ok := c.get("0", t0.Add(10*time.Second)); ok {
		t.Fatal("the oldest entry survived eviction")
	}
	if _, ok := c.get("9", t0.Add(10*time.Second)); !ok {
		t.Fatal("the newest entry was evicted")
	}
	if _, ok := c.get("9", t0.Add(9*time.Second+time.Minute)); ok {
		t.Fatal("an entry outlived its TTL")
	}
}
