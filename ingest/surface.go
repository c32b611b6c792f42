package ingest

import (
	"bytes"
	"errors"

	"github.com/valyala/fasthttp"
)

// Surface is one API dialect served by the edge (ingest/txnapi, …): its routes and its error shape.
// cmd builds each surface with what it needs and mounts it on the Server before Run.
type Surface interface {
	// Mount registers the surface's routes and error shape on m. It is called once, before Run.
	Mount(m *Mux)
}

// ErrorWriter answers ae in a surface's own error shape (status, body, content type). The
// Retry-After header of a 429/503 is already set when it is called.
type ErrorWriter func(ctx *fasthttp.RequestCtx, ae *APIError)

// HeaderWriter sets extra response headers on an answer the edge writes itself before a surface's
// handler runs (a 429 of the per-address or per-credential rate limit, a 400 of a body nesting
// JSON too deep): a surface whose every answer must carry some headers (the hosted checkout's
// security headers) registers one with Mux.RefusalHeaders.
type HeaderWriter func(ctx *fasthttp.RequestCtx)

// Mux is the route table as a surface sees it while it is mounted.
type Mux struct{ s *Server }

// Handle routes method and path to h behind the edge's instrumentation (request id, in-flight
// bound, IP rate limit, metrics labelled name). name must be a constant: it is a metrics label.
func (m *Mux) Handle(method, path, name string, h fasthttp.RequestHandler) {
	m.s.rtr.Handle(method, path, m.s.instrument(name, path, h))
}

// HandleErr is Handle for a handler that returns its failure instead of answering it: a non-nil
// error is answered with WriteError, that is in the error shape of the path (an *APIError with its
// status, anything else logged and answered 503).
func (m *Mux) HandleErr(method, path, name string, h func(ctx *fasthttp.RequestCtx) error) {
	m.Handle(method, path, name, func(ctx *fasthttp.RequestCtx) {
		if err := h(ctx); err != nil {
			var ae *APIError
			if !errors.As(err, &ae) {
				m.s.log.Error("request failed", "route", logPath(ctx), "err", err, "request_id", RequestID(ctx))
			}
			WriteError(ctx, err)
		}
	})
}

// ErrorShape makes w the error writer of every path under prefix: the surface's own answers, and
// the edge's (404, 405, 413, 429, 503, malformed requests) on those paths. Paths under no
// registered prefix get the native shape of seed 004. Prefixes must not overlap.
func (m *Mux) ErrorShape(prefix string, w ErrorWriter) {
	m.s.shapes = append(m.s.shapes, errorShape{prefix: []byte(prefix), write: w})
}

// RefusalHeaders makes h set its headers on the refusals the edge writes itself (rate limits, JSON
// depth; see HeaderWriter) on every path under prefix, before the error body is written in the
// path's error shape. Other answers of the edge (404, 405, 413, 503) do not get them. Prefixes must
// not overlap.
func (m *Mux) RefusalHeaders(prefix string, h HeaderWriter) {
	m.s.refusalHeaders = append(m.s.refusalHeaders, refusalHeaders{prefix: []byte(prefix), write: h})
}

// PaymentMethod makes pm serve intents created with paymentMethod name (the native create's
// paymentMethod field, e.g. pipeline.PaymentMethodBkashTokenized). One method per name.
func (m *Mux) PaymentMethod(name string, pm PaymentMethod) {
	if m.s.methods == nil {
		m.s.methods = map[string]PaymentMethod{}
	}
	m.s.methods[name] = pm
}

// Mount mounts the surfaces on the route table. Call it before Run, never while serving.
func (s *Server) Mount(surfaces ...Surface) {
	for _, sf := range surfaces {
		sf.Mount(&Mux{s: s})
	}
}

type errorShape struct {
	prefix []byte
	write  ErrorWriter
}

// shapeFor returns the error writer of path: the mounted surface whose prefix it has, else the
// native writer.
func (s *Server) shapeFor(path []byte) ErrorWriter {
	for _, sh := range s.shapes {
		if bytes.HasPrefix(path, sh.prefix) {
			return sh.write
		}
	}
	return writeNativeError
}

type refusalHeaders struct {
	prefix []byte
	write  HeaderWriter
}

type serverKey struct{}
