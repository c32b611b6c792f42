package snsverify_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/snsverify"
	"github.com/paystream/paystream/pipeline/snsverify/snstest"
)

func TestStringToSign(t *testing.T) {
	subj := "Hi"
	got, err := snsverify.StringToSign(&snsverify.Message{
		Type: "Notification", MessageID: "m1", Message: `{"a":1}`, Subject: &subj, Timestamp: "2018-04-19T12:22:46.236Z",
		TopicArn: "arn:t", Token: "ignored", SubscribeURL: "ignored",
	})
	want := "Message\n{\"a\":1}\nMessageId\nm1\nSubject\nHi\nTimestamp\n2018-04-19T12:22:46.236Z\nTopicArn\narn:t\nType\nNotification\n"
	if err != nil || string(got) != want {
		t.Fatalf("notification: %q, %v", got, err)
	}
	got, _ = snsverify.StringToSign(&snsverify.Message{Type: "Notification", MessageID: "m1", Message: "x", Timestamp: "ts", TopicArn: "arn:t"})
	if want := "Message\nx\nMessageId\nm1\nTimestamp\nts\nTopicArn\narn:t\nType\nNotification\n"; string(got) != want {
		t.Fatalf("notification without Subject: %q", got)
	}
	got, _ = snsverify.StringToSign(&snsverify.Message{
		Type: "SubscriptionConfirmation", MessageID: "m2", Message: "confirm", Timestamp: "ts", TopicArn: "arn:t", Token: "tok", SubscribeURL: "https://u",
	})
	if want := "Message\nconfirm\nMessageId\nm2\nSubscribeURL\nhttps://u\nTimestamp\nts\nToken\ntok\nTopicArn\narn:t\nType\nSubscriptionConfirmation\n"; string(got) != want {
		t.Fatalf("confirmation: %q", got)
	}
	if _, err := snsverify.StringToSign(&snsverify.Message{Type: "Other"}); !errors.Is(err, snsverify.ErrUnknownType) {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestTrusted(t *testing.T) {
	v := snsverify.New(snsverify.Config{ExtraHosts: []string{"127.0.0.1:8443"}})
	for _, tt := range []struct {
		url     string
		ok      bool
		private bool
	}{
		{"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription", true, false},
		{"https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-ac565b8b1a6c5d002d285f9598aa1d9b.pem", true, false},
		{"https://SNS.US-EAST-1.AMAZONAWS.COM/x.pem", true, false},
		{"https://sns.cn-north-1.amazonaws.com.cn/x.pem", true, false},
		{"http://127.0.0.1:8443/x.pem", true, true},
		{"https://127.0.0.1:8443/x.pem", true, true},
		{"http://sns.us-west-2.amazonaws.com/x.pem", false, false},
		{"https://sns.us-west-2.amazonaws.com:8443/x.pem", false, false},
		{"https://sns.us-west-2.amazonaws.com.evil.example/x.pem", false, false},
		{"https://evil.example.com/sns.us-west-2.amazonaws.com/x.pem", false, false},
		{"https://sqs.us-west-2.amazonaws.com/x.pem", false, false},
		{"https://x.sns.us-west-2.amazonaws.com/x.pem", false, false},
		{"https://sns.us-west-2.amazonaws.com@evil.example/x.pem", false, false},
		{"https://u:p@sns.us-west-2.amazonaws.com/x.pem", false, false},
		{"https://sns.us_west.amazonaws.com/x.pem", false, false},
		{"http://127.0.0.1:8444/x.pem", false, false},
		{"ftp://127.0.0.1:8443/x.pem", false, false},
		{"//sns.us-west-2.amazonaws.com/x.pem", false, false},
		{"sns.us-west-2.amazonaws.com/x.pem", false, false},
		{"", false, false},
		{"https://sns.us-west-2.amazonaws.com%00.evil/x", false, false},
	} {
		u, private, err := v.Trusted(tt.url)
		if tt.ok != (err == nil) || (err == nil && (u == nil || private != tt.private)) || (err != nil && !errors.Is(err, snsverify.ErrUntrustedURL)) {
			t.Errorf("Trusted(%q) = %v, %v, %v; want ok=%v private=%v", tt.url, u, private, err, tt.ok, tt.private)
		}
	}
}

func signed(t *testing.T, s *snstest.Signer, version string) *snsverify.Message {
	m := &snsverify.Message{
		Type: "Notification", MessageID: "20d48143-6af4-571d-b7cb-d211e6a2ac69", Message: `{"trxID":"4J420ANOXC","amount":"100"}`,
		Timestamp: "2018-04-19T12:22:46.236Z", TopicArn: "arn:aws:sns:ap-southeast-1:354285753755:bpt_01823072645",
	}
	s.Sign(t, m, version)
	return m
}

func TestVerify(t *testing.T) {
	s := snstest.NewSigner(t)
	v := snsverify.New(snsverify.Config{ExtraHosts: []string{s.Host}})
	t.Cleanup(v.CloseIdleConnections)
	for _, version := range []string{"1", "2"} {
		if err := v.Verify(t.Context(), signed(t, s, version)); err != nil {
			t.Fatalf("v%s: %v", version, err)
		}
	}
	if n := s.CertFetches(); n != 1 {
		t.Fatalf("certificate fetched %d times, want once (cached)", n)
	}
	conf := &snsverify.Message{Type: "SubscriptionConfirmation", MessageID: "m", Message: "confirm", Timestamp: "ts", TopicArn: "arn", Token: "tok", SubscribeURL: s.SubscribeURL("arn", "tok", false)}
	s.Sign(t, conf, "2")
	if err := v.Verify(t.Context(), conf); err != nil {
		t.Fatalf("confirmation: %v", err)
	}

	tamper := []struct {
		name string
		edit func(m *snsverify.Message)
		want error
	}{
		{"message", func(m *snsverify.Message) { m.Message = strings.Replace(m.Message, "100", "900", 1) }, snsverify.ErrBadSignature},
		{"type", func(m *snsverify.Message) { m.Type = "SubscriptionConfirmation" }, snsverify.ErrBadSignature},
		{"subject added", func(m *snsverify.Message) { s := ""; m.Subject = &s }, snsverify.ErrBadSignature},
		{"version switched", func(m *snsverify.Message) { m.SignatureVersion = "2" }, snsverify.ErrBadSignature},
		{"signature bytes", func(m *snsverify.Message) { m.Signature = "AAAA" + m.Signature[4:] }, snsverify.ErrBadSignature},
		{"signature not base64", func(m *snsverify.Message) { m.Signature = "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2..." }, snsverify.ErrBadSignature},
		{"no signature", func(m *snsverify.Message) { m.Signature = "" }, snsverify.ErrMissingSignature},
		{"no certificate", func(m *snsverify.Message) { m.SigningCertURL = "" }, snsverify.ErrMissingSignature},
		{"version 3", func(m *snsverify.Message) { m.SignatureVersion = "3" }, snsverify.ErrUnsupportedVersion},
		{"unknown type", func(m *snsverify.Message) { m.Type = "Other" }, snsverify.ErrUnknownType},
		{"foreign certificate host", func(m *snsverify.Message) { m.SigningCertURL = "https://evil.example.com/x.pem" }, snsverify.ErrUntrustedURL},
		{"not a .pem", func(m *snsverify.Message) { m.SigningCertURL = s.Server.URL + "/cert" }, snsverify.ErrUntrustedURL},
		{"certificate missing", func(m *snsverify.Message) { m.SigningCertURL = s.Server.URL + "/nope/x.pem?Action=x" }, snsverify.ErrBadCertificate},
	}
	for _, tt := range tamper {
		m := signed(t, s, "1")
		tt.edit(m)
		if err := v.Verify(t.Context(), m); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	// Another key with the same certificate URL: the signature does not verify.
	other := snstest.NewSigner(t)
	m := signed(t, other, "2")
	m.SigningCertURL = s.CertURL
	if err := v.Verify(t.Context(), m); !errors.Is(err, snsverify.ErrBadSignature) {
		t.Fatalf("other key: %v", err)
	}
}

func TestVerifyCertificateServerFailures(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if c := int(status.Load()); c != 200 {
			w.WriteHeader(c)
			return
		}
		_, _ = w.Write([]byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	}))
	t.Cleanup(srv.Close)
	s := snstest.NewSigner(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	v := snsverify.New(snsverify.Config{ExtraHosts: []string{host}, Timeout: 2 * time.Second})
	t.Cleanup(v.CloseIdleConnections)
	try := func(code int32, want error) {
		t.Helper()
		status.Store(code)
		m := signed(t, s, "1")
		m.SigningCertURL = srv.URL + "/x.pem"
		if err := v.Verify(t.Context(), m); !errors.Is(err, want) {
			t.Fatalf("certificate server answering %d: got %v, want %v", code, err, want)
		}
	}
	try(200, snsverify.ErrBadCertificate)
	try(404, snsverify.ErrBadCertificate)
	try(503, snsverify.ErrUnreachable)
	srv.Close()
	try(200, snsverify.ErrUnreachable)
}

func TestConfirmSubscription(t *testing.T) {
	s := snstest.NewSigner(t)
	v := snsverify.New(snsverify.Config{ExtraHosts: []string{s.Host}})
	t.Cleanup(v.CloseIdleConnections)
	if err := v.ConfirmSubscription(t.Context(), s.SubscribeURL("arn", "tok", false)); err != nil {
		t.Fatal(err)
	}
	if err := v.ConfirmSubscription(t.Context(), s.SubscribeURL("arn", "tok", true)); !errors.Is(err, snsverify.ErrRefused) {
		t.Fatalf("refused: %v", err)
	}
	if n := s.Confirmations(); n != 2 {
		t.Fatalf("%d confirmations, want 2", n)
	}
	for _, u := range []string{
		"https://evil.example.com/?Action=ConfirmSubscription&Token=x",
		s.Server.URL + "/?Action=Unsubscribe&Token=x",
		s.Server.URL + "/x.pem",
	} {
		if err := v.ConfirmSubscription(t.Context(), u); !errors.Is(err, snsverify.ErrUntrustedURL) {
			t.Errorf("%s: %v", u, err)
		}
	}
	if n := s.Confirmations(); n != 2 {
		t.Fatalf("an untrusted SubscribeURL was fetched (%d confirmations)", n)
	}
	// Not an extra host: the AWS rule applies (https only), so a plain-http loopback URL is refused.
	strict := snsverify.New(snsverify.Config{})
	if err := strict.ConfirmSubscription(t.Context(), s.SubscribeURL("arn", "tok", false)); !errors.Is(err, snsverify.ErrUntrustedURL) {
		t.Fatalf("loopback without extra hosts: %v", err)
	}
}
