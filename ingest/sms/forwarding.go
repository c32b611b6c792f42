package sms

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/smsparse"
)

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
	errDeviceToken  = &ingest.APIError{Status: http.StatusUnauthorized, Message: "Unknown or revoked device token"}
	errSMSSignature = &ingest.APIError{Status: http.StatusUnauthorized, Message: "Invalid X-Signature: expected hex HMAC-SHA256(signing key, body + X-Timestamp)"}
	errSMSTimestamp = &ingest.APIError{Status: http.StatusUnauthorized, Message: "X-Timestamp is missing or more than 5 minutes away from now"}
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
			Name: "paystream_sms_refused_total", Help: "Forwarded SMS refused before parsing, by reason (token, format, signature).",
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

// forwardedSMS is one SMS as a forwarder app reported it, whatever its format.
type forwardedSMS struct {
	From, Text string
	Slot       string    // SIM slot "1".."8", or "" when the app did not say
	SentAt     time.Time // when the SMS centre sent it (zero: unknown)
	ReceivedAt time.Time // when the phone received it (zero: unknown)
	Identity   string    // the SMS's own time or id, as it enters the event id
}

// smsHandler returns the handler of one forwarding format.
func (s *Surface) smsHandler(format string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		token, _ := ctx.UserValue("token").(string)
		dev, err := s.deviceByToken(ingest.RequestContext(ctx), token)
		if err != nil {
			s.pub.Internal(ctx, "looking up device", err)
			return
		}
		if dev == nil {
			s.m.refused.WithLabelValues("token").Inc()
			ingest.WriteError(ctx, errDeviceToken)
			return
		}
		if !deviceAccepts(dev, format) {
			// Answered exactly as an unknown token, before the rate limit: the answer tells nothing
			// about the token. The operator finds the device in the log.
			s.m.refused.WithLabelValues("format").Inc()
			s.log.Warn("SMS refused: the device is issued for another forwarding URL", "device", dev.ID,
				"format", deviceFormat(dev), "url_format", format, "request_id", ingest.RequestID(ctx))
			ingest.WriteError(ctx, errDeviceToken)
			return
		}
		body := ctx.PostBody()
		if dev.SigningKey != "" {
			// Whatever the URL: a keyed device accepts nothing unsigned (deviceAccepts lets it reach
			// SMS Gateway's URL only, the one format with a signature scheme). The signature is
			// part of its credential, so it is checked before the device's rate limit: forged
			// requests do not spend the phone's budget.
			if format != smsFormatSMSGateway {
				s.m.refused.WithLabelValues("format").Inc()
				ingest.WriteError(ctx, errDeviceToken)
				return
			}
			if ae := checkSMSGatewaySignature(ctx, dev.SigningKey, body, time.Now()); ae != nil {
				s.m.refused.WithLabelValues("signature").Inc()
				ingest.WriteError(ctx, ae)
				return
			}
		}
		if !s.limit.AllowKey(ctx, "device:"+dev.ID) {
			return
		}
		var sms *forwardedSMS
		var ae *ingest.APIError
		switch format {
		case smsFormatForwarder:
			sms, ae = parseForwarderSMS(body)
		case smsFormatSMSGateway:
			var event string
			sms, event, ae = parseSMSGatewaySMS(body)
			if ae == nil && sms == nil { // another event type sent to this URL: acknowledged, nothing to do
				s.log.Info("SMS Gateway event ignored", "device", dev.ID, "event", clip(event, 40), "request_id", ingest.RequestID(ctx))
				ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"accepted": false, "ignored": true, "event": event})
				return
			}
		default:
			sms, ae = parseNativeSMS(body)
		}
		if ae != nil {
			ingest.WriteError(ctx, ae)
			return
		}
		s.acceptSMS(ctx, dev, sms)
	}
}

// acceptSMS parses sms, produces its event (deduplicated) and answers.
func (s *Surface) acceptSMS(ctx *fasthttp.RequestCtx, dev *pipeline.Device, sms *forwardedSMS) {
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
		Raw: ingest.RawCopy(ctx.PostBody()), RequestID: ingest.RequestID(ctx),
	}
	if result == smsPayment {
		p, _ := res.Payment()
		p.OccurredAt = occurredAt(p.OccurredAt, orTime(sms.SentAt, sms.ReceivedAt))
		ev.Kind, ev.Payment = pipeline.KindPaymentReported, &p
	}
	answer := smsAnswer{Accepted: true, EventID: ev.ID, Pays: result == smsPayment, Kind: ev.Kind, Result: result, SMSKind: res.Kind}

	c := ingest.RequestContext(ctx)
	seen := smsSeenKey(s.keys, dev.ID, ev.ID)
	claimed, err := s.rdb.SetNX(c, seen, "pending", smsDedupeTTL).Result()
	if err != nil {
		s.pub.Internal(ctx, "claiming sms", err)
		return
	}
	if !claimed {
		v, err := s.rdb.Get(c, seen).Result()
		if err == nil && v == "done" {
			s.m.duplicates.Inc()
			answer.Duplicate = true
			ingest.WriteJSON(ctx, http.StatusOK, answer)
			return
		}
		// "pending": the first attempt is in flight or failed without releasing its claim. Produce
		// the same event again: consumers drop the copy by its id.
	}
	if err := s.pub.Publish(ctx, ev); err != nil {
		if claimed {
			s.rdb.Del(context.WithoutCancel(c), seen)
		}
		s.pub.Unavailable(ctx, "producing "+string(ev.Kind), err)
		return
	}
	s.m.received.WithLabelValues(result).Inc()
	s.m.lastSeen.WithLabelValues(dev.ID, string(w.Environment)).SetToCurrentTime()
	pipe := s.rdb.Pipeline()
	pipe.Set(c, seen, "done", smsDedupeTTL)
	if smsKept(result) {
		b, _ := json.Marshal(keptSMS{
			EventID: ev.ID, Result: result, DeviceID: dev.ID, Environment: w.Environment, Wallet: w,
			Sender: sms.From, Text: sms.Text, SIM: sms.Slot, ReceivedAt: rec.ReceivedAt, AcceptedAt: now, Parsed: parsed,
		})
		k := smsListKey(s.keys, dev.MerchantID)
		pipe.LPush(c, k, b)
		pipe.LTrim(c, k, 0, smsKeepMax-1)
	}
	if _, err := pipe.Exec(c); err != nil {
		// Kafka has the event (and the audit will): only the operators' copy or the duplicate
		// marker is missing, so the app is still answered 202.
		s.log.Warn("recording forwarded sms for operators failed", "device", dev.ID, "event", ev.ID, "err", err, "request_id", ingest.RequestID(ctx))
	}
	ingest.WriteJSON(ctx, http.StatusAccepted, answer)
}

// smsAnswer is the answer to a forwarded SMS that was accepted (fields by name, the order of the
// map it replaced).
type smsAnswer struct {
	Accepted  bool               `json:"accepted"`
	Duplicate bool               `json:"duplicate,omitempty"`
	EventID   string             `json:"eventId"`
	Kind      pipeline.EventKind `json:"kind"`
	Pays      bool               `json:"pays"`
	Result    string             `json:"result"`
	SMSKind   string             `json:"smsKind"`
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
func (s *Surface) walletSenders(p pipeline.Provider) smsparse.Options {
	return smsparse.Options{TrustedSenders: map[pipeline.Provider][]string{p: s.trustedSenders(p)}}
}

func (s *Surface) trustedSenders(p pipeline.Provider) []string {
	if ts, ok := s.trusted[p]; ok {
		return ts
	}
	return smsparse.DefaultOptions().TrustedSenders[p]
}

// trustsSender reports whether provider p sends from sender: exactly one of its sender ids, byte
// for byte, as smsparse compares them.
func (s *Surface) trustsSender(p pipeline.Provider, sender string) bool {
	return slices.Contains(s.trustedSenders(p), sender)
}

// routeSMS picks the receiving wallet of an SMS. The wallet of its SIM slot, else the device's "*"
// wallet. A known slot the device does not map is a SIM paystream was not told about: unrouted.
// With no slot: the device's only wallet, or else the only one whose provider sends from the SMS's
// sender. Otherwise the SMS is unrouted and reported on the device's first wallet (lowest slot).
func (s *Surface) routeSMS(dev *pipeline.Device, sms *forwardedSMS) (pipeline.Wallet, bool) {
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
