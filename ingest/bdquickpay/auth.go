package bdquickpay

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	dialect "github.com/paystream/paystream/pipeline/dialect/bdquickpay"
)

// authAppKey resolves X-App-Key/X-Secret-Key to a bdQuickPay merchant and environment. It answers
// 401 (unknown or mismatched pair, a native sk_ key, a merchant of another dialect), 403 (inactive
// merchant), 429 (the key's rate limit) or 503 (Redis) itself and then returns nil.
func (s *Surface) authAppKey(ctx *fasthttp.RequestCtx) (*pipeline.Merchant, pipeline.Environment) {
	appKey := strings.TrimSpace(string(ctx.Request.Header.Peek(dialect.HeaderAppKey)))
	secretKey := strings.TrimSpace(string(ctx.Request.Header.Peek(dialect.HeaderSecretKey)))
	if appKey == "" || secretKey == "" || strings.HasPrefix(appKey, "sk_") {
		ingest.WriteError(ctx, errBQPUnauthorized)
		return nil, ""
	}
	m, env, err := s.auth.AppKey(ingest.RequestContext(ctx), appKey, secretKey)
	if err != nil {
		s.fail.Internal(ctx, "authenticating app key", err)
		return nil, ""
	}
	if m == nil || m.Dialect != dialect.Name || !env.Valid() {
		ingest.WriteError(ctx, errBQPUnauthorized)
		return nil, ""
	}
	if m.Status != pipeline.MerchantActive {
		ingest.WriteError(ctx, errBQPInactive)
		return nil, ""
	}
	if !s.auth.AllowKey(ctx, "appkey:"+m.ID+":"+string(env)) {
		return nil, ""
	}
	return m, env
}
