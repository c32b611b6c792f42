package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest/tokenized"
	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/bkash/bkashsim"
)

// BkashConfig is the bKash Tokenized Checkout setup: the server's default upstream of each
// environment (the aggregator's own bKash merchant accounts) and the call timings. A merchant's own
// bKash account for an environment (admin API PUT /admin/v1/merchants/{id}/bkash/{env}) takes
// precedence over the default. SANDBOX intents only ever reach the SANDBOX upstream and LIVE ones
// the LIVE upstream; an environment with no upstream refuses bkash_tokenized intents (422).
// Secrets are given as references (env:NAME or file:PATH), never in clear.
type BkashConfig struct {
	Sandbox    BkashUpstreamConfig `embed:"" prefix:"bkash-sandbox-" envprefix:"PAYSTREAM_BKASH_SANDBOX_" group:"bKash tokenized checkout: SANDBOX upstream"`
	Live       BkashUpstreamConfig `embed:"" prefix:"bkash-live-" envprefix:"PAYSTREAM_BKASH_LIVE_" group:"bKash tokenized checkout: LIVE upstream"`
	Timeout    time.Duration       `name:"bkash-timeout" env:"PAYSTREAM_BKASH_TIMEOUT" default:"30s" help:"Timeout of one bKash call (bKash asks for 30s on execute)."`
	QueryDelay time.Duration       `name:"bkash-query-delay" env:"PAYSTREAM_BKASH_QUERY_DELAY" default:"1s" help:"Wait before asking payment/status after an execute without a clear answer."`

	// The single, environment-less upstream of earlier versions served SANDBOX and LIVE intents
	// alike. Its settings are refused with a message naming their replacements.
	LegacyBaseURL      string `name:"bkash-base-url" env:"PAYSTREAM_BKASH_BASE_URL" hidden:""`
	LegacyUsername     string `name:"bkash-username" env:"PAYSTREAM_BKASH_USERNAME" hidden:""`
	LegacyAppKey       string `name:"bkash-app-key" env:"PAYSTREAM_BKASH_APP_KEY" hidden:""`
	LegacyPasswordRef  string `name:"bkash-password-ref" env:"PAYSTREAM_BKASH_PASSWORD_REF" hidden:""`
	LegacyAppSecretRef string `name:"bkash-app-secret-ref" env:"PAYSTREAM_BKASH_APP_SECRET_REF" hidden:""`
}

// BkashUpstreamConfig is one environment's default upstream. Empty BaseURL: none.
type BkashUpstreamConfig struct {
	BaseURL      string `name:"base-url" env:"BASE_URL" help:"bKash Tokenized Checkout base URL of this environment. SANDBOX: https://tokenized.sandbox.bka.sh/v1.2.0-beta or a simulator (never bKash production). LIVE: https://tokenized.pay.bka.sh/v1.2.0-beta (https; never bKash's sandbox or a simulator). Empty: no default upstream in this environment."`
	Username     string `name:"username" env:"USERNAME" help:"bKash merchant username."`
	AppKey       string `name:"app-key" env:"APP_KEY" help:"bKash app key."`
	PasswordRef  string `name:"password-ref" env:"PASSWORD_REF" help:"Where the bKash password is: env:NAME or file:PATH."`
	AppSecretRef string `name:"app-secret-ref" env:"APP_SECRET_REF" help:"Where the bKash app secret is: env:NAME or file:PATH."`
}

// validate refuses the settings of the environment-less upstream of earlier versions.
func (b *BkashConfig) validate() error {
	if b.LegacyBaseURL != "" || b.LegacyUsername != "" || b.LegacyAppKey != "" || b.LegacyPasswordRef != "" || b.LegacyAppSecretRef != "" {
		return fmt.Errorf("--bkash-base-url/--bkash-username/--bkash-app-key/--bkash-password-ref/--bkash-app-secret-ref " +
			"(PAYSTREAM_BKASH_BASE_URL, ...) no longer exist: a bKash upstream serves one environment, so declare it " +
			"with --bkash-sandbox-* (PAYSTREAM_BKASH_SANDBOX_BASE_URL, _USERNAME, _APP_KEY, _PASSWORD_REF, _APP_SECRET_REF) " +
			"or --bkash-live-* (PAYSTREAM_BKASH_LIVE_...)")
	}
	return nil
}

// credentials resolves the secret references of env's default upstream and checks that it fits
// env (bkash.CheckUpstream); nil, nil when the environment has none.
func (u *BkashUpstreamConfig) credentials(env pipeline.Environment) (*bkash.Credentials, error) {
	flag := "--bkash-" + strings.ToLower(string(env)) + "-"
	if u.BaseURL == "" {
		if u.Username != "" || u.AppKey != "" || u.PasswordRef != "" || u.AppSecretRef != "" {
			return nil, fmt.Errorf("%sbase-url is required when other %s* settings are given", flag, flag)
		}
		return nil, nil
	}
	pw, err := bkash.ResolveSecret(u.PasswordRef)
	if err != nil {
		return nil, fmt.Errorf("%spassword-ref: %w", flag, err)
	}
	sec, err := bkash.ResolveSecret(u.AppSecretRef)
	if err != nil {
		return nil, fmt.Errorf("%sapp-secret-ref: %w", flag, err)
	}
	cr := &bkash.Credentials{Environment: env, BaseURL: u.BaseURL, Username: u.Username, AppKey: u.AppKey, Password: pw, AppSecret: sec}
	if err := cr.Validate(); err != nil {
		return nil, fmt.Errorf("%s*: %w", flag, err)
	}
	return cr, nil
}

// defaults checks the bKash settings and resolves the default upstream of each environment that
// has one. The ingest role calls it before connecting to anything, so a misdeclared upstream stops
// the process at start with an error naming the setting.
func (b *BkashConfig) defaults() (map[pipeline.Environment]*bkash.Credentials, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	out := map[pipeline.Environment]*bkash.Credentials{}
	for _, env := range []pipeline.Environment{pipeline.Sandbox, pipeline.Live} {
		u := &b.Sandbox
		if env == pipeline.Live {
			u = &b.Live
		}
		cr, err := u.credentials(env)
		if err != nil {
			return nil, err
		}
		if cr != nil {
			out[env] = cr
		}
	}
	return out, nil
}

// tokenizedConfig builds the bKash setup of ingest/tokenized: always a client (merchants may bring
// their own bKash accounts), and the default upstreams (BkashConfig.defaults).
func tokenizedConfig(cfg *Config, defaults map[pipeline.Environment]*bkash.Credentials, rdb redis.UniversalClient, reg prometheus.Registerer) tokenized.Config {
	client := bkash.New(bkash.Config{
		KeyPrefix: cfg.RedisPrefix, Timeout: cfg.Bkash.Timeout, Metrics: bkash.NewMetrics(reg), Logger: cfg.logger(),
	}, rdb)
	return tokenized.Config{Client: client, Defaults: defaults, QueryDelay: cfg.Bkash.QueryDelay, CallTimeout: cfg.Bkash.Timeout}
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
  point paystream's SANDBOX upstream at it (a simulator never serves LIVE):
    PAYSTREAM_BKASH_SANDBOX_BASE_URL=%s PAYSTREAM_BKASH_SANDBOX_USERNAME=%s PAYSTREAM_BKASH_SANDBOX_APP_KEY=%s \
    BKASH_PW=%s BKASH_SECRET=%s PAYSTREAM_BKASH_SANDBOX_PASSWORD_REF=env:BKASH_PW PAYSTREAM_BKASH_SANDBOX_APP_SECRET_REF=env:BKASH_SECRET
  wallet %s fails execute with 2023 (insufficient balance)
`, sim.Addr(), sim.BaseURL(), bkashsim.DefaultUsername, bkashsim.DefaultAppKey, bkashsim.DefaultPassword, bkashsim.DefaultAppSecret,
		bkashsim.DefaultInsufficientWallet)
}

// startDevSim starts the simulator for `paystream dev --bkash-sim` and points the SANDBOX default
// upstream at it; the LIVE upstream is left as configured (a simulator never serves LIVE).
func startDevSim(cfg *Config, addr string) (*bkashsim.Sim, error) {
	sim, err := bkashsim.Start(addr, bkashsim.Config{})
	if err != nil {
		return nil, fmt.Errorf("starting the bkash simulator: %w", err)
	}
	cr := sim.Credentials()
	sb := &cfg.Bkash.Sandbox
	sb.BaseURL, sb.Username, sb.AppKey = cr.BaseURL, cr.Username, cr.AppKey
	// The simulator's published test credentials, handed over through this process's environment
	// so the same reference mechanism as production is used.
	if err := os.Setenv("PAYSTREAM_BKASH_SIM_PASSWORD", cr.Password.Reveal()); err != nil {
		return nil, fmt.Errorf("setting simulator credentials: %w", err)
	}
	if err := os.Setenv("PAYSTREAM_BKASH_SIM_APP_SECRET", cr.AppSecret.Reveal()); err != nil {
		return nil, fmt.Errorf("setting simulator credentials: %w", err)
	}
	sb.PasswordRef, sb.AppSecretRef = "env:PAYSTREAM_BKASH_SIM_PASSWORD", "env:PAYSTREAM_BKASH_SIM_APP_SECRET"
	return sim, nil
}
