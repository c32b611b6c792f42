package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// Tests of limits.go's pure parts: the JSON depth scanner and the client address of the
// per-address limits. The rate limits, the depth bound and the header bound as the edge answers
// them, with every surface mounted, are in ratelimits_test.go (package ingest_test).
func TestJSONTooDeep(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"{}", false},
		{deep(32), false},
		{deep(33), true},
		{strings.Repeat("{\"a\":", 33) + "1" + strings.Repeat("}", 33), true},
		{`{"a":[` + `{"b":` + deep(29) + `}]}`, false},             // 32
		{`{"a":[` + `{"b":` + deep(30) + `}]}`, true},              // 33
		{`["` + strings.Repeat("[", 40) + `"]`, false},             // brackets inside a string
		{`["\"` + strings.Repeat("[", 40) + `"]`, false},           // ...after an escaped quote
		{`["\\"` + strings.Repeat(",[", 33), true},                 // an escaped backslash ends the string
		{`["\\\"` + strings.Repeat("[", 40) + `"]`, false},         // \\ then \" : still inside
		{`{"k\"[[[[":` + deep(32) + `}`, true},                     // a key with quotes and brackets
		{`"` + strings.Repeat("[", 40), false},                     // unterminated string
		{`["\`, false},                                             // a trailing backslash
		{strings.Repeat("]", 50) + deep(33), true},                 // stray closers do not hide depth
		{strings.Repeat("[]", 1000), false},                        // wide, not deep
		{`[` + strings.Repeat(`"\u005b[",`, 40) + `1]`, false},     // \u escapes inside strings
		{strings.Repeat("[", 32) + `"]]]]"` + "[" + "]", true},     // depth 33 after a string of closers
		{strings.Repeat("[", 20) + strings.Repeat("{", 13), true},  // mixed, unterminated
		{strings.Repeat("[", 20) + strings.Repeat("{", 12), false}, // mixed, 32
	} {
		if got := jsonTooDeep([]byte(tc.in), maxJSONDepth); got != tc.want {
			t.Errorf("jsonTooDeep(%.60q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for in, want := range map[string]bool{"": false, " \r\n\t[1]": true, "{}": true, `"x"`: false, "trxId=[[[": false, "  a{": false} {
		if got := isJSONDoc([]byte(in)); got != want {
			t.Errorf("isJSONDoc(%q) = %v, want %v", in, got, want)
		}
	}
}

// jsonDepth is the deepest nesting encoding/json's tokenizer meets in a valid document.
func jsonDepth(b []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest, nil
		}
		if err != nil {
			return 0, err
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max(deepest, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

// FuzzJSONTooDeep: the scanner never panics, and on valid JSON it agrees with encoding/json about
// whether the nesting exceeds a bound (32, and small bounds that random inputs reach).
func FuzzJSONTooDeep(f *testing.F) {
	for _, s := range []string{
		`{"amount":500,"currency":"BDT","customerReference":"ORDER-10045","metadata":{"a":[1,2,{"b":null}]}}`,
		`{"Type":"Notification","Message":"{\"trxID\":\"ABC\",\"amount\":\"100.50\"}"}`,
		`["\"[[[", "\\", {"k\"{": [[["x"]]]}]`,
		strings.Repeat("[", 33) + strings.Repeat("]", 33),
		strings.Repeat(`{"a":`, 32) + "1" + strings.Repeat("}", 32),
		`"\u005b"`, `["\`, `]]]][[[[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		deep := jsonTooDeep(b, maxJSONDepth)
		if !json.Valid(b) {
			return
		}
		d, err := jsonDepth(b)
		if err != nil {
			t.Fatalf("valid JSON %q: tokenizer: %v", b, err)
		}
		for _, bound := range []int{1, 2, 3, maxJSONDepth} {
			got := deep
			if bound != maxJSONDepth {
				got = jsonTooDeep(b, bound)
			}
			if want := d > bound; got != want {
				t.Fatalf("jsonTooDeep(%q, %d) = %v; encoding/json nests %d levels", b, bound, got, d)
			}
		}
	})
}

func BenchmarkJSONTooDeep(b *testing.B) {
	body := []byte(`{"amount":500,"currency":"BDT","customerReference":"ORDER-10045","idempotencyKey":"pi_ORDER-10045",` +
		`"ttlSeconds":300,"successUrl":"https://smspaybd.com/payment/success","metadata":{"cart":[{"sku":"A-1","name":"T-shirt \"L\"","qty":2}]}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if jsonTooDeep(body, maxJSONDepth) {
			b.Fatal("too deep")
		}
	}
}

// TestCheckoutClientKey: the client address of the per-address limits (ClientKey; it was the
// hosted checkout's own before the checkout moved to ingest/checkout).
func TestCheckoutClientKey(t *testing.T) {
	for _, tc := range []struct{ peer, xff, want string }{
		{"198.51.100.7", "203.0.113.1", "198.51.100.7"},                 // a public peer: XFF is not trusted
		{"127.0.0.1", "", "127.0.0.1"},                                  // no proxy header
		{"127.0.0.1", "203.0.113.1", "203.0.113.1"},                     // one proxy
		{"10.0.0.5", "6.6.6.6, 203.0.113.1, 10.0.0.9", "203.0.113.1"},   // LB chain: rightmost public
		{"10.0.0.5", "10.9.9.9, 192.168.1.20", "192.168.1.20"},          // all private: rightmost
		{"10.0.0.5", "garbage, 203.0.113.2", "203.0.113.2"},             // junk entries skipped
		{"2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"},               // IPv6 per /64
		{"::1", "2001:db8:aa:bb:cc::1", "2001:db8:aa:bb::/64"},          // IPv6 through a proxy
		{"::ffff:198.51.100.9", "", "198.51.100.9"},                     // v4-mapped
		{"172.16.0.1", "2001:db8:1:2::1, 198.51.100.3", "198.51.100.3"}, // mixed families
	} {
		var ctx fasthttp.RequestCtx
		ctx.SetRemoteAddr(&net.TCPAddr{IP: net.ParseIP(tc.peer)})
		if tc.xff != "" {
			ctx.Request.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := ClientKey(&ctx); got != tc.want {
			t.Errorf("peer %s XFF %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}
