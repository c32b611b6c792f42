package state

import (
	"strings"

	"github.com/paystream/paystream/pipeline"
)

// Key families: the label of the paystream_redis_keys and paystream_redis_bytes gauges, one per
// kind of key paystream writes (DESIGN.md "Redis layout" lists each family's owner and lifetime).
// FamilyOf names the family of a key.
const (
	FamilyIntent        = "intent"         // {w}:intent:<id>
	FamilyIntentIndex   = "intent_index"   // {w}:idx:all, {w}:idx:<STATUS>
	FamilyOpenByAmount  = "open_amount"    // {w}:open:amt:<paisa>
	FamilyExpiredAmount = "expired_amount" // {w}:expired:amt:<paisa>
	FamilyReference     = "reference"      // {w}:ref:<REF>
	FamilyTrx           = "trx"            // {w}:trx:<TRXID>
	FamilyTrxPaid       = "trx_paid"       // {w}:trxpaid
	FamilyReportedTrx   = "trx_reported"   // {w}:reported:<TRXID> (ingest)
	FamilyApplied       = "applied"        // {w}:applied:<event id>
	FamilyPayments      = "payments"       // {w}:pay:records, {w}:pay:review, {w}:unmatched
	FamilyReview        = "review"         // {w}:review:cand:<id>
	FamilyClaims        = "claims"         // {w}:claim:<TRXID>, {w}:iclaims:<id>
	FamilyBalance       = "balance"        // {w}:balance, {w}:balance:gaps
	FamilyWalletVersion = "wallet_version" // {w}:ver
	FamilyIntentLoc     = "intent_location"
	FamilyDeadlines     = "deadlines" // {exp:<p>}:deadlines
	FamilyRetire        = "retire"    // {exp:<p>}:retire
	FamilyWebhookJob    = "webhook_job"
	FamilyWebhookQueue  = "webhook_queue" // {wh}:due, {wh}:dead
	FamilyWebhookDone   = "webhook_done"
	FamilyIdempotency   = "idempotency"
	FamilySMS           = "sms" // device:<id>:sms:<event id> and merchant:<id>:sms
	FamilyDirectory     = "directory"
	FamilyOther         = "other"
)

// MatcherFamilies are the families the matcher's role owns and samples (Sampler).
var MatcherFamilies = []string{
	FamilyIntent, FamilyIntentIndex, FamilyOpenByAmount, FamilyExpiredAmount, FamilyReference, FamilyTrx,
	FamilyTrxPaid, FamilyReportedTrx, FamilyApplied, FamilyPayments, FamilyReview, FamilyClaims, FamilyBalance,
	FamilyWalletVersion, FamilyIntentLoc, FamilyDeadlines, FamilyRetire,
}

// FamilyOf returns the family of key under k's prefix, "" for a key outside the prefix (another
// deployment's, or a rate limiter's "rate:<prefix>:..." key, which redis_rate expires itself).
func FamilyOf(k pipeline.Keys, key string) string {
	rest, ok := strings.CutPrefix(key, strings.TrimSuffix(k.IntentLocation(""), "intentloc:"))
	if !ok {
		return ""
	}
	switch {
	case strings.HasPrefix(rest, "{w:"):
		i := strings.Index(rest, "}:")
		if i < 0 {
			return FamilyOther
		}
		return walletFamily(rest[i+2:])
	case strings.HasPrefix(rest, "{exp:"):
		switch {
		case strings.HasSuffix(rest, "}:deadlines"):
			return FamilyDeadlines
		case strings.HasSuffix(rest, "}:retire"):
			return FamilyRetire
		}
		return FamilyOther
	case strings.HasPrefix(rest, "{wh}:"):
		switch s := rest[len("{wh}:"):]; {
		case strings.HasPrefix(s, "job:"):
			return FamilyWebhookJob
		case strings.HasPrefix(s, "done:"):
			return FamilyWebhookDone
		default:
			return FamilyWebhookQueue
		}
	}
	head, tail, _ := strings.Cut(rest, ":")
	switch head {
	case "intentloc":
		return FamilyIntentLoc
	case "idem":
		return FamilyIdempotency
	case "device", "merchant":
		if strings.Contains(tail, ":sms") {
			return FamilySMS
		}
		return FamilyDirectory
	case "merchants", "apikey", "appkey", "integration", "integrationkey", "shunnoseq", "devicetoken", "walletowner":
		return FamilyDirectory
	}
	return FamilyOther
}

func walletFamily(s string) string {
	head, _, _ := strings.Cut(s, ":")
	switch head {
	case "intent":
		return FamilyIntent
	case "idx":
		return FamilyIntentIndex
	case "open":
		return FamilyOpenByAmount
	case "expired":
		return FamilyExpiredAmount
	case "ref":
		return FamilyReference
	case "trx":
		return FamilyTrx
	case "trxpaid":
		return FamilyTrxPaid
	case "reported":
		return FamilyReportedTrx
	case "applied":
		return FamilyApplied
	case "pay", "unmatched":
		return FamilyPayments
	case "review":
		return FamilyReview
	case "claim", "iclaims":
		return FamilyClaims
	case "balance":
		return FamilyBalance
	case "ver":
		return FamilyWalletVersion
	}
	return FamilyOther
}
