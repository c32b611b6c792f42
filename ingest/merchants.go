package ingest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
)

// HashSecret is the hex SHA-256 of a credential: how API keys, app keys and integration keys are
// stored and looked up (never the secret itself). It is directory.HashSecret.
func HashSecret(s string) string { return directory.HashSecret(s) }

// EqualHash compares two hex digests (HashSecret) in constant time.
func EqualHash(a, b string) bool { return directory.EqualHash(a, b) }

// RandomToken returns n random bytes (crypto/rand) as URL-safe base64 without padding: for
// credentials a client is handed once.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err)) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// RandomHex returns n random bytes (crypto/rand) as hex: for ids.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AppKey authenticates a bdQuickPay app key and its secret key (seed 001): the merchant and the
// environment of the pair, nil if it is unknown or the secret does not match. err is a Redis
// failure.
func (s *Server) AppKey(ctx context.Context, appKey, secretKey string) (*pipeline.Merchant, pipeline.Environment, error) {
	return s.dir.AppKey(ctx, appKey, secretKey)
}
