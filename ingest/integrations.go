package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
)

// routeFunc registers one route with its metrics label.
type routeFunc func(method, path, name string, h fasthttp.RequestHandler)

type createIntegrationReq struct {
	Type            pipeline.IntegrationKind `json:"type"`
	Environment     pipeline.Environment     `json:"environment"`
	AllowAnyAccount bool                     `json:"allowAnyAccount"`
	Wallet          *pipeline.Wallet         `json:"wallet"`
	TopicArn        string                   `json:"topicArn"` // sns: the topic that publishes (recommended)
}

// snsTopicARNRE is an SNS topic ARN: arn:<partition>:sns:<region>:<12-digit account>:<name>.
var snsTopicARNRE = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:[a-z0-9-]{1,32}:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// handleCreateIntegration creates credentials for an upstream surface of a merchant:
//
//	{"type": "bkash_txn_api", "environment": "LIVE", "allowAnyAccount": false}
//	  → {id, type, environment, apiKey, signingSecret}            (seed 002)
//	{"type": "sns", "environment": "LIVE", "wallet": {"provider": "bkash", "account": "017…"},
//	 "topicArn": "arn:aws:sns:ap-southeast-1:123456789012:bpt_017…"}
//	  → {id, type, environment, shunnoId, appSecret, clientSecret, notificationUrl, topicArn}   (seed 003)
//
// An SNS integration accepts signed messages of its topicArn only; without one, the first signed
// SubscriptionConfirmation that SNS confirms pins it (sns.go).
//
// Secrets are shown only in this answer.
func (s *Server) handleCreateIntegration(ctx *fasthttp.RequestCtx) {
	m := s.AdminMerchant(ctx)
	if m == nil {
		return
	}
	var req createIntegrationReq
	if ae := DecodeJSON(ctx.PostBody(), &req); ae != nil {
		WriteError(ctx, ae)
		return
	}
	if req.Environment == "" {
		req.Environment = pipeline.Sandbox
	}
	if !req.Environment.Valid() {
		WriteError(ctx, Errf(http.StatusBadRequest, "environment must be SANDBOX or LIVE"))
		return
	}
	in := &pipeline.Integration{
		ID: "int_" + RandomHex(10), Kind: req.Type, MerchantID: m.ID, Environment: req.Environment,
		CreatedAt: time.Now().UTC(), Status: pipeline.MerchantActive,
	}
	answer := map[string]any{"id": in.ID, "type": in.Kind, "environment": in.Environment, "merchantId": m.ID}
	var credKey string
	switch req.Type {
	case pipeline.IntegrationTxnAPI:
		apiKey := "bkt_" + RandomToken(24)
		in.APIKeyHash, in.SigningSecret, in.AllowAnyAccount = HashSecret(apiKey), RandomToken(32), req.AllowAnyAccount
		credKey = s.cfg.Keys.IntegrationKey(in.Kind, in.APIKeyHash)
		answer["apiKey"], answer["signingSecret"], answer["allowAnyAccount"] = apiKey, in.SigningSecret, in.AllowAnyAccount
		answer["endpoints"] = []string{
			s.PublicURL(prefixTxnAPI + "transactions/check"), s.PublicURL(prefixTxnAPI + "transactions/complete"),
		}
	case pipeline.IntegrationSNS:
		if req.Wallet == nil {
			WriteError(ctx, Errf(http.StatusBadRequest, "wallet is required: the receiving wallet the notifications report on"))
			return
		}
		w := *req.Wallet
		w.Environment = req.Environment
		if err := w.Validate(); err != nil || !m.HasWallet(w) {
			WriteError(ctx, Errf(http.StatusBadRequest, "wallet must be one of the merchant's %s wallets", req.Environment))
			return
		}
		n, err := s.rdb.Incr(RequestContext(ctx), s.cfg.Keys.ShunnoSeq()).Result()
		if err != nil {
			s.Internal(ctx, "numbering integration", err)
			return
		}
		if req.TopicArn != "" && !snsTopicARNRE.MatchString(req.TopicArn) {
			WriteError(ctx, Errf(http.StatusBadRequest, "topicArn must be an SNS topic ARN such as arn:aws:sns:ap-southeast-1:123456789012:payments"))
			return
		}
		in.TopicArn = req.TopicArn
		answer["topicArn"] = req.TopicArn
		appSecret, clientSecret := RandomToken(24), RandomToken(24)
		in.ShunnoID, in.Wallet = strconv.FormatInt(1000+n, 10), &w
		in.AppSecretHash, in.ClientSecretHash = HashSecret(appSecret), HashSecret(clientSecret)
		credKey = s.cfg.Keys.IntegrationKey(in.Kind, in.ShunnoID)
		answer["shunnoId"], answer["wallet"], answer["appSecret"], answer["clientSecret"] = in.ShunnoID, w, appSecret, clientSecret
		answer["notificationUrl"] = s.PublicURL(prefixSNS + "?shunno_id=" + url.QueryEscape(in.ShunnoID) + "&client_app=SHUNNOIT")
	default:
		WriteError(ctx, Errf(http.StatusBadRequest, "type must be %s or %s", pipeline.IntegrationTxnAPI, pipeline.IntegrationSNS))
		return
	}
	b, _ := json.Marshal(in)
	if err := s.rdb.Set(RequestContext(ctx), s.cfg.Keys.Integration(in.ID), b, 0).Err(); err != nil {
		s.Internal(ctx, "storing integration", err)
		return
	}
	if err := s.rdb.Set(RequestContext(ctx), credKey, in.ID, 0).Err(); err != nil { // credentials last: usable only when complete
		s.Internal(ctx, "storing integration credentials", err)
		return
	}
	s.log.Info("integration created", "merchant", m.ID, "integration", in.ID, "type", in.Kind)
	WriteJSON(ctx, http.StatusCreated, answer)
}

// PinSNSTopic binds integration in, created without a topic, to topic: only if it still has none
// (WATCH), so two confirmations cannot both pin. It drops the integration from the lookup cache.
func (s *Server) PinSNSTopic(ctx context.Context, in *pipeline.Integration, topic string) error {
	key := s.cfg.Keys.Integration(in.ID)
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, key).Bytes()
		if err != nil {
			return fmt.Errorf("loading integration: %w", err)
		}
		var cur pipeline.Integration
		if err := json.Unmarshal(b, &cur); err != nil {
			return fmt.Errorf("decoding integration %s: %w", in.ID, err)
		}
		if cur.TopicArn != "" {
			return nil
		}
		cur.TopicArn = topic
		nb, _ := json.Marshal(&cur)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, key, nb, 0); return nil })
		return err
	}, key)
	if err != nil {
		return fmt.Errorf("pinning SNS topic: %w", err)
	}
	s.look.integrations.Remove(string(pipeline.IntegrationSNS) + "\x00" + in.ShunnoID)
	return nil
}

// PublicURL is path under Config.PublicURL: the URLs the API hands out.
func (s *Server) PublicURL(path string) string {
	u := s.cfg.PublicURL
	for len(u) > 0 && u[len(u)-1] == '/' {
		u = u[:len(u)-1]
	}
	return u + path
}

// integration finds an active integration of kind by its credential (the SHA-256 hex of a
// transaction-API key, or an SNS shunno_id); (nil, nil) when none.
func (d *directory) integration(ctx context.Context, kind pipeline.IntegrationKind, credential string) (*pipeline.Integration, error) {
	id, err := d.rdb.Get(ctx, d.keys.IntegrationKey(kind, credential)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up integration: %w", err)
	}
	b, err := d.rdb.Get(ctx, d.keys.Integration(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading integration %s: %w", id, err)
	}
	var in pipeline.Integration
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("decoding integration %s: %w", id, err)
	}
	if in.Status != pipeline.MerchantActive {
		return nil, nil
	}
	return &in, nil
}

// appKey resolves a bdQuickPay App Key / Secret Key pair to its merchant and environment; (nil, "",
// nil) when the App Key is unknown or the Secret Key does not match (compared in constant time).
func (d *directory) appKey(ctx context.Context, appKey, secretKey string) (*pipeline.Merchant, pipeline.Environment, error) {
	if appKey == "" || secretKey == "" || len(appKey) > 128 || len(secretKey) > 128 {
		return nil, "", nil
	}
	b, err := d.rdb.Get(ctx, d.keys.AppKey(HashSecret(appKey))).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("looking up app key: %w", err)
	}
	var rec pipeline.AppKeyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, "", fmt.Errorf("decoding app key record: %w", err)
	}
	if !EqualHash(HashSecret(secretKey), rec.SecretKeyHash) {
		return nil, "", nil
	}
	m, err := d.merchant(ctx, rec.MerchantID)
	if err != nil || m == nil {
		return nil, "", err
	}
	return m, rec.Environment, nil
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
