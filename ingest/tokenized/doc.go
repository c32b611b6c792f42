// Package tokenized is bKash Tokenized Checkout as a payment method of native intents
// (paymentMethod "bkash_tokenized"): paystream creates, executes, queries and refunds the payment
// at bKash on the merchant's behalf, with the merchant's own bKash account of the intent's
// environment or else the server's default upstream of that environment. It plugs into the edge's
// intent acceptance as an ingest.PaymentMethod (the native create calls Prepare, then the
// PaymentStart it returned), and serves bKash's callback, the admin refund and the admin API of a
// merchant's own bKash accounts.
//
// Files: surface.go (configuration, dependencies, routes, the payment method), callback.go (the
// payment record, create, the callback and what bKash's answers settle), refund.go (the admin
// refund), upstreams.go (a merchant's own upstreams: storage and admin API).
//
// Redis keys (Config.Keys.Prefix, default "ps"): <prefix>:tokenized:<intent id> (the payment
// record, 90 days), <prefix>:tokenized:<intent id>:refundlock (one refund at a time), <prefix>:bkashup:<merchant>:<env>
// (a merchant's own upstream; secrets only as references). Errors are answered in the native shape
// of seed 004.
package tokenized
