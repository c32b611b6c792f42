// Package snstest plays AWS SNS's part in tests of SNS receivers: it signs messages as SNS does,
// with a locally generated RSA certificate that an httptest server serves, and the same server
// answers SubscribeURL confirmations and counts them. List Signer.Host in the receiver's extra
// trusted hosts (snsverify.Config.ExtraHosts, PAYSTREAM_SNS_TEST_HOSTS).
package snstest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SignatureVersion 1 is SHA1withRSA by AWS's definition.
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/snsverify"
)

// Signer signs SNS messages and serves its certificate at CertURL. Its server closes with the test.
type Signer struct {
	Server  *httptest.Server
	Host    string // host:port of Server
	CertURL string // http://<Host>/SimpleNotificationService-test.pem

	key      *rsa.PrivateKey
	certPEM  []byte
	certHits atomic.Int64
	confirms atomic.Int64
}

const certPath = "/SimpleNotificationService-test.pem"

// NewSigner generates a 2048-bit RSA key and a self-signed certificate and starts the server.
func NewSigner(t testing.TB) *Signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generating RSA key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.test.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating certificate: %v", err)
	}
	s := &Signer{key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Server.Close)
	s.Host = strings.TrimPrefix(s.Server.URL, "http://")
	s.CertURL = s.Server.URL + certPath
	return s
}

func (s *Signer) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == certPath:
		s.certHits.Add(1)
		_, _ = w.Write(s.certPEM)
	case r.URL.Query().Get("Action") == "ConfirmSubscription":
		s.confirms.Add(1)
		if r.URL.Path == "/refuse" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-west-2:123456789012:MyTopic:1</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// SubscribeURL returns a confirmation URL on the server for topic and token; refused makes the
// server answer it 403 (as SNS does for an expired token).
func (s *Signer) SubscribeURL(topic, token string, refused bool) string {
	path := "/"
	if refused {
		path = "/refuse"
	}
	return s.Server.URL + path + "?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(topic) + "&Token=" + url.QueryEscape(token)
}

// Sign sets m's SignatureVersion ("1" or "2"), SigningCertURL and Signature over snsverify's
// StringToSign(m). Sign after setting every signed field.
func (s *Signer) Sign(t testing.TB, m *snsverify.Message, version string) {
	t.Helper()
	m.SignatureVersion, m.SigningCertURL = version, s.CertURL
	str, err := snsverify.StringToSign(m)
	if err != nil {
		t.Fatalf("building the string to sign: %v", err)
	}
	var h crypto.Hash
	var digest []byte
	switch version {
	case "1":
		d := sha1.Sum(str) //nolint:gosec // see the import
		h, digest = crypto.SHA1, d[:]
	case "2":
		d := sha256.Sum256(str)
		h, digest = crypto.SHA256, d[:]
	default:
		t.Fatalf("unknown SignatureVersion %q", version)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, h, digest)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
}

// CertFetches counts requests for the certificate.
func (s *Signer) CertFetches() int64 { return s.certHits.Load() }

// Confirmations counts requests to SubscribeURLs (refused ones included).
func (s *Signer) Confirmations() int64 { return s.confirms.Load() }
