package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// Path prefixes of the surfaces whose URLs the admin API hands out (ingest/txnapi.Prefix,
// ingest/sns.Prefix; a surface does not import another).
const (
	prefixTxnAPI = "/api/external/v1/bkash/"
	prefixSNS    = "/webhooks/notifications"
)

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
// SubscriptionConfirmation that SNS confirms pins it (ingest/sns).
//
// Secrets are shown only in this answer.
func (s *Surface) handleCreateIntegration(ctx *fasthttp.RequestCtx) error {
	m, err := s.merchant(ctx)
	if err != nil {
		return err
	}
	var req createIntegrationReq
	if ae := ingest.DecodeJSON(ctx.PostBody(), &req); ae != nil {
		return ae
	}
	if req.Environment == "" {
		req.Environment = pipeline.Sandbox
	}
	if !req.Environment.Valid() {
		return ingest.Errf(http.StatusBadRequest, "environment must be SANDBOX or LIVE")
	}
	in := &pipeline.Integration{
		ID: "int_" + ingest.RandomHex(10), Kind: req.Type, MerchantID: m.ID, Environment: req.Environment,
		CreatedAt: time.Now().UTC(), Status: pipeline.MerchantActive,
	}
	answer := map[string]any{"id": in.ID, "type": in.Kind, "environment": in.Environment, "merchantId": m.ID}
	var credential string
	switch req.Type {
	case pipeline.IntegrationTxnAPI:
		apiKey := "bkt_" + ingest.RandomToken(24)
		in.APIKeyHash, in.SigningSecret, in.AllowAnyAccount = ingest.HashSecret(apiKey), ingest.RandomToken(32), req.AllowAnyAccount
		credential = in.APIKeyHash
		answer["apiKey"], answer["signingSecret"], answer["allowAnyAccount"] = apiKey, in.SigningSecret, in.AllowAnyAccount
		answer["endpoints"] = []string{
			s.d.Edge.PublicURL(prefixTxnAPI + "transactions/check"), s.d.Edge.PublicURL(prefixTxnAPI + "transactions/complete"),
		}
	case pipeline.IntegrationSNS:
		if req.Wallet == nil {
			return ingest.Errf(http.StatusBadRequest, "wallet is required: the receiving wallet the notifications report on")
		}
		w := *req.Wallet
		w.Environment = req.Environment
		if err := w.Validate(); err != nil || !m.HasWallet(w) {
			return ingest.Errf(http.StatusBadRequest, "wallet must be one of the merchant's %s wallets", req.Environment)
		}
		n, err := s.d.Directory.NextShunnoSeq(ingest.RequestContext(ctx))
		if err != nil {
			return err
		}
		if req.TopicArn != "" && !snsTopicARNRE.MatchString(req.TopicArn) {
			return ingest.Errf(http.StatusBadRequest, "topicArn must be an SNS topic ARN such as arn:aws:sns:ap-southeast-1:123456789012:payments")
		}
		in.TopicArn = req.TopicArn
		answer["topicArn"] = req.TopicArn
		appSecret, clientSecret := ingest.RandomToken(24), ingest.RandomToken(24)
		in.ShunnoID, in.Wallet = strconv.FormatInt(1000+n, 10), &w
		in.AppSecretHash, in.ClientSecretHash = ingest.HashSecret(appSecret), ingest.HashSecret(clientSecret)
		credential = in.ShunnoID
		answer["shunnoId"], answer["wallet"], answer["appSecret"], answer["clientSecret"] = in.ShunnoID, w, appSecret, clientSecret
		answer["notificationUrl"] = s.d.Edge.PublicURL(prefixSNS + "?shunno_id=" + url.QueryEscape(in.ShunnoID) + "&client_app=SHUNNOIT")
	default:
		return ingest.Errf(http.StatusBadRequest, "type must be %s or %s", pipeline.IntegrationTxnAPI, pipeline.IntegrationSNS)
	}
	if err := s.d.Directory.CreateIntegration(ingest.RequestContext(ctx), in, credential); err != nil {
		return fmt.Errorf("storing integration: %w", err)
	}
	s.log.Info("integration created", "merchant", m.ID, "integration", in.ID, "type", in.Kind)
	ingest.WriteJSON(ctx, http.StatusCreated, answer)
	return nil
}
