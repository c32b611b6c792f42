// Package ingest is paystream's stateless HTTP edge (fasthttp): the kernel every API surface is
// mounted on.
//
// The kernel (server.go, surface.go, errors.go, limits.go, lookups.go, merchants.go, trx.go,
// amount.go and the intent-acceptance service in intents.go) owns the server, its instrumentation
// (request ids, the in-flight bound, per-route metrics, panics answered 503), the limits (body
// size, JSON depth, per-address and per-credential rate limits), the authentication lookups
// (through the merchant directory, pipeline/directory, and its one cache), the TrxID claims, the
// one amount rule (ParseAmount), Publish with the Kafka-ack rule, and intent acceptance (the
// idempotency claims, PickWallet, the payment methods, AcceptIntent). Surfaces of their own
// packages (ingest/admin, ingest/native, ingest/txnapi, ingest/sns, ingest/bdquickpay, ingest/sms,
// ingest/checkout, ingest/tokenized) declare what they need of it as small interfaces, register
// their routes, their error shape, the extra headers of the edge's refusals on their paths and
// their payment methods (PaymentMethod: bKash tokenized plugs into intent acceptance) with
// Server.Mount, and are built and mounted by ingest/surfaces, the one mounting that cmd serves
// (cmd/paystream/routes.go), the bench measures and the cross-surface tests walk.
//
// Every route authenticates, validates and normalises its input into a pipeline.Event, and answers
// 2xx only after Kafka acknowledged that event (acks=all, idempotent producer). When Kafka does not
// acknowledge in time the answer is 503 with Retry-After, never 2xx, so a client retry is always
// safe: intents are deduplicated by idempotency key, payments by TrxID downstream. Errors are
// answered in the shape of the surface that owns the path (Mux.ErrorShape; native otherwise).
//
// Ingest holds no state of its own; merchants, API-key hashes and integrations live in the merchant
// directory (pipeline/directory), idempotency claims and TrxID marks in Redis, intents in the
// shared state store (pipeline/state). Any number of replicas can run side by side.
package ingest
