package sms

import (
	"testing"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/smsparse"
)

// TestAdversarialReceiptShapedSMSKept (issue 13, finding 2): a trusted, routed SMS that looks like a
// receipt — an amount and a TrxID, money in or a failure/reversal notice — but does not pay is kept
// where operators see it ("unused"), so a customer's contested payment can be found. Before, a
// failure notice (or a genuine receipt a payer's Ref had turned into one) was "ignored" and not kept.
// Outgoing money, OTPs and promos are still ignored.
func TestAdversarialReceiptShapedSMSKept(t *testing.T) {
	opt := smsparse.DefaultOptions()
	for _, c := range []struct {
		name, sender, text string
		p                  pipeline.Provider
		want               string
	}{
		{"bkash reversal of a receipt", "bKash", "You have received Tk 500.00 from 01712345678. Fee Tk 0.00. Balance Tk 500.00. TrxID DKG1234567 at 12/02/2026 10:00. This transaction has been reversed.", pipeline.BKash, smsUnused},
		{"bkash failed send money", "bKash", "Sorry, your Send Money request to 01765992095 is unsuccessful! Tk 30 has been returned. Balance Tk 73.50. TrxID BKA96AB813 at 10/11/2024 14:00", pipeline.BKash, smsUnused},
		{"nagad failed receipt", "NAGAD", "Money Received.\nAmount: Tk 60.00\nSender: 01632951891\nTxnID: 75K92M3Z\nBalance: Tk 610.28\n24/06/2026 14:31\nTransaction failed.", pipeline.Nagad, smsUnused},
		{"rocket reversed receipt", "16216", "Tk280.00 received from A/C:***033 Fee:Tk0, Your A/C Balance: Tk285.00 TxnId:6578516337 Date:29-MAY-26 10:26:24 pm. This transaction has been reversed.", pipeline.Rocket, smsUnused},
		{"upay declined receipt", "Upay", "Tk. 900.00 has been received from 01540669293. Balance Tk. 900.00. TrxID 01K7C8Z24V at 12/10/2025 19:15. Declined.", pipeline.Upay, smsUnused},
		{"bkash business credit", "bKash", "You have received Tk 63.00 from OnnorokomWeb. Balance Tk 1,082.65. TrxID DE971UR13F at 09/05/2026 21:32", pipeline.BKash, smsUnused},
		{"bkash cash in", "bKash", "Cash In Tk 499.00 from 01897379152 successful. Fee Tk 0.00. Balance Tk 16,207.79. TrxID DI5876R1VG at 05/09/2026 21:02", pipeline.BKash, smsUnused},
		{"nagad refund", "NAGAD", "Refund from Daraz BD\nAmount: Tk 239\nTrnxID: TESTBREF\nBalance:TK 267.70\n04/01/2024 18:16", pipeline.Nagad, smsUnused},
		// A payer's Ref never makes a receipt a failure: it pays.
		{"bkash receipt with Ref failed", "bKash", "You have received Tk 500.00 from 01712345678. Ref failed. Fee Tk 0.00. Balance Tk 500.00. TrxID DKN1234567 at 18/02/2026 10:00", pipeline.BKash, smsPayment},
		{"bkash send money out", "bKash", "Send Money Tk 105.00 to 01700000002 successful. Ref . Fee Tk 0.00. Balance Tk 440.00. TrxID DEF5678ABC at 15/11/2018 10:05", pipeline.BKash, smsIgnored},
		{"bkash otp", "bKash", "Your bKash verification code is 840223.", pipeline.BKash, smsIgnored},
	} {
		res := smsparse.ParseFrom(c.sender, c.text, opt)
		trusted := res.SenderTrusted != nil && *res.SenderTrusted
		got := classifySMS(res, trusted, true, c.p)
		if got != c.want || smsKept(got) != (c.want == smsUnused) {
			t.Errorf("%s: result %q (kind %s, kept %v), want %q", c.name, got, res.Kind, smsKept(got), c.want)
		}
	}
}
