package ingest_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest/ingesttest"
)

// Hot-path benchmarks: one accepted payment per iteration through the full router (request id,
// in-flight bound, metrics, auth, validation, Redis lookups, event encoding), in memory with no
// socket, and a publisher that acknowledges at once. What they measure is the handler's own cost
// and allocations per request; Kafka's is measured by bench/stages. Redis is the real one
// (ingesttest's fixture, every surface mounted), so ns/op includes its round trips; allocs/op
// includes go-redis's.
//
//	go test -run '^$' -bench HotPath -benchmem ./ingest

// benchTrxSeq makes every iteration of every round a new payment (the SMS route dedupes by text).
var benchTrxSeq atomic.Uint64

// putTrx writes a fresh 9-character upper-case base-36 sequence into dst without allocating.
func putTrx(dst []byte) {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	n := benchTrxSeq.Add(1)
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = digits[n%36]
		n /= 36
	}
}

// hotPathRequest runs b.N requests built by fill on one reused RequestCtx, as the server reuses
// its contexts, and fails on any answer but want.
func hotPathRequest(b *testing.B, h fasthttp.RequestHandler, path string, headers map[string]string, body []byte, trxAt int, want int) {
	b.Helper()
	salt := []byte(randHex(2))
	copy(body[trxAt+1:], bytes.ToUpper(salt)[:3]) // the first 3 of 10 characters differ per run
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.ResetUserValues()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.SetContentType("application/json")
		for k, v := range headers {
			ctx.Request.Header.Set(k, v)
		}
		putTrx(body[trxAt+4 : trxAt+10])
		ctx.Request.SetBodyRaw(body)
		h(&ctx)
		if code := ctx.Response.StatusCode(); code != want {
			b.Fatalf("answer %d, want %d: %s", code, want, ctx.Response.Body())
		}
	}
}

func BenchmarkHotPathSimulator(b *testing.B) {
	d := smsSetup(b)
	code, in, _ := d.f.do("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": d.m.key}, `{"amount":500,"currency":"BDT","customerReference":"BENCH-1"}`)
	if code != 201 {
		b.Fatalf("creating intent: %d %v", code, in)
	}
	d.f.Pub.Swap(ingesttest.NopPublisher{})
	body := fmt.Appendf(nil, `{"paymentIntentId":%q,"amount":500,"trxId":"BXXXXXXXXX","senderMsisdn":"01783110247"}`, in["id"])
	at := bytes.Index(body, []byte("BXXXXXXXXX"))
	hotPathRequest(b, d.f.S.Handler(), "/v1/sandbox/sms-events/simulate", map[string]string{"X-Api-Key": d.m.key}, body, at, 202)
}

func BenchmarkHotPathSMSForwarder(b *testing.B) {
	d := smsSetup(b)
	d.f.Pub.Swap(ingesttest.NopPublisher{})
	body := []byte(ingesttest.SMSForwarderBody("bKash", ingesttest.SMSBKash("BXXXXXXXXX", ingesttest.SMSAt), ingesttest.SMSAt, "1"))
	at := bytes.Index(body, []byte("BXXXXXXXXX"))
	hotPathRequest(b, d.f.S.Handler(), "/v1/sms/"+d.token+"/forwarder", nil, body, at, 202)
}
