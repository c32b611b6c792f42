package sns

import (
	"errors"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify"
)

// confirm confirms the subscription by fetching SubscribeURL, which must be an SNS endpoint. An
// integration without a topic is bound to this one once SNS confirmed it, if the message was signed.
func (h *Surface) confirm(ctx *fasthttp.RequestCtx, in *pipeline.Integration, env *snsEnvelope) {
	if env.SubscribeURL == "" {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "SubscribeURL is required"))
		return
	}
	err := h.verify.ConfirmSubscription(ingest.RequestContext(ctx), env.SubscribeURL)
	switch {
	case err == nil:
		if in.TopicArn == "" && env.Signature != "" {
			if perr := h.topics.PinSNSTopic(ingest.RequestContext(ctx), in, env.TopicArn); perr != nil {
				h.pub.Internal(ctx, "binding the SNS topic", perr)
				return
			}
		}
		h.log.Info("SNS subscription confirmed", "integration", in.ID, "topic", snsClip(env.TopicArn, 256), "request_id", ingest.RequestID(ctx))
		ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"status": http.StatusOK, "message": "Subscription Confirmed"})
	case errors.Is(err, snsverify.ErrUntrustedURL):
		h.log.Warn("SNS SubscribeURL refused, not fetched", "integration", in.ID, "request_id", ingest.RequestID(ctx))
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "SubscribeURL refused, not fetched: %s", err))
	case errors.Is(err, snsverify.ErrUnreachable):
		h.log.Warn("confirming SNS subscription failed; answering 503", "integration", in.ID, "err", err, "request_id", ingest.RequestID(ctx))
		ingest.WriteError(ctx, errSNSConfirmLater)
	default:
		h.log.Warn("SNS refused the subscription confirmation", "integration", in.ID, "err", err, "request_id", ingest.RequestID(ctx))
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "Could not confirm subscription: %s", err))
	}
}
