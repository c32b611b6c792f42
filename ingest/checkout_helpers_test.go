package ingest

// Helpers of the cross-surface tests for the hosted checkout (ingest/checkout, mounted on the test
// servers by surfaces_test.go); the surface's own tests are in ingest/checkout.

import (
	"net"

	"github.com/valyala/fasthttp"
)

const coForm = "application/x-www-form-urlencoded"

// coReq is one checkout request: contentType "" sends none; peer is the TCP peer (default
// 198.51.100.7, a public address, so X-Forwarded-For is ignored unless peer is private).
type coReq struct {
	method, path, contentType, body string
	headers                         map[string]string
	peer                            string
}

// coDo runs r through the router in memory and returns the status, the body and the response.
func (f *fixture) coDo(r coReq) (int, string, *fasthttp.Response) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(r.method)
	ctx.Request.SetRequestURI(r.path)
	if r.contentType != "" {
		ctx.Request.Header.SetContentType(r.contentType)
	}
	for k, v := range r.headers {
		ctx.Request.Header.Set(k, v)
	}
	ctx.Request.SetBodyString(r.body)
	peer := r.peer
	if peer == "" {
		peer = "198.51.100.7"
	}
	ctx.SetRemoteAddr(&net.TCPAddr{IP: net.ParseIP(peer), Port: 40000})
	f.s.srv.Handler(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return ctx.Response.StatusCode(), string(ctx.Response.Body()), resp
}
