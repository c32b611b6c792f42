package smsparse

import "github.com/paystream/paystream/pipeline"

// Directions of Result.Direction.
const (
	DirectionCredit = "credit" // money came into the forwarding wallet
	DirectionDebit  = "debit"  // money left the forwarding wallet
	DirectionNone   = "none"   // no money moved: OTP, promo, failure or reversal notice, unknown text
)

// Kinds of Result.Kind. The names are those of the labelled samples
// (testdata/sms_samples.jsonl), which name the same event differently per provider: a
// person-to-person receipt is received_send_money on bKash, money_received on Nagad and received on
// Rocket and Upay. Decide with Pays and Direction, not with Kind; Kind is for people and metrics.
const (
	KindReceivedSendMoney       = "received_send_money"        // bKash: a person sent money to this wallet (pays)
	KindMoneyReceived           = "money_received"             // Nagad: the same (pays)
	KindReceived                = "received"                   // Rocket, Upay: the same (pays)
	KindReceivedMerchantPayment = "received_merchant_payment"  // bKash: a customer paid this merchant wallet (pays)
	KindPaymentReceivedMerchant = "payment_received_merchant"  // Nagad: the same (pays)
	KindMerchantPaymentReceived = "merchant_payment_received"  // Upay, Rocket: the same (pays)
	KindReceivedFromBusiness    = "received_from_business"     // bKash: a business (not a number) sent money
	KindReceivedBankDeposit     = "received_bank_deposit"      // bank account → wallet
	KindReceivedRemittance      = "received_remittance"        // inward remittance
	KindB2BReceived             = "b2b_received"               // business-to-business credit
	KindCashIn                  = "cash_in"                    // bKash: an agent cashed in to this wallet
	KindCashInReceived          = "cash_in_received"           // Nagad and others: the same
	KindCashInSentByAgent       = "cash_in_sent_by_agent"      // agent wallet: cash in to a customer (debit)
	KindCashOutReceivedByAgent  = "cash_out_received_by_agent" // agent wallet: a customer cashed out here (credit)
	KindCashOutOutgoing         = "cash_out_outgoing"          // this wallet cashed out (debit)
	KindAddMoneyFromBank        = "add_money_from_bank"        // bank → own wallet
	KindAddMoneyFromCard        = "add_money_from_card"        // card → own wallet
	KindRefundReceived          = "refund_received"            // a merchant refunded this wallet
	KindCashback                = "cashback"                   // provider cashback or gift
	KindSendMoneyOutgoing       = "send_money_outgoing"        // this wallet sent money (debit)
	KindB2BTransferOutgoing     = "b2b_transfer_outgoing"      // this wallet made a B2B transfer (debit)
	KindPaymentOutgoing         = "payment_outgoing"           // this wallet paid a merchant (debit)
	KindBillPayment             = "bill_payment"               // this wallet paid a bill (debit)
	KindRechargeNotice          = "recharge_notice"            // this wallet bought airtime (debit)
	KindSendMoneyFailed         = "send_money_failed"          // failed send money, amount returned (none)
	KindPaymentCancelled        = "payment_cancelled"          // a payment was cancelled and refunded (none)
	KindTransactionFailed       = "transaction_failed"         // any other unsuccessful/reversed notice (none)
	KindOTP                     = "otp"                        // verification code
	KindPromo                   = "promo"                      // advertising, no transaction
	KindUnknown                 = "unknown"                    // not understood; a provider's is stored for review
)

// event is what an SMS reports, independent of the provider's wording and kind naming.
type event int

const (
	evUnknown event = iota
	evPromo
	evOTP
	evP2PReceived
	evMerchantReceived
	evBusinessReceived
	evBankDeposit
	evRemittance
	evB2BReceived
	evCashInReceived
	evCashInSent
	evCashOutByAgent
	evCashOut
	evAddMoneyBank
	evAddMoneyCard
	evRefund
	evCashback
	evSendMoney
	evB2BTransfer
	evPayment
	evBill
	evRecharge
	evSendMoneyFailed
	evPaymentCancelled
	evFailed
)

// payable reports whether the event is money a customer sent that a merchant may accept as the
// payment of an order: a person-to-person receipt or a merchant payment. Business disbursements,
// bank deposits, remittances, B2B, cash in/out, refunds and cashback are credits but not payments.
func (e event) payable() bool { return e == evP2PReceived || e == evMerchantReceived }

// failure reports notices of a transaction that did not happen or was undone.
// fields reports whether amounts, ids and the like are read for the event. OTP and promo texts
// carry codes and advertised amounts that must not look like a transaction.
func (e event) fields() bool { return e != evOTP && e != evPromo }

func (e event) direction() string {
	switch e {
	case evP2PReceived, evMerchantReceived, evBusinessReceived, evBankDeposit, evRemittance, evB2BReceived,
		evCashInReceived, evCashOutByAgent, evAddMoneyBank, evAddMoneyCard, evRefund, evCashback:
		return DirectionCredit
	case evCashInSent, evCashOut, evSendMoney, evB2BTransfer, evPayment, evBill, evRecharge:
		return DirectionDebit
	}
	return DirectionNone
}

// kind names e in p's vocabulary.
func (e event) kind(p pipeline.Provider) string {
	switch e {
	case evP2PReceived:
		switch p {
		case pipeline.Nagad:
			return KindMoneyReceived
		case pipeline.Rocket, pipeline.Upay:
			return KindReceived
		}
		return KindReceivedSendMoney
	case evMerchantReceived:
		switch p {
		case pipeline.Nagad:
			return KindPaymentReceivedMerchant
		case pipeline.Rocket, pipeline.Upay:
			return KindMerchantPaymentReceived
		}
		return KindReceivedMerchantPayment
	case evCashInReceived:
		if p == pipeline.BKash {
			return KindCashIn
		}
		return KindCashInReceived
	}
	return kindNames[e]
}

var kindNames = map[event]string{
	evUnknown:          KindUnknown,
	evPromo:            KindPromo,
	evOTP:              KindOTP,
	evBusinessReceived: KindReceivedFromBusiness,
	evBankDeposit:      KindReceivedBankDeposit,
	evRemittance:       KindReceivedRemittance,
	evB2BReceived:      KindB2BReceived,
	evCashInSent:       KindCashInSentByAgent,
	evCashOutByAgent:   KindCashOutReceivedByAgent,
	evCashOut:          KindCashOutOutgoing,
	evAddMoneyBank:     KindAddMoneyFromBank,
	evAddMoneyCard:     KindAddMoneyFromCard,
	evRefund:           KindRefundReceived,
	evCashback:         KindCashback,
	evSendMoney:        KindSendMoneyOutgoing,
	evB2BTransfer:      KindB2BTransferOutgoing,
	evPayment:          KindPaymentOutgoing,
	evBill:             KindBillPayment,
	evRecharge:         KindRechargeNotice,
	evSendMoneyFailed:  KindSendMoneyFailed,
	evPaymentCancelled: KindPaymentCancelled,
	evFailed:           KindTransactionFailed,
}
