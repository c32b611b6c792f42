// Package admin is the operators' API, a surface of the ingest edge (ingest.Surface) under
// /admin/v1/: merchants (create, get, list, rotate an API key, set a webhook URL), the upstream
// integrations of a merchant (transaction API, SNS), the review queue and its decisions (approve,
// reject, attach a kept payment), unmatched payments and balance gaps, and the webhook sink's dead
// letters (list, redeliver).
//
// Every route needs "Authorization: Bearer <Config.Token>" (compared in constant time; with no
// token the API is closed). Errors are answered in the native shape of seed 004 ({"statusCode",
// "message", "error"}), the edge's default, registered for the /admin/ prefix; the SMS devices and
// the tokenized refunds mounted by ingest/sms and ingest/tokenized under /admin/ share it and
// authenticate through this surface (RequireAdmin, AdminMerchant).
//
// The surface declares what it needs (Deps): the merchant directory's writes (Directory,
// pipeline/directory), the matcher's state as operators see it (ReviewState, pipeline/state's
// named reads), the kernel's publisher with the Kafka-ack rule, its intent view and public URLs,
// and, optionally, the webhook sink's queue (WebhookAdmin, wired by cmd). Review decisions are
// events (review.decided) that the matcher applies in order with everything else on the wallet.
package admin
