package bkash

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadTime reports a timestamp that is not in bKash's format.
var ErrBadTime = errors.New(`bkash time must look like "2023-01-23T02:16:57:784 GMT+0600"`)

// ParseTime parses bKash's timestamps: "2023-01-23T02:16:57:784 GMT+0600" (milliseconds after a
// colon, zone as GMT±hhmm). It also accepts 1 to 9 fraction digits, a '.' before them, none at all,
// and zones written GMT±hh:mm or GMT±hh. An empty string is the zero time and no error.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	clock, zone, ok := strings.Cut(s, " GMT")
	if !ok || len(clock) < len("2006-01-02T15:04:05") {
		return time.Time{}, ErrBadTime
	}
	base, frac := clock[:19], clock[19:]
	t, err := time.Parse("2006-01-02T15:04:05", base)
	if err != nil {
		return time.Time{}, ErrBadTime
	}
	var nanos int
	if frac != "" {
		if frac[0] != ':' && frac[0] != '.' {
			return time.Time{}, ErrBadTime
		}
		digits := frac[1:]
		if len(digits) < 1 || len(digits) > 9 {
			return time.Time{}, ErrBadTime
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n < 0 || strings.ContainsAny(digits, "+- ") {
			return time.Time{}, ErrBadTime
		}
		for i := len(digits); i < 9; i++ {
			n *= 10
		}
		nanos = n
	}
	off, ok := parseZone(zone)
	if !ok {
		return time.Time{}, ErrBadTime
	}
	loc := time.FixedZone("GMT"+zone, off)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), nanos, loc), nil
}

// parseZone reads "+0600", "+06:00", "+06", "-0530" (or "" for GMT itself) as seconds east of UTC.
func parseZone(z string) (int, bool) {
	if z == "" {
		return 0, true
	}
	sign := 1
	switch z[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	z = strings.ReplaceAll(z[1:], ":", "")
	if len(z) != 2 && len(z) != 4 {
		return 0, false
	}
	for _, r := range z {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	h, _ := strconv.Atoi(z[:2])
	m := 0
	if len(z) == 4 {
		m, _ = strconv.Atoi(z[2:])
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// dhaka is bKash's zone (GMT+0600, no daylight saving).
var dhaka = time.FixedZone("GMT+0600", 6*3600)

// FormatTime writes t as bKash does, in GMT+0600: "2023-01-23T02:16:57:784 GMT+0600".
func FormatTime(t time.Time) string {
	t = t.In(dhaka)
	return t.Format("2006-01-02T15:04:05") + ":" + strconv.Itoa(t.Nanosecond()/1e6 + 1000)[1:] + " GMT+0600"
}
