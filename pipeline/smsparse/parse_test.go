package smsparse

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paystream/paystream/pipeline"
)

// fixturesPath is the real wallet SMS the parser is measured on (provenance in testdata/README.md).
const fixturesPath = "testdata/sms_samples.jsonl"

type sample struct {
	Provider string `json:"provider"`
	Kind     string `json:"kind"`
	Text     string `json:"text"`
	Notes    string `json:"notes"`
}

func loadSamples(tb testing.TB) []sample {
	tb.Helper()
	abs, _ := filepath.Abs(fixturesPath)
	data, err := os.ReadFile(fixturesPath)
	if err != nil {
		tb.Fatalf("reading the SMS fixtures: %v\n(looked for %s)", err, abs)
	}
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var s sample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			tb.Fatalf("%s line %d: %v", abs, line, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		tb.Fatalf("%s holds no samples", abs)
	}
	return out
}

// want is what one SMS must parse to; nil pointers are JSON nulls.
type want struct {
	provider pipeline.Provider
	kind     string
	dir      string
	pays     bool
	amount   *int64
	trx      *string
	cp       *string
	ref      *string
	balance  *int64
	fee      *int64
	ts       *string
}

func i64(v int64) *int64   { return &v }
func str(v string) *string { return &v }

const (
	bk, ng, rk, up = pipeline.BKash, pipeline.Nagad, pipeline.Rocket, pipeline.Upay
	cr, db, no     = DirectionCredit, DirectionDebit, DirectionNone
)

// fixtureWants has one row per line of sms_samples.jsonl, in order, written by reading each sample
// (not produced by the parser). prefix guards against the file being reordered.
//
//	provider, kind, direction, pays, amount, trx_id, counterparty, reference, balance, fee, timestamp
var fixtureWants = []struct {
	prefix string
	w      want
}{
	{"B2B Transfer Tk 2,000.00 to 01704172", want{bk, "b2b_transfer_outgoing", db, false, i64(200000), str("ACD7FJDL8B"), str("01704172631"), nil, i64(752124), i64(0), str("2023-03-13T16:48:00+06:00")}},
	{"Bill successfully paid. Biller: WZPD", want{bk, "bill_payment", db, false, i64(184600), str("BKN7HQ5RTN"), str("WZPDCL"), nil, nil, i64(0), nil}},
	{"Bill successfully paid. Biller: ICCC", want{bk, "bill_payment", db, false, i64(60000), str("CL85VHUJ0X"), str("ICCComm"), nil, nil, i64(0), str("2025-12-08T13:25:00+06:00")}},
	{"Cash In Tk 499.00 from 01897379152 s", want{bk, "cash_in", cr, false, i64(49900), str("DI5876R1VG"), str("01897379152"), nil, i64(1620779), i64(0), str("2026-09-05T21:02:00+06:00")}},
	{"Cash In Tk 400.00 from 01700000001 s", want{bk, "cash_in", cr, false, i64(40000), str("ABC1234XYZ"), str("01700000001"), nil, i64(48500), i64(0), str("2018-11-13T12:33:00+06:00")}},
	{"Cash In Tk 2,000.00 to 01856600204 s", want{bk, "cash_in_sent_by_agent", db, false, i64(200000), str("AC829VTZTE"), str("01856600204"), nil, i64(285116), i64(0), str("2023-03-08T10:37:00+06:00")}},
	{"Cash Out Tk 785.00 from 01841721504 ", want{bk, "cash_out_received_by_agent", cr, false, i64(78500), str("AA24AJJH6I"), str("01841721504"), nil, i64(12171033), i64(0), str("2023-01-02T22:05:00+06:00")}},
	{"Your bKash verification code is 8402", want{bk, "otp", no, false, nil, nil, nil, nil, nil, nil, nil}},
	{"Payment of Tk 1,015.50 to AS-SUNNAH ", want{bk, "payment_outgoing", db, false, i64(101550), str("DCD92UO50N"), str("AS-SUNNAH FOUNDATION-RM56187"), nil, i64(111515), nil, str("2026-03-13T15:30:00+06:00")}},
	{"Payment of Tk 800.00 to ICC Communic", want{bk, "payment_outgoing", db, false, i64(80000), str("CL31Q0UTRT"), str("ICC Communication"), nil, i64(305248), nil, str("2025-12-03T00:20:00+06:00")}},
	{"Payment of Tk 1.00 to ALPHANET is su", want{bk, "payment_outgoing", db, false, i64(100), str("CJG1C2P5R5"), str("ALPHANET"), nil, i64(12201), nil, str("2025-10-16T15:05:00+06:00")}},
	{"You have received a deposit of Tk 1,", want{bk, "received_bank_deposit", cr, false, i64(100000), str("CGJ2RQENX4"), str("Sonali Bank Account"), nil, i64(114034), i64(0), str("2025-07-19T15:43:00+06:00")}},
	{"You have received Tk 63.00 from Onno", want{bk, "received_from_business", cr, false, i64(6300), str("DE971UR13F"), str("OnnorokomWeb"), nil, i64(108265), nil, str("2026-05-09T21:32:00+06:00")}},
	{"You have received payment Tk 549.00 ", want{bk, "received_merchant_payment", cr, true, i64(54900), str("DDC03X8Z8I"), str("01757840664"), nil, i64(821056), i64(0), str("2026-04-12T16:39:00+06:00")}},
	{"You have received payment Tk 500.00 ", want{bk, "received_merchant_payment", cr, true, i64(50000), str("DEN5HXLU09"), str("01841558023"), str("782"), nil, nil, nil}},
	{"You have received payment Tk 500.00 ", want{bk, "received_merchant_payment", cr, true, i64(50000), str("DAM6CTT7RW"), str("01783110247"), nil, i64(945220), i64(0), str("2026-01-22T01:54:00+06:00")}},
	{"You have received Tk 20,172.00 from ", want{bk, "received_send_money", cr, true, i64(2017200), str("CAK845MSGS"), str("01815474012"), str("jazakallah vai"), i64(2032900), i64(0), str("2025-01-20T10:53:00+06:00")}},
	{"You have received Tk 2,000.00 from 0", want{bk, "received_send_money", cr, true, i64(200000), str("ACA8CBMVZ2"), str("01704172631"), nil, i64(220151), i64(0), str("2023-03-10T16:36:00+06:00")}},
	{"You have received Tk 400.00 from 017", want{bk, "received_send_money", cr, true, i64(40000), str("MNO7890JKL"), str("01700000004"), str("TESTUSER"), i64(42300), i64(0), str("2018-11-03T11:30:00+06:00")}},
	{"You have received Tk 3,055.50 from 0", want{bk, "received_send_money", cr, true, i64(305550), str("DJ21B6137N"), str("01713750530"), nil, i64(1191752), i64(0), str("2026-10-02T20:55:00+06:00")}},
	{"You have received Tk 100.00 from 016", want{bk, "received_send_money", cr, true, i64(10000), str("DGB2AC4RC2"), str("01609527510"), str("1"), i64(1023416), i64(0), str("2026-07-11T21:41:00+06:00")}},
	// Masked sender and TrxID: a receipt, but nothing to match on.
	{"You have received Tk 6,400.00 from X", want{bk, "received_send_money", cr, false, i64(640000), nil, nil, nil, i64(2028841), i64(0), str("2026-05-26T10:58:00+06:00")}},
	{"You have received Tk 500.00 from 015", want{bk, "received_send_money", cr, true, i64(50000), str("CJU0PZQ3U6"), str("01533817247"), nil, i64(111778), i64(0), str("2025-10-30T21:02:00+06:00")}},
	{"You have received Tk 500.00 from 019", want{bk, "received_send_money", cr, true, i64(50000), str("CI131K7A2D"), str("01954723595"), str("95352"), i64(51000), i64(0), str("2025-09-01T11:32:00+06:00")}},
	{"Your bKash Mobile Recharge request o", want{bk, "recharge_notice", db, false, i64(5000), nil, str("01700000006"), nil, nil, nil, nil}},
	{"Sorry, your Send Money request to 01", want{bk, "send_money_failed", no, false, i64(3000), str("BKA96AB813"), str("01765992095"), nil, i64(7350), nil, str("2024-11-10T14:00:00+06:00")}},
	{"Send Money Tk 105.00 to 01700000002 ", want{bk, "send_money_outgoing", db, false, i64(10500), str("DEF5678ABC"), str("01700000002"), nil, i64(44000), i64(0), str("2018-11-15T10:05:00+06:00")}},
	{"Add Money from Bank is Successful.\nF", want{ng, "add_money_from_bank", cr, false, i64(20000), str("TEST9MID"), str("Midland Bank Ltd"), nil, i64(30606), nil, str("2025-10-08T10:34:00+06:00")}},
	{"B2B Received. Amount: Tk 3000.00 Sen", want{ng, "b2b_received", cr, false, i64(300000), str("71R9OL1C"), str("01810030342"), nil, i64(1620272), nil, str("2023-03-13T16:05:00+06:00")}},
	{"Your request for NESCO Prepaid recha", want{ng, "bill_payment", db, false, i64(40000), str("73B8DFOP"), str("NESCO Prepaid recharge"), nil, nil, i64(360), str("2024-10-23T09:14:00+06:00")}},
	{"WIN LAND IN DHAKA! CLICK NOW  nagad.", want{ng, "cash_in_received", cr, false, i64(20000), str("72BBBBBB"), str("01700000002"), nil, i64(20865), nil, str("2024-03-27T15:54:00+06:00")}},
	{"Cash In Received.\nAmount: Tk 599.00\n", want{ng, "cash_in_received", cr, false, i64(59900), str("75X3V7DE"), str("01960080062"), nil, i64(295758), nil, str("2026-09-01T22:12:00+06:00")}},
	{"Congrats! You've received Cash back/", want{ng, "cashback", cr, false, i64(4940), nil, nil, nil, nil, nil, str("2023-01-08T18:36:00+06:00")}},
	{"Money Received.\nAmount: Tk 646.00\nSe", want{ng, "money_received", cr, true, i64(64600), str("TEST2XYZ"), str("01700000002"), str("office"), i64(91370), nil, str("2024-01-29T17:29:00+06:00")}},
	{"Money Received.\nAmount: Tk 60.00\nSen", want{ng, "money_received", cr, true, i64(6000), str("75K92M3Z"), str("01632951891"), nil, i64(61028), nil, str("2026-06-24T14:31:00+06:00")}},
	{"Money Received. Amount: Tk 11.00 Sen", want{ng, "money_received", cr, true, i64(1100), str("73QOF3OE"), str("01716458399"), nil, i64(279927), nil, str("2025-03-14T16:48:00+06:00")}},
	{"Money Received.\nAmount: Tk 499.00\nSe", want{ng, "money_received", cr, true, i64(49900), str("75XVTPVI"), str("01816926823"), str("2"), i64(878158), nil, str("2026-09-05T20:29:00+06:00")}},
	{"Money Received.\nAmount: Tk 500.00\nSe", want{ng, "money_received", cr, true, i64(50000), str("TEST1ABC"), str("01700000001"), nil, i64(50500), nil, str("2022-12-20T19:22:00+06:00")}},
	{"Money Received.\nAmount: Tk 500.00\nSe", want{ng, "money_received", cr, true, i64(50000), str("747FUXJZ"), str("01737067174"), nil, i64(50078), nil, str("2025-07-30T11:54:00+06:00")}},
	{"Money Received.\nAmount: Tk 20300.00\n", want{ng, "money_received", cr, true, i64(2030000), str("73CCCCCC"), str("01700000003"), nil, i64(2030032), nil, str("2025-01-23T20:58:00+06:00")}},
	{"Never Share Any Code.\nDevice registr", want{ng, "otp", no, false, nil, nil, nil, nil, nil, nil, nil}},
	// The time is the cancelled payment's, the only one the SMS has.
	{"Your payment of tk2  by Alpha Net  m", want{ng, "payment_cancelled", no, false, i64(200), nil, str("Alpha Net"), nil, nil, nil, str("2024-10-27T14:05:00+06:00")}},
	{"Payment to 'Daraz Bangladesh Limit' ", want{ng, "payment_outgoing", db, false, i64(49400), str("TEST5DAR"), str("Daraz Bangladesh Limit"), nil, i64(600), nil, str("2023-01-08T18:36:00+06:00")}},
	// Greek capitals in the TxnID fold to their Latin look-alikes.
	{"Payment Received. Amount: Tk 50.00 C", want{ng, "payment_received_merchant", cr, true, i64(5000), str("74HNEKO8"), str("01929952387"), nil, i64(24778), nil, str("2025-10-20T17:58:00+06:00")}},
	{"Refund from Daraz BD\nAmount: Tk 239\n", want{ng, "refund_received", cr, false, i64(23900), str("TESTBREF"), str("Daraz BD"), nil, i64(26770), nil, str("2024-01-04T18:16:00+06:00")}},
	{"Cash-Out to A/C:***456Tk900.00Fee:Tk", want{rk, "cash_out_outgoing", db, false, i64(90000), str("1111111111"), str("***456"), nil, i64(30000), i64(1500), str("2025-09-27T17:59:38+06:00")}},
	// "Comm" is the agent's commission, not a fee.
	{"Cash-Out from A/C: ***097 Tk2,009.00", want{rk, "cash_out_received_by_agent", cr, false, i64(200900), str("6017463139"), str("***097"), nil, i64(8745582), nil, str("2025-12-25T17:53:00+06:00")}},
	{"Tk280.00 received from A/C:***033 Fe", want{rk, "received", cr, true, i64(28000), str("6578516337"), str("***033"), nil, i64(28500), i64(0), str("2026-05-29T22:26:24+06:00")}},
	{"Tk499.00 received from A/C:***759 Fe", want{rk, "received", cr, true, i64(49900), str("6910652291"), str("***759"), nil, i64(101579), i64(0), str("2026-09-04T16:15:53+06:00")}},
	{"Tk.20.00 received from A/C:***946 Re", want{rk, "received", cr, true, i64(2000), str("6022164589"), str("***946"), nil, i64(4100), i64(0), str("2025-12-27T19:17:16+06:00")}},
	{"You have received Cash-out of Tk. 15", want{up, "cash_out_received_by_agent", cr, false, i64(15000), str("01K6YMAPGB"), str("01768734982"), nil, i64(490281), nil, str("2025-10-07T12:04:00+06:00")}},
	{"Received Payment of Tk.1.00 from 017", want{up, "merchant_payment_received", cr, true, i64(100), str("01M3V635E3"), str("01797924838"), nil, nil, nil, nil}},
	{"Tk. 900.00 has been received from 01", want{up, "received", cr, true, i64(90000), str("01K7C8Z24V"), str("01540669293"), nil, i64(90000), nil, str("2025-10-12T19:15:00+06:00")}},
}

// diff lists the fields of got that differ from w.
func diff(got Result, w want) []string {
	var d []string
	check := func(field string, ok bool, g, e any) {
		if !ok {
			d = append(d, fmt.Sprintf("%s: got %v, want %v", field, g, e))
		}
	}
	check("provider", got.Provider == w.provider, got.Provider, w.provider)
	check("kind", got.Kind == w.kind, got.Kind, w.kind)
	check("direction", got.Direction == w.dir, got.Direction, w.dir)
	check("pays", got.Pays == w.pays, got.Pays, w.pays)
	check("amount_paisa", eqp(got.AmountPaisa, w.amount), show(got.AmountPaisa), show(w.amount))
	check("trx_id", eqp(got.TrxID, w.trx), show(got.TrxID), show(w.trx))
	check("counterparty", eqp(got.Counterparty, w.cp), show(got.Counterparty), show(w.cp))
	check("reference", eqp(got.Reference, w.ref), show(got.Reference), show(w.ref))
	check("balance_paisa", eqp(got.BalancePaisa, w.balance), show(got.BalancePaisa), show(w.balance))
	check("fee_paisa", eqp(got.FeePaisa, w.fee), show(got.FeePaisa), show(w.fee))
	check("timestamp", eqp(got.Timestamp, w.ts), show(got.Timestamp), show(w.ts))
	return d
}

func eqp[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func show[T any](p *T) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprintf("%q", fmt.Sprint(*p))
}

// TestFixtures checks every labelled sample against the fields written above and logs the
// per-provider accuracy.
func TestFixtures(t *testing.T) {
	samples := loadSamples(t)
	if len(samples) != len(fixtureWants) {
		t.Fatalf("%s has %d samples but fixtureWants has %d rows: add a row per new sample", fixturesPath, len(samples), len(fixtureWants))
	}
	for i, s := range samples {
		row := fixtureWants[i]
		t.Run(fmt.Sprintf("%02d_%s_%s", i, s.Provider, s.Kind), func(t *testing.T) {
			if !strings.HasPrefix(s.Text, row.prefix) {
				t.Fatalf("sample %d starts %.40q, table row expects %q: keep fixtureWants in file order", i, s.Text, row.prefix)
			}
			if string(row.w.provider) != s.Provider || row.w.kind != s.Kind {
				t.Errorf("table row says %s/%s, the fixture label says %s/%s", row.w.provider, row.w.kind, s.Provider, s.Kind)
			}
			got := Parse(s.Text)
			for _, d := range diff(got, row.w) {
				t.Errorf("%s\n  text: %q\n  notes: %s", d, s.Text, s.Notes)
			}
		})
	}
	for _, line := range accuracy(t, samples).lines() {
		t.Log(line)
	}
}

// TestVariants checks hand-written texts that are not in the fixtures: other amounts, missing
// spaces, CRLF, promo lines, lower-case labels, Bengali and full-width digits, look-alike letters,
// and malformed values that must come out null.
func TestVariants(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			got := Parse(v.text)
			for _, d := range diff(got, v.w) {
				t.Errorf("%s\n  text: %q", d, v.text)
			}
		})
	}
}

type variant struct {
	name string
	text string
	w    want
}

var variants = []variant{
	{"bkash_glued_lakh_balance",
		"You have received Tk 12,345.67 from 01987654321.Ref Order 7781.Fee Tk 0.00.Balance Tk 1,00,000.50.TrxID DKF83JS0QA at 05/02/2026 09:07",
		want{bk, "received_send_money", cr, true, i64(1234567), str("DKF83JS0QA"), str("01987654321"), str("Order 7781"), i64(10000050), i64(0), str("2026-02-05T09:07:00+06:00")}},
	{"bkash_no_spaces_at_all",
		"You have receivedTk500.00 from01712345678.Fee Tk0.00.Balance Tk600.00.TrxID DKA9Z8Y7X6at 05/02/2026 21:07",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKA9Z8Y7X6"), str("01712345678"), nil, i64(60000), i64(0), str("2026-02-05T21:07:00+06:00")}},
	{"nagad_crlf",
		"Money Received.\r\nAmount: Tk 1,250.50\r\nSender: 01812345678\r\nRef: INV-2231\r\nTxnID: 7AB3CD9E\r\nBalance: Tk 5,000.00\r\n03/02/2026 21:15\r\n",
		want{ng, "money_received", cr, true, i64(125050), str("7AB3CD9E"), str("01812345678"), str("INV-2231"), i64(500000), nil, str("2026-02-03T21:15:00+06:00")}},
	{"bkash_promo_before_and_after",
		"bKash e Pay korle 10% cashback! Offer till 31/12/2026 23:59\nYou have received Tk 750.00 from 01612345678. Ref 4411. Fee Tk 0.00. Balance Tk 900.00. TrxID DKA1B2C3D4 at 06/02/2026 12:00\nDownload bKash App: https://bka.sh/app",
		want{bk, "received_send_money", cr, true, i64(75000), str("DKA1B2C3D4"), str("01612345678"), str("4411"), i64(90000), i64(0), str("2026-02-06T12:00:00+06:00")}},
	{"lower_case_labels",
		"you have received tk 300.00 from 01512345678. ref abc. fee tk 0.00. balance tk 310.00. trxid DKB9X8Y7Z6 at 07/02/2026 08:30",
		want{bk, "received_send_money", cr, true, i64(30000), str("DKB9X8Y7Z6"), str("01512345678"), str("abc"), i64(31000), i64(0), str("2026-02-07T08:30:00+06:00")}},
	{"bengali_digits",
		"You have received Tk ৫০০.০০ from ০১৭১২৩৪৫৬৭৮. Fee Tk ০.০০. Balance Tk ১,৫০০.০০. TrxID DKC1234567 at ০৮/০২/২০২৬ ১৪:২০",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKC1234567"), str("01712345678"), nil, i64(150000), i64(0), str("2026-02-08T14:20:00+06:00")}},
	{"cyrillic_trxid_nbsp_zero_width",
		"You have received Tk\u00a0200.00 from 01712345678. Fee Tk 0.00. Balance Tk 400.00. TrxID DК\u200bА1234567 at 09/02/2026 10:10",
		want{bk, "received_send_money", cr, true, i64(20000), str("DKA1234567"), str("01712345678"), nil, i64(40000), i64(0), str("2026-02-09T10:10:00+06:00")}},
	{"non_ascii_trxid_rejected",
		"You have received Tk 200.00 from 01712345678. Fee Tk 0.00. Balance Tk 400.00. TrxID DЖA1234567 at 09/02/2026 10:10",
		want{bk, "received_send_money", cr, false, i64(20000), nil, str("01712345678"), nil, i64(40000), i64(0), str("2026-02-09T10:10:00+06:00")}},
	{"full_width_amount",
		"You have received Tk ５００．００ from 01712345678. Fee Tk 0.00. Balance Tk 900.00. TrxID DKD7654321 at 10/02/2026 10:10",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKD7654321"), str("01712345678"), nil, i64(90000), i64(0), str("2026-02-10T10:10:00+06:00")}},
	{"three_decimals_rejected",
		"You have received Tk 500.001 from 01712345678. Fee Tk 0.00. Balance Tk 900.00. TrxID DKD7654321 at 10/02/2026 10:10",
		want{bk, "received_send_money", cr, false, nil, str("DKD7654321"), str("01712345678"), nil, i64(90000), i64(0), str("2026-02-10T10:10:00+06:00")}},
	{"bad_comma_group_rejected",
		"You have received Tk 5,00.00 from 01712345678. TrxID DKD7654321 at 10/02/2026 10:10",
		want{bk, "received_send_money", cr, false, nil, str("DKD7654321"), str("01712345678"), nil, nil, nil, str("2026-02-10T10:10:00+06:00")}},
	{"zero_amount_rejected",
		"You have received Tk 0.00 from 01712345678. TrxID DKD7654321 at 10/02/2026 10:10",
		want{bk, "received_send_money", cr, false, nil, str("DKD7654321"), str("01712345678"), nil, nil, nil, str("2026-02-10T10:10:00+06:00")}},
	{"over_max_money_rejected",
		"You have received Tk 1,000,000,000.00 from 01712345678. TrxID DKD7654321 at 10/02/2026 10:10",
		want{bk, "received_send_money", cr, false, nil, str("DKD7654321"), str("01712345678"), nil, nil, nil, str("2026-02-10T10:10:00+06:00")}},
	{"trxid_too_long",
		"You have received Tk 50.00 from 01712345678. TrxID DKD76543210 at 10/02/2026 10:10",
		want{bk, "received_send_money", cr, false, i64(5000), nil, str("01712345678"), nil, nil, nil, str("2026-02-10T10:10:00+06:00")}},
	{"trxid_lower_case",
		"You have received Tk 50.00 from 01712345678. TrxID dkd7654321 at 10/02/2026 10:10",
		want{bk, "received_send_money", cr, false, i64(5000), nil, str("01712345678"), nil, nil, nil, str("2026-02-10T10:10:00+06:00")}},
	{"trxid_masked_full_length",
		"You have received Tk 50.00 from 01712345678. TrxID XXXXXXXXXX at 10/02/2026 10:10",
		want{bk, "received_send_money", cr, false, i64(5000), nil, str("01712345678"), nil, nil, nil, str("2026-02-10T10:10:00+06:00")}},
	{"msisdn_with_country_code_ref_na",
		"You have received Tk 100.00 from +8801712345678. Ref N/A. Fee Tk 0.00. Balance Tk 100.00. TrxID DKE1234567 at 11/02/2026 07:00",
		want{bk, "received_send_money", cr, true, i64(10000), str("DKE1234567"), str("01712345678"), nil, i64(10000), i64(0), str("2026-02-11T07:00:00+06:00")}},
	{"merchant_payment_lakh_amount_glued_ref",
		"You have received payment Tk 1,20,000.00 from 01712345678.Ref INV 5. Fee Tk 0.00. Balance Tk 1,25,000.00. TrxID DKF1234567 at 15/02/2026 23:59",
		want{bk, "received_merchant_payment", cr, true, i64(12000000), str("DKF1234567"), str("01712345678"), str("INV 5"), i64(12500000), i64(0), str("2026-02-15T23:59:00+06:00")}},
	{"invalid_date_gives_null_timestamp",
		"You have received Tk 100.00 from 01712345678. TrxID DKE1234567 at 31/02/2026 07:00",
		want{bk, "received_send_money", cr, true, i64(10000), str("DKE1234567"), str("01712345678"), nil, nil, nil, nil}},
	{"reversal_never_pays",
		"You have received Tk 500.00 from 01712345678. Fee Tk 0.00. Balance Tk 500.00. TrxID DKG1234567 at 12/02/2026 10:00. This transaction has been reversed.",
		want{bk, "transaction_failed", no, false, i64(50000), str("DKG1234567"), str("01712345678"), nil, i64(50000), i64(0), str("2026-02-12T10:00:00+06:00")}},
	{"send_money_outgoing_with_fee",
		"Send Money Tk 500.00 to 01712345678 successful. Ref rent. Fee Tk 5.00. Balance Tk 100.00. TrxID DKD1234567 at 13/02/2026 10:00",
		want{bk, "send_money_outgoing", db, false, i64(50000), str("DKD1234567"), str("01712345678"), str("rent"), i64(10000), i64(500), str("2026-02-13T10:00:00+06:00")}},
	{"cash_out_outgoing_bkash",
		"Cash Out Tk 1,000.00 to 01812345678 successful. Fee Tk 18.50. Balance Tk 200.00. TrxID DKH1234567 at 14/02/2026 18:00",
		want{bk, "cash_out_outgoing", db, false, i64(100000), str("DKH1234567"), str("01812345678"), nil, i64(20000), i64(1850), str("2026-02-14T18:00:00+06:00")}},
	{"nagad_flat_with_promo_after",
		"Payment Received. Amount: Tk 1,999.00 Customer: 01312345678 TxnID: 7C9D2E1F Balance: Tk 2,100.00 12/02/2026 19:45 Nagad e pay korun, jitun!",
		want{ng, "payment_received_merchant", cr, true, i64(199900), str("7C9D2E1F"), str("01312345678"), nil, i64(210000), nil, str("2026-02-12T19:45:00+06:00")}},
	{"nagad_short_labels_lower_ref",
		"Money Received.\nAmt:Tk 75\nSender:01412345678\nRef:n/a\nTxnID:7D0E1F2A\nBal:175.25\n16/02/2026 09:00",
		want{ng, "money_received", cr, true, i64(7500), str("7D0E1F2A"), str("01412345678"), nil, i64(17525), nil, str("2026-02-16T09:00:00+06:00")}},
	{"nagad_txnid_nine_chars",
		"Money Received.\nAmount: Tk 75.00\nSender: 01412345678\nTxnID: 7D0E1F2AB\nBalance: Tk 175.25\n16/02/2026 09:00",
		want{ng, "money_received", cr, false, i64(7500), nil, str("01412345678"), nil, i64(17525), nil, str("2026-02-16T09:00:00+06:00")}},
	{"rocket_no_spaces_am",
		"Tk1,500.00 received from A/C:***123Fee:Tk0,Your A/C Balance: Tk2,000.00TxnId:7012345678Date:10-FEB-26 12:05:00 am.",
		want{rk, "received", cr, true, i64(150000), str("7012345678"), str("***123"), nil, i64(200000), i64(0), str("2026-02-10T00:05:00+06:00")}},
	{"upay_ref_glued_to_dash",
		"Tk. 1,250.00 has been received from 01912345678. Ref-ORD99. Balance Tk. 3,000.00. TrxID 01KABCDE12 at 11/02/2026 16:45",
		want{up, "received", cr, true, i64(125000), str("01KABCDE12"), str("01912345678"), str("ORD99"), i64(300000), nil, str("2026-02-11T16:45:00+06:00")}},
	{"upay_you_have_received_tk_dot",
		"You have received Tk. 60.00 from 01912345678. Balance Tk. 100.00. TrxID 01KABCDE34 at 11/02/2026 16:50",
		want{up, "received", cr, true, i64(6000), str("01KABCDE34"), str("01912345678"), nil, i64(10000), nil, str("2026-02-11T16:50:00+06:00")}},
	{"nagad_otp",
		"Your Nagad OTP is 123456. Do not share it with anyone.",
		want{ng, "otp", no, false, nil, nil, nil, nil, nil, nil, nil}},
	{"bkash_promo",
		"Get 50% cashback on Daraz with bKash! Details: bka.sh/daraz",
		want{bk, "promo", no, false, nil, nil, nil, nil, nil, nil, nil}},
	{"not_an_sms",
		"hello, are you coming today?",
		want{"", "unknown", no, false, nil, nil, nil, nil, nil, nil, nil}},
	{"partly_masked_sender_is_a_person",
		"You have received Tk 1,000.00 from 017XXXXX678. Ref 12345. Fee Tk 0.00. Balance Tk 1,234.56. TrxID DKK1234567 at 01/01/2024 12:00",
		want{bk, "received_send_money", cr, true, i64(100000), str("DKK1234567"), str("017XXXXX678"), str("12345"), i64(123456), i64(0), str("2024-01-01T12:00:00+06:00")}},
	{"rocket_full_account_number",
		"Tk500.00 received from A/C:01712345678 Fee:Tk0, Your A/C Balance: Tk600.00 TxnId:7012345679 Date:11-FEB-26 01:15:00 pm.",
		want{rk, "received", cr, true, i64(50000), str("7012345679"), str("01712345678"), nil, i64(60000), i64(0), str("2026-02-11T13:15:00+06:00")}},
	{"upay_labels_with_colons",
		"You have received Tk. 500.00 from 01912345678. Ref: abc. Balance: Tk. 900.00. TrxID: 01KABCDEF1 at 12/10/2025 19:15",
		want{up, "received", cr, true, i64(50000), str("01KABCDEF1"), str("01912345678"), str("abc"), i64(90000), nil, str("2025-10-12T19:15:00+06:00")}},
	{"upper_case_sms_with_seconds",
		"YOU HAVE RECEIVED TK 500.00 FROM 01712345678. FEE TK 0.00. BALANCE TK 510.00. TRXID DKL1234567 AT 20/01/2025 10:53:12",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKL1234567"), str("01712345678"), nil, i64(51000), i64(0), str("2025-01-20T10:53:12+06:00")}},
	{"bangla_ref_cyrillic_labels",
		"You have received Tk 250.00 from 01712345678. Ref ধন্যবাদ. Fee Тk 0.00. Balance Tk 260.00. TrхID DKM1234567 at 20/01/2025 10:53",
		want{bk, "received_send_money", cr, true, i64(25000), str("DKM1234567"), str("01712345678"), str("ধন্যবাদ"), i64(26000), i64(0), str("2025-01-20T10:53:00+06:00")}},
	// The provider's fields follow the Ref: the payer's "TrxID ABCDEFGHIJ" is part of the Ref.
	{"ref_injected_trxid_stays_in_the_ref",
		"You have received Tk 500.00 from 01712345678. Ref x. TrxID ABCDEFGHIJ. Fee Tk 0.00. Balance Tk 500.00. TrxID DKN1234567 at 18/02/2026 10:00",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKN1234567"), str("01712345678"), str("x. TrxID ABCDEFGHIJ"), i64(50000), i64(0), str("2026-02-18T10:00:00+06:00")}},
	{"ref_injected_balance_stays_in_the_ref",
		"You have received Tk 500.00 from 01712345678. Ref x. Balance Tk 99,999.00. Fee Tk 0.00. Balance Tk 500.00. TrxID DKN1234567 at 18/02/2026 10:00",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKN1234567"), str("01712345678"), str("x. Balance Tk 99,999.00"), i64(50000), i64(0), str("2026-02-18T10:00:00+06:00")}},
	{"ref_failure_word_is_not_a_failure",
		"You have received Tk 500.00 from 01712345678. Ref failed. Fee Tk 0.00. Balance Tk 500.00. TrxID DKN1234567 at 18/02/2026 10:00",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKN1234567"), str("01712345678"), str("failed"), i64(50000), i64(0), str("2026-02-18T10:00:00+06:00")}},
	// Outside the payer's spans, two different balances refuse the field.
	{"two_balances_outside_the_ref_refuse_it",
		"You have received Tk 500.00 from 01712345678. Fee Tk 0.00. Balance Tk 500.00. TrxID DKN1234567 at 18/02/2026 10:00. Balance Tk 900.00",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKN1234567"), str("01712345678"), nil, nil, i64(0), str("2026-02-18T10:00:00+06:00")}},
	{"ref_injected_wording_does_not_reclassify",
		"Send Money Tk 500.00 to 01712345678 successful. Ref money received. Fee Tk 5.00. Balance Tk 100.00. TrxID DKP1234567 at 18/02/2026 11:00",
		want{bk, "send_money_outgoing", db, false, i64(50000), str("DKP1234567"), str("01712345678"), str("money received"), i64(10000), i64(500), str("2026-02-18T11:00:00+06:00")}},
	{"promo_mentioning_trxid_is_harmless",
		"You have received Tk 500.00 from 01712345678. Fee Tk 0.00. Balance Tk 500.00. TrxID DKQ1234567 at 18/02/2026 12:00. Keep your TrxID safe.",
		want{bk, "received_send_money", cr, true, i64(50000), str("DKQ1234567"), str("01712345678"), nil, i64(50000), i64(0), str("2026-02-18T12:00:00+06:00")}},
	{"taka_sign_no_provider_wording",
		"Received ৳1,500 from 01712345678. TrxID DKR1234567 at 18/02/2026 13:00",
		want{"", "received_send_money", cr, false, i64(150000), str("DKR1234567"), str("01712345678"), nil, nil, nil, str("2026-02-18T13:00:00+06:00")}},
	{"ref_mentioning_a_code_is_still_a_receipt",
		"You have received Tk 40.00 from 01712345678. Ref code 5521. Fee Tk 0.00. Balance Tk 40.00. TrxID DKJ1234567 at 17/02/2026 17:00",
		want{bk, "received_send_money", cr, true, i64(4000), str("DKJ1234567"), str("01712345678"), str("code 5521"), i64(4000), i64(0), str("2026-02-17T17:00:00+06:00")}},
}

// TestParseFrom covers the sender rule: only a provider's own sender id can pay.
func TestParseFrom(t *testing.T) {
	const bkashText = "You have received Tk 500.00 from 01783110247. Fee Tk 0.00. Balance Tk 9,452.20. TrxID DAM6CTT7RW at 22/01/2026 01:54"
	const nagadText = "Money Received.\nAmount: Tk 60.00\nSender: 01632951891\nRef: N/A\nTxnID: 75K92M3Z\nBalance: Tk 610.28\n24/06/2026 14:31"
	const rocketText = "Tk280.00 received from A/C:***033 Fee:Tk0, Your A/C Balance: Tk285.00 TxnId:6578516337 Date:29-MAY-26 10:26:24 pm."
	const upayText = "Tk. 900.00 has been received from 01540669293. Ref-. Balance Tk. 900.00. TrxID 01K7C8Z24V at 12/10/2025 19:15"
	custom := Options{TrustedSenders: map[pipeline.Provider][]string{pipeline.BKash: {"bKash-Pay"}}}
	for _, c := range []struct {
		name, sender, text string
		opt                Options
		provider           pipeline.Provider
		trusted, pays      bool
	}{
		{"bkash_own_sender", "bKash", bkashText, DefaultOptions(), bk, true, true},
		// Senders are compared exactly (issue 13, finding 7): another case or spaces is another sender id.
		{"sender_case_and_spaces", "  BKASH ", bkashText, DefaultOptions(), bk, false, false},
		{"sender_nbsp", "bKash\u00a0", bkashText, DefaultOptions(), bk, false, false},
		{"greek_kappa_sender", "bΚash", bkashText, DefaultOptions(), bk, false, false},
		{"kelvin_sign_sender", "b\u212Aash", bkashText, DefaultOptions(), bk, false, false},
		{"phone_number_sender", "+8801712345678", bkashText, DefaultOptions(), bk, false, false},
		{"empty_sender", "", bkashText, DefaultOptions(), bk, false, false},
		{"nil_options_trust_no_one", "bKash", bkashText, Options{}, bk, false, false},
		{"custom_sender", "bKash-Pay", bkashText, custom, bk, true, true},
		{"custom_sender_other_case", "bkash-pay", bkashText, custom, bk, false, false},
		{"custom_replaces_default", "bKash", bkashText, custom, bk, false, false},
		{"nagad", "NAGAD", nagadText, DefaultOptions(), ng, true, true},
		{"nagad_text_from_bkash_sender", "bKash", nagadText, DefaultOptions(), ng, false, false},
		{"rocket", "16216", rocketText, DefaultOptions(), rk, true, true},
		{"upay", "upay", upayText, DefaultOptions(), up, true, true},
		// bKash-like wording without a brand: the trusted sender decides the provider.
		{"upay_sender_shared_wording", "Upay", "You have received Tk 60.00 from 01912345678. TrxID 01KABCDE34 at 11/02/2026 16:50", DefaultOptions(), up, true, true},
		// The sender says Nagad; a bKash-shaped TrxID is not a Nagad TxnID.
		{"nagad_sender_bkash_shaped_id", "Nagad", bkashText, DefaultOptions(), ng, true, false},
		{"oversized_text", "bKash", strings.Repeat("a", MaxTextBytes+1), DefaultOptions(), bk, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ParseFrom(c.sender, c.text, c.opt)
			if got.SenderTrusted == nil || *got.SenderTrusted != c.trusted || got.Provider != c.provider || got.Pays != c.pays {
				t.Errorf("ParseFrom(%q) = provider %q trusted %v pays %v, want %q %v %v",
					c.sender, got.Provider, show(got.SenderTrusted), got.Pays, c.provider, c.trusted, c.pays)
			}
		})
	}
	if Parse(bkashText).SenderTrusted != nil {
		t.Error("Parse set SenderTrusted")
	}
}

func TestPayment(t *testing.T) {
	got, ok := Parse("You have received Tk 20,172.00 from 01815474012.Ref jazakallah vai. Fee Tk 0.00. Balance Tk 20,329.00. TrxID CAK845MSGS at 20/01/2025 10:53").Payment()
	wantP := pipeline.Payment{Provider: pipeline.BKash, TrxID: "CAK845MSGS", Amount: 2017200, Sender: "01815474012",
		Reference: "jazakallah vai", OccurredAt: time.Date(2025, 1, 20, 10, 53, 0, 0, dhaka)}
	if !ok || got.Provider != wantP.Provider || got.TrxID != wantP.TrxID || got.Amount != wantP.Amount ||
		got.Sender != wantP.Sender || got.Reference != wantP.Reference || !got.OccurredAt.Equal(wantP.OccurredAt) {
		t.Errorf("Payment() = %+v, %v; want %+v", got, ok, wantP)
	}
	if _, off := got.OccurredAt.Zone(); off != 6*3600 {
		t.Errorf("OccurredAt offset %d, want +06:00", off)
	}

	// Rocket's masked account is no sender; no timestamp gives the zero time.
	got, ok = Parse("Tk280.00 received from A/C:***033 Fee:Tk0, Your A/C Balance: Tk285.00 TxnId:6578516337").Payment()
	if !ok || got.Sender != "" || !got.OccurredAt.IsZero() || got.Amount != 28000 || got.Provider != pipeline.Rocket {
		t.Errorf("rocket Payment() = %+v, %v", got, ok)
	}

	for _, text := range []string{
		"Send Money Tk 105.00 to 01700000002 successful. Ref . Fee Tk 0.00. Balance Tk 440.00. TrxID DEF5678ABC at 15/11/2018 10:05",
		"You have received Tk 6,400.00 from XXXXX. Fee Tk 0.00. Balance Tk 20,288.41. TrxID XXXXX at 26/05/2026 10:58.",
	} {
		if p, ok := Parse(text).Payment(); ok {
			t.Errorf("Payment() of %.40q = %+v, want none", text, p)
		}
	}
	if p, ok := ParseFrom("01712345678", "You have received Tk 500.00 from 01783110247. TrxID DAM6CTT7RW", DefaultOptions()).Payment(); ok {
		t.Errorf("untrusted sender Payment() = %+v, want none", p)
	}
}

// TestJSONShape pins the names the CLI prints.
func TestJSONShape(t *testing.T) {
	b, err := json.Marshal(Parse("You have received payment Tk 500.00 from 01841558023. Ref 782. TrxID DEN5HXLU09"))
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"provider":"bkash","kind":"received_merchant_payment","direction":"credit","pays":true,"amount_paisa":50000,"trx_id":"DEN5HXLU09","counterparty":"01841558023","reference":"782","balance_paisa":null,"fee_paisa":null,"timestamp":null}`
	if string(b) != wantJSON {
		t.Errorf("JSON\n got %s\nwant %s", b, wantJSON)
	}
	b, _ = json.Marshal(ParseFrom("bKash", "Your bKash verification code is 840223.", DefaultOptions()))
	if !bytes.Contains(b, []byte(`"sender_trusted":true`)) || !bytes.Contains(b, []byte(`"kind":"otp"`)) {
		t.Errorf("JSON %s lacks sender_trusted or kind", b)
	}
}

// score counts, per group, the samples whose every expected field matched.
type score struct {
	order []string
	total map[string]int
	exact map[string]int
	kind  map[string]int // parser kind equals the fixture's own label
	pays  map[string]int
}

func (s *score) add(group string, got Result, w want, label string) {
	if s.total == nil {
		s.total, s.exact, s.kind, s.pays = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	}
	if !slices.Contains(s.order, group) {
		s.order = append(s.order, group)
	}
	s.total[group]++
	if len(diff(got, w)) == 0 {
		s.exact[group]++
	}
	if got.Kind == label {
		s.kind[group]++
	}
	if got.Pays == w.pays {
		s.pays[group]++
	}
}

func pct(n, d int) string {
	return fmt.Sprintf("%d/%d (%.0f%%)", n, d, 100*float64(n)/float64(max(d, 1)))
}

func (s *score) lines() []string {
	var out []string
	all := [4]int{}
	for _, g := range s.order {
		out = append(out, fmt.Sprintf("%-28s all fields %-14s kind=label %-14s pays %s", g, pct(s.exact[g], s.total[g]), pct(s.kind[g], s.total[g]), pct(s.pays[g], s.total[g])))
		all[0] += s.total[g]
		all[1] += s.exact[g]
		all[2] += s.kind[g]
		all[3] += s.pays[g]
	}
	return append(out, fmt.Sprintf("%-28s all fields %-14s kind=label %-14s pays %s", "total", pct(all[1], all[0]), pct(all[2], all[0]), pct(all[3], all[0])))
}

func (s *score) markdown() string {
	var b strings.Builder
	b.WriteString("| samples | n | all 11 fields right | kind = label | pays right |\n|---|---:|---:|---:|---:|\n")
	for _, g := range s.order {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", g, s.total[g], pct(s.exact[g], s.total[g]), pct(s.kind[g], s.total[g]), pct(s.pays[g], s.total[g]))
	}
	return b.String()
}

// accuracy scores the fixtures by provider, then the hand-written variants as one group.
func accuracy(tb testing.TB, samples []sample) *score {
	var sc score
	for i, s := range samples {
		if i < len(fixtureWants) {
			sc.add("fixtures: "+s.Provider, Parse(s.Text), fixtureWants[i].w, s.Kind)
		}
	}
	for _, v := range variants {
		sc.add("hand-written variants", Parse(v.text), v.w, v.w.kind)
	}
	return &sc
}

// TestAccuracyReport writes nothing; it logs a markdown table for bench/README.md
// (go test -run TestAccuracyReport -v ./pipeline/smsparse).
func TestAccuracyReport(t *testing.T) {
	samples := loadSamples(t)
	t.Logf("SMS parser accuracy (go test -run TestAccuracyReport -v ./pipeline/smsparse):\n\n%s", accuracy(t, samples).markdown())
}

// FuzzParse checks, for any text, that Parse does not panic and that whatever it accepts is well
// formed.
func FuzzParse(f *testing.F) {
	for _, s := range loadSamples(f) {
		f.Add(s.Text, "bKash")
	}
	for _, v := range variants {
		f.Add(v.text, "NAGAD")
	}
	for _, v := range hostileValues { // a payer's Ref (adversarial_test.go)
		f.Add("You have received Tk 500.00 from 01712345678. Ref "+v+". Fee Tk 0.00. Balance Tk 500.00. TrxID DKN1234567 at 18/02/2026 10:00", "bKash")
		f.Add("Money Received.\nAmount: Tk 60.00\nSender: 01632951891\nRef: "+v+"\nTxnID: 75K92M3Z\nBalance: Tk 610.28\n24/06/2026 14:31", "NAGAD")
	}
	f.Add("", "")
	f.Add("TrxID \xff\xfe Tk 1,,0", "16216")
	opt := DefaultOptions()
	f.Fuzz(func(t *testing.T, text, sender string) {
		for _, r := range []Result{Parse(text), ParseFrom(sender, text, opt)} {
			if a := r.AmountPaisa; a != nil && (*a <= 0 || *a > int64(pipeline.MaxMoney)) {
				t.Fatalf("amount %d out of range for %q", *a, text)
			}
			for _, v := range []*int64{r.BalancePaisa, r.FeePaisa} {
				if v != nil && (*v < 0 || *v > int64(pipeline.MaxMoney)) {
					t.Fatalf("balance/fee %d out of range for %q", *v, text)
				}
			}
			if id := r.TrxID; id != nil {
				if len(*id) < 6 || len(*id) > 20 || strings.Trim(*id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
					t.Fatalf("malformed TrxID %q accepted from %q", *id, text)
				}
			}
			if r.Pays && (r.AmountPaisa == nil || r.TrxID == nil || r.Direction != DirectionCredit || !r.Provider.Valid()) {
				t.Fatalf("pays without amount, TrxID, credit and provider: %+v from %q", r, text)
			}
			if r.Timestamp != nil {
				ts, err := time.Parse(time.RFC3339, *r.Timestamp)
				if _, off := ts.Zone(); err != nil || off != 6*3600 {
					t.Fatalf("timestamp %q (%v) from %q", *r.Timestamp, err, text)
				}
			}
			for _, p := range []*string{r.Counterparty, r.Reference} {
				if p != nil && (*p == "" || !utf8.ValidString(*p)) {
					t.Fatalf("empty or invalid string field %q from %q", *p, text)
				}
			}
			if _, ok := r.Payment(); ok != r.Pays {
				t.Fatalf("Payment() ok=%v but Pays=%v", ok, r.Pays)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
		}
		if r := ParseFrom(sender, text, opt); r.Pays && (r.SenderTrusted == nil || !*r.SenderTrusted) {
			t.Fatalf("untrusted sender %q pays", sender)
		}
	})
}

// BenchmarkParseRef parses receipts whose Ref holds a hostile value: the payer's span is located
// and masked, and the sentence read twice.
func BenchmarkParseRef(b *testing.B) {
	var texts []string
	for _, v := range hostileValues {
		texts = append(texts, "You have received Tk 500.00 from 01712345678. Ref "+v+". Fee Tk 0.00. Balance Tk 500.00. TrxID DKN1234567 at 18/02/2026 10:00",
			"Money Received.\nAmount: Tk 60.00\nSender: 01632951891\nRef: "+v+"\nTxnID: 75K92M3Z\nBalance: Tk 610.28\n24/06/2026 14:31")
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Parse(texts[i%len(texts)])
	}
}

func BenchmarkParse(b *testing.B) {
	samples := loadSamples(b)
	var n int64
	for _, s := range samples {
		n += int64(len(s.Text))
	}
	b.SetBytes(n / int64(len(samples)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Parse(samples[i%len(samples)].Text)
	}
}
