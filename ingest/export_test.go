package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/bkash"
	"github.com/paystream/paystream/pipeline/directory"
	"github.com/paystream/paystream/pipeline/state"
)

// MountForTest mounts the surfaces that live in their own packages (ingest/admin, ingest/txnapi, …) on every
// server these tests build. surfaces_test.go (package ingest_test, which may import them) sets it:
// the cross-surface tests here (the route walk, the claims, amounts and limits suites) then see
// the whole route table.
var MountForTest func(s *Server, cfg Config, st *state.Store, o TestOptions)

// TestOptions are the settings of the mounted surfaces that these tests change.
type TestOptions struct {
	SNSExtraHosts     []string                       // sns.Config.ExtraHosts
	SMSTrustedSenders map[pipeline.Provider][]string // sms.Config.TrustedSenders
	Redis             redis.UniversalClient          // sms.Deps.Redis (newForTest sets the server's)
	Bkash             *TestBkash                     // tokenized.Config (nil: bkash_tokenized off)
}

// TestBkash is the bKash setup of the tokenized surface (tokenized.Config's fields).
type TestBkash struct {
	Client      *bkash.Client
	Defaults    map[pipeline.Environment]*bkash.Credentials
	QueryDelay  time.Duration
	CallTimeout time.Duration
}

// DirectoryForTest is s's merchant directory (the admin API that MountForTest mounts writes through
// it).
func (s *Server) DirectoryForTest() *directory.Directory { return s.dir }

// AdminTokenForTest is the admin token of the admin API MountForTest mounts on a server of keys.
func AdminTokenForTest(keys pipeline.Keys) string { return "adm_" + keys.Prefix }

// newForTest is New plus MountForTest (with opts[0], if given).
func newForTest(cfg Config, rdb redis.UniversalClient, pub Publisher, st *state.Store, reg prometheus.Registerer, opts ...TestOptions) *Server {
	d := Deps{Redis: rdb, Pub: pub, State: st}
	if rdb == nil { // a server built only for its error shapes: clients that are never called
		d.Redis = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
		d.Pub, d.State = nopPub{}, state.New(d.Redis, cfg.Keys)
	}
	s, err := New(cfg, d, reg)
	if err != nil {
		panic(err)
	}
	var o TestOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Redis = rdb
	if MountForTest != nil {
		MountForTest(s, cfg, st, o)
	}
	return s
}
