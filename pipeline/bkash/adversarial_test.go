package bkash_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
)

// Issue 13 finding 4: an upstream serves only the environment it is declared for.

// TestAdversarialUpstreamEnvironment is the table of base URLs per declared environment.
func TestAdversarialUpstreamEnvironment(t *testing.T) {
	cases := []struct {
		env  pipeline.Environment
		base string
		ok   bool
	}{
		{pipeline.Live, bkash.ProductionBaseURL, true},
		{pipeline.Live, "https://proxy.aggregator.example/bkash/v1.2.0-beta", true},
		{pipeline.Live, bkash.SandboxBaseURL, false},
		{pipeline.Live, "https://TOKENIZED.SANDBOX.BKA.SH./v1.2.0-beta", false},
		{pipeline.Live, "https://checkout.sandbox.bka.sh/v1.2.0-beta", false},
		{pipeline.Live, "https://sandbox.bka.sh/", false},
		{pipeline.Live, "http://tokenized.pay.bka.sh/v1.2.0-beta", false},
		{pipeline.Live, "http://127.0.0.1:9095/v1.2.0-beta", false}, // the simulator of paystream dev
		{pipeline.Sandbox, bkash.SandboxBaseURL, true},
		{pipeline.Sandbox, "http://127.0.0.1:9095/v1.2.0-beta", true},
		{pipeline.Sandbox, bkash.ProductionBaseURL, false},
		{pipeline.Sandbox, "https://Tokenized.Pay.Bka.Sh:443/v1.2.0-beta", false},
		{pipeline.Sandbox, "https://checkout.pay.bka.sh/v1.2.0-beta", false},
		{pipeline.Sandbox, "https://bka.sh/", false},
		{"", bkash.SandboxBaseURL, false},
		{"", "http://127.0.0.1:9095/v1.2.0-beta", false},
		{"sandbox", bkash.SandboxBaseURL, false},
		{pipeline.Live, "tokenized.pay.bka.sh", false},
	}
	for _, c := range cases {
		err := bkash.CheckUpstream(c.env, c.base)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, bkash.ErrEnvironment)) {
			t.Errorf("CheckUpstream(%q, %q) = %v, want ok=%v", c.env, c.base, err, c.ok)
		}
		cr := bkash.Credentials{Environment: c.env, BaseURL: c.base, Username: "u", AppKey: "k",
			Password: bkash.NewSecret("p"), AppSecret: bkash.NewSecret("s")}
		if err := cr.Validate(); (err == nil) != c.ok {
			t.Errorf("Validate(%s %q) = %v, want ok=%v", c.env, c.base, err, c.ok)
		}
	}
}

// A simulator answering a LIVE credential set is refused before its answer is read, on every
// operation (here the token grant, which every call starts with): nothing it says can pay a LIVE
// intent, even behind https at a production-looking address.
func TestAdversarialLiveRefusesSimulator(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	srv := httptest.NewTLSServer(e.sim)
	t.Cleanup(srv.Close)
	c, m := e.client(t, nil)
	live := *e.cr
	live.Environment, live.BaseURL = pipeline.Live, srv.URL+bkashsim.BasePath
	c2, _ := e.client(t, func(cfg *bkash.Config) { cfg.HTTPClient = srv.Client() })
	for _, op := range []func() error{
		func() error {
			_, err := c2.Create(ctx(t), &live, bkash.CreateRequest{Amount: pipeline.BDT(500), CallbackURL: "https://x.example/cb", MerchantInvoiceNumber: "i1"})
			return err
		},
		func() error { _, err := c2.Execute(ctx(t), &live, "TR0011X"); return err },
		func() error { _, err := c2.Query(ctx(t), &live, "TR0011X"); return err },
	} {
		if err := op(); !errors.Is(err, bkash.ErrEnvironment) {
			t.Fatalf("LIVE call answered by the simulator: %v, want ErrEnvironment", err)
		}
	}
	if e.sim.Creates() != 0 {
		t.Fatal("a LIVE create reached the simulator")
	}
	// The same simulator declared SANDBOX works.
	if _, err := c.Create(ctx(t), e.cr, bkash.CreateRequest{Amount: pipeline.BDT(500), CallbackURL: "https://x.example/cb", MerchantInvoiceNumber: "i2"}); err != nil {
		t.Fatalf("SANDBOX create at the simulator: %v", err)
	}
	if counter(m.Grants()) != 1 {
		t.Fatalf("grants %v", counter(m.Grants()))
	}
}

// Tokens are cached per environment and owner as well as per account: two merchants that name the
// same username and app key never share a token (the second must obtain its own with its own
// password), and neither does the server default.
func TestAdversarialTokenPerOwner(t *testing.T) {
	e := newEnv(t, bkashsim.Config{})
	c, m := e.client(t, nil)
	a, b, def := *e.cr, *e.cr, *e.cr
	a.Owner, b.Owner = "mch_a", "mch_b"
	ids := map[string]bool{a.ID(): true, b.ID(): true, def.ID(): true}
	if len(ids) != 3 {
		t.Fatal("two owners share a token-cache identity")
	}
	for _, cr := range []*bkash.Credentials{&a, &b, &def} {
		if _, err := c.Query(ctx(t), cr, "TR0011X"); err != nil && !errors.Is(err, bkash.ErrNotFound) {
			t.Fatalf("%s: %v", cr.Owner, err)
		}
	}
	if got := counter(m.Grants()); got != 3 {
		t.Fatalf("grants = %v, want one per owner (3)", got)
	}
	// B with a wrong password gets no token, though A's token for the same account is cached.
	bad := b
	bad.Owner, bad.Password = "mch_c", bkash.NewSecret("wrong")
	if _, err := c.Query(ctx(t), &bad, "TR0011X"); !errors.Is(err, bkash.ErrCredentials) {
		t.Fatalf("another owner with a wrong password: %v, want ErrCredentials", err)
	}
	if s := (bkash.Credentials{Environment: pipeline.Live, Owner: "mch_a", BaseURL: "https://x", AppKey: "abcdefghij"}).String(); !strings.Contains(s, "LIVE") || strings.Contains(s, "abcdefghij") {
		t.Fatalf("String() = %s", s)
	}
}
