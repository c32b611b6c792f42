// Package sms is the SMS-forwarding surface (ingest): wallet SMS forwarded by a merchant's Android phone (a registered device, see
// devices.go). The device token is in the URL because forwarder apps cannot set headers:
//
//	POST /v1/sms/:token             native JSON {"from", "text", "receivedAt"?, "sim"?, "id"?}
//	POST /v1/sms/:token/forwarder   "SMS to URL Forwarder" default template
//	                                {"from", "text", "sentStamp", "receivedStamp", "sim"} (stamps: Unix ms)
//	POST /v1/sms/:token/smsgateway  "SMS Gateway for Android" webhook {"deviceId", "event": "sms:received",
//	                                "id", "payload": {"messageId", "message", "phoneNumber", "simNumber",
//	                                "receivedAt"}, "webhookId"}; X-Signature = hex HMAC-SHA256(signingKey,
//	                                body + X-Timestamp) when the device has a signing key
//
// Order of checks: the token (unknown and revoked answer the same 401, from a hash lookup), then
// the device's format (a device issued for another URL's format, or a keyed device on any URL
// but SMS Gateway's, answers the unknown token's 401: devices.go), then the signature of a keyed
// device (every request, whatever its event: 401), then the device's rate limit (429, ingest/limits.go;
// only requests that passed the checks before spend it), then the body (400s). Then every SMS is parsed (smsparse.ParseFrom,
// trusting only the senders of the receiving wallet's provider, smsparse.DefaultOptions: a config
// field for the sender lists is not wired yet) and produced, never dropped:
//
//   - a customer payment from a trusted sender → payment.reported (Source sms, Payment and SMS set);
//   - anything else → sms.received with the SMS, by result: "suspicious" (untrusted sender),
//     "unparsed" (trusted sender, but not understood, or a customer-payment wording whose amount or
//     TrxID is masked or malformed), "unrouted" (the SIM slot maps to no wallet of the device, or the
//     slot is unknown and the sender does not tell which wallet: such an SMS never pays and carries
//     no balance, so it cannot break a wallet's balance chain), "unused" (understood, receipt-shaped
//     — an amount and a TrxID, money in or a failure/reversal notice — but pays nothing: a business
//     or bank credit, cash in, refund, a failed or reversed transaction), "ignored" (understood,
//     pays nothing: outgoing, OTP, promo).
//
// Suspicious, unparsed, unrouted and unused SMS are also kept for operators in a per-merchant capped list
// (GET /admin/v1/merchants/:id/sms). The answer is 202 {"accepted": true, "eventId", "pays", "kind",
// "result", "smsKind"} once Kafka acknowledged the event, 503 + Retry-After otherwise.
//
// Idempotency: the event id is a UUIDv5 of (device id, sender, text, the SMS's own time: the
// forwarder's sentStamp, else its receivedStamp; SMS Gateway's receivedAt; the native id, else
// receivedAt; in whole seconds), so an app's retry is the same event. A marker (SET NX, 24 h) lets a
// retry after the 202 answer 200 {"duplicate": true, ...} without producing; a retry while the first
// attempt has not been acknowledged produces the same event again, which every consumer drops by id.
package sms
