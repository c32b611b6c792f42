package state

import "github.com/paystream/paystream/pipeline"

// The two wallet keys pipeline.Keys does not build yet (Keys.Unmatched's comment mentions an
// "UnmatchedPayment" record that has no builder). They live in the wallet's slot.

// PaymentRecordsKey is the hash of the wallet's kept payments: event id -> PaymentRecord JSON.
func PaymentRecordsKey(k pipeline.Keys, w pipeline.Wallet) string {
	return k.WalletTag(w) + ":pay:records"
}

// ReviewPaymentsKey is the sorted set of the wallet's payment event ids sent to review, by payment
// time (ms). Unmatched ones are in Keys.Unmatched.
func ReviewPaymentsKey(k pipeline.Keys, w pipeline.Wallet) string {
	return k.WalletTag(w) + ":pay:review"
}

// deadlineMember is a member of Keys.Deadlines.
func deadlineMember(w pipeline.Wallet, intentID string) string { return w.Key() + "|" + intentID }
