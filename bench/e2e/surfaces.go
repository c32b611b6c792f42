package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gowebpki/jcs"
)

// dhaka is Asia/Dhaka's fixed offset (no DST since 2009): wallet SMS and SNS times are local.
var dhaka = time.FixedZone("Asia/Dhaka", 6*3600)

// formatTaka writes paisa as bKash writes amounts: "9,452.20".
func formatTaka(paisa int64) string {
	neg := paisa < 0
	if neg {
		paisa = -paisa
	}
	whole := strconv.FormatInt(paisa/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	fmt.Fprintf(&b, ".%02d", paisa%100)
	return b.String()
}

// smsText is a bKash "send money received" SMS (pipeline/smsparse's received_send_money) for p,
// received at p.smsAtMs, with the customer's reference and the wallet's new balance.
func smsText(p *payment) string {
	at := time.UnixMilli(p.smsAtMs).In(dhaka)
	return fmt.Sprintf("You have received Tk %s from %s. Ref %s. Fee Tk 0.00. Balance Tk %s. TrxID %s at %s",
		formatTaka(int64(p.amount)*100), p.payer, p.payer, formatTaka(p.balancePaisa), p.trx, at.Format("02/01/2006 15:04"))
}

// smsForwarderBody is "SMS to URL Forwarder"'s default JSON template for p's SMS on SIM 1.
func smsForwarderBody(p *payment) []byte {
	b, _ := json.Marshal(struct {
		From          string `json:"from"`
		Text          string `json:"text"`
		SentStamp     int64  `json:"sentStamp"`
		ReceivedStamp int64  `json:"receivedStamp"`
		SIM           string `json:"sim"`
	}{"bKash", smsText(p), p.smsAtMs, p.smsAtMs, "sim1"})
	return b
}

// nativeBody is the seed 004 simulator's body: matching is by amount (rule 4), as for most real SMS.
func nativeBody(p *payment) []byte {
	return fmt.Appendf(nil, `{"paymentIntentId":%q,"amount":%d,"trxId":%q,"senderMsisdn":%q}`, p.intentID, p.amount, p.trx, p.payer)
}

// snsBody is a seed 003 notification of p, unsigned (the relay does not pass SNS's signature on),
// whose merchantInvoiceNumber is the intent's customer reference (rule 2).
func snsBody(p *payment) []byte {
	at := time.Unix(0, p.scheduled)
	msg := map[string]any{
		"dateTime": at.In(dhaka).Format("20060102150405"), "debitMSISDN": "88" + p.payer,
		"creditOrganizationName": "paystream bench", "trxID": p.trx, "transactionStatus": "Completed",
		"transactionType": "1003", "amount": strconv.Itoa(p.amount), "currency": "BDT",
		"transactionReference": "bench", "merchantInvoiceNumber": p.payer,
	}
	b, _ := json.Marshal(map[string]any{
		"Type": "Notification", "MessageId": messageID(p.trx), "TopicArn": "arn:aws:sns:ap-southeast-1:354285753755:bpt_bench",
		"Message": msg, "Timestamp": at.UTC().Format("2006-01-02T15:04:05.000Z"),
	})
	return b
}

// messageID is a UUID-shaped SNS MessageId derived from a TrxID.
func messageID(trx string) string {
	h := sha256.Sum256([]byte(trx))
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// txnCheckBody and txnCompleteBody are seed 002's bodies; complete names the intent's customer
// reference (rule 2) and the merchant's wallet.
func txnCheckBody(p *payment) []byte { return fmt.Appendf(nil, `{"acc_no":%q}`, p.payer) }

func txnCompleteBody(p *payment, wallet string) []byte {
	return fmt.Appendf(nil, `{"transaction_id":%q,"amount":%d,"from_account":%q,"to_account":%q,"reference":%q,"transaction_datetime":%d}`,
		p.trx, p.amount, p.payer, wallet, p.payer, p.scheduled/1e9)
}

// signTxn returns the RFC 8785 form of body and its seed 002 signature: the hex HMAC-SHA256 of
// that form keyed with the signing secret. The canonical form is what is sent.
func signTxn(secret string, body []byte) ([]byte, string, error) {
	c, err := jcs.Transform(body)
	if err != nil {
		return nil, "", fmt.Errorf("canonicalizing transaction body: %w", err)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(c)
	return c, hex.EncodeToString(m.Sum(nil)), nil
}

// sender sends payments to paystream. Its methods are safe for concurrent use.
type sender struct {
	bases     []string // every ingest's base URL: payment i goes to bases[i mod len]
	client    *http.Client
	merchants []merchantCreds
	errs      *errorSamples
	// intentTTL > 0: create each payment's intent, with this TTL, just before its payment
	// (-setup-in-window), and register it with rcv.
	intentTTL time.Duration
	idemKeys  bool // send an idempotencyKey with each intent
	rcv       *receiver
}

// intentBody is the merchant API's request for p's intent: its amount, its payer as
// customerReference, and ttl; with idem, an idempotencyKey unique in the run ("bench-" + its TrxID),
// as a merchant's integration sends one.
func intentBody(p *payment, ttl time.Duration, idem bool) []byte {
	if idem {
		return fmt.Appendf(nil, `{"amount":%d,"currency":"BDT","customerReference":%q,"ttlSeconds":%d,"idempotencyKey":"bench-%s"}`,
			p.amount, p.payer, int(ttl.Seconds()), p.trx)
	}
	return fmt.Appendf(nil, `{"amount":%d,"currency":"BDT","customerReference":%q,"ttlSeconds":%d}`, p.amount, p.payer, int(ttl.Seconds()))
}

// createIntent creates p's intent through base and registers it with the receiver. On failure it
// records the answer as p's (so the payment counts as an error) and returns false.
func (s *sender) createIntent(ctx context.Context, base string, m *merchantCreds, p *payment) bool {
	code, b, err := s.post(ctx, base+"/v1/payments/intents", intentBody(p, s.intentTTL, s.idemKeys), "X-Api-Key", m.apiKey)
	var v struct {
		ID string `json:"id"`
	}
	if err == nil && code == http.StatusCreated {
		if err = json.Unmarshal(b, &v); err == nil && v.ID == "" {
			err = errors.New("no intent id in the answer")
		}
	}
	now := time.Now().UnixNano()
	switch {
	case err != nil:
		p.answered, p.status = now, -1
		s.errs.add(fmt.Sprintf("intent: %v", err))
		return false
	case code != http.StatusCreated:
		p.answered, p.status = now, int16(code)
		s.errs.add(fmt.Sprintf("intent: HTTP %d", code))
		return false
	}
	p.intentID, p.intentAt = v.ID, now
	s.rcv.register(v.ID, p.idx)
	return true
}

// send reports p through its surface and records the answer in p, creating its intent first when
// s.intentTTL > 0. It blocks until the answer or the client's timeout.
func (s *sender) send(ctx context.Context, p *payment) {
	m := &s.merchants[p.merchant]
	base := s.bases[p.idx%len(s.bases)]
	if s.intentTTL > 0 && p.intentID == "" && !s.createIntent(ctx, base, m, p) {
		return
	}
	var code int
	var body []byte
	var err error
	switch p.surface {
	case surfNative:
		code, _, err = s.post(ctx, base+"/v1/sandbox/sms-events/simulate", nativeBody(p), "X-Api-Key", m.apiKey)
	case surfSMS:
		code, body, err = s.post(ctx, base+m.smsPath, smsForwarderBody(p))
		if err == nil && code == http.StatusAccepted {
			var a struct {
				Pays   bool   `json:"pays"`
				Result string `json:"result"`
			}
			if json.Unmarshal(body, &a) != nil || !a.Pays {
				p.notPayment = true
				s.errs.add(fmt.Sprintf("sms %s: paystream did not read it as a payment: %s", p.trx, body))
			}
		}
	case surfSNS:
		code, _, err = s.post(ctx, base+m.snsPath, snsBody(p), "x-app-secret", m.snsAppSecret, "x-client-secret", m.snsClientSecret)
	case surfTxn:
		// As an aggregator would: complete only a payment the check allowed. A refused check is
		// the payment's answer.
		code, err = s.txn(ctx, base, m, "check", txnCheckBody(p))
		p.checkStatus = int16(code)
		if err == nil && code == http.StatusAccepted {
			code, err = s.txn(ctx, base, m, "complete", txnCompleteBody(p, m.wallet))
		}
	}
	p.answered = time.Now().UnixNano()
	if err != nil {
		p.status = -1
		s.errs.add(fmt.Sprintf("%s: %v", p.surface, err))
		return
	}
	p.status = int16(code)
	if code != int(acceptStatus[p.surface]) {
		s.errs.add(fmt.Sprintf("%s: HTTP %d", p.surface, code))
	}
}

func (s *sender) txn(ctx context.Context, base string, m *merchantCreds, op string, body []byte) (int, error) {
	c, sig, err := signTxn(m.txnSecret, body)
	if err != nil {
		return 0, err
	}
	code, _, err := s.post(ctx, base+"/api/external/v1/bkash/transactions/"+op, c, "API-Key", m.txnKey, "X-Signature", sig)
	return code, err
}

// post sends a JSON body with the header pairs hdr and returns the status and up to 64 KiB of
// the answer.
func (s *sender) post(ctx context.Context, url string, body []byte, hdr ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, fmt.Errorf("reading answer: %w", err)
	}
	return resp.StatusCode, b, nil
}
