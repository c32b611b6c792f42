package pipeline

import (
	"strconv"
	"strings"
)

// Keys builds every Redis key paystream uses, under one prefix (default "ps"), so that several
// deployments or test runs can share a Redis. Keys that a Lua script touches together carry the same
// hash tag ({...}), so every script touches one Redis Cluster slot:
//
//   - per wallet  {w:<wallet key>}: intents, status indexes, open-intent indexes, TrxID dedupe, applied-event markers
//   - per expiry shard {exp:<partition>}: intent deadlines of one inbound partition
//   - webhook queue {wh}: due jobs, job bodies, done markers, dead letters
//   - single-key records (merchants, API keys, idempotency claims, intent locations) need no tag.
type Keys struct{ Prefix string }

func (k Keys) p() string {
	if k.Prefix == "" {
		return "ps"
	}
	return k.Prefix
}

// Merchant holds the JSON Merchant.
func (k Keys) Merchant(id string) string { return k.p() + ":merchant:" + id }

// MerchantIndex is a set of every merchant id.
func (k Keys) MerchantIndex() string { return k.p() + ":merchants" }

// APIKey holds the APIKeyRecord of the key whose SHA-256 hex is hash.
func (k Keys) APIKey(hash string) string { return k.p() + ":apikey:" + hash }

// AppKey holds the AppKeyRecord of a bdQuickPay App Key whose SHA-256 hex is hash.
func (k Keys) AppKey(hash string) string { return k.p() + ":appkey:" + hash }

// Integration holds the JSON Integration with this id.
func (k Keys) Integration(id string) string { return k.p() + ":integration:" + id }

// IntegrationKey maps a credential (the SHA-256 hex of a transaction-API key, or an SNS shunno_id)
// of one integration kind to the integration's id.
func (k Keys) IntegrationKey(kind IntegrationKind, credential string) string {
	return k.p() + ":integrationkey:" + string(kind) + ":" + credential
}

// ShunnoSeq is the counter that numbers SNS integrations (shunno_id).
func (k Keys) ShunnoSeq() string { return k.p() + ":shunnoseq" }

// ReportedTrx marks a TrxID as reported to ingest for a wallet ("pending" until Kafka acknowledged
// its event, then "done"; TTL 7 days), so that a surface whose seed answers duplicates
// synchronously (409, 400) can do so before the matcher ran (ingest.Server.ClaimTrx).
func (k Keys) ReportedTrx(w Wallet, trxID string) string {
	return k.WalletTag(w) + ":reported:" + strings.ToUpper(trxID)
}

// Device holds the JSON Device (an SMS forwarder) registered under a device id.
func (k Keys) Device(id string) string { return k.p() + ":device:" + id }

// DeviceToken maps the SHA-256 hex of a device token to the device id.
func (k Keys) DeviceToken(hash string) string { return k.p() + ":devicetoken:" + hash }

// WalletOwner holds the id of the merchant a wallet belongs to.
func (k Keys) WalletOwner(w Wallet) string { return k.p() + ":walletowner:" + w.Key() }

// Idempotency holds a merchant's idempotency-key claim (keyHash is the SHA-256 hex of the key).
func (k Keys) Idempotency(merchantID string, env Environment, keyHash string) string {
	return k.p() + ":idem:" + merchantID + ":" + string(env) + ":" + keyHash
}

// IntentLocation holds the wallet key of an intent, so it can be found by id alone.
func (k Keys) IntentLocation(intentID string) string { return k.p() + ":intentloc:" + intentID }

// WalletTag is the hash-tagged prefix of every key of one wallet.
func (k Keys) WalletTag(w Wallet) string { return k.p() + ":{w:" + w.Key() + "}" }

// Intent is the hash of one intent (fields: json, status, version, ...), in its wallet's slot.
func (k Keys) Intent(w Wallet, intentID string) string { return k.WalletTag(w) + ":intent:" + intentID }

// IntentsAll is a sorted set of the wallet's intent ids by creation time (ms).
func (k Keys) IntentsAll(w Wallet) string { return k.WalletTag(w) + ":idx:all" }

// IntentsByStatus is a sorted set of the wallet's intent ids in status s, by creation time (ms).
func (k Keys) IntentsByStatus(w Wallet, s Status) string { return k.WalletTag(w) + ":idx:" + string(s) }

// OpenByAmount is a sorted set of the wallet's open (PENDING) intent ids of one amount, by creation time.
func (k Keys) OpenByAmount(w Wallet, amount Money) string {
	return k.WalletTag(w) + ":open:amt:" + strconv.FormatInt(int64(amount), 10)
}

// ByReference is a set of the wallet's intent ids whose customer reference is ref.
func (k Keys) ByReference(w Wallet, ref string) string {
	return k.WalletTag(w) + ":ref:" + strings.ToUpper(ref)
}

// Trx marks a provider transaction id as seen on the wallet (value: the event id that reported it first).
func (k Keys) Trx(w Wallet, trxID string) string {
	return k.WalletTag(w) + ":trx:" + strings.ToUpper(trxID)
}

// Unmatched is a sorted set of the wallet's unmatched payment event ids by time; UnmatchedPayment holds one.
func (k Keys) Unmatched(w Wallet) string { return k.WalletTag(w) + ":unmatched" }

// Applied holds the outcomes (JSON array) an inbound event produced, marking it applied.
func (k Keys) Applied(w Wallet, eventID string) string { return k.WalletTag(w) + ":applied:" + eventID }

// Deadlines is a sorted set of "<wallet key>|<intent id>" by expiry (ms) for one inbound partition.
func (k Keys) Deadlines(partition int32) string {
	return k.p() + ":{exp:" + strconv.Itoa(int(partition)) + "}:deadlines"
}

// WebhookTag is the hash tag of the webhook delivery queue.
func (k Keys) WebhookTag() string { return k.p() + ":{wh}" }
