package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
)

// BkashConfig is the bKash Tokenized Checkout upstream (the aggregator's own credentials, shared by
// every merchant). Secrets are given as references (env:NAME or file:PATH), never in clear.
type BkashConfig struct {
	BaseURL      string        `name:"bkash-base-url" env:"PAYSTREAM_BKASH_BASE_URL" help:"bKash Tokenized Checkout base URL: https://tokenized.sandbox.bka.sh/v1.2.0-beta (sandbox), https://tokenized.pay.bka.sh/v1.2.0-beta (production), or a simulator. Empty: paymentMethod bkash_tokenized is off."`
	Username     string        `name:"bkash-username" env:"PAYSTREAM_BKASH_USERNAME" help:"bKash merchant username."`
	AppKey       string        `name:"bkash-app-key" env:"PAYSTREAM_BKASH_APP_KEY" help:"bKash app key."`
	PasswordRef  string        `name:"bkash-password-ref" env:"PAYSTREAM_BKASH_PASSWORD_REF" help:"Where the bKash password is: env:NAME or file:PATH."`
	AppSecretRef string        `name:"bkash-app-secret-ref" env:"PAYSTREAM_BKASH_APP_SECRET_REF" help:"Where the bKash app secret is: env:NAME or file:PATH."`
	Timeout      time.Duration `name:"bkash-timeout" env:"PAYSTREAM_BKASH_TIMEOUT" default:"30s" help:"Timeout of one bKash call (bKash asks for 30s on execute)."`
	QueryDelay   time.Duration `name:"bkash-query-delay" env:"PAYSTREAM_BKASH_QUERY_DELAY" default:"1s" help:"Wait before asking payment/status after an execute without a clear answer."`
}

// credentials resolves the secret references; nil, nil when bKash is not configured.
func (b *BkashConfig) credentials() (*bkash.Credentials, error) {
	if b.BaseURL == "" {
		return nil, nil
	}
	pw, err := bkash.ResolveSecret(b.PasswordRef)
	if err != nil {
		return nil, fmt.Errorf("--bkash-password-ref: %w", err)
	}
	sec, err := bkash.ResolveSecret(b.AppSecretRef)
	if err != nil {
		return nil, fmt.Errorf("--bkash-app-secret-ref: %w", err)
	}
	cr := &bkash.Credentials{BaseURL: b.BaseURL, Username: b.Username, AppKey: b.AppKey, Password: pw, AppSecret: sec}
	if err := cr.Validate(); err != nil {
		return nil, fmt.Errorf("--bkash-*: %w", err)
	}
	return cr, nil
}

// tokenizedConfig builds ingest's bKash upstream, or nil when --bkash-base-url is empty.
func tokenizedConfig(cfg *Config, rdb redis.UniversalClient, reg prometheus.Registerer) (*ingest.TokenizedConfig, error) {
	cr, err := cfg.Bkash.credentials()
	if err != nil || cr == nil {
		return nil, err
	}
	client := bkash.New(bkash.Config{
		KeyPrefix: cfg.RedisPrefix, Timeout: cfg.Bkash.Timeout, Metrics: bkash.NewMetrics(reg), Logger: cfg.logger(),
	}, rdb)
	return &ingest.TokenizedConfig{Client: client, Credentials: cr, QueryDelay: cfg.Bkash.QueryDelay, CallTimeout: cfg.Bkash.Timeout}, nil
}

// BkashSimCmd serves the bKash Tokenized Checkout simulator.
type BkashSimCmd struct {
	Addr          string        `name:"addr" env:"PAYSTREAM_BKASH_SIM_ADDR" default:"127.0.0.1:9095" help:"Listen address of the simulator."`
	TokenLifetime time.Duration `name:"token-lifetime" env:"PAYSTREAM_BKASH_SIM_TOKEN_LIFETIME" default:"1h" help:"Lifetime of the tokens it grants."`
}

// Run serves the simulator until SIGINT/SIGTERM.
func (c BkashSimCmd) Run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sim, err := bkashsim.Start(c.Addr, bkashsim.Config{TokenLifetime: c.TokenLifetime})
	if err != nil {
		return err
	}
	defer sim.Close()
	fmt.Print(simBanner(sim))
	<-ctx.Done()
	return nil
}

func simBanner(sim *bkashsim.Sim) string {
	return fmt.Sprintf(`bKash tokenized checkout simulator on %s
  point paystream at it:
    PAYSTREAM_BKASH_BASE_URL=%s PAYSTREAM_BKASH_USERNAME=%s PAYSTREAM_BKASH_APP_KEY=%s \
    BKASH_PW=%s BKASH_SECRET=%s PAYSTREAM_BKASH_PASSWORD_REF=env:BKASH_PW PAYSTREAM_BKASH_APP_SECRET_REF=env:BKASH_SECRET
  wallet %s fails execute with 2023 (insufficient balance)
`, sim.Addr(), sim.BaseURL(), bkashsim.DefaultUsername, bkashsim.DefaultAppKey, bkashsim.DefaultPassword, bkashsim.DefaultAppSecret,
		bkashsim.DefaultInsufficientWallet)
}

// startDevSim starts the simulator for `paystream dev --bkash-sim` and points cfg.Bkash at it.
func startDevSim(cfg *Config, addr string) (*bkashsim.Sim, error) {
	sim, err := bkashsim.Start(addr, bkashsim.Config{})
	if err != nil {
		return nil, fmt.Errorf("starting the bkash simulator: %w", err)
	}
	cr := sim.Credentials()
	cfg.Bkash.BaseURL, cfg.Bkash.Username, cfg.Bkash.AppKey = cr.BaseURL, cr.Username, cr.AppKey
	// The simulator's published test credentials, handed over through this process's environment
	// so the same reference mechanism as production is used.
	if err := os.Setenv("PAYSTREAM_BKASH_SIM_PASSWORD", cr.Password.Reveal()); err != nil {
		return nil, fmt.Errorf("setting simulator credentials: %w", err)
	}
	if err := os.Setenv("PAYSTREAM_BKASH_SIM_APP_SECRET", cr.AppSecret.Reveal()); err != nil {
		return nil, fmt.Errorf("setting simulator credentials: %w", err)
	}
	cfg.Bkash.PasswordRef, cfg.Bkash.AppSecretRef = "env:PAYSTREAM_BKASH_SIM_PASSWORD", "env:PAYSTREAM_BKASH_SIM_APP_SECRET"
	return sim, nil
}
