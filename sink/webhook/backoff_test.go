package webhook

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	base := 10 * time.Second
	tests := []struct {
		failed int
		jitter float64
		want   time.Duration
	}{
		{1, 0, 10 * time.Second},
		{2, 0, 30 * time.Second},
		{3, 0, 90 * time.Second},
		{4, 0, 270 * time.Second},
		{1, 1, 12 * time.Second},
		{1, -1, 8 * time.Second},
		{5, 0, 810 * time.Second},
		{6, 0, 2430 * time.Second},
		{7, 0, MaxBackoff},
		{7, -1, 48 * time.Minute}, // capped before jitter, then jittered down
		{100, 1, MaxBackoff},
		{2, 5, 36 * time.Second}, // jitter clamped to ±20%
	}
	for _, tt := range tests {
		if got := backoff(base, tt.failed, tt.jitter); got != tt.want {
			t.Errorf("backoff(10s, %d, %v) = %v, want %v", tt.failed, tt.jitter, got, tt.want)
		}
	}
	for range 1000 {
		d := backoff(base, 2, randJitter())
		if d < 24*time.Second || d > 36*time.Second {
			t.Fatalf("jittered backoff %v outside ±20%% of 30s", d)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"-3", 0, false},
		{"99999999999", MaxBackoff, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxBackoff, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.v, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}
