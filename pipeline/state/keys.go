package state

import (
	"strconv"

	"github.com/paystream/paystream/pipeline"
)

// The wallet keys pipeline.Keys does not build (Keys.Unmatched's comment mentions an
// "UnmatchedPayment" record that has no builder). They all live in the wallet's slot
// (Keys.WalletTag), so one Lua script may touch any of them together.

// PaymentRecordsKey is the hash of the wallet's kept payments: event id -> pipeline.PaymentRecord JSON.
func PaymentRecordsKey(k pipeline.Keys, w pipeline.Wallet) string {
	return k.WalletTag(w) + ":pay:records"
}

// ReviewPaymentsKey is the sorted set of the wallet's payment event ids sent to review, by payment
// time (ms). Unmatched ones are in Keys.Unmatched.
func ReviewPaymentsKey(k pipeline.Keys, w pipeline.Wallet) string {
	return k.WalletTag(w) + ":pay:review"
}

// WalletVersionKey counts the decisions applied to the wallet. Apply increments it every time and,
// given Change.IfVersion, compare-and-sets on it (LoadSnapshot reads it as Snapshot.Version).
func WalletVersionKey(k pipeline.Keys, w pipeline.Wallet) string { return k.WalletTag(w) + ":ver" }

// ClaimsKey holds the JSON array of the ClaimRecords of one TrxID not yet matched to its payment
// (TTL ClaimTTL).
func ClaimsKey(k pipeline.Keys, w pipeline.Wallet, trxID string) string {
	return k.WalletTag(w) + ":claim:" + pipeline.NormalizeTrxID(trxID)
}

// IntentClaimsKey holds the JSON array of the TrxIDs claimed for one intent (TTL ClaimTTL), to
// bound them (pipeline.MaxClaimsPerIntent).
func IntentClaimsKey(k pipeline.Keys, w pipeline.Wallet, intentID string) string {
	return k.WalletTag(w) + ":iclaims:" + intentID
}

// TrxPaidKey is the hash of the wallet's TrxIDs that paid an intent: TRXID -> intent id. Apply
// writes it for every transition to PAID that carries a TrxID.
func TrxPaidKey(k pipeline.Keys, w pipeline.Wallet) string { return k.WalletTag(w) + ":trxpaid" }

// ReviewCandidatesKey is the set of the event ids of the kept payments that put one intent under
// review (or were linked to it later). It is deleted when the intent leaves REVIEW_REQUIRED.
func ReviewCandidatesKey(k pipeline.Keys, w pipeline.Wallet, intentID string) string {
	return k.WalletTag(w) + ":review:cand:" + intentID
}

// ExpiredByAmountKey is the sorted set of the wallet's EXPIRED intents of one amount, by deadline
// (ms, rounded up): the intents a payment made before their deadline but reported after it may
// still pay (the matcher's late-payment grace). Apply keeps only deadlines within ExpiredHorizon of
// the newest one added, at most MaxExpiredByAmount of them.
func ExpiredByAmountKey(k pipeline.Keys, w pipeline.Wallet, amount pipeline.Money) string {
	return k.WalletTag(w) + ":expired:amt:" + strconv.FormatInt(int64(amount), 10)
}

// BalanceKey holds the wallet's balance chain head (pipeline.BalanceHead JSON).
func BalanceKey(k pipeline.Keys, w pipeline.Wallet) string { return k.WalletTag(w) + ":balance" }

// BalanceGapsKey is the sorted set of the wallet's newest MaxBalanceGaps pipeline.BalanceGap JSONs, by the
// time of the SMS that broke the chain (ms).
func BalanceGapsKey(k pipeline.Keys, w pipeline.Wallet) string {
	return k.WalletTag(w) + ":balance:gaps"
}

// deadlineMember is a member of Keys.Deadlines.
func deadlineMember(w pipeline.Wallet, intentID string) string { return w.Key() + "|" + intentID }
