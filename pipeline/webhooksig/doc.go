// Package webhooksig signs and verifies paystream's outbound webhooks.
//
// Every webhook carries two signatures over the same raw body, so that merchants can verify with
// whichever their stack supports:
//
//   - X-Signature: sha256=<lowercase hex HMAC-SHA256(body)>, keyed with the whole secret string as
//     UTF-8 bytes ("whsec_..." included), exactly as the SMS Pay Node.js example computes it (seed 004).
//   - webhook-id, webhook-timestamp and webhook-signature: v1,<base64> per the Standard Webhooks
//     specification (HMAC-SHA256 over "id.timestamp.body", keyed with the base64-decoded part of the
//     secret after "whsec_"), computed by the standard-webhooks reference library.
//
// webhook-id is the outcome id: it stays the same across retries, so receivers dedupe by it.
//
// The package is pure (no I/O besides crypto/rand in NewSecret) and safe for concurrent use. It is
// used by the webhook sink, ingest's admin API (secret generation), tests and the demo receiver.
package webhooksig
