package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/surfaces"
	"github.com/paystream/paystream/pipeline/bus"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
)

// trxSeq numbers the TrxIDs of the whole process, so every request of every run is a new payment.
var trxSeq atomic.Uint64

var trxSalt = func() uint64 {
	v, _ := strconv.ParseUint(randHex(3), 16, 64)
	return v & (1<<20 - 1)
}()

// nextTrx returns a fresh bKash-shaped TrxID: "B" and 9 upper-case base-36 characters.
func nextTrx() string {
	n := trxSalt<<26 | (trxSeq.Add(1) & (1<<26 - 1))
	s := strings.ToUpper(strconv.FormatUint(n, 36))
	if len(s) < 9 {
		s = strings.Repeat("0", 9-len(s)) + s
	}
	return "B" + s
}

// httpTarget is one route's requests: path, headers and a fresh body per call.
type httpTarget struct {
	name    string
	path    string
	shown   string // path as reported (no credentials)
	headers map[string]string
	body    func() []byte
}

// runIngest measures ingest's simulator and SMS forwarder routes against bare fasthttp.
func runIngest(e *env) ([]Row, error) {
	const stage = "ingest"
	keys := e.keys(stage)
	defer e.cleanRedis(keys.Prefix)
	brk, bc, topics, err := e.broker(stage)
	if err != nil {
		return nil, err
	}
	defer brk.Close()
	reg := prometheus.NewRegistry()
	prod, err := bus.NewBusProducer(bc, 5*time.Second, 100_000, reg)
	if err != nil {
		return nil, err
	}
	defer prod.Close(context.Background())
	adminToken := "adm_" + randHex(12)
	st := state.New(e.rdb, keys)
	dir, err := directory.New(directory.Config{Keys: keys}, e.rdb)
	if err != nil {
		return nil, err
	}
	srv, err := ingest.New(ingest.Config{
		Addr: "127.0.0.1:0", Topics: topics, Keys: keys,
		ProduceTimeout: 5 * time.Second, Logger: e.log, RateLimitKey: 0, RateLimitIP: 0, // capacity, not limits
	}, ingest.Deps{Redis: e.rdb, Pub: prod, State: st, Directory: dir}, reg)
	if err != nil {
		return nil, err
	}
	// Every surface, mounted as cmd mounts them (the admin API onboards; the native API and SMS
	// forwarding are measured).
	if err := surfaces.Mount(srv, surfaces.Config{AdminToken: adminToken, AllowPrivateWebhooks: true, Keys: keys, Logger: e.log},
		surfaces.Deps{State: st, Directory: dir, Redis: e.rdb}); err != nil {
		return nil, err
	}
	addr, err := srv.Listen()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Run(ctx); err != nil {
			e.log.Error("ingest stopped", "err", err)
		}
	})
	defer func() { cancel(); wg.Wait(); srv.Close() }()

	hello, helloAddr, err := startHello()
	if err != nil {
		return nil, err
	}
	defer func() { _ = hello.Shutdown() }()

	targets, err := ingestSetup(addr.String(), adminToken)
	if err != nil {
		return nil, fmt.Errorf("onboarding a merchant through the admin API: %w", err)
	}
	ingestClient := newHostClient(addr.String(), e.opt.concurrency)
	helloClient := newHostClient(helloAddr, e.opt.concurrency)
	var rows []Row
	for _, t := range targets {
		row := Row{Stage: "ingest/" + t.name, Unit: "req", Target: 0.70}
		var bErr, cErr string
		row.Baseline, bErr = e.httpLoad(stage+"-"+t.name+"-baseline", helloClient, helloAddr, t,
			fmt.Sprintf(`bare fasthttp "hello", same requests (%s), %d closed-loop fasthttp clients`, t.shown, e.opt.concurrency))
		row.Component, cErr = e.httpLoad(stage+"-"+t.name+"-component", ingestClient, addr.String(), t,
			fmt.Sprintf("ingest.Server %s, 202 after Kafka ack (embedded broker, %d partitions), %d clients", t.shown, e.opt.partitions, e.opt.concurrency))
		row.Notes = "each request is a new payment (unique TrxID); errors = non-2xx or transport errors"
		if bErr != "" {
			row.Notes += "; baseline first error: " + bErr
		}
		if cErr != "" {
			row.Notes += "; component first error: " + cErr
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// startHello serves "hello" to every request on a random loopback port.
func startHello() (*fasthttp.Server, string, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("listening for the hello server: %w", err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello") }}
	go func() { _ = s.Serve(ln) }()
	return s, ln.Addr().String(), nil
}

func newHostClient(addr string, conns int) *fasthttp.HostClient {
	return &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadTimeout: 15 * time.Second, WriteTimeout: 15 * time.Second}
}

// httpLoad drives target on c for the stage duration with the configured concurrency.
func (e *env) httpLoad(name string, c *fasthttp.HostClient, addr string, t httpTarget, what string) (Measure, string) {
	type conn struct {
		req  *fasthttp.Request
		resp *fasthttp.Response
	}
	conns := make([]conn, e.opt.concurrency)
	for i := range conns {
		req := fasthttp.AcquireRequest()
		req.SetRequestURI("http://" + addr + t.path)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		for k, v := range t.headers {
			req.Header.Set(k, v)
		}
		conns[i] = conn{req, fasthttp.AcquireResponse()}
	}
	defer func() {
		for _, c := range conns {
			fasthttp.ReleaseRequest(c.req)
			fasthttp.ReleaseResponse(c.resp)
		}
	}()
	var firstErr atomic.Pointer[string]
	w := e.begin(name)
	ok, failed, elapsed := closedLoop(e.opt.duration, e.opt.concurrency, func(i int) bool {
		cn := conns[i]
		cn.req.SetBodyRaw(t.body())
		err := c.DoTimeout(cn.req, cn.resp, 15*time.Second)
		code := cn.resp.StatusCode()
		if err == nil && code >= 200 && code < 300 {
			return true
		}
		if firstErr.Load() == nil {
			s := fmt.Sprintf("%d %s", code, clip(string(cn.resp.Body()), 160))
			if err != nil {
				s = err.Error()
			}
			firstErr.CompareAndSwap(nil, &s)
		}
		return false
	})
	m := w.end(what, ok, failed, w.start, w.start.Add(elapsed))
	fe := ""
	if p := firstErr.Load(); p != nil {
		fe = *p
	}
	return m, fe
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ingestSetup onboards a merchant with one SANDBOX bKash wallet, opens one intent and registers one
// SMS forwarding device, all through the admin and merchant APIs, and returns the two measured routes.
func ingestSetup(addr, admin string) ([]httpTarget, error) {
	c := &fasthttp.Client{}
	call := func(method, path string, headers map[string]string, body string, want int) (map[string]any, error) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + path)
		req.Header.SetMethod(method)
		req.Header.SetContentType("application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		req.SetBodyString(body)
		if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		var out map[string]any
		_ = json.Unmarshal(resp.Body(), &out)
		if resp.StatusCode() != want {
			return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode(), clip(string(resp.Body()), 300))
		}
		return out, nil
	}
	adminHdr := map[string]string{"Authorization": "Bearer " + admin}
	account := fmt.Sprintf("017%08d", time.Now().UnixNano()%1e8)
	m, err := call("POST", "/admin/v1/merchants", adminHdr,
		fmt.Sprintf(`{"name":"Stage bench","wallets":[{"provider":"bkash","account":%q,"environment":"SANDBOX"}]}`, account), 201)
	if err != nil {
		return nil, err
	}
	merchantID, _ := m["id"].(string)
	apiKeys, _ := m["apiKeys"].(map[string]any)
	key, _ := apiKeys["SANDBOX"].(string)
	if merchantID == "" || key == "" {
		return nil, fmt.Errorf("merchant answer without id or SANDBOX key: %v", m)
	}
	in, err := call("POST", "/v1/payments/intents", map[string]string{"X-Api-Key": key},
		`{"amount":500,"currency":"BDT","customerReference":"BENCH-1"}`, 201)
	if err != nil {
		return nil, err
	}
	intentID, _ := in["id"].(string)
	dev, err := call("POST", "/admin/v1/merchants/"+merchantID+"/devices", adminHdr,
		fmt.Sprintf(`{"name":"Bench phone","environment":"SANDBOX","wallets":{"1":{"provider":"bkash","account":%q}}}`, account), 201)
	if err != nil {
		return nil, err
	}
	token, _ := dev["token"].(string)
	if intentID == "" || token == "" {
		return nil, errors.New("intent or device answer without id or token")
	}
	dhaka := time.FixedZone("Asia/Dhaka", 6*3600)
	return []httpTarget{
		{
			name: "simulator", path: "/v1/sandbox/sms-events/simulate", shown: "/v1/sandbox/sms-events/simulate", headers: map[string]string{"X-Api-Key": key},
			body: func() []byte {
				return fmt.Appendf(nil, `{"paymentIntentId":%q,"amount":500,"trxId":%q,"senderMsisdn":"01783110247"}`, intentID, nextTrx())
			},
		},
		{
			name: "sms", path: "/v1/sms/" + token + "/forwarder", shown: "/v1/sms/{token}/forwarder",
			body: func() []byte {
				now := time.Now()
				text := fmt.Sprintf("You have received Tk 500.00 from 01783110247. Fee Tk 0.00. Balance Tk 9,452.20. TrxID %s at %s",
					nextTrx(), now.In(dhaka).Format("02/01/2006 15:04"))
				return fmt.Appendf(nil, `{"from":"bKash","text":%q,"sentStamp":%d,"receivedStamp":%d,"sim":"1"}`,
					text, now.UnixMilli(), now.UnixMilli()+3000)
			},
		},
	}, nil
}
