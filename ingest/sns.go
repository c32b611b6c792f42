package ingest

// snsRoutes registers seed 003's SNS-shaped notification endpoint.
func (s *Server) snsRoutes(route routeFunc) {}
