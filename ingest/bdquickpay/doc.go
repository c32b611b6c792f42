// Package bdquickpay is the surface of seed 001 (ingest): bdQuickPay's merchant API, in its own dialect: X-App-Key/X-Secret-Key credentials, snake_case
// bodies, {"status": bool, ...} answers, Laravel-style validation errors and 200 for every success.
// Its invoice_id is the intent id (20 upper-case letters and digits instead of a UUID), so the rest
// of the pipeline treats these intents like any other.
package bdquickpay
