package admin_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/ingesttest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
)

// Component tests of the admin API on the shared fixture (ingest/ingesttest: real Redis, embedded
// Kafka, requests in memory), with the native merchant API mounted beside it for intents.

type fixture struct {
	*ingesttest.Fixture
	s     stores
	keys  pipeline.Keys
	admin string
}

// stores are the fixture's clients, as the tests read what the admin API wrote.
type stores struct {
	dir   *directory.Directory
	rdb   redis.UniversalClient
	state *state.Store
}

func newFixture(t testing.TB, produceTimeout time.Duration) *fixture {
	t.Helper()
	f := ingesttest.New(t, produceTimeout, func(f *ingesttest.Fixture) []ingest.Surface { return []ingest.Surface{f.Native()} })
	return &fixture{Fixture: f, s: stores{dir: f.Dir, rdb: f.RDB, state: f.State}, keys: f.Keys, admin: f.Admin}
}

func (f *fixture) do(method, path string, headers map[string]string, body string) (int, map[string]any, *fasthttp.Response) {
	return f.Do(method, path, headers, body)
}

func (f *fixture) onboard(t testing.TB) (testKey, liveKey string) { return f.Onboard(t) }

func randHex(n int) string { return ingesttest.RandHex(n) }

// txnMerchant is a merchant with SANDBOX bKash and Nagad wallets and a LIVE bKash wallet.
type txnMerchant struct {
	id, key              string // key: the SANDBOX merchant API key
	bkash, nagad, liveBK string
}

func (f *fixture) txnOnboard(t testing.TB) txnMerchant {
	t.Helper()
	m := f.OnboardWallets(t)
	return txnMerchant{id: m.ID, key: m.Key, bkash: m.BKash, nagad: m.Nagad, liveBK: m.LiveBKash}
}

// recordEvents taps the edge's publisher: every event Kafka acknowledged from now on is kept.
func recordEvents(f *fixture) *ingesttest.Recorder { return f.Record() }

// TestAdminTokenRequired (moved from ingest's ingest_test.go): without the right bearer token the
// admin API answers 401 in the native shape.
func TestAdminTokenRequired(t *testing.T) {
	f := newFixture(t, time.Second)
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer"}, {"Authorization": "Bearer " + f.admin + "x"}, {"Authorization": "Basic " + f.admin}} {
		if code, m, _ := f.do("POST", "/admin/v1/merchants", h, `{}`); code != 401 || m["error"] != "Unauthorized" {
			t.Fatalf("%v: %d %v", h, code, m)
		}
	}
}
