package sms

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline/smsparse"
)

// checkSMSGatewaySignature verifies SMS Gateway for Android's signature: X-Signature is the hex
// HMAC-SHA256, keyed with the signing key, of the raw body followed by X-Timestamp (Unix seconds),
// which must be within 5 minutes of now (the app signs every attempt afresh, so retries pass).
func checkSMSGatewaySignature(ctx *fasthttp.RequestCtx, key string, body []byte, now time.Time) *ingest.APIError {
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

func parseNativeSMS(body []byte) (*forwardedSMS, *ingest.APIError) {
	var req nativeSMSReq
	if ae := ingest.DecodeJSON(body, &req); ae != nil {
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
		if len(id) > smsMaxAppID || !ingest.Printable(id) {
			return nil, ingest.Errf(http.StatusBadRequest, "id must be at most %d printable characters", smsMaxAppID)
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

func parseForwarderSMS(body []byte) (*forwardedSMS, *ingest.APIError) {
	var req forwarderSMSReq
	if ae := ingest.DecodeJSON(body, &req); ae != nil {
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
func parseSMSGatewaySMS(body []byte) (*forwardedSMS, string, *ingest.APIError) {
	var req smsGatewayReq
	if ae := ingest.DecodeJSON(body, &req); ae != nil {
		return nil, "", ae
	}
	if req.Event == nil || *req.Event == "" {
		return nil, "", ingest.Errf(http.StatusBadRequest, "event is required")
	}
	if *req.Event != "sms:received" {
		return nil, *req.Event, nil
	}
	if req.Payload == nil {
		return nil, "", ingest.Errf(http.StatusBadRequest, "payload is required")
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
func smsCore(fromName string, from *string, textName string, text *string) (*forwardedSMS, *ingest.APIError) {
	if from == nil || strings.TrimSpace(*from) == "" {
		return nil, ingest.Errf(http.StatusBadRequest, "%s is required", fromName)
	}
	f := *from
	if utf8.RuneCountInString(f) > smsMaxSender || strings.ContainsFunc(f, unicode.IsControl) {
		return nil, ingest.Errf(http.StatusBadRequest, "%s must be at most %d characters, none of them a control character", fromName, smsMaxSender)
	}
	if text == nil || strings.TrimSpace(*text) == "" {
		return nil, ingest.Errf(http.StatusBadRequest, "%s is required", textName)
	}
	if len(*text) > smsparse.MaxTextBytes {
		return nil, ingest.Errf(http.StatusBadRequest, "%s must be at most %d bytes", textName, smsparse.MaxTextBytes)
	}
	return &forwardedSMS{From: f, Text: *text}, nil
}

// simSlot reads a SIM slot given as a number (1, 2) or a string ("1", "sim2", "SIM 1"). Values that
// name no slot ("undetected", "notification", "", null, 0) mean unknown.
func simSlot(name string, raw json.RawMessage) (string, *ingest.APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var v string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", ingest.Errf(http.StatusBadRequest, "%s must be a string or a number", name)
		}
		v = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v), " ", ""))
		v = strings.TrimPrefix(strings.TrimPrefix(v, "slot"), "sim")
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", ingest.Errf(http.StatusBadRequest, "%s must be a string or a number", name)
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
func smsTime(name string, raw json.RawMessage) (time.Time, string, *ingest.APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, "", nil
	}
	var s string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, "", ingest.Errf(http.StatusBadRequest, "%s must be a number or a string", name)
		}
		s = strings.TrimSpace(s)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return time.Time{}, "", ingest.Errf(http.StatusBadRequest, "%s must be a number or a string", name)
		}
		s = n.String()
	default:
		return time.Time{}, "", ingest.Errf(http.StatusBadRequest, "%s must be a number or a string", name)
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
