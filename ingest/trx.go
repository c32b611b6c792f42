package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
)

// PinSNSTopic binds integration in, created without a topic, to topic: only if it still has none,
// so two confirmations cannot both pin (directory.PinSNSTopic). It drops the integration from the
// lookup cache.
func (s *Server) PinSNSTopic(ctx context.Context, in *pipeline.Integration, topic string) error {
	return s.dir.PinSNSTopic(ctx, in, topic)
}

// PublicURL is path under Config.PublicURL: the URLs the API hands out.
func (s *Server) PublicURL(path string) string {
	u := s.cfg.PublicURL
	for len(u) > 0 && u[len(u)-1] == '/' {
		u = u[:len(u)-1]
	}
	return u + path
}

// Ingest's TrxID marks (pipeline.Keys.ReportedTrx) for the surfaces whose seeds answer a repeated
// TrxID synchronously (the transaction API's 400, SNS's 409). A mark is "pending" from before the
// event is produced until Kafka acknowledged it, then "done". Only "done" (or the matcher's own
// mark of a decided TrxID, pipeline.Keys.Trx) makes a report a duplicate: a "pending" mark may be
// left by a process that died while waiting for Kafka, so a report that finds it produces the same
// event again (TrxEventID: same surface, wallet and TrxID, same id), which every consumer drops by
// its id, and is answered as the first report would have been. A produce that failed leaves its
// mark "pending" for the same reason: the retry produces the same event. So no mark ever outlives
// a produce that did not happen. Any other value (an event id, written by versions before the
// pending/done marks) counts as "pending".
const (
	trxPending = "pending"
	trxDone    = "done"
	// trxMarkTTL bounds both marks; it is the matcher's applied-marker lifetime (state.AppliedTTL).
	// After it a repeat is still answered "duplicate" by the matcher's mark of the decided TrxID,
	// which does not expire; a mark that expired while "pending" only means a later report is
	// produced, and the matcher dedupes it by TrxID.
	trxMarkTTL = 7 * 24 * time.Hour
)

var trxEventNS = uuid.MustParse("3c9e5f2a-6b1d-4e8f-a0c7-92d4b61e8a35")

// TrxEventID is the id of the payment.reported event of a TrxID reported through surface src to
// wallet w: deterministic, so that a retry (after a crash, a 503 or while the first report is in
// flight) produces the same event. trxID must be normalised (upper case).
func TrxEventID(src pipeline.Source, w pipeline.Wallet, trxID string) string {
	return uuid.NewSHA1(trxEventNS, []byte("payment.reported\x00"+string(src)+"\x00"+w.Key()+"\x00"+trxID)).String()
}

// claimTrxScript is ClaimTrx in one round trip: KEYS[1] is the matcher's mark of the decided TrxID
// (pipeline.Keys.Trx, what state.Store.TrxSeen reads), KEYS[2] ingest's mark
// (pipeline.Keys.ReportedTrx; both under the wallet's hash tag, so one slot), ARGV the "pending"
// value, its TTL in seconds, the "done" value and "1" when KEYS[1] is to be read. It returns 1 when the TrxID is a duplicate (decided,
// or its mark is "done"), else 0, having set the mark "pending" if there was none.
var claimTrxScript = redis.NewScript(`
if ARGV[4] == "1" and redis.call("EXISTS", KEYS[1]) == 1 then return 1 end
if redis.call("SET", KEYS[2], ARGV[1], "NX", "EX", ARGV[2]) then return 0 end
if redis.call("GET", KEYS[2]) == ARGV[3] then return 1 end
return 0
`)

// ClaimTrx marks trxID of wallet w "pending" before its event is produced, in one Redis round
// trip (claimTrxScript). dup is true when the TrxID must be answered "duplicate": its mark is
// "done" (a report was acknowledged by Kafka), or the matcher decided it. Otherwise the caller
// produces the event, whether the mark was new or an earlier report's "pending", and calls
// MarkTrxDone once Kafka acknowledged it. err is a Redis failure (answer Internal).
func (s *Server) ClaimTrx(ctx context.Context, w pipeline.Wallet, trxID string) (dup bool, err error) {
	trx, decidable := pipeline.NormalizeTrxID(trxID), "1"
	if trx == "" { // as TrxSeen: an empty TrxID is never decided
		decidable = "0"
	}
	keys := []string{s.cfg.Keys.Trx(w, trx), s.cfg.Keys.ReportedTrx(w, trxID)}
	n, err := claimTrxScript.Run(ctx, s.rdb, keys, trxPending, int64(trxMarkTTL/time.Second), trxDone, decidable).Int()
	if err != nil {
		return false, fmt.Errorf("claiming trx: %w", err)
	}
	return n == 1, nil
}

// MarkTrxDone turns trxID's mark into "done" after Kafka acknowledged its event. A failure is only
// logged: the event is in Kafka, and a repeat then produces the same event again, which is dropped.
func (s *Server) MarkTrxDone(ctx context.Context, w pipeline.Wallet, trxID, rid string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.rdb.Set(ctx, s.cfg.Keys.ReportedTrx(w, trxID), trxDone, trxMarkTTL).Err(); err != nil {
		s.log.Warn("marking trx reported failed; a repeat will be produced again and dropped by id", "wallet", w.Key(), "trx", trxID, "err", err, "request_id", rid)
	}
}
