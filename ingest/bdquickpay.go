package ingest

// bdquickpayRoutes registers seed 001's bdQuickPay-compatible merchant API.
func (s *Server) bdquickpayRoutes(route routeFunc) {}
