// Package checkout is the hosted checkout (SPEC "Hosted checkout page", matching rule 3), the
// customer's side of an intent: a public page, reached through the intent's checkoutUrl, that shows
// what to send where, and takes the customer's claim that they paid ("I sent it, here is the
// TrxID"). A claim is an event like any other: claim.submitted on the intent's wallet, answered only
// after Kafka acknowledged it; the matcher completes the match with whichever of claim and payment
// comes second.
//
// The page is server-rendered (html/template, templates/) and works without JavaScript; an inline
// script, allowed by a per-response CSP nonce, adds copy buttons, a live countdown and a status
// poll that follows the intent to its end. Every answer carries the security headers of
// coSecurityHeaders, the edge's own refusals on its paths included (ingest.Mux.RefusalHeaders).
// Its texts, in English and Bangla, are in texts.go.
//
// Files: surface.go (configuration, dependencies, routes), checkout.go (the page, the status poll,
// claims and their rate limits), texts.go (language, providers, texts).
//
// Errors of the status poll and of JSON claims are answered in the native error shape of seed 004;
// the page and form claims answer HTML.
package checkout
