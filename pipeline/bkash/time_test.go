package bkash

import (
	"errors"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	gmt6 := time.FixedZone("", 6*3600)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2023-01-23T02:16:57:784 GMT+0600", time.Date(2023, 1, 23, 2, 16, 57, 784e6, gmt6), false},
		{"2025-12-09T16:12:43:828 GMT+0600", time.Date(2025, 12, 9, 16, 12, 43, 828e6, gmt6), false},
		{"2023-01-23T02:16:57:7 GMT+0600", time.Date(2023, 1, 23, 2, 16, 57, 700e6, gmt6), false},
		{"2023-01-23T02:16:57.784 GMT+0600", time.Date(2023, 1, 23, 2, 16, 57, 784e6, gmt6), false},
		{"2023-01-23T02:16:57 GMT+0600", time.Date(2023, 1, 23, 2, 16, 57, 0, gmt6), false},
		{"2023-01-23T02:16:57:784 GMT+06:00", time.Date(2023, 1, 23, 2, 16, 57, 784e6, gmt6), false},
		{"2023-01-23T02:16:57:784 GMT-0530", time.Date(2023, 1, 23, 2, 16, 57, 784e6, time.FixedZone("", -5*3600-1800)), false},
		{"2023-01-23T02:16:57:784 GMT", time.Date(2023, 1, 23, 2, 16, 57, 784e6, time.UTC), false},
		{"", time.Time{}, false},
		{"2023-01-23T02:16:57:784", time.Time{}, true},
		{"2023-01-23 02:16:57:784 GMT+0600", time.Time{}, true},
		{"2023-13-23T02:16:57:784 GMT+0600", time.Time{}, true},
		{"2023-01-23T02:16:57:78a GMT+0600", time.Time{}, true},
		{"2023-01-23T02:16:57:-78 GMT+0600", time.Time{}, true},
		{"2023-01-23T02:16:57: GMT+0600", time.Time{}, true},
		{"2023-01-23T02:16:57:784 GMT+6000", time.Time{}, true},
		{"2023-01-23T02:16:57:784 GMT0600", time.Time{}, true},
		{"2023-01-23T02:16:57:784 GMT+06:0", time.Time{}, true},
	} {
		got, err := ParseTime(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadTime) {
				t.Errorf("ParseTime(%q) = %v, %v; want ErrBadTime", tc.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatTimeRoundTrip(t *testing.T) {
	in := time.Date(2023, 1, 22, 20, 16, 57, 784e6, time.UTC)
	s := FormatTime(in)
	if s != "2023-01-23T02:16:57:784 GMT+0600" {
		t.Fatalf("FormatTime = %q", s)
	}
	back, err := ParseTime(s)
	if err != nil || !back.Equal(in) {
		t.Fatalf("round trip: %v, %v", back, err)
	}
	if s := FormatTime(time.Date(2023, 1, 22, 20, 16, 57, 5e6, time.UTC)); s != "2023-01-23T02:16:57:005 GMT+0600" {
		t.Fatalf("FormatTime pads milliseconds: %q", s)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2023-01-23T02:16:57:784 GMT+0600", "2025-12-09T16:12:43:828 GMT+0600", "2023-01-23T02:16:57 GMT", "", "x GMT+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		if err != nil {
			if !errors.Is(err, ErrBadTime) {
				t.Fatalf("error %v does not wrap ErrBadTime", err)
			}
			return
		}
		if got.IsZero() {
			return
		}
		// Whatever parsed must survive formatting (milliseconds, in GMT+0600) and parsing again.
		again, err := ParseTime(FormatTime(got))
		if err != nil || !again.Equal(got.Truncate(time.Millisecond)) {
			t.Fatalf("round trip of %q: %v, %v (from %v)", s, again, err, got)
		}
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"paymentID":"TR0011","trxID":"ABC","transactionStatus":"Completed","amount":"500","paymentExecuteTime":"2023-01-23T02:16:57:784 GMT+0600","statusCode":"0000"}`,
		`{"statusCode":"2023","statusMessage":"Insufficient Balance"}`,
		`{"message":"The incoming token has expired"}`,
		`{"paymentID":"x","amount":"1e9"}`, `[]`, `null`,
	} {
		f.Add([]byte(s), 200)
	}
	f.Fuzz(func(t *testing.T, raw []byte, status int) {
		a := &answer{status: status, raw: raw}
		_ = jsonUnmarshal(raw, &a.env)
		if err := judge("execute", a); err != nil {
			var se *StatusError
			if errors.As(err, &se) && se.Outcome == OutcomeOK {
				t.Fatalf("a StatusError with outcome ok: %v", err)
			}
			return
		}
		var p Payment
		if jsonUnmarshal(raw, &p) == nil {
			_ = p.finish("execute", raw) // must not panic
		}
	})
}

func BenchmarkParseTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTime("2023-01-23T02:16:57:784 GMT+0600"); err != nil {
			b.Fatal(err)
		}
	}
}
