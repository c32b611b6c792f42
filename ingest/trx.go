package ingest

import (
	"context"
	"errors"
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

// ClaimTrx marks trxID of wallet w "pending" before its event is produced. dup is true when the
// TrxID must be answered "duplicate": its mark is "done" (a report was acknowledged by Kafka), or
// the matcher decided it. Otherwise the caller produces the event, whether the mark was new or an
// earlier report's "pending", and calls MarkTrxDone once Kafka acknowledged it. err is a Redis failure (answer Internal).
func (s *Server) ClaimTrx(ctx context.Context, w pipeline.Wallet, trxID string) (dup bool, err error) {
	decided, err := s.state.TrxSeen(ctx, w, trxID)
	if err != nil {
		return false, fmt.Errorf("checking trx: %w", err)
	}
	if decided {
		return true, nil
	}
	k := s.cfg.Keys.ReportedTrx(w, trxID)
	ok, err := s.rdb.SetNX(ctx, k, trxPending, trxMarkTTL).Result()
	if err != nil {
		return false, fmt.Errorf("claiming trx: %w", err)
	}
	if ok {
		return false, nil
	}
	v, err := s.rdb.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) { // expired or replaced since: produce, the matcher dedupes
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading trx mark: %w", err)
	}
	return v == trxDone, nil
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
