// Package bkashsim simulates bKash Tokenized Checkout v1.2.0-beta for development and tests: token
// grant and refresh, create, execute, payment/status, refund (and refund status), transaction
// search, and a small customer page at each payment's bkashURL where a person or a headless browser
// approves, fails or cancels the payment. It answers in bKash's published shapes: HTTP 200 with
// statusCode "0000" on success and another statusCode plus statusMessage on errors, and the API
// gateway's 401 {"message": ...} for expired or unknown tokens.
//
// Knobs for tests: the token lifetime, ExpireTokens (every token expires now), SetExecuteDelay
// (execute completes the payment, then answers only after the delay, so a client that gave up finds
// it Completed through payment/status), a wallet number whose payments fail execute with 2023
// (insufficient balance), and counters of grants, refreshes and executes.
//
// Memory is bounded: at most Config.MaxPayments payments (default 10000; the oldest is forgotten
// first) and MaxTokens tokens (default 1000; expired, then oldest, first).
//
// Choices where bKash publishes nothing exact: a grant with a wrong username, password or app
// secret answers statusCode 2079 "Invalid username and password"; a wrong app key answers 2001
// "Invalid App Key"; an unknown paymentID answers 2002 "Invalid Payment ID"; an unknown TrxID
// 2033 "Transaction not found".
package bkashsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
)

// Config configures the simulator. Zero values take the documented defaults.
type Config struct {
	Username  string // default "sim-user"
	Password  string // default "sim-password"
	AppKey    string // default "sim-app-key"
	AppSecret string // default "sim-app-secret"
	// TokenLifetime is expires_in of granted tokens (default 3600s, as bKash).
	TokenLifetime time.Duration
	// PublicURL is the base of bkashURL (default http://<listen address> with Start).
	PublicURL string
	// InsufficientWallet is a wallet number whose approved payments fail execute with 2023
	// (default 01900000000).
	InsufficientWallet string
	MaxPayments        int // default 10000
	MaxTokens          int // default 1000
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// The simulator's default credentials.
const (
	DefaultUsername  = "sim-user"
	DefaultPassword  = "sim-password" //nolint:gosec // G101: the simulator's published test credential
	DefaultAppKey    = "sim-app-key"
	DefaultAppSecret = "sim-app-secret" //nolint:gosec // G101: the simulator's published test credential
	// BasePath is where the API lives under the simulator's address, like bKash's base URLs.
	BasePath = "/v1.2.0-beta"
	// DefaultInsufficientWallet is the wallet number whose payments fail for insufficient balance.
	DefaultInsufficientWallet = "01900000000"
	// DefaultWallet is the wallet number the customer page suggests.
	DefaultWallet = "01770618575"
)

// Payment states inside the simulator.
const (
	stInitiated  = "Initiated"
	stAuthorized = "Authorized" // the customer approved on the page; execute may complete it
	stCompleted  = bkash.StatusCompleted
	stFailed     = bkash.StatusFailed
	stCancelled  = bkash.StatusCancelled
)

// Payment is the simulator's record of one payment (a copy, from Sim.Payment).
type Payment struct {
	PaymentID      string
	Amount         pipeline.Money
	Invoice        string
	PayerReference string
	CallbackURL    string
	State          string
	Wallet         string
	TrxID          string
	Refunded       pipeline.Money
	Refunds        []RefundRecord
	CreatedAt      time.Time
	ExecutedAt     time.Time
	Executes       int
}

// RefundRecord is one refund of a payment.
type RefundRecord struct {
	RefundTrxID string
	Amount      pipeline.Money
	At          time.Time
}

type token struct {
	refresh string
	exp     time.Time
	created time.Time
}

// Sim is the simulator: an http.Handler. New builds one; Start also serves it.
type Sim struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex
	tokens   map[string]*token // id_token -> token
	refresh  map[string]bool   // refresh tokens issued
	payments map[string]*Payment
	order    []string // payment ids, oldest first (bounded by MaxPayments)
	trx      map[string]string
	delay    time.Duration

	grants, refreshes, executes, creates, queries, refunds atomic.Int64

	srv      *http.Server
	ln       net.Listener
	closeErr error
	once     sync.Once
}

// New returns a simulator. It starts nothing.
func New(cfg Config) *Sim {
	if cfg.Username == "" {
		cfg.Username = DefaultUsername
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	if cfg.AppKey == "" {
		cfg.AppKey = DefaultAppKey
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DefaultAppSecret
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.InsufficientWallet == "" {
		cfg.InsufficientWallet = DefaultInsufficientWallet
	}
	if cfg.MaxPayments <= 0 {
		cfg.MaxPayments = 10000
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sim{cfg: cfg, tokens: map[string]*token{}, refresh: map[string]bool{}, payments: map[string]*Payment{}, trx: map[string]string{}}
	mux := http.NewServeMux()
	api := BasePath + "/tokenized/checkout/"
	mux.HandleFunc("POST "+api+"token/grant", s.grant)
	mux.HandleFunc("POST "+api+"token/refresh", s.refreshToken)
	mux.HandleFunc("POST "+api+"create", s.authed(s.create))
	mux.HandleFunc("POST "+api+"execute", s.authed(s.execute))
	mux.HandleFunc("POST "+api+"payment/status", s.authed(s.status))
	mux.HandleFunc("POST "+api+"payment/refund", s.authed(s.refund))
	mux.HandleFunc("POST "+api+"general/searchTransaction", s.authed(s.search))
	mux.HandleFunc("GET /pay", s.page)
	mux.HandleFunc("POST /pay", s.decide)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	s.mux = mux
	return s
}

// Start serves a new simulator on addr ("127.0.0.1:0" for a free port) until Close.
func Start(addr string, cfg Config) (*Sim, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	s := New(cfg)
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the listen address (Start only).
func (s *Sim) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// BaseURL is the base URL a client is configured with (like https://tokenized.sandbox.bka.sh/v1.2.0-beta).
func (s *Sim) BaseURL() string { return strings.TrimRight(s.cfg.PublicURL, "/") + BasePath }

// Credentials returns the credentials the simulator accepts, for a client. They are declared
// SANDBOX: a simulator never serves LIVE.
func (s *Sim) Credentials() *bkash.Credentials {
	return &bkash.Credentials{
		Environment: pipeline.Sandbox, BaseURL: s.BaseURL(), Username: s.cfg.Username, AppKey: s.cfg.AppKey,
		Password: bkash.NewSecret(s.cfg.Password), AppSecret: bkash.NewSecret(s.cfg.AppSecret),
	}
}

// Close stops serving (Start only). Idempotent; it waits up to 1 s for requests in flight, then
// closes every connection.
func (s *Sim) Close() error {
	s.once.Do(func() {
		if s.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := s.srv.Shutdown(ctx); err != nil {
				s.closeErr = s.srv.Close()
			}
		}
	})
	return s.closeErr
}

// ServeHTTP serves the API and the customer page. Request bodies are capped at 64 KiB. Every
// answer carries bkash.SimulatorHeader, so a client configured for LIVE refuses it.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(bkash.SimulatorHeader, "paystream-bkashsim")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	s.mux.ServeHTTP(w, r)
}

// Grants counts successful token grants.
func (s *Sim) Grants() int64 { return s.grants.Load() }

// Refreshes counts successful token refreshes.
func (s *Sim) Refreshes() int64 { return s.refreshes.Load() }

// Executes counts execute calls, whatever they answered.
func (s *Sim) Executes() int64 { return s.executes.Load() }

// Creates counts created payments.
func (s *Sim) Creates() int64 { return s.creates.Load() }

// Queries counts answered payment/status calls.
func (s *Sim) Queries() int64 { return s.queries.Load() }

// Refunds counts refunds made.
func (s *Sim) Refunds() int64 { return s.refunds.Load() }

// ExpireTokens makes every issued id_token expired now (refresh tokens stay valid).
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.cfg.Now().Add(-time.Second)
	for _, t := range s.tokens {
		t.exp = past
	}
}

// SetExecuteDelay makes execute complete the payment at once but answer only after d (or when
// the client goes away): a client with a shorter timeout sees a timeout, and payment/status then
// shows the payment Completed. 0 restores immediate answers.
func (s *Sim) SetExecuteDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Payment returns a copy of a payment's record.
func (s *Sim) Payment(id string) (Payment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return Payment{}, false
	}
	cp := *p
	cp.Refunds = append([]RefundRecord(nil), p.Refunds...)
	return cp, true
}

// Errors of the customer page actions (Approve, Fail, Cancel).
var (
	ErrUnknownPayment = errors.New("bkashsim: unknown paymentID")
	ErrNotInitiated   = errors.New("bkashsim: the payment was already approved, failed or cancelled")
)

// Decide does what the customer page's buttons do: action "approve" (with the customer's wallet
// number), "fail" or "cancel". It returns the callback URL the customer is sent to.
func (s *Sim) Decide(paymentID, action, wallet string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[paymentID]
	if !ok {
		return "", ErrUnknownPayment
	}
	if p.State != stInitiated {
		return "", ErrNotInitiated
	}
	var status string
	switch action {
	case "approve":
		if w, ok := pipeline.NormalizeMSISDN(wallet); ok {
			p.Wallet = w
		} else {
			p.Wallet = DefaultWallet
		}
		p.State, status = stAuthorized, "success"
	case "fail":
		p.State, status = stFailed, "failure"
	case "cancel":
		p.State, status = stCancelled, "cancel"
	default:
		return "", fmt.Errorf("bkashsim: unknown action %q (approve, fail, cancel)", action)
	}
	return callback(p.CallbackURL, p.PaymentID, status), nil
}

func callback(base, paymentID, status string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "paymentID=" + url.QueryEscape(paymentID) + "&status=" + status
}

// --- API handlers ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusOK, map[string]string{"statusCode": code, "statusMessage": msg})
}

func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		fail(w, "2025", "Invalid request body")
		return nil, false
	}
	return body, true
}

// str reads a field as a string: bKash sends strings but accepts numbers for amount.
func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	}
	return ""
}

func randID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + strings.ToUpper(hex.EncodeToString(b))
}

func (s *Sim) checkCreds(r *http.Request, body map[string]any) (string, string, bool) {
	if str(body, "app_key") != s.cfg.AppKey {
		return "2001", "Invalid App Key", false
	}
	if r.Header.Get("username") != s.cfg.Username || r.Header.Get("password") != s.cfg.Password || str(body, "app_secret") != s.cfg.AppSecret {
		return "2079", "Invalid username and password", false
	}
	return "", "", true
}

func (s *Sim) issue(w http.ResponseWriter, refresh string) {
	now := s.cfg.Now()
	id := randID("sim.", 24)
	if refresh == "" {
		refresh = randID("simr.", 24)
	}
	s.mu.Lock()
	if len(s.tokens) >= s.cfg.MaxTokens {
		s.evictTokensLocked(now)
	}
	s.tokens[id] = &token{refresh: refresh, exp: now.Add(s.cfg.TokenLifetime), created: now}
	if len(s.refresh) >= s.cfg.MaxTokens {
		clear(s.refresh) // bounded; clients whose refresh is refused grant again
	}
	s.refresh[refresh] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"statusCode": "0000", "statusMessage": "Successful", "id_token": id, "token_type": "Bearer",
		"expires_in": int(s.cfg.TokenLifetime / time.Second), "refresh_token": refresh,
	})
}

func (s *Sim) evictTokensLocked(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for id, t := range s.tokens {
		if now.After(t.exp) {
			delete(s.tokens, id)
			continue
		}
		if oldest == "" || t.created.Before(oldestAt) {
			oldest, oldestAt = id, t.created
		}
	}
	if len(s.tokens) >= s.cfg.MaxTokens && oldest != "" {
		delete(s.tokens, oldest)
	}
}

func (s *Sim) grant(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if code, msg, ok := s.checkCreds(r, body); !ok {
		fail(w, code, msg)
		return
	}
	s.grants.Add(1)
	s.issue(w, "")
}

func (s *Sim) refreshToken(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if code, msg, ok := s.checkCreds(r, body); !ok {
		fail(w, code, msg)
		return
	}
	rt := str(body, "refresh_token")
	s.mu.Lock()
	known := s.refresh[rt]
	s.mu.Unlock()
	if rt == "" || !known {
		fail(w, "2079", "Invalid refresh token")
		return
	}
	s.refreshes.Add(1)
	s.issue(w, rt)
}

// authed checks the API gateway's part: a known, unexpired id_token in Authorization and the app
// key in X-APP-Key.
func (s *Sim) authed(h func(http.ResponseWriter, *http.Request, map[string]any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		t, ok := s.tokens[tok]
		expired := ok && s.cfg.Now().After(t.exp)
		s.mu.Unlock()
		switch {
		case !ok:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
			return
		case expired:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "The incoming token has expired"})
			return
		}
		if r.Header.Get("X-APP-Key") != s.cfg.AppKey {
			fail(w, "2001", "Invalid App Key")
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		h(w, r, body)
	}
}

func (s *Sim) create(w http.ResponseWriter, _ *http.Request, body map[string]any) {
	if str(body, "mode") != "0011" {
		fail(w, "2063", "Mode is not valid as per request data")
		return
	}
	amt, err := pipeline.ParseMoney(str(body, "amount"))
	if err != nil || amt <= 0 {
		fail(w, "2006", "Invalid amount")
		return
	}
	if str(body, "currency") != "BDT" {
		fail(w, "2007", "Invalid currency")
		return
	}
	if str(body, "intent") != "sale" {
		fail(w, "2008", "Invalid intent")
		return
	}
	inv, payer, cb := str(body, "merchantInvoiceNumber"), str(body, "payerReference"), str(body, "callbackURL")
	if inv == "" || len(inv) > 255 {
		fail(w, "2031", "Invalid merchant invoice number")
		return
	}
	if payer == "" || len(payer) > 255 {
		fail(w, "2048", "Invalid Payer Reference")
		return
	}
	if u, err := url.Parse(cb); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail(w, "2049", "Invalid Merchant Callback URL")
		return
	}
	now := s.cfg.Now()
	p := &Payment{
		PaymentID: randID("TR0011", 10), Amount: amt, Invoice: inv, PayerReference: payer,
		CallbackURL: cb, State: stInitiated, CreatedAt: now,
	}
	s.mu.Lock()
	if len(s.order) >= s.cfg.MaxPayments {
		old := s.order[0]
		s.order = s.order[1:]
		if op, ok := s.payments[old]; ok && op.TrxID != "" {
			delete(s.trx, op.TrxID)
		}
		delete(s.payments, old)
	}
	s.payments[p.PaymentID] = p
	s.order = append(s.order, p.PaymentID)
	s.mu.Unlock()
	s.creates.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{
		"paymentID": p.PaymentID, "paymentCreateTime": bkash.FormatTime(now), "transactionStatus": stInitiated,
		"amount": amt.String(), "currency": "BDT", "intent": "sale", "merchantInvoiceNumber": inv,
		"bkashURL":    strings.TrimRight(s.cfg.PublicURL, "/") + "/pay?paymentId=" + url.QueryEscape(p.PaymentID),
		"callbackURL": cb, "successCallbackURL": callback(cb, p.PaymentID, "success"),
		"failureCallbackURL": callback(cb, p.PaymentID, "failure"), "cancelledCallbackURL": callback(cb, p.PaymentID, "cancel"),
		"statusCode": "0000", "statusMessage": "Successful",
	})
}

// view is a payment as execute and payment/status show it.
func (s *Sim) view(p *Payment, forStatus bool) map[string]any {
	st := p.State
	if st == stAuthorized {
		st = stInitiated
	}
	v := map[string]any{
		"paymentID": p.PaymentID, "transactionStatus": st, "amount": p.Amount.String(), "currency": "BDT",
		"intent": "sale", "payerReference": p.PayerReference, "statusCode": "0000", "statusMessage": "Successful",
	}
	if forStatus {
		v["mode"] = "0011"
		v["paymentCreateTime"] = bkash.FormatTime(p.CreatedAt)
		v["merchantInvoice"] = p.Invoice
		v["verificationStatus"] = "Complete"
	} else {
		v["merchantInvoiceNumber"] = p.Invoice
	}
	if p.TrxID != "" {
		v["trxID"] = p.TrxID
		v["paymentExecuteTime"] = bkash.FormatTime(p.ExecutedAt)
		v["customerMsisdn"] = p.Wallet
		v["payerAccount"] = p.Wallet
	}
	return v
}

func (s *Sim) execute(w http.ResponseWriter, r *http.Request, body map[string]any) {
	s.executes.Add(1)
	id := str(body, "paymentID")
	s.mu.Lock()
	p, ok := s.payments[id]
	if !ok {
		s.mu.Unlock()
		fail(w, "2002", "Invalid Payment ID")
		return
	}
	p.Executes++
	switch p.State {
	case stCompleted:
		s.mu.Unlock()
		fail(w, "2117", "Payment execution already been called before")
		return
	case stInitiated, stFailed, stCancelled:
		s.mu.Unlock()
		fail(w, "2056", "Invalid Payment State")
		return
	}
	if p.Wallet == s.cfg.InsufficientWallet {
		p.State = stFailed
		s.mu.Unlock()
		fail(w, "2023", "Insufficient Balance")
		return
	}
	p.State, p.TrxID, p.ExecutedAt = stCompleted, randID("", 5), s.cfg.Now()
	s.trx[p.TrxID] = p.PaymentID
	v := s.view(p, false)
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Sim) status(w http.ResponseWriter, _ *http.Request, body map[string]any) {
	id := str(body, "paymentID")
	s.mu.Lock()
	p, ok := s.payments[id]
	var v map[string]any
	if ok {
		v = s.view(p, true)
	}
	s.mu.Unlock()
	if !ok {
		fail(w, "2002", "Invalid Payment ID")
		return
	}
	s.queries.Add(1)
	writeJSON(w, http.StatusOK, v)
}

func (s *Sim) refund(w http.ResponseWriter, _ *http.Request, body map[string]any) {
	id, trx, amtS := str(body, "paymentID"), str(body, "trxID"), str(body, "amount")
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		fail(w, "2002", "Invalid Payment ID")
		return
	}
	if p.State != stCompleted || !strings.EqualFold(p.TrxID, trx) {
		fail(w, "2028", "Reverse failed because the transaction serial number does not exist")
		return
	}
	if amtS == "" { // refund status
		if len(p.Refunds) == 0 {
			fail(w, "2033", "Transaction not found")
			return
		}
		writeJSON(w, http.StatusOK, s.refundView(p, p.Refunds[len(p.Refunds)-1]))
		return
	}
	amt, err := pipeline.ParseMoney(amtS)
	if err != nil || amt <= 0 {
		fail(w, "2006", "Invalid amount")
		return
	}
	if str(body, "sku") == "" || str(body, "reason") == "" {
		fail(w, "2065", "Mendatory field missing")
		return
	}
	if p.Refunded >= p.Amount {
		fail(w, "2034", "The transaction cannot be reversed because the original transaction has been reversed")
		return
	}
	if p.Refunded+amt > p.Amount {
		fail(w, "2026", "The reversal amount cannot be greater than the original transaction amount")
		return
	}
	rr := RefundRecord{RefundTrxID: randID("", 5), Amount: amt, At: s.cfg.Now()}
	p.Refunded += amt
	p.Refunds = append(p.Refunds, rr)
	s.refunds.Add(1)
	writeJSON(w, http.StatusOK, s.refundView(p, rr))
}

func (s *Sim) refundView(p *Payment, rr RefundRecord) map[string]any {
	return map[string]any{
		"completedTime": bkash.FormatTime(rr.At), "transactionStatus": stCompleted, "originalTrxID": p.TrxID,
		"refundTrxID": rr.RefundTrxID, "amount": rr.Amount.String(), "currency": "BDT", "charge": "0.00",
		"statusCode": "0000", "statusMessage": "Successful",
	}
}

func (s *Sim) search(w http.ResponseWriter, _ *http.Request, body map[string]any) {
	trx := strings.ToUpper(str(body, "trxID"))
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[s.trx[trx]]
	if !ok {
		fail(w, "2033", "Transaction not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"trxID": p.TrxID, "initiationTime": bkash.FormatTime(p.CreatedAt), "completedTime": bkash.FormatTime(p.ExecutedAt),
		"transactionType": "bKash Tokenized Checkout via API", "customerMsisdn": p.Wallet, "transactionStatus": stCompleted,
		"amount": p.Amount.String(), "currency": "BDT", "organizationShortCode": "50022",
		"statusCode": "0000", "statusMessage": "Successful",
	})
}

// --- customer page ---

var pageTmpl = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>bKash sandbox simulator: pay {{.Amount}} BDT</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}h1{color:#e2136e}
button{font-size:1rem;margin:.3rem .3rem 0 0;padding:.5rem 1rem}.msg{color:#a00}</style></head>
<body><h1>bKash (simulator)</h1>
{{if .Message}}<p class="msg" id="message">{{.Message}}</p>{{end}}
{{if .ID}}<p>Merchant invoice <b id="invoice">{{.Invoice}}</b></p>
<p>Amount <b id="amount">{{.Amount}}</b> BDT</p>
{{if .Open}}<form method="post" action="/pay">
<input type="hidden" name="paymentId" value="{{.ID}}">
<label>Your bKash account number <input id="wallet" name="wallet" value="{{.Wallet}}" inputmode="numeric" maxlength="14"></label>
<p><small>Use {{.Insufficient}} to get "Insufficient Balance".</small></p>
<button id="approve" name="action" value="approve" type="submit">Confirm</button>
<button id="fail" name="action" value="fail" type="submit">Fail</button>
<button id="cancel" name="action" value="cancel" type="submit">Close</button>
</form>{{end}}{{end}}
</body></html>`))

type pageData struct {
	ID, Invoice, Amount, Wallet, Insufficient, Message string
	Open                                               bool
}

func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("paymentId")
	s.mu.Lock()
	p, ok := s.payments[id]
	var d pageData
	if ok {
		d = pageData{ID: p.PaymentID, Invoice: p.Invoice, Amount: p.Amount.String(), Wallet: DefaultWallet,
			Insufficient: s.cfg.InsufficientWallet, Open: p.State == stInitiated}
		if !d.Open {
			d.Message = "This payment was already " + strings.ToLower(p.State) + "."
		}
	}
	s.mu.Unlock()
	status := http.StatusOK
	if !ok {
		status, d.Message = http.StatusNotFound, "Unknown or expired payment."
	}
	renderPage(w, status, d)
}

func renderPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

func (s *Sim) decide(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, pageData{Message: "Malformed form."})
		return
	}
	to, err := s.Decide(r.PostForm.Get("paymentId"), r.PostForm.Get("action"), r.PostForm.Get("wallet"))
	switch {
	case errors.Is(err, ErrUnknownPayment):
		renderPage(w, http.StatusNotFound, pageData{Message: "Unknown or expired payment."})
		return
	case errors.Is(err, ErrNotInitiated):
		renderPage(w, http.StatusConflict, pageData{Message: "This payment was already handled."})
		return
	case err != nil:
		renderPage(w, http.StatusBadRequest, pageData{Message: "Choose Confirm, Fail or Close."})
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
