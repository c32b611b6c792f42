// Package native is paystream's own merchant API (seed 004): payment intents (create, get, list)
// authenticated by an sk_test_/sk_live_ API key, and the sandbox SMS simulator. It is a thin
// dialect over the edge's intent-acceptance service (ingest.Server: AuthMerchant, the idempotency
// claims, PickWallet, payment methods such as bKash tokenized, AcceptIntent, View) and answers in
// the native error shape of seed 004 ({"statusCode","message","error"}), the edge's default.
//
// Files: surface.go (dependencies, routes), intents.go (create with its validation and
// idempotency replay, get, list, the simulator).
package native
