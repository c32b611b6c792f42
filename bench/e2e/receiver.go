package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paystream/paystream/pipeline/webhooksig"
)

// receiver is the merchants' webhook endpoint: merchant m's URL is <base>/m/<m>. It verifies both
// signatures of every webhook (X-Signature and Standard Webhooks) with that merchant's secret,
// answers 401 to a bad one (so paystream retries, and the count shows it), and records each
// payment.paid in the payment of its intent.
//
// secrets are written during set-up, before the server starts, and only read after; index is
// written during set-up or, when intents are created inside the load, by register.
type receiver struct {
	secrets []string // webhook secret by merchant index
	pays    []payment

	mu            sync.Mutex
	index         map[string]int // intent id -> payment index
	paid          int            // payments with at least one payment.paid
	badSignatures int
	unknownIntent int // verified webhooks about an intent this run did not create
	unknownPath   int
	malformed     int
}

// webhookPath is the path of merchant m's webhook URL.
func webhookPath(m int) string { return "/m/" + strconv.Itoa(m) }

// merchantOf is the merchant index of a webhook path, or -1.
func merchantOf(path string, merchants int) int {
	s, ok := strings.CutPrefix(path, "/m/")
	if !ok {
		return -1
	}
	m, err := strconv.Atoi(s)
	if err != nil || m < 0 || m >= merchants {
		return -1
	}
	return m
}

// nativeWebhook is the part of seed 004's webhook the receiver reads.
type nativeWebhook struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		IntentID  string `json:"payment_intent_id"`
		TrxID     string `json:"trx_id"`
		MatchType string `json:"match_type"`
	} `json:"data"`
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now().UnixNano()
	b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	m := merchantOf(req.URL.Path, len(r.secrets))
	if err != nil || m < 0 {
		r.count(&r.unknownPath)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	secret := r.secrets[m]
	if webhooksig.VerifyXSignature(secret, b, req.Header.Get(webhooksig.HeaderXSignature)) != nil ||
		webhooksig.VerifyStandard(secret, b, req.Header) != nil {
		r.count(&r.badSignatures)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev nativeWebhook
	if json.Unmarshal(b, &ev) != nil || ev.ID == "" || ev.Data.IntentID == "" {
		r.count(&r.malformed)
		w.WriteHeader(http.StatusOK) // signed by paystream: retrying would not change it
		return
	}
	decided, _ := time.Parse(time.RFC3339Nano, ev.Timestamp)
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[ev.Data.IntentID]
	if !ok {
		r.unknownIntent++
		w.WriteHeader(http.StatusOK)
		return
	}
	p := &r.pays[i]
	if p.merchant != m {
		p.wrongMerchant++
	}
	switch {
	case ev.Event != "payment.paid":
		p.otherEvents++
	case p.paidEvents == 0:
		p.paidEvents = 1
		p.paidAt, p.paidEventID, p.matchType = now, ev.ID, ev.Data.MatchType
		if !decided.IsZero() {
			p.decidedAt = decided.UnixNano()
		}
		p.wrongTrx = ev.Data.TrxID != p.trx
		r.paid++
	case ev.ID == p.paidEventID:
		p.redeliveries++
	default:
		p.paidEvents++
		if ev.Data.TrxID != p.trx {
			p.wrongTrx = true
		}
	}
	w.WriteHeader(http.StatusOK)
}

// register records that intent id is payment i's, before its payment is sent.
func (r *receiver) register(id string, i int) {
	r.mu.Lock()
	if r.index == nil {
		r.index = map[string]int{}
	}
	r.index[id] = i
	r.mu.Unlock()
}

func (r *receiver) count(c *int) {
	r.mu.Lock()
	*c++
	r.mu.Unlock()
}
