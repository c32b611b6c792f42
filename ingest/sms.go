package ingest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/smsparse"
)

// SMS ingest: wallet SMS forwarded by a merchant's Android phone (a registered device, see
// devices.go). The device token is in the URL because forwarder apps cannot set headers:
//
//	POST /v1/sms/:token             native JSON {"from", "text", "receivedAt"?, "sim"?, "id"?}
//	POST /v1/sms/:token/forwarder   "SMS to URL Forwarder" default template
//	                                {"from", "text", "sentStamp", "receivedStamp", "sim"} (stamps: Unix ms)
//	POST /v1/sms/:token/smsgateway  "SMS Gateway for Android" webhook {"deviceId", "event": "sms:received",
//	                                "id", "payload": {"messageId", "message", "phoneNumber", "simNumber",
//	                                "receivedAt"}, "webhookId"}; X-Signature = hex HMAC-SHA256(signingKey,
//	                                body + X-Timestamp) when the device has a signing key
//
// Order of checks: the token (unknown and revoked answer the same 401, from a hash lookup), then
// the device's format (a device issued for another URL's format, or a keyed device on any URL
// but SMS Gateway's, answers the unknown token's 401: devices.go), then the signature of a keyed
// device (every request, whatever its event: 401), then the device's rate limit (429, limits.go;
// only requests that passed the checks before spend it), then the body (400s). Then every SMS is parsed (smsparse.ParseFrom,
// trusting only the senders of the receiving wallet's provider, smsparse.DefaultOptions: a config
// field for the sender lists is not wired yet) and produced, never dropped:
//
//   - a customer payment from a trusted sender → payment.reported (Source sms, Payment and SMS set);
//   - anything else → sms.received with the SMS, by result: "suspicious" (untrusted sender),
//     "unparsed" (trusted sender, but not understood, or a customer-payment wording whose amount or
//     TrxID is masked or malformed), "unrouted" (the SIM slot maps to no wallet of the device, or the
//     slot is unknown and the sender does not tell which wallet: such an SMS never pays and carries
//     no balance, so it cannot break a wallet's balance chain), "unused" (understood, receipt-shaped
//     — an amount and a TrxID, money in or a failure/reversal notice — but pays nothing: a business
//     or bank credit, cash in, refund, a failed or reversed transaction), "ignored" (understood,
//     pays nothing: outgoing, OTP, promo).
//
// Suspicious, unparsed, unrouted and unused SMS are also kept for operators in a per-merchant capped list
// (GET /admin/v1/merchants/:id/sms). The answer is 202 {"accepted": true, "eventId", "pays", "kind",
// "result", "smsKind"} once Kafka acknowledged the event, 503 + Retry-After otherwise.
//
// Idempotency: the event id is a UUIDv5 of (device id, sender, text, the SMS's own time: the
// forwarder's sentStamp, else its receivedStamp; SMS Gateway's receivedAt; the native id, else
// receivedAt; in whole seconds), so an app's retry is the same event. A marker (SET NX, 24 h) lets a
// retry after the 202 answer 200 {"duplicate": true, ...} without producing; a retry while the first
// attempt has not been acknowledged produces the same event again, which every consumer drops by id.

const (
	smsDedupeTTL    = 24 * time.Hour
	smsKeepMax      = 1000 // SMS kept per merchant for operators (newest first)
	smsMaxSender    = 64
	smsMaxAppID     = 128
	smsMaxClockSkew = 5 * time.Minute // SMS Gateway X-Timestamp window; how far ahead an app's time may be
)

// SMS results: the label of paystream_sms_received_total and the operator list's filter.
const (
	smsPayment    = "payment"
	smsSuspicious = "suspicious"
	smsUnparsed   = "unparsed"
	smsUnrouted   = "unrouted"
	smsIgnored    = "ignored"
	smsUnused     = "unused"
)

// smsKept reports whether SMS of a result are kept in the operators' list: every SMS a customer
// could point to as their payment and that did not pay.
func smsKept(result string) bool {
	return result == smsSuspicious || result == smsUnparsed || result == smsUnrouted || result == smsUnused
}

var (
	errDeviceToken  = &APIError{Status: http.StatusUnauthorized, Message: "Unknown or revoked device token"}
	errSMSSignature = &APIError{Status: http.StatusUnauthorized, Message: "Invalid X-Signature: expected hex HMAC-SHA256(signing key, body + X-Timestamp)"}
	errSMSTimestamp = &APIError{Status: http.StatusUnauthorized, Message: "X-Timestamp is missing or more than 5 minutes away from now"}
)

// smsMetrics are the SMS ingest counters, registered on the server's registry.
type smsMetrics struct {
	received   *prometheus.CounterVec
	duplicates prometheus.Counter
	refused    *prometheus.CounterVec
	// lastSeen is per registered device (a bounded set, not per SMS or intent): the time its last
	// SMS was accepted, so an alert can tell a phone that stopped forwarding.
	lastSeen *prometheus.GaugeVec
}

func newSMSMetrics(reg prometheus.Registerer) *smsMetrics {
	m := &smsMetrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_sms_received_total",
			Help: "Forwarded SMS acknowledged by Kafka, by result (payment, ignored, suspicious, unparsed, unrouted).",
		}, []string{"result"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paystream_sms_duplicates_total", Help: "Forwarded SMS answered as duplicates (app retries) without producing.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paystream_sms_refused_total", Help: "Forwarded SMS refused before parsing, by reason (token, signature).",
		}, []string{"reason"}),
		lastSeen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paystream_sms_device_last_seen_timestamp_seconds",
			Help: "Unix time of the last SMS accepted from each registered forwarding device (one series per device).",
		}, []string{"device", "environment"}),
	}
	for _, r := range []string{smsPayment, smsIgnored, smsSuspicious, smsUnparsed, smsUnrouted} {
		m.received.WithLabelValues(r)
	}
	reg.MustRegister(m.received, m.duplicates, m.refused, m.lastSeen)
	return m
}

// smsRoutes registers the device admin API, the SMS ingest routes and the operators' SMS list.
func (s *Server) smsRoutes(route routeFunc) {
	s.deviceRoutes(route)
	route(http.MethodPost, "/v1/sms/{token}", "sms_native", s.smsHandler(smsFormatNative))
	route(http.MethodPost, "/v1/sms/{token}/forwarder", "sms_forwarder", s.smsHandler(smsFormatForwarder))
	route(http.MethodPost, "/v1/sms/{token}/smsgateway", "sms_smsgateway", s.smsHandler(smsFormatSMSGateway))
	route(http.MethodGet, "/admin/v1/merchants/{id}/sms", "admin_list_sms", s.handleListSMS)
}

// forwardedSMS is one SMS as a forwarder app reported it, whatever its format.
type forwardedSMS struct {
	From, Text string
	Slot       string    // SIM slot "1".."8", or "" when the app did not say
	SentAt     time.Time // when the SMS centre sent it (zero: unknown)
	ReceivedAt time.Time // when the phone received it (zero: unknown)
	Identity   string    // the SMS's own time or id, as it enters the event id
}

// smsHandler returns the handler of one forwarding format.
func (s *Server) smsHandler(format string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		token, _ := ctx.UserValue("token").(string)
		dev, err := s.deviceByToken(RequestContext(ctx), token)
		if err != nil {
			s.Internal(ctx, "looking up device", err)
			return
		}
		if dev == nil {
			s.sms.refused.WithLabelValues("token").Inc()
			WriteError(ctx, errDeviceToken)
			return
		}
		if !deviceAccepts(dev, format) {
			// Answered exactly as an unknown token, before the rate limit: the answer tells nothing
			// about the token. The operator finds the device in the log.
			s.sms.refused.WithLabelValues("format").Inc()
			s.log.Warn("SMS refused: the device is issued for another forwarding URL", "device", dev.ID,
				"format", deviceFormat(dev), "url_format", format, "request_id", RequestID(ctx))
			WriteError(ctx, errDeviceToken)
			return
		}
		body := ctx.PostBody()
		if dev.SigningKey != "" {
			// Whatever the URL: a keyed device accepts nothing unsigned (deviceAccepts lets it reach
			// SMS Gateway's URL only, the one format with a signature scheme). The signature is
			// part of its credential, so it is checked before the device's rate limit: forged
			// requests do not spend the phone's budget.
			if format != smsFormatSMSGateway {
				s.sms.refused.WithLabelValues("format").Inc()
				WriteError(ctx, errDeviceToken)
				return
			}
			if ae := checkSMSGatewaySignature(ctx, dev.SigningKey, body, time.Now()); ae != nil {
				s.sms.refused.WithLabelValues("signature").Inc()
				WriteError(ctx, ae)
				return
			}
		}
		if !s.AllowKey(ctx, "device:"+dev.ID) {
			return
		}
		var sms *forwardedSMS
		var ae *APIError
		switch format {
		case smsFormatForwarder:
			sms, ae = parseForwarderSMS(body)
		case smsFormatSMSGateway:
			var event string
			sms, event, ae = parseSMSGatewaySMS(body)
			if ae == nil && sms == nil { // another event type sent to this URL: acknowledged, nothing to do
				s.log.Info("SMS Gateway event ignored", "device", dev.ID, "event", clip(event, 40), "request_id", RequestID(ctx))
				WriteJSON(ctx, http.StatusOK, map[string]any{"accepted": false, "ignored": true, "event": event})
				return
			}
		default:
			sms, ae = parseNativeSMS(body)
		}
		if ae != nil {
			WriteError(ctx, ae)
			return
		}
		s.acceptSMS(ctx, dev, sms)
	}
}

// acceptSMS parses sms, produces its event (deduplicated) and answers.
func (s *Server) acceptSMS(ctx *fasthttp.RequestCtx, dev *pipeline.Device, sms *forwardedSMS) {
	w, routed := s.routeSMS(dev, sms)
	res := smsparse.ParseFrom(sms.From, sms.Text, s.walletSenders(w.Provider))
	now := time.Now().UTC()
	trusted := res.SenderTrusted != nil && *res.SenderTrusted
	result := classifySMS(res, trusted, routed, w.Provider)
	parsed, _ := json.Marshal(res)
	rec := &pipeline.SMS{
		Sender: sms.From, Text: sms.Text, DeviceID: dev.ID, SIM: sms.Slot, ReceivedAt: orTime(sms.ReceivedAt, now),
		Trusted: trusted, Kind: res.Kind, Direction: res.Direction, TrxID: deref(res.TrxID), Parsed: parsed,
		Amount: paisa(res.AmountPaisa),
	}
	if routed {
		rec.Balance = paisa(res.BalancePaisa) // an unrouted SMS must not enter a wallet's balance chain
	}
	ev := &pipeline.Event{
		ID: smsEventID(dev.ID, sms), Kind: pipeline.KindSMSReceived, Source: pipeline.SourceSMS, Wallet: w,
		MerchantID: dev.MerchantID, Environment: w.Environment, AcceptedAt: now, SMS: rec,
		Raw: RawCopy(ctx.PostBody()), RequestID: RequestID(ctx),
	}
	if result == smsPayment {
		p, _ := res.Payment()
		p.OccurredAt = occurredAt(p.OccurredAt, orTime(sms.SentAt, sms.ReceivedAt))
		ev.Kind, ev.Payment = pipeline.KindPaymentReported, &p
	}
	answer := map[string]any{
		"accepted": true, "eventId": ev.ID, "pays": result == smsPayment, "kind": ev.Kind, "result": result, "smsKind": res.Kind,
	}

	c := RequestContext(ctx)
	seen := smsSeenKey(s.cfg.Keys, dev.ID, ev.ID)
	claimed, err := s.rdb.SetNX(c, seen, "pending", smsDedupeTTL).Result()
	if err != nil {
		s.Internal(ctx, "claiming sms", err)
		return
	}
	if !claimed {
		v, err := s.rdb.Get(c, seen).Result()
		if err == nil && v == "done" {
			s.sms.duplicates.Inc()
			answer["duplicate"] = true
			WriteJSON(ctx, http.StatusOK, answer)
			return
		}
		// "pending": the first attempt is in flight or failed without releasing its claim. Produce
		// the same event again: consumers drop the copy by its id.
	}
	if err := s.Publish(ctx, ev); err != nil {
		if claimed {
			s.rdb.Del(context.WithoutCancel(c), seen)
		}
		s.Unavailable(ctx, "producing "+string(ev.Kind), err)
		return
	}
	s.sms.received.WithLabelValues(result).Inc()
	s.sms.lastSeen.WithLabelValues(dev.ID, string(w.Environment)).SetToCurrentTime()
	pipe := s.rdb.Pipeline()
	pipe.Set(c, seen, "done", smsDedupeTTL)
	if smsKept(result) {
		b, _ := json.Marshal(keptSMS{
			EventID: ev.ID, Result: result, DeviceID: dev.ID, Environment: w.Environment, Wallet: w,
			Sender: sms.From, Text: sms.Text, SIM: sms.Slot, ReceivedAt: rec.ReceivedAt, AcceptedAt: now, Parsed: parsed,
		})
		k := smsListKey(s.cfg.Keys, dev.MerchantID)
		pipe.LPush(c, k, b)
		pipe.LTrim(c, k, 0, smsKeepMax-1)
	}
	if _, err := pipe.Exec(c); err != nil {
		// Kafka has the event (and the audit will): only the operators' copy or the duplicate
		// marker is missing, so the app is still answered 202.
		s.log.Warn("recording forwarded sms for operators failed", "device", dev.ID, "event", ev.ID, "err", err, "request_id", RequestID(ctx))
	}
	WriteJSON(ctx, http.StatusAccepted, answer)
}

// smsSeenKey marks an SMS event as produced ("pending" while producing, then "done").
func smsSeenKey(k pipeline.Keys, deviceID, eventID string) string {
	return k.Device(deviceID) + ":sms:" + eventID
}

// smsListKey is a merchant's list of SMS kept for operators (JSON keptSMS, newest first, capped at
// smsKeepMax): one single-key record, no hash tag.
func smsListKey(k pipeline.Keys, merchantID string) string { return k.Merchant(merchantID) + ":sms" }

// keptSMS is an SMS kept for operators.
type keptSMS struct {
	EventID     string               `json:"eventId"`
	Result      string               `json:"result"`
	DeviceID    string               `json:"deviceId"`
	Environment pipeline.Environment `json:"environment"`
	Wallet      pipeline.Wallet      `json:"wallet"`
	Sender      string               `json:"sender"`
	Text        string               `json:"text"`
	SIM         string               `json:"sim,omitempty"`
	ReceivedAt  time.Time            `json:"receivedAt"`
	AcceptedAt  time.Time            `json:"acceptedAt"`
	Parsed      json.RawMessage      `json:"parsed"`
}

var smsEventNS = uuid.MustParse("6f1d2c3b-9a84-4f0e-8b7d-51c2e0a9d3f4")

// smsEventID is deterministic: the same SMS from the same device is the same event.
func smsEventID(deviceID string, sms *forwardedSMS) string {
	return uuid.NewSHA1(smsEventNS, []byte("sms\x00"+deviceID+"\x00"+sms.From+"\x00"+sms.Text+"\x00"+sms.Identity)).String()
}

// walletSenders trusts only the senders of provider p (Config.SMSTrustedSenders, else the
// parser's defaults): an SMS reaching a bKash wallet is trusted only from bKash's sender ids,
// whatever other providers' senders say.
func (s *Server) walletSenders(p pipeline.Provider) smsparse.Options {
	return smsparse.Options{TrustedSenders: map[pipeline.Provider][]string{p: s.trustedSenders(p)}}
}

func (s *Server) trustedSenders(p pipeline.Provider) []string {
	if ts, ok := s.cfg.SMSTrustedSenders[p]; ok {
		return ts
	}
	return smsparse.DefaultOptions().TrustedSenders[p]
}

// trustsSender reports whether provider p sends from sender: exactly one of its sender ids, byte
// for byte, as smsparse compares them.
func (s *Server) trustsSender(p pipeline.Provider, sender string) bool {
	return slices.Contains(s.trustedSenders(p), sender)
}

// routeSMS picks the receiving wallet of an SMS. The wallet of its SIM slot, else the device's "*"
// wallet. A known slot the device does not map is a SIM paystream was not told about: unrouted.
// With no slot: the device's only wallet, or else the only one whose provider sends from the SMS's
// sender. Otherwise the SMS is unrouted and reported on the device's first wallet (lowest slot).
func (s *Server) routeSMS(dev *pipeline.Device, sms *forwardedSMS) (pipeline.Wallet, bool) {
	if w, ok := dev.Wallets[sms.Slot]; ok && sms.Slot != "" {
		return w, true
	}
	if w, ok := dev.Wallets["*"]; ok {
		return w, true
	}
	var first pipeline.Wallet
	var distinct, trusting []pipeline.Wallet
	for _, slot := range []string{"1", "2", "3", "4", "5", "6", "7", "8"} {
		w, ok := dev.Wallets[slot]
		if !ok {
			continue
		}
		if first.Account == "" {
			first = w
		}
		if !containsWallet(distinct, w) {
			distinct = append(distinct, w)
			if s.trustsSender(w.Provider, sms.From) {
				trusting = append(trusting, w)
			}
		}
	}
	if sms.Slot != "" {
		return first, false
	}
	if len(distinct) == 1 {
		return distinct[0], true
	}
	if len(trusting) == 1 {
		return trusting[0], true
	}
	return first, false
}

func containsWallet(ws []pipeline.Wallet, w pipeline.Wallet) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// customerPaymentKinds are the wordings of money a customer sent (smsparse's doc): one of them that
// does not pay has a masked or malformed amount or TrxID and is kept for review.
var customerPaymentKinds = map[string]bool{
	smsparse.KindReceivedSendMoney: true, smsparse.KindMoneyReceived: true, smsparse.KindReceived: true,
	smsparse.KindReceivedMerchantPayment: true, smsparse.KindPaymentReceivedMerchant: true, smsparse.KindMerchantPaymentReceived: true,
}

func classifySMS(res smsparse.Result, trusted, routed bool, p pipeline.Provider) string {
	switch {
	case !routed:
		return smsUnrouted
	case res.Pays && trusted && res.Provider == p:
		return smsPayment
	case !trusted:
		return smsSuspicious
	case res.Kind == smsparse.KindUnknown || customerPaymentKinds[res.Kind]:
		return smsUnparsed
	case res.AmountPaisa != nil && res.TrxID != nil && res.Direction != smsparse.DirectionDebit:
		return smsUnused // receipt-shaped: a credit that is not a customer payment, or a failure notice
	}
	return smsIgnored
}

// occurredAt is when a reported payment happened: the SMS's own timestamp (minute precision,
// Asia/Dhaka), refined to the app's time when that falls within the same minute; the app's time when
// the SMS has none; zero (the matcher then uses the acceptance time) when neither is known.
func occurredAt(smsTime, appTime time.Time) time.Time {
	switch {
	case smsTime.IsZero():
		return appTime.UTC()
	case !appTime.IsZero() && !appTime.Before(smsTime) && appTime.Sub(smsTime) < time.Minute:
		return appTime.UTC()
	}
	return smsTime.UTC()
}

func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func paisa(v *int64) *pipeline.Money {
	if v == nil {
		return nil
	}
	m := pipeline.Money(*v)
	return &m
}

// checkSMSGatewaySignature verifies SMS Gateway for Android's signature: X-Signature is the hex
// HMAC-SHA256, keyed with the signing key, of the raw body followed by X-Timestamp (Unix seconds),
// which must be within 5 minutes of now (the app signs every attempt afresh, so retries pass).
func checkSMSGatewaySignature(ctx *fasthttp.RequestCtx, key string, body []byte, now time.Time) *APIError {
	ts := strings.TrimSpace(string(ctx.Request.Header.Peek("X-Timestamp")))
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return errSMSTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > smsMaxClockSkew || d < -smsMaxClockSkew {
		return errSMSTimestamp
	}
	got, err := hex.DecodeString(strings.TrimSpace(string(ctx.Request.Header.Peek("X-Signature"))))
	if err != nil || len(got) != sha256.Size {
		return errSMSSignature
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	mac.Write([]byte(ts))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errSMSSignature
	}
	return nil
}

// --- the three body formats ---

type nativeSMSReq struct {
	From       *string         `json:"from"`
	Text       *string         `json:"text"`
	ReceivedAt json.RawMessage `json:"receivedAt"`
	SIM        json.RawMessage `json:"sim"`
	ID         *string         `json:"id"`
}

func parseNativeSMS(body []byte) (*forwardedSMS, *APIError) {
	var req nativeSMSReq
	if ae := DecodeJSON(body, &req); ae != nil {
		return nil, ae
	}
	sms, ae := smsCore("from", req.From, "text", req.Text)
	if ae != nil {
		return nil, ae
	}
	if sms.Slot, ae = simSlot("sim", req.SIM); ae != nil {
		return nil, ae
	}
	at, raw, ae := smsTime("receivedAt", req.ReceivedAt)
	if ae != nil {
		return nil, ae
	}
	sms.ReceivedAt, sms.Identity = at, raw
	if req.ID != nil {
		id := strings.TrimSpace(*req.ID)
		if len(id) > smsMaxAppID || !Printable(id) {
			return nil, Errf(http.StatusBadRequest, "id must be at most %d printable characters", smsMaxAppID)
		}
		if id != "" {
			sms.Identity = "id:" + id
		}
	}
	return sms, nil
}

type forwarderSMSReq struct {
	From          *string         `json:"from"`
	Text          *string         `json:"text"`
	SentStamp     json.RawMessage `json:"sentStamp"`
	ReceivedStamp json.RawMessage `json:"receivedStamp"`
	SIM           json.RawMessage `json:"sim"`
}

func parseForwarderSMS(body []byte) (*forwardedSMS, *APIError) {
	var req forwarderSMSReq
	if ae := DecodeJSON(body, &req); ae != nil {
		return nil, ae
	}
	sms, ae := smsCore("from", req.From, "text", req.Text)
	if ae != nil {
		return nil, ae
	}
	if sms.Slot, ae = simSlot("sim", req.SIM); ae != nil {
		return nil, ae
	}
	sent, sentRaw, ae := smsTime("sentStamp", req.SentStamp)
	if ae != nil {
		return nil, ae
	}
	recv, recvRaw, ae := smsTime("receivedStamp", req.ReceivedStamp)
	if ae != nil {
		return nil, ae
	}
	sms.SentAt, sms.ReceivedAt = sent, recv
	sms.Identity = sentRaw
	if sms.Identity == "" {
		sms.Identity = recvRaw
	}
	return sms, nil
}

type smsGatewayReq struct {
	DeviceID  string             `json:"deviceId"`
	Event     *string            `json:"event"`
	ID        string             `json:"id"`
	WebhookID string             `json:"webhookId"`
	Payload   *smsGatewayPayload `json:"payload"`
}

type smsGatewayPayload struct {
	MessageID   string          `json:"messageId"`
	Message     *string         `json:"message"`
	PhoneNumber *string         `json:"phoneNumber"`
	SimNumber   json.RawMessage `json:"simNumber"`
	ReceivedAt  json.RawMessage `json:"receivedAt"`
}

// parseSMSGatewaySMS reads an SMS Gateway webhook. For an event other than sms:received it returns
// (nil, event, nil): the caller acknowledges it and does nothing.
func parseSMSGatewaySMS(body []byte) (*forwardedSMS, string, *APIError) {
	var req smsGatewayReq
	if ae := DecodeJSON(body, &req); ae != nil {
		return nil, "", ae
	}
	if req.Event == nil || *req.Event == "" {
		return nil, "", Errf(http.StatusBadRequest, "event is required")
	}
	if *req.Event != "sms:received" {
		return nil, *req.Event, nil
	}
	if req.Payload == nil {
		return nil, "", Errf(http.StatusBadRequest, "payload is required")
	}
	p := req.Payload
	sms, ae := smsCore("payload.phoneNumber", p.PhoneNumber, "payload.message", p.Message)
	if ae != nil {
		return nil, "", ae
	}
	if sms.Slot, ae = simSlot("payload.simNumber", p.SimNumber); ae != nil {
		return nil, "", ae
	}
	at, raw, ae := smsTime("payload.receivedAt", p.ReceivedAt)
	if ae != nil {
		return nil, "", ae
	}
	sms.ReceivedAt, sms.Identity = at, raw
	return sms, *req.Event, nil
}

// smsCore checks the sender and text every format has. The sender is kept exactly as the app
// reported it: it is compared byte for byte with the trusted sender ids, so "bKash\u00a0" or
// "BKASH" is another sender (suspicious, and kept for operators), not bKash. Only control
// characters are refused.
func smsCore(fromName string, from *string, textName string, text *string) (*forwardedSMS, *APIError) {
	if from == nil || strings.TrimSpace(*from) == "" {
		return nil, Errf(http.StatusBadRequest, "%s is required", fromName)
	}
	f := *from
	if utf8.RuneCountInString(f) > smsMaxSender || strings.ContainsFunc(f, unicode.IsControl) {
		return nil, Errf(http.StatusBadRequest, "%s must be at most %d characters, none of them a control character", fromName, smsMaxSender)
	}
	if text == nil || strings.TrimSpace(*text) == "" {
		return nil, Errf(http.StatusBadRequest, "%s is required", textName)
	}
	if len(*text) > smsparse.MaxTextBytes {
		return nil, Errf(http.StatusBadRequest, "%s must be at most %d bytes", textName, smsparse.MaxTextBytes)
	}
	return &forwardedSMS{From: f, Text: *text}, nil
}

// simSlot reads a SIM slot given as a number (1, 2) or a string ("1", "sim2", "SIM 1"). Values that
// name no slot ("undetected", "notification", "", null, 0) mean unknown.
func simSlot(name string, raw json.RawMessage) (string, *APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var v string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", Errf(http.StatusBadRequest, "%s must be a string or a number", name)
		}
		v = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v), " ", ""))
		v = strings.TrimPrefix(strings.TrimPrefix(v, "slot"), "sim")
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", Errf(http.StatusBadRequest, "%s must be a string or a number", name)
		}
		v = n.String()
	}
	if len(v) == 1 && v[0] >= '1' && v[0] < '1'+maxDeviceSlots {
		return v, nil
	}
	return "", nil
}

// smsTime reads a time given as Unix milliseconds (a number or a string of digits; values below
// 10^11 are taken as seconds) or as an RFC 3339 string. It returns the time (zero when absent or
// out of range: before 2000, or more than smsMaxClockSkew ahead of paystream's clock, since a time
// from the future would order the wallet's balance chain after every genuine SMS to come) and its
// identity for the event id: the Unix seconds when it parsed, else the raw text, so an unexpected
// but stable format still deduplicates.
func smsTime(name string, raw json.RawMessage) (time.Time, string, *APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, "", nil
	}
	var s string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, "", Errf(http.StatusBadRequest, "%s must be a number or a string", name)
		}
		s = strings.TrimSpace(s)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return time.Time{}, "", Errf(http.StatusBadRequest, "%s must be a number or a string", name)
		}
		s = n.String()
	default:
		return time.Time{}, "", Errf(http.StatusBadRequest, "%s must be a number or a string", name)
	}
	if s == "" {
		return time.Time{}, "", nil
	}
	var t time.Time
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1e11 {
			t = time.Unix(n, 0)
		} else {
			t = time.UnixMilli(n)
		}
	} else {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05Z07:00"} {
			if p, err := time.Parse(layout, s); err == nil {
				t = p
				break
			}
		}
	}
	if t.IsZero() {
		return time.Time{}, "raw:" + clip(s, 64), nil
	}
	if t.Year() < 2000 || t.After(time.Now().Add(smsMaxClockSkew)) {
		return time.Time{}, strconv.FormatInt(t.Unix(), 10), nil
	}
	return t.UTC(), strconv.FormatInt(t.Unix(), 10), nil
}

// --- operators: the SMS kept for review ---

// handleListSMS lists the SMS kept for operators, newest first:
// GET /admin/v1/merchants/:id/sms?filter=suspicious|unparsed|unrouted|unused&env=SANDBOX|LIVE&page=&limit=
// → {data: [keptSMS], total, page, limit}. Only the newest smsKeepMax are kept.
func (s *Server) handleListSMS(ctx *fasthttp.RequestCtx) {
	m := s.adminMerchant(ctx)
	if m == nil {
		return
	}
	args := ctx.QueryArgs()
	filter := strings.ToLower(string(args.Peek("filter")))
	if filter != "" && !smsKept(filter) {
		WriteError(ctx, Errf(http.StatusBadRequest, "filter must be suspicious, unparsed, unrouted or unused"))
		return
	}
	env, ae := envArg(args)
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	page, ae := intArg(args, "page", 1, 1, smsKeepMax)
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	limit, ae := intArg(args, "limit", 20, 1, 100)
	if ae != nil {
		WriteError(ctx, ae)
		return
	}
	raw, err := s.rdb.LRange(RequestContext(ctx), smsListKey(s.cfg.Keys, m.ID), 0, smsKeepMax-1).Result()
	if err != nil {
		s.Internal(ctx, "listing sms", err)
		return
	}
	all := make([]keptSMS, 0, len(raw))
	for _, r := range raw {
		var k keptSMS
		if err := json.Unmarshal([]byte(r), &k); err != nil {
			s.log.Warn("undecodable kept sms skipped", "merchant", m.ID, "err", err)
			continue
		}
		if (filter == "" || k.Result == filter) && (env == "" || k.Environment == env) {
			all = append(all, k)
		}
	}
	from := min((page-1)*limit, len(all))
	to := min(from+limit, len(all))
	WriteJSON(ctx, http.StatusOK, map[string]any{"data": all[from:to], "total": len(all), "page": page, "limit": limit})
}

// envArg reads the optional env query parameter ("" = both environments).
func envArg(args *fasthttp.Args) (pipeline.Environment, *APIError) {
	env := pipeline.Environment(strings.ToUpper(string(args.Peek("env"))))
	if env != "" && !env.Valid() {
		return "", Errf(http.StatusBadRequest, "env must be SANDBOX or LIVE")
	}
	return env, nil
}
