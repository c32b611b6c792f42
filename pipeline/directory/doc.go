// Package directory is the merchant directory: the one owner of the merchants' Redis keyspace
// (merchant records and their index, wallet ownership, API-key and app-key records, integrations
// and their credentials) and the one cache in front of it. Ingest's kernel authenticates every
// request through it and its admin surface writes through it; the webhook sink reads a merchant's
// endpoints through it (declaring only the read it needs, sink/webhook.MerchantReader).
//
// Contract of the reads:
//   - Merchant, MerchantByAPIKey and Integration go through a bounded, TTL'd in-process cache
//     (Config.TTL, default 2 s; Config.MaxEntries per kind). A change written by another process —
//     a revoked API key, a new webhook URL, a deactivated integration — is seen within TTL. A
//     write through this Directory drops the entries it makes stale at once (on this process
//     only).
//   - Unknown credentials, missing merchants and inactive integrations are never cached, so
//     guessing cannot fill the cache and a record created elsewhere is usable at once.
//   - Cached results are shared: callers must not modify them.
//   - CurrentMerchant, MerchantIDs and AppKey read Redis on every call (pages that must see a
//     deactivation at once, the admin listing, the bdQuickPay app keys).
//
// Contract of the writes (for the admin surface): Create claims the wallets first and writes the
// credentials last, so a half-written merchant cannot be used; Update is optimistic (WATCH,
// retried) so concurrent admin writes do not lose each other's changes; RotateKey is a
// compare-and-swap on the merchant's key hash (of concurrent rotations exactly one wins);
// CreateIntegration writes the credential last; PinSNSTopic pins a topic only once.
//
// Credentials are stored as their SHA-256 (HashSecret), never in plain text. A Directory is safe
// for concurrent use; it does not own the Redis client (closing it is the caller's job).
package directory
