package sns

import (
	"errors"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/snsverify"
)

// SNS signatures bind a message to a topic and a time only if both are checked (snsBound).
// snsMaxAge is how old a signed message's Timestamp (the publish time, unchanged across SNS's
// retries) may be: SNS retries an HTTP delivery for at most an hour under any delivery policy
// (AWS caps a policy's total retry time at 3600 s; the default policy gives up within a minute),
// plus snsMaxSkew for the clocks. A Timestamp more than snsMaxSkew in the future is refused too.
const (
	snsMaxAge  = time.Hour + snsMaxSkew
	snsMaxSkew = 5 * time.Minute
)

// verified runs check 5 and answers the request itself when it fails. A message without signature
// fields passes only when signatures are not required: it is then authenticated by the secrets
// alone, and its TopicArn and Timestamp, which nobody signed, are not checked.
func (h *Surface) verified(ctx *fasthttp.RequestCtx, in *pipeline.Integration, m *snsverify.Message) bool {
	if m.Signature == "" && m.SigningCertURL == "" && !h.requireSig {
		return true
	}
	err := h.verify.Verify(ingest.RequestContext(ctx), m)
	if err == nil {
		err = snsBound(in, m, time.Now())
	}
	if err == nil {
		return true
	}
	if errors.Is(err, snsverify.ErrUnreachable) {
		h.log.Warn("fetching SNS signing certificate failed; answering 503", "err", err, "request_id", ingest.RequestID(ctx))
		ingest.WriteError(ctx, errSNSCertUnavail)
		return false
	}
	h.log.Info("SNS signature refused", "err", err, "request_id", ingest.RequestID(ctx))
	ae := errSNSSignature
	var be *snsBindingError
	if errors.As(err, &be) {
		ae = ingest.Errf(http.StatusUnauthorized, "%s: %s", errSNSSignature.Message, be.reason)
	}
	for _, reason := range []error{snsverify.ErrMissingSignature, snsverify.ErrUnsupportedVersion, snsverify.ErrUntrustedURL, snsverify.ErrBadCertificate} {
		if errors.Is(err, reason) {
			ae = ingest.Errf(http.StatusUnauthorized, "%s: %s", errSNSSignature.Message, reason)
			break
		}
	}
	ingest.WriteError(ctx, ae)
	return false
}

// snsBindingError is a validly signed message that is not this integration's: another topic, or
// outside the time SNS could still be delivering it.
type snsBindingError struct{ reason string }

func (e *snsBindingError) Error() string { return e.reason }

// snsBound checks a signed message against the integration's topic and against now: its TopicArn
// must be in.TopicArn (a SubscriptionConfirmation may pin it when none is set yet), and its
// Timestamp within snsMaxAge before and snsMaxSkew after now. Anyone can get messages signed by
// SNS for a topic of their own, and an old signed message replays forever otherwise.
func snsBound(in *pipeline.Integration, m *snsverify.Message, now time.Time) error {
	switch {
	case in.TopicArn == "" && m.Type != snsverify.TypeSubscriptionConfirmation:
		return &snsBindingError{"no SNS topic is bound to this integration yet; confirm the subscription first, or create the integration with its topicArn"}
	case in.TopicArn != "" && m.TopicArn != in.TopicArn:
		return &snsBindingError{"TopicArn is not this integration's topic"}
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	switch {
	case err != nil:
		return &snsBindingError{"Timestamp must be an RFC 3339 time"}
	case now.Sub(ts) > snsMaxAge:
		return &snsBindingError{"message is stale: its Timestamp is more than " + snsMaxAge.String() + " old"}
	case ts.Sub(now) > snsMaxSkew:
		return &snsBindingError{"Timestamp is more than " + snsMaxSkew.String() + " in the future"}
	}
	return nil
}
