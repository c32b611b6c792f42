// Package sns is the surface of seed 003 (ingest): ShunnoIT's bKash webhook notifications, shaped like AWS SNS HTTP deliveries.
//
//	POST /webhooks/notifications?shunno_id=<id>&client_app=<app>   x-app-secret, x-client-secret
//
// Successes are {"status": 200, "message": ...}; errors {"code": <status>, "message": ...}.
//
// Order of checks (so that probing learns no more than the seed's own 404-versus-401 tells):
//
//  1. client_app must be one of the seed's values (snsClientApps, case-sensitive) and shunno_id
//     must be given: else 404 "Not Found". This depends on no tenant, so it tells nothing.
//  2. shunno_id must name an active SNS integration: else 404 "Not Found".
//  3. Both secrets must match (each SHA-256 compared in constant time, both always compared): else
//     401 "Invalid app or client secret", the same for either or both wrong or missing. Then the
//     integration's rate limit: 429 + Retry-After (ingest/limits.go; the per-address limit and the JSON
//     depth bound, which depend on no tenant, apply before check 1).
//  4. Only then is the body read: malformed JSON, wrong types or missing fields are 400. So an
//     unauthenticated caller never learns whether a body would have been valid, and never makes
//     paystream fetch anything.
//  5. The SNS signature, when the message carries one (or always, with Config.RequireSignature): 401
//     "Invalid SNS signature[: reason]"; 503 + Retry-After when the signing certificate could not
//     be fetched now.
//  6. The message itself, by Type (see handle).
//
// The seed lists 404, 401 and 409 only. The other statuses are paystream's: 400 for input that
// cannot be processed (including a SubscribeURL on a foreign host, which is refused and never
// fetched), 405 for another method, 413 for a body over PAYSTREAM_MAX_BODY_BYTES, and 503 with
// Retry-After when Kafka, Redis or SNS did not answer (retrying is safe). Never 500.
package sns
