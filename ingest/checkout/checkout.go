package checkout

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect/bdquickpay"
	"github.com/paystream/paystream/pipeline/state"
)

const (
	// coPollRefresh is the no-JavaScript refresh (seconds) of a page that waits for a decision.
	coPollRefresh = 15
	// coMaxTrxInput bounds the TrxID as typed (labels and spaces included) before it is checked.
	coMaxTrxInput = 64
)

// Claim rate limits (GCRA, Redis-backed so every ingest replica shares them).
//
//   - coIntentClientLimit, per intent and client address, is the customer's own budget for typos:
//     nobody on another address can spend it, so whoever else holds the checkout URL cannot lock
//     the customer out.
//   - coClientLimit, per client address over every intent, stops one client spraying many intents.
//   - coIntentMissLimit, per intent over every address, bounds TrxID guessing against one intent by
//     clients on many addresses. It counts only misses: claims of a TrxID that no reported payment
//     of the wallet carries. A claim of a TrxID paystream has seen never spends it and is never
//     refused by it, so the customer's claim of their reported payment always gets through; an
//     attacker who spent it can only delay a claim made before the customer's payment is reported
//     (the 429 says so), and that payment still matches on its own by amount or Ref.
//
// Guessing: the smallest TrxID space is Rocket's 10 digits (1e10; bKash and Upay are 10 and Nagad 8
// letters and digits, 36^8 ≈ 2.8e12 and more). 30 misses an hour is 262,800 guesses a year per
// intent, so with U unmatched payments on the wallet a guess pays an intent with probability at
// most 2.6e-5·U per intent-year on Rocket, far less on the others, and only if the amount fits too.
var (
	coIntentClientLimit = redis_rate.Limit{Rate: 5, Burst: 5, Period: 10 * time.Minute}
	coClientLimit       = redis_rate.Limit{Rate: 20, Burst: 20, Period: 10 * time.Minute}
	coIntentMissLimit   = redis_rate.Limit{Rate: 30, Burst: 30, Period: time.Hour}
)

//go:embed templates/checkout.html templates/checkout.css templates/checkout.js
var coFiles embed.FS

var (
	coTemplates = template.Must(template.ParseFS(coFiles, "templates/checkout.html"))
	// The page's own static CSS and JS (this package's embedded files, never input), inserted as
	// is under the response's CSP nonce.
	coCSS = template.CSS(mustReadEmbedded("templates/checkout.css")) //nolint:gosec // G203: our own embedded stylesheet, never input
	coJS  = template.JS(mustReadEmbedded("templates/checkout.js"))   //nolint:gosec // G203: our own embedded script, never input
	coNS  = uuid.MustParse("5f0c3b52-9a7e-4c1d-8f2b-6d4e1a9c7b30")   // namespace of claim event ids
)

func mustReadEmbedded(name string) string {
	b, err := coFiles.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("reading embedded %s: %v", name, err))
	}
	return string(b)
}

// coIntent loads the intent behind a checkout id and its merchant. It returns nil records and a
// nil error when there is no payable checkout: a malformed or unknown id, or a merchant that is
// gone or inactive. Errors are Redis's (answer 503).
func (s *Surface) coIntent(ctx *fasthttp.RequestCtx, id string) (*pipeline.IntentRecord, *pipeline.Merchant, error) {
	if !ingest.IntentIDRE.MatchString(id) && !bdquickpay.ValidInvoiceID(id) {
		return nil, nil, nil
	}
	rec, err := s.intents.GetIntent(ingest.RequestContext(ctx), id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := s.merchants.CurrentMerchant(ingest.RequestContext(ctx), rec.MerchantID)
	if err != nil {
		return nil, nil, err
	}
	if m == nil || m.Status != pipeline.MerchantActive {
		return nil, nil, nil
	}
	return rec, m, nil
}

// coDestination is where a decided intent sends the customer: the merchant's URL for the status
// (successUrl for PAID, failedUrl for REJECTED/FAILED, expiredUrl for EXPIRED; "" when the merchant
// gave none, and the page then shows the final status itself). decided is false while a customer
// can still act (PENDING, REVIEW_REQUIRED).
func coDestination(rec *pipeline.IntentRecord) (dest string, decided bool) {
	switch rec.Status {
	case pipeline.StatusPaid:
		return rec.SuccessURL, true
	case pipeline.StatusRejected, pipeline.StatusFailed:
		return rec.FailedURL, true
	case pipeline.StatusExpired:
		return rec.ExpiredURL, true
	}
	return "", false
}

// coClaimable reports whether a claim on an intent in status st can still matter: PENDING (the
// payment has not been matched yet), or REVIEW_REQUIRED (an operator decides, and the customer's
// TrxID is exactly the evidence that resolves an ambiguous match).
func coClaimable(st pipeline.Status) bool {
	return st == pipeline.StatusPending || st == pipeline.StatusReviewRequired
}

// coPath is the path of a checkout page as the customer reaches it: the path of PublicURL (a
// reverse proxy may serve paystream under a prefix) + /v1/checkout/<id>. Links and redirects use
// it, so they work behind such a proxy and whatever PublicURL's host is.
func (s *Surface) coPath(id string) string {
	prefix := ""
	if u, err := url.Parse(s.publicURL); err == nil {
		prefix = strings.TrimRight(u.EscapedPath(), "/")
	}
	return prefix + Prefix + id
}

// --- the page --------------------------------------------------------------------------------

func (s *Surface) handleCheckoutPage(ctx *fasthttp.RequestCtx) {
	id, _ := ctx.UserValue("id").(string)
	lang := coLang(string(ctx.QueryArgs().Peek("lang")), ctx)
	rec, m, err := s.coIntent(ctx, id)
	if err != nil {
		s.log.Error("loading checkout failed", "err", err, "request_id", ingest.RequestID(ctx))
		s.coRenderProblem(ctx, lang, http.StatusServiceUnavailable, true)
		return
	}
	if rec == nil {
		s.coRenderProblem(ctx, lang, http.StatusNotFound, true)
		return
	}
	if dest, decided := coDestination(rec); decided && dest != "" {
		coSecurityHeaders(ctx, "", nil)
		ctx.Response.Header.Set("Location", dest)
		ctx.SetStatusCode(http.StatusSeeOther)
		return
	}
	p := s.coNewPage(rec, m, lang)
	if ctx.QueryArgs().Has("sent") && rec.Status == pipeline.StatusPending {
		p.Notice, p.NoticeID, p.AutoRefresh, p.ClaimTitle = p.T.Checking, "claim-sent", coPollRefresh, p.T.ClaimAgain
		p.LangURL += "&sent=1"
	}
	s.coRender(ctx, http.StatusOK, p)
}

// coPage is what the templates render. Strings are plain text: the template escapes them.
type coPage struct {
	Lang, OtherLang, OtherLangName, LangURL string
	T                                       *coText
	Nonce                                   string
	CSS                                     template.CSS
	JS                                      template.JS
	Title                                   string
	AutoRefresh                             int

	Status, ProviderKey, ProviderName string
	Merchant, Amount, Reference       string
	Sandbox                           bool
	Wallet, SendTo                    string
	Steps                             []coStep
	ShowTimer                         bool
	Remaining                         int // seconds
	RemainingText                     string
	ExpiresAt, ExpiresAtText          string
	StatusURL, ClaimURL, CancelURL    string
	ClaimTitle, TrxLabel              string
	TrxHint, TrxExample               string
	TrxID, Sender                     string // the form's values after a refused claim
	Notice, NoticeID, Error           string
	Review                            bool

	FinalKind, FinalTitle, FinalMessage string // "final" template: ok or bad
	formTargets                         []string
}

// coStep is one instruction: Pre, then Strong emphasised (a number, an amount), then Post.
type coStep struct{ Pre, Strong, Post string }

func (s *Surface) coNewPage(rec *pipeline.IntentRecord, m *pipeline.Merchant, lang string) *coPage {
	t := coTexts[lang]
	prov := coProviders[rec.Provider]
	amount := coDigits(lang, rec.Amount.String())
	remaining := max(0, int(math.Ceil(time.Until(rec.ExpiresAt).Seconds())))
	path := s.coPath(rec.ID)
	p := &coPage{
		Lang: lang, T: t, Title: fmt.Sprintf(t.TitleFmt, amount, m.Name),
		Status: string(rec.Status), ProviderKey: string(rec.Provider), ProviderName: prov.name(lang),
		Merchant: m.Name, Amount: amount, Reference: rec.CustomerReference,
		Sandbox: rec.Environment == pipeline.Sandbox, Wallet: rec.ReceiverMsisdn,
		SendTo:    fmt.Sprintf(t.SendToFmt, prov.name(lang)),
		Steps:     coSteps(lang, prov, rec.ReceiverMsisdn, amount, rec.CustomerReference),
		ShowTimer: rec.Status == pipeline.StatusPending, Remaining: remaining,
		RemainingText: coClock(lang, remaining), ExpiresAt: pipeline.FormatTime(rec.ExpiresAt),
		ExpiresAtText: coDigits(lang, rec.ExpiresAt.In(dhaka).Format("02/01/2006 15:04")) + " (" + t.DhakaTime + ")",
		StatusURL:     path + "/status", ClaimURL: path + "/claim", CancelURL: rec.CancelURL,
		ClaimTitle: t.ClaimTitle, TrxLabel: fmt.Sprintf(t.TrxLabelFmt, prov.trxWord), TrxHint: prov.hint(lang), TrxExample: prov.example,
	}
	if remaining == 0 {
		p.RemainingText = t.TimeUp // the matcher expires the intent within seconds
	}
	p.setLang(path)
	if rec.Status == pipeline.StatusReviewRequired {
		p.Notice, p.NoticeID, p.Review, p.AutoRefresh = t.Review, "review", true, coPollRefresh
	}
	p.formTargets = []string{rec.SuccessURL, rec.FailedURL, rec.ExpiredURL, rec.CancelURL}
	return p
}

// setLang sets the link to the page in the other language: path + ?lang=, where path is the
// page's path, or "" for the current URL's (a GET page's).
func (p *coPage) setLang(path string) {
	p.OtherLang = "bn"
	if p.Lang == "bn" {
		p.OtherLang = "en"
	}
	p.OtherLangName = coTexts[p.OtherLang].LangName
	p.LangURL = path + "?lang=" + p.OtherLang
}

// coFinal fills p for the "final" template: a decided intent without a merchant URL to go to.
func (p *coPage) coFinal(st pipeline.Status) {
	t := p.T
	switch st {
	case pipeline.StatusPaid:
		p.FinalKind, p.FinalTitle, p.FinalMessage = "ok", t.PaidTitle, t.PaidText
	case pipeline.StatusExpired:
		p.FinalKind, p.FinalTitle, p.FinalMessage = "bad", t.ExpiredTitle, t.ExpiredText
	default:
		p.FinalKind, p.FinalTitle, p.FinalMessage = "bad", t.FailedTitle, t.FailedText
	}
	p.Title = p.FinalTitle
}

// coRender writes p with the page template, or the final one when the intent is decided.
func (s *Surface) coRender(ctx *fasthttp.RequestCtx, status int, p *coPage) {
	name := "page"
	if _, decided := coDestination(&pipeline.IntentRecord{Status: pipeline.Status(p.Status)}); decided {
		name = "final"
		p.coFinal(pipeline.Status(p.Status))
	}
	s.coExecute(ctx, status, name, p)
}

// coRenderProblem answers a friendly 404 (no such checkout) or 503 (Redis failed) page; onPage
// says whether the request was the page's GET (the only URL the language link can reload).
func (s *Surface) coRenderProblem(ctx *fasthttp.RequestCtx, lang string, status int, onPage bool) {
	t := coTexts[lang]
	p := &coPage{Lang: lang, T: t, FinalKind: "bad", FinalTitle: t.NotFoundTitle, FinalMessage: t.NotFoundText}
	if status == http.StatusServiceUnavailable {
		p.FinalTitle, p.FinalMessage = t.UnavailableTitle, t.UnavailableText
		ctx.Response.Header.Set("Retry-After", "5")
	}
	p.Title = p.FinalTitle
	if onPage {
		p.setLang("")
	}
	s.coExecute(ctx, status, "final", p)
}

func (s *Surface) coExecute(ctx *fasthttp.RequestCtx, status int, name string, p *coPage) {
	p.Nonce, p.CSS = coNonce(), coCSS
	if name == "page" {
		p.JS = coJS
	}
	var buf bytes.Buffer
	buf.Grow(16 << 10)
	if err := coTemplates.ExecuteTemplate(&buf, name, p); err != nil {
		// Only a bug in the template can get here; never show a half-written page.
		s.log.Error("rendering checkout failed", "template", name, "err", err, "request_id", ingest.RequestID(ctx))
		coSecurityHeaders(ctx, "", nil)
		ctx.Response.Header.Set("Retry-After", "5")
		ctx.SetStatusCode(http.StatusServiceUnavailable)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("Service temporarily unavailable, retry later\n")
		return
	}
	coSecurityHeaders(ctx, p.Nonce, p.formTargets)
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBody(buf.Bytes())
}

// coNonce returns a fresh CSP nonce (128 random bits).
func coNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])                            // crypto/rand.Read never returns an error
	return base64.RawURLEncoding.EncodeToString(b[:]) // no "+/=": nothing to escape in the attribute
}

var coOriginRE = regexp.MustCompile(`^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// coSecurityHeaders sets the headers every checkout answer carries. With a nonce (an HTML page),
// the CSP allows only that response's inline style and script, fetches to the same origin, and
// form submissions to the same origin plus the origins of formTargets: Chrome checks form-action
// on every redirect that follows a submission, and a claim's redirect back to the page may go on
// to the merchant's URL if the intent was decided meanwhile.
func coSecurityHeaders(ctx *fasthttp.RequestCtx, nonce string, formTargets []string) {
	h := &ctx.Response.Header
	csp := "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
	if nonce != "" {
		actions := []string{"'self'"}
		for _, raw := range formTargets {
			if u, err := url.Parse(raw); err == nil && raw != "" {
				if o := u.Scheme + "://" + u.Host; coOriginRE.MatchString(o) {
					actions = append(actions, o)
				}
			}
		}
		csp = "default-src 'none'; style-src 'nonce-" + nonce + "'; script-src 'nonce-" + nonce + "'; " +
			"connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; " +
			"form-action " + strings.Join(actions, " ")
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// --- the status poll -------------------------------------------------------------------------

// coStatus is the status poll's answer: nothing the page does not show already.
type coStatus struct {
	Status      string  `json:"status"`
	ExpiresAt   string  `json:"expiresAt"`
	RedirectURL *string `json:"redirectUrl"` // where the page would send the customer now, or null
}

func (s *Surface) handleCheckoutStatus(ctx *fasthttp.RequestCtx) {
	coSecurityHeaders(ctx, "", nil)
	id, _ := ctx.UserValue("id").(string)
	rec, _, err := s.coIntent(ctx, id)
	if err != nil {
		s.pub.Internal(ctx, "loading checkout", err)
		return
	}
	if rec == nil {
		ingest.WriteError(ctx, errNotFound)
		return
	}
	out := coStatus{Status: string(rec.Status), ExpiresAt: pipeline.FormatTime(rec.ExpiresAt)}
	if dest, decided := coDestination(rec); decided && dest != "" {
		out.RedirectURL = &dest
	}
	ingest.WriteJSON(ctx, http.StatusOK, out)
}

// --- claims ----------------------------------------------------------------------------------

// coClaimBody is the JSON form of a claim (the page's form posts the same fields form-encoded).
type coClaimBody struct {
	TrxID        *string `json:"trxId"`
	SenderMsisdn *string `json:"senderMsisdn"`
}

// coProblem is a refused claim: Status and the English Message for JSON clients; Page, the
// customer's message in the page's language.
type coProblem struct {
	Status     int
	Message    string
	Page       string
	RetryAfter int
}

// handleCheckoutClaim is POST /v1/checkout/:id/claim. A JSON body (Content-Type application/json)
// is answered in JSON (202, or the native error shape); anything else is the page's form and is
// answered in HTML (303 back to the page, or the page again with the message). Checks, in order:
// the checkout exists (404), the client's rate (429), the TrxID's and sender's format (400), the
// intent still takes claims (409 JSON / 303 to the page), the client's rate on this intent (429),
// the TrxID did not pay another intent (409), and, for a TrxID no reported payment carries, the
// intent's rate of such misses (429); then claim.submitted is produced (503 + Retry-After if Kafka
// did not acknowledge it). See coIntentClientLimit for why the limits are cut this way.
func (s *Surface) handleCheckoutClaim(ctx *fasthttp.RequestCtx) {
	id, _ := ctx.UserValue("id").(string)
	asJSON := coIsJSON(ctx)
	var rawTrx, rawSender, formLang string
	var decodeErr *ingest.APIError
	if asJSON {
		var body coClaimBody
		if decodeErr = ingest.DecodeJSON(ctx.PostBody(), &body); decodeErr == nil {
			if body.TrxID != nil {
				rawTrx = *body.TrxID
			}
			if body.SenderMsisdn != nil {
				rawSender = *body.SenderMsisdn
			}
		}
	} else {
		args := ctx.PostArgs()
		rawTrx, rawSender, formLang = string(args.Peek("trxId")), string(args.Peek("senderMsisdn")), string(args.Peek("lang"))
	}
	lang := coLang(formLang, ctx)

	rec, m, err := s.coIntent(ctx, id)
	if err != nil {
		s.coClaimUnavailable(ctx, asJSON, lang, nil, "loading checkout", err)
		return
	}
	if rec == nil {
		if asJSON {
			coSecurityHeaders(ctx, "", nil)
			ingest.WriteError(ctx, errNotFound)
		} else {
			s.coRenderProblem(ctx, lang, http.StatusNotFound, false)
		}
		return
	}
	page := func() *coPage { // the page again, with what the customer typed
		p := s.coNewPage(rec, m, lang)
		p.TrxID, p.Sender = coClip(rawTrx, coMaxTrxInput), coClip(rawSender, 32)
		return p
	}
	refuse := func(pr coProblem) {
		if asJSON {
			coSecurityHeaders(ctx, "", nil)
			ingest.WriteError(ctx, &ingest.APIError{Status: pr.Status, Message: pr.Message, RetryAfter: pr.RetryAfter})
			return
		}
		if pr.RetryAfter > 0 {
			ctx.Response.Header.Set("Retry-After", strconv.Itoa(pr.RetryAfter))
		}
		p := page()
		p.Error = pr.Page
		s.coRender(ctx, pr.Status, p)
	}

	if pr, err := s.coLimit(ctx, lang, "client:"+ingest.ClientKey(ctx), coClientLimit, "from this address"); err != nil {
		s.coClaimUnavailable(ctx, asJSON, lang, page, "checking claim rate", err)
		return
	} else if pr != nil {
		refuse(*pr)
		return
	}
	if decodeErr != nil {
		refuse(coProblem{Status: decodeErr.Status, Message: decodeErr.Message, Page: coTexts[lang].ErrTrxRequired})
		return
	}
	prov := coProviders[rec.Provider]
	trx, pr := coValidTrx(lang, prov, rawTrx)
	if pr == nil {
		var sender string
		if sender, pr = coValidSender(lang, rawSender); pr == nil {
			rawSender = sender
		}
	}
	if pr != nil {
		refuse(*pr)
		return
	}
	if !coClaimable(rec.Status) {
		if asJSON {
			coSecurityHeaders(ctx, "", nil)
			ingest.WriteError(ctx, ingest.Errf(http.StatusConflict, "Payment intent is %s: claims are accepted only while it is PENDING or REVIEW_REQUIRED", rec.Status))
			return
		}
		s.coSeeOther(ctx, rec.ID, lang, false) // the page shows the decision (or goes on to the merchant)
		return
	}
	client := ingest.ClientKey(ctx)
	if pr, err := s.coLimit(ctx, lang, "intent:"+rec.ID+":client:"+client, coIntentClientLimit, "for this payment from this address"); err != nil {
		s.coClaimUnavailable(ctx, asJSON, lang, page, "checking claim rate", err)
		return
	} else if pr != nil {
		refuse(*pr)
		return
	}
	w := rec.Wallet()
	seen, used, err := s.coTrxUse(ingest.RequestContext(ctx), w, trx, rec.ID)
	if err != nil {
		s.coClaimUnavailable(ctx, asJSON, lang, page, "checking trx id", err)
		return
	}
	if !seen {
		if pr, err := s.coLimit(ctx, lang, "intent:"+rec.ID+":misses", coIntentMissLimit, "of transaction IDs not received yet for this payment (a transaction ID already received is still accepted)"); err != nil {
			s.coClaimUnavailable(ctx, asJSON, lang, page, "checking claim rate", err)
			return
		} else if pr != nil {
			refuse(*pr)
			return
		}
	}
	if used {
		refuse(coProblem{
			Status:  http.StatusConflict,
			Message: fmt.Sprintf("trxId %s was already used to pay another payment intent", trx),
			Page:    coTexts[lang].ErrTrxUsed,
		})
		return
	}

	ev := &pipeline.Event{
		ID: coClaimEventID(rec.ID, trx, rawSender), Kind: pipeline.KindClaimSubmitted, Source: pipeline.SourceCheckout,
		Wallet: w, MerchantID: rec.MerchantID, Environment: rec.Environment, AcceptedAt: time.Now().UTC(),
		Claim: &pipeline.Claim{IntentID: rec.ID, TrxID: trx, SenderMsisdn: rawSender},
		Raw:   ingest.RawCopy(ctx.PostBody()), RequestID: ingest.RequestID(ctx),
	}
	if err := s.pub.Publish(ctx, ev); err != nil {
		s.pub.CountUnavailable()
		s.coClaimUnavailable(ctx, asJSON, lang, page, "producing claim.submitted", err)
		return
	}
	if asJSON {
		coSecurityHeaders(ctx, "", nil)
		ingest.WriteJSON(ctx, http.StatusAccepted, map[string]any{
			"accepted": true, "eventId": ev.ID, "intentId": rec.ID, "trxId": trx, "status": string(rec.Status),
			"message": "We are checking your payment",
		})
		return
	}
	s.coSeeOther(ctx, rec.ID, lang, true)
}

// coSeeOther redirects (303) a form submission back to the checkout page, marked "sent" after
// an accepted claim so that the page says the payment is being checked.
func (s *Surface) coSeeOther(ctx *fasthttp.RequestCtx, id, lang string, sent bool) {
	q := url.Values{"lang": {lang}}
	if sent {
		q.Set("sent", "1")
	}
	coSecurityHeaders(ctx, "", nil)
	ctx.Response.Header.Set("Location", s.coPath(id)+"?"+q.Encode())
	ctx.SetStatusCode(http.StatusSeeOther)
}

// coClaimUnavailable answers a claim that failed on Redis or Kafka: 503 with Retry-After, as JSON
// or as the page again (page is nil when the intent could not be loaded).
func (s *Surface) coClaimUnavailable(ctx *fasthttp.RequestCtx, asJSON bool, lang string, page func() *coPage, what string, err error) {
	s.log.Warn(what+" failed; answering 503", "err", err, "request_id", ingest.RequestID(ctx))
	if asJSON || page == nil {
		if asJSON {
			coSecurityHeaders(ctx, "", nil)
			ingest.WriteError(ctx, ingest.ErrUnavailable)
		} else {
			s.coRenderProblem(ctx, lang, http.StatusServiceUnavailable, false)
		}
		return
	}
	ctx.Response.Header.Set("Retry-After", strconv.Itoa(ingest.ErrUnavailable.RetryAfter))
	p := page()
	p.Error = coTexts[lang].ErrUnavailable
	s.coRender(ctx, http.StatusServiceUnavailable, p)
}

// coLimit takes one claim from the bucket key under limit. It returns the 429 to answer when the
// bucket is empty, nil when the claim may go on, or Redis's error.
func (s *Surface) coLimit(ctx *fasthttp.RequestCtx, lang, key string, limit redis_rate.Limit, scope string) (*coProblem, error) {
	// redis_rate stores the bucket under "rate:" + this key; it expires once the bucket is full again.
	res, err := s.claims.Allow(ingest.RequestContext(ctx), s.keyPrefix+":checkout:claims:"+key, limit)
	if err != nil {
		return nil, fmt.Errorf("rate limiting claims: %w", err)
	}
	if res.Allowed > 0 {
		return nil, nil
	}
	secs := max(1, int(math.Ceil(res.RetryAfter.Seconds())))
	return &coProblem{
		Status: http.StatusTooManyRequests, RetryAfter: secs,
		Message: fmt.Sprintf("Too many claims %s; retry in %d seconds", scope, secs),
		Page:    fmt.Sprintf(coTexts[lang].ErrRateLimitedFmt, coDigits(lang, strconv.Itoa(max(1, (secs+59)/60)))),
	}, nil
}

// coTrxUse reports whether a payment of wallet w carrying trx was reported (seen), and whether trx
// already paid an intent other than intentID (paidAnother), as the matcher's state knows it
// (state.Store.TrxUse): a TrxID that is unmatched, under review or not reported yet can still be
// claimed. The state lags the inbound topic, so a payment decided moments ago may not be known
// yet; the matcher still lets a TrxID pay at most one intent (rule 1).
func (s *Surface) coTrxUse(ctx context.Context, w pipeline.Wallet, trx, intentID string) (seen, paidAnother bool, err error) {
	seen, paid, err := s.intents.TrxUse(ctx, w, trx)
	if err != nil {
		return false, false, fmt.Errorf("reading the use of trx %s: %w", trx, err)
	}
	return seen, paid != "" && paid != intentID, nil
}

// coClaimEventID is deterministic: the same claim submitted twice (a double tap, a retry after a
// 503) is the same event, which the matcher and the audit recognise as already handled.
func coClaimEventID(intentID, trx, sender string) string {
	return uuid.NewSHA1(coNS, []byte("claim.submitted/"+intentID+"/"+trx+"/"+sender)).String()
}

// coTrxLabelRE strips a label a customer may paste with the id ("TrxID: 8HJ2XKPQ91").
var coTrxLabelRE = regexp.MustCompile(`^(?:TRX|TXN)\s*ID\s*[:#.\-]?\s*`)

// coValidTrx normalises a typed TrxID (trimmed, upper-cased, a pasted "TrxID:" label removed) and
// checks it is 6 to 32 letters and digits (ingest.TrxIDRE, as every other surface).
func coValidTrx(lang string, prov coProvider, raw string) (string, *coProblem) {
	t := coTexts[lang]
	trx := strings.ToUpper(strings.TrimSpace(raw))
	if len(trx) <= coMaxTrxInput {
		trx = coTrxLabelRE.ReplaceAllString(trx, "")
	}
	if trx == "" {
		return "", &coProblem{Status: http.StatusBadRequest, Message: "trxId is required", Page: t.ErrTrxRequired}
	}
	if !ingest.TrxIDRE.MatchString(trx) {
		return "", &coProblem{
			Status:  http.StatusBadRequest,
			Message: "trxId must be 6 to 32 letters and digits; " + lowerFirst(prov.hint("en")),
			Page:    t.ErrTrxFormat + " " + prov.hint(lang),
		}
	}
	return trx, nil
}

// coValidSender normalises the optional sender number; "" stays "".
func coValidSender(lang, raw string) (string, *coProblem) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	if n, ok := pipeline.NormalizeMSISDN(raw); ok {
		return n, nil
	}
	return "", &coProblem{
		Status:  http.StatusBadRequest,
		Message: "senderMsisdn must be a Bangladeshi mobile number such as 01711111111",
		Page:    coTexts[lang].ErrSender,
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// coIsJSON reports whether the request body is JSON (the page's script, API clients); the form posts
// application/x-www-form-urlencoded.
func coIsJSON(ctx *fasthttp.RequestCtx) bool {
	ct := strings.ToLower(string(ctx.Request.Header.ContentType()))
	return strings.HasPrefix(ct, "application/json") || (strings.HasPrefix(ct, "application/") && strings.Contains(ct, "+json"))
}

// coClip bounds a value echoed back into the form to n bytes, without cutting a UTF-8 sequence.
func coClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
