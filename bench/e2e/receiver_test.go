package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/webhooksig"
)

func TestReceiver(t *testing.T) {
	secrets := []string{webhooksig.NewSecret(), webhooksig.NewSecret()}
	pays := []payment{{intentID: "i0", merchant: 0, trx: "T0"}, {intentID: "i1", merchant: 1, trx: "T1"}, {intentID: "i2", merchant: 0, trx: "T2"}}
	r := &receiver{secrets: secrets, index: map[string]int{"i0": 0, "i1": 1, "i2": 2}, pays: pays}
	srv := httptest.NewServer(r)
	defer srv.Close()

	decided := time.Date(2026, 11, 21, 10, 0, 0, 123e6, time.UTC)
	send := func(m int, secret, id, event, intent, trx string) int {
		t.Helper()
		body := fmt.Appendf(nil, `{"id":%q,"event":%q,"environment":"SANDBOX","timestamp":%q,"data":{"payment_intent_id":%q,"trx_id":%q,"match_type":"AUTO_MATCH"}}`,
			id, event, decided.Format("2006-01-02T15:04:05.000Z07:00"), intent, trx)
		h, err := webhooksig.Sign(secret, id, time.Now(), body)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+webhookPath(m), bytes.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		m                           int
		secret, id, ev, intent, trx string
		want                        int
	}{
		{0, secrets[0], "e1", "payment.paid", "i0", "T0", 200},
		{0, secrets[0], "e1", "payment.paid", "i0", "T0", 200}, // a redelivery
		{0, secrets[0], "e2", "payment.paid", "i0", "T0", 200}, // a duplicate
		{0, secrets[0], "e3", "payment.paid", "i1", "T1", 200}, // i1 is merchant 1's: wrong merchant
		{1, secrets[0], "e4", "payment.paid", "i1", "T1", 401}, // signed with another merchant's secret
		{0, secrets[0], "e5", "payment.review_required", "i2", "T2", 200},
		{0, secrets[0], "e6", "payment.paid", "i2", "OTHER", 200}, // wrong TrxID
		{0, secrets[0], "e7", "payment.paid", "nope", "T0", 200},  // not this run's
	} {
		if got := send(c.m, c.secret, c.id, c.ev, c.intent, c.trx); got != c.want {
			t.Fatalf("%+v answered %d", c, got)
		}
	}
	resp, err := http.Post(srv.URL+"/elsewhere", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	p0, p1, p2 := &pays[0], &pays[1], &pays[2]
	if p0.paidEvents != 2 || p0.redeliveries != 1 || p0.paidEventID != "e1" || p0.matchType != "AUTO_MATCH" ||
		p0.decidedAt != decided.UnixNano() || p0.paidAt == 0 || p0.wrongTrx || p0.wrongMerchant != 0 {
		t.Errorf("i0: %+v", *p0)
	}
	if p1.paidEvents != 1 || p1.wrongMerchant != 1 {
		t.Errorf("i1: %+v", *p1)
	}
	if p2.otherEvents != 1 || p2.paidEvents != 1 || !p2.wrongTrx {
		t.Errorf("i2: %+v", *p2)
	}
	if r.badSignatures != 1 || r.unknownIntent != 1 || r.unknownPath != 1 || r.paid != 3 || paidAccepted(r) != 0 {
		t.Errorf("counters: bad %d unknown %d path %d paid %d", r.badSignatures, r.unknownIntent, r.unknownPath, r.paid)
	}
	if merchantOf("/m/1", 2) != 1 || merchantOf("/m/2", 2) != -1 || merchantOf("/m/x", 2) != -1 || merchantOf("/x/1", 2) != -1 {
		t.Error("merchantOf")
	}
}
