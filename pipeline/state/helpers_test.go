package state

import (
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/testenv"
	"github.com/redis/go-redis/v9"
)

// newTestStore returns a store on the real Redis (PAYSTREAM_TEST_REDIS_ADDR, default
// 127.0.0.1:6379) under a unique prefix whose keys are deleted when the test ends.
func newTestStore(t *testing.T) (*Store, *redis.Client) {
	t.Helper()
	rdb, keys := testenv.Redis(t)
	return New(rdb, keys), rdb
}

var (
	walletA = pipeline.Wallet{Provider: pipeline.BKash, Account: "01711111111", Environment: pipeline.Sandbox}
	walletB = pipeline.Wallet{Provider: pipeline.Nagad, Account: "01822222222", Environment: pipeline.Sandbox}
)

// t0 is a fixed instant with sub-millisecond precision, to catch ms rounding mistakes.
var t0 = time.Date(2026, 5, 5, 10, 0, 0, 123456789, time.UTC)

func testIntent(id string, w pipeline.Wallet, amount pipeline.Money, ref string, created time.Time) *pipeline.Intent {
	return &pipeline.Intent{
		ID: id, MerchantID: "m1", Environment: w.Environment, Amount: amount, Currency: "BDT",
		CustomerReference: ref, Provider: w.Provider, ReceiverMsisdn: w.Account, Dialect: pipeline.DialectNative,
		CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute),
	}
}
