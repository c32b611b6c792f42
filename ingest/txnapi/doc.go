// Package txnapi is the bKash transaction API surface of seed 002 (ingest). bKash (or an aggregator in front of it) asks whether a payer
// account may pay a merchant (check) and reports a completed transaction to one of the merchant's
// wallets (complete). Both routes authenticate with an integration of kind
// pipeline.IntegrationTxnAPI (POST /admin/v1/merchants/:id/integrations) in two steps, before the
// body's meaning is looked at:
//
//   - API-Key: the integration's key, looked up by its SHA-256.
//   - X-Signature: HMAC-SHA256, keyed with the integration's signing secret (its UTF-8 bytes), of the
//     RFC 8785 (JCS) form of the body, as hex (either case) or base64 (standard or URL alphabet,
//     padded or not), compared in constant time. A body that is not JSON JCS accepts (malformed,
//     duplicate keys, invalid UTF-8, a number beyond an IEEE 754 double) can only be signed as
//     received; its sender then learns that the body is malformed (422), anyone else gets 401.
//
// The fields are read from the JCS form, that is from exactly the bytes the signature covers, so
// no parser disagreement (duplicate keys, number spelling) can make a signed body mean something
// else. Numbers therefore follow JCS: 100.0 and 1e2 are the integer 100; 100.5 is not an integer.
//
// Answers keep the seed's shapes and quirks: check success is HTTP 202 with "code": 200; a
// complete success is HTTP 202 with "code": 202; 401 has "errors": "access denied"; 422 lists
// messages per field. paystream adds 403 (check refused), 413 (body too large) and 503 with
// Retry-After (Redis or Kafka did not answer: retrying is safe) in the {"code","message","type"}
// shape, and never answers 500.
package txnapi
