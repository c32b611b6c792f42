package webhooksig_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/webhooksig"
)

// The Standard Webhooks specification's published test vector.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID  = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestNewSecret(t *testing.T) {
	a, b := webhooksig.NewSecret(), webhooksig.NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		enc, ok := strings.CutPrefix(s, "whsec_")
		if !ok {
			t.Fatalf("secret %q lacks whsec_", s)
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(raw) != 32 {
			t.Fatalf("secret %q: %d bytes, %v", s, len(raw), err)
		}
		if err := webhooksig.CheckSecret(s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	for _, s := range []string{"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if err := webhooksig.CheckSecret(s); !errors.Is(err, webhooksig.ErrBadSecret) {
			t.Errorf("CheckSecret(%q) = %v, want ErrBadSecret", s, err)
		}
	}
}

func TestSignKnownVectors(t *testing.T) {
	h, err := webhooksig.Sign(specSecret, specMsgID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("webhook-signature"); got != specSig {
		t.Errorf("webhook-signature = %q, want %q", got, specSig)
	}
	if got := h.Get("webhook-id"); got != specMsgID {
		t.Errorf("webhook-id = %q", got)
	}
	if got := h.Get("webhook-timestamp"); got != strconv.Itoa(specTS) {
		t.Errorf("webhook-timestamp = %q", got)
	}
	// Computed independently: printf '%s' '{"event":"payment.paid"}' | openssl dgst -sha256 -hmac '<specSecret>'
	// (the key is the whole secret string, whsec_ included, as the seed's Node.js example uses it).
	const want = "sha256=4afb46d22bee1278b646d186361007c949ed27485d9fa5b113a77db7850c4ddc"
	if got := webhooksig.XSignature(specSecret, []byte(`{"event":"payment.paid"}`)); got != want {
		t.Errorf("XSignature = %q, want %q", got, want)
	}
}

func TestSignErrors(t *testing.T) {
	if _, err := webhooksig.Sign("nope", "id", time.Now(), nil); !errors.Is(err, webhooksig.ErrBadSecret) {
		t.Errorf("bad secret: %v", err)
	}
	if _, err := webhooksig.Sign(specSecret, "", time.Now(), nil); !errors.Is(err, webhooksig.ErrMissingMessageID) {
		t.Errorf("empty id: %v", err)
	}
}

func TestVerifyXSignature(t *testing.T) {
	secret := webhooksig.NewSecret()
	body := []byte(`{"id":"x","event":"payment.paid"}`)
	good := webhooksig.XSignature(secret, body)
	hexPart := strings.TrimPrefix(good, "sha256=")
	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   error
	}{
		{"valid", secret, body, good, nil},
		{"upper-case hex", secret, body, "sha256=" + strings.ToUpper(hexPart), nil},
		{"upper-case prefix and spaces", secret, body, "  SHA256=" + hexPart + " ", nil},
		{"empty", secret, body, "", webhooksig.ErrMissingSignature},
		{"no prefix", secret, body, hexPart, webhooksig.ErrMalformedSignature},
		{"other algorithm", secret, body, "sha1=" + hexPart, webhooksig.ErrMalformedSignature},
		{"short digest", secret, body, "sha256=" + hexPart[:62], webhooksig.ErrMalformedSignature},
		{"not hex", secret, body, "sha256=" + strings.Repeat("zz", 32), webhooksig.ErrMalformedSignature},
		{"other body", secret, []byte(`{"id":"y"}`), good, webhooksig.ErrSignatureMismatch},
		{"other secret", webhooksig.NewSecret(), body, good, webhooksig.ErrSignatureMismatch},
		{"base64 instead of hex", secret, body, "sha256=" + base64.StdEncoding.EncodeToString([]byte(hexPart[:32])), webhooksig.ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhooksig.VerifyXSignature(tt.secret, tt.body, tt.header)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyStandard(t *testing.T) {
	secret := webhooksig.NewSecret()
	body := []byte(`{"id":"x"}`)
	now := time.Now()
	signed := func(ts time.Time) http.Header {
		h, err := webhooksig.Sign(secret, "evt_1", ts, body)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	good := signed(now)
	otherSig := signed(now).Get("webhook-signature")
	specH := http.Header{}
	specH.Set("webhook-id", specMsgID)
	specH.Set("webhook-timestamp", strconv.Itoa(specTS))
	specH.Set("webhook-signature", specSig)

	tests := []struct {
		name   string
		secret string
		body   []byte
		h      http.Header
		tol    []time.Duration
		want   error
	}{
		{"valid", secret, body, good, nil, nil},
		{"several signatures, one valid", secret, body, with(good, "webhook-signature", "v1,bm9wZQ== v2,xyz "+otherSig), nil, nil},
		{"spec vector, timestamp check off", specSecret, []byte(specBody), specH, []time.Duration{0}, nil},
		{"spec vector is stale", specSecret, []byte(specBody), specH, nil, webhooksig.ErrTimestampOutOfTolerance},
		{"old", secret, body, signed(now.Add(-10 * time.Minute)), nil, webhooksig.ErrTimestampOutOfTolerance},
		{"future", secret, body, signed(now.Add(10 * time.Minute)), nil, webhooksig.ErrTimestampOutOfTolerance},
		{"old but wide tolerance", secret, body, signed(now.Add(-10 * time.Minute)), []time.Duration{time.Hour}, nil},
		{"no id", secret, body, with(good, "webhook-id", ""), nil, webhooksig.ErrMissingSignature},
		{"no signature", secret, body, with(good, "webhook-signature", ""), nil, webhooksig.ErrMissingSignature},
		{"bad timestamp", secret, body, with(good, "webhook-timestamp", "yesterday"), nil, webhooksig.ErrMalformedSignature},
		{"other id", secret, body, with(good, "webhook-id", "evt_2"), nil, webhooksig.ErrSignatureMismatch},
		{"other timestamp", secret, body, with(good, "webhook-timestamp", strconv.FormatInt(now.Unix()+1, 10)), nil, webhooksig.ErrSignatureMismatch},
		{"other body", secret, []byte(`{"id":"y"}`), good, nil, webhooksig.ErrSignatureMismatch},
		{"other secret", webhooksig.NewSecret(), body, good, nil, webhooksig.ErrSignatureMismatch},
		{"bad secret", "whsec_!!", body, good, nil, webhooksig.ErrBadSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhooksig.VerifyStandard(tt.secret, tt.body, tt.h, tt.tol...)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerifyXSignature(f *testing.F) {
	f.Add(specSecret, []byte(`{"event":"payment.paid"}`), "sha256=4afb46d22bee1278b646d186361007c949ed27485d9fa5b113a77db7850c4ddc")
	f.Add("", []byte(nil), "")
	f.Add("s", []byte("b"), "sha256=zz")
	f.Add("whsec_x", []byte(specBody), "SHA256="+strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		err := webhooksig.VerifyXSignature(secret, body, header)
		if err != nil && !errors.Is(err, webhooksig.ErrMissingSignature) && !errors.Is(err, webhooksig.ErrMalformedSignature) && !errors.Is(err, webhooksig.ErrSignatureMismatch) {
			t.Fatalf("unclassified error %v", err)
		}
		if err == nil && header != webhooksig.XSignature(secret, body) {
			// Accepted a header that is not byte-identical: it must still be the same digest.
			norm := strings.ToLower(strings.TrimSpace(header))
			if norm != webhooksig.XSignature(secret, body) {
				t.Fatalf("accepted %q for a body whose signature is %q", header, webhooksig.XSignature(secret, body))
			}
		}
		if err := webhooksig.VerifyXSignature(secret, body, webhooksig.XSignature(secret, body)); err != nil {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func FuzzVerifyStandard(f *testing.F) {
	f.Add(specSecret, []byte(specBody), specMsgID, strconv.Itoa(specTS), specSig)
	f.Add("whsec_", []byte(nil), "", "", "")
	f.Add(specSecret, []byte("x"), "id", "-1", "v1,")
	f.Add(specSecret, []byte("x"), "id", "99999999999999999999", "v1,a v1,b")
	f.Fuzz(func(t *testing.T, secret string, body []byte, id, ts, sig string) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		err := webhooksig.VerifyStandard(secret, body, h, 0)
		if err != nil && !errors.Is(err, webhooksig.ErrBadSecret) && !errors.Is(err, webhooksig.ErrMissingSignature) &&
			!errors.Is(err, webhooksig.ErrMalformedSignature) && !errors.Is(err, webhooksig.ErrSignatureMismatch) {
			t.Fatalf("unclassified error %v", err)
		}
		if webhooksig.CheckSecret(secret) != nil || id == "" {
			return
		}
		signed, err := webhooksig.Sign(secret, id, time.Now(), body)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if err := webhooksig.VerifyStandard(secret, body, signed); err != nil && strings.TrimSpace(id) == id {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	secret := webhooksig.NewSecret()
	body := []byte(`{"id":"5b0f4c52-8e0a-4f4e-9f53-3d1f1c7a9e10","event":"payment.paid","environment":"SANDBOX","timestamp":"2026-05-05T10:01:00.000Z","data":{"payment_intent_id":"b5012f33-207e-4999-bf8d-5a1ebb10988e","amount":"500","currency":"BDT","customer_reference":"ORDER-10045","status":"PAID","trx_id":"DDN1G2WL8W","match_type":"AUTO_MATCH"}}`)
	ts := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := webhooksig.Sign(secret, "5b0f4c52-8e0a-4f4e-9f53-3d1f1c7a9e10", ts, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyXSignature(b *testing.B) {
	secret := webhooksig.NewSecret()
	body := []byte(strings.Repeat("x", 400))
	sig := webhooksig.XSignature(secret, body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := webhooksig.VerifyXSignature(secret, body, sig); err != nil {
			b.Fatal(err)
		}
	}
}
