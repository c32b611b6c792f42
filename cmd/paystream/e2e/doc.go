// Package e2e holds paystream's end-to-end tests; it has no code of its own. They build the
// binary from cmd/paystream (once per run, on first use), start it as `paystream dev` or as a
// fleet of single-role processes against the real Redis and ClickHouse, and drive it over HTTP
// like a merchant, a forwarding phone, a customer's browser (chromium) or an operator's CLI would;
// the failure tests (crash, scale-out, Redis down, Redis Cluster, overload, dead letters) are here
// too.
//
// Without Redis and ClickHouse every test here skips, naming deploy/local/test.sh, which starts
// them and runs everything with PAYSTREAM_TEST_SERVICES=1, under which a missing service or tool
// fails instead (pipeline/testenv). `make e2e` and `make chaos` run subsets.
package e2e
