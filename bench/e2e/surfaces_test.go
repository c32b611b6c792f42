package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/smsparse"
)

func TestFormatTaka(t *testing.T) {
	for paisa, want := range map[int64]string{
		0: "0.00", 5: "0.05", 100: "1.00", 945220: "9,452.20", 100000000: "1,000,000.00", 12345678: "123,456.78", -150: "-1.50",
	} {
		if got := formatTaka(paisa); got != want {
			t.Errorf("formatTaka(%d) = %q, want %q", paisa, got, want)
		}
	}
}

// The SMS the bench forwards must read, to paystream's own parser, as a trusted bKash payment of
// the payment's amount, TrxID, payer, reference and balance.
func TestSMSTextParses(t *testing.T) {
	at := time.Date(2026, 1, 22, 1, 54, 41, 0, dhaka)
	p := &payment{amount: 1234, payer: "01712345678", trx: "D0AB12CD34", smsAtMs: at.UnixMilli(), balancePaisa: 1_012_345}
	res := smsparse.ParseFrom("bKash", smsText(p), smsparse.DefaultOptions())
	ok := res.Pays && res.SenderTrusted != nil && *res.SenderTrusted && res.Direction == "credit"
	if !ok || res.AmountPaisa == nil || *res.AmountPaisa != 123400 || res.TrxID == nil || *res.TrxID != p.trx ||
		res.Reference == nil || *res.Reference != p.payer || res.Counterparty == nil || *res.Counterparty != p.payer ||
		res.BalancePaisa == nil || *res.BalancePaisa != p.balancePaisa || res.Timestamp == nil || *res.Timestamp != "2026-01-22T01:54:00+06:00" {
		b, _ := json.Marshal(res)
		t.Fatalf("%q parses as %s", smsText(p), b)
	}
	var fw struct {
		From          string `json:"from"`
		Text          string `json:"text"`
		SentStamp     int64  `json:"sentStamp"`
		ReceivedStamp int64  `json:"receivedStamp"`
		SIM           string `json:"sim"`
	}
	if err := json.Unmarshal(smsForwarderBody(p), &fw); err != nil || fw.From != "bKash" || fw.Text != smsText(p) ||
		fw.ReceivedStamp != p.smsAtMs || fw.SIM != "sim1" {
		t.Fatalf("forwarder body: %+v %v", fw, err)
	}
}

func TestSignTxn(t *testing.T) {
	p := &payment{trx: "D0AB12CD34", amount: 750, payer: "01811111111", scheduled: 1_800_000_000 * 1e9}
	body := txnCompleteBody(p, "01700000001")
	c, sig, err := signTxn("s3cret", body)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"amount":750,"from_account":"01811111111","reference":"01811111111","to_account":"01700000001","transaction_datetime":1800000000,"transaction_id":"D0AB12CD34"}`
	if string(c) != want {
		t.Fatalf("canonical form\n%s\nwant\n%s", c, want)
	}
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write([]byte(want))
	if sig != hex.EncodeToString(m.Sum(nil)) {
		t.Fatalf("signature %s", sig)
	}
	if _, _, err := signTxn("k", []byte(`{"a":1,"a":2}`)); err == nil {
		t.Fatal("a body JCS refuses was signed")
	}
}

func TestSNSBody(t *testing.T) {
	at := time.Date(2026, 3, 21, 10, 22, 14, 0, time.UTC)
	p := &payment{trx: "D0AB12CD34", amount: 500, payer: "01811111111", scheduled: at.UnixNano()}
	var env struct {
		Type, MessageId, Timestamp string
		Message                    map[string]string
	}
	if err := json.Unmarshal(snsBody(p), &env); err != nil {
		t.Fatal(err)
	}
	m := env.Message
	if env.Type != "Notification" || len(env.MessageId) != 36 || env.Timestamp != "2026-03-21T10:22:14.000Z" ||
		m["trxID"] != p.trx || m["amount"] != "500" || m["transactionStatus"] != "Completed" || m["currency"] != "BDT" ||
		m["merchantInvoiceNumber"] != p.payer || m["debitMSISDN"] != "8801811111111" || m["dateTime"] != "20260321162214" {
		t.Fatalf("notification: %+v", env)
	}
	var native map[string]any
	if err := json.Unmarshal(nativeBody(&payment{intentID: "id-1", amount: 5, trx: "D0AB12CD34", payer: "01811111111"}), &native); err != nil ||
		native["paymentIntentId"] != "id-1" || native["amount"] != float64(5) || native["trxId"] != "D0AB12CD34" {
		t.Fatalf("native body: %v %v", native, err)
	}
}
