package ingest

import (
	_ "embed"
	"net/http"

	"github.com/valyala/fasthttp"
)

// openAPIDoc is the OpenAPI 3 document of every route (ingest/openapi.json). openapi_test.go
// checks that its (method, path) set equals the router's, so a route added without documenting it
// fails the tests.
//
//go:embed openapi.json
var openAPIDoc []byte

// openapiRoutes serves the document at GET /openapi.json, public and cacheable.
func (s *Server) openapiRoutes(route func(method, path, name string, h fasthttp.RequestHandler)) {
	route(http.MethodGet, "/openapi.json", "openapi", s.handleOpenAPI)
}

func (s *Server) handleOpenAPI(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetBody(openAPIDoc)
}

// OpenAPI returns the OpenAPI 3 document of every route (ingest/openapi.json), served at GET
// /openapi.json. The caller must not modify it.
func OpenAPI() []byte { return openAPIDoc }
