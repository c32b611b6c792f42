package ingest_test

import (
	"context"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/admin"
	"github.com/paystream/paystream/ingest/bdquickpay"
	"github.com/paystream/paystream/ingest/checkout"
	"github.com/paystream/paystream/ingest/native"
	"github.com/paystream/paystream/ingest/sms"
	"github.com/paystream/paystream/ingest/sns"
	"github.com/paystream/paystream/ingest/tokenized"
	"github.com/paystream/paystream/ingest/txnapi"
	"github.com/paystream/paystream/pipeline/state"
)

// init mounts the surfaces of their own packages on the servers of package ingest's tests, as cmd
// does (cmd/paystream's route table).
func init() {
	ingest.MountForTest = func(s *ingest.Server, cfg ingest.Config, st *state.Store, o ingest.TestOptions) {
		txn, err := txnapi.New(txnapi.Deps{Auth: s, Trx: s, Pub: s, Intents: st})
		if err != nil {
			panic(err)
		}
		notifications, err := sns.New(sns.Config{ExtraHosts: o.SNSExtraHosts}, sns.Deps{Auth: s, Trx: s, Pub: s, Topics: s})
		if err != nil {
			panic(err)
		}
		bqp, err := bdquickpay.New(bdquickpay.Config{AllowPrivateWebhooks: true}, bdquickpay.Deps{Auth: s, Fail: s, Intents: s, Reader: st, Sim: s})
		if err != nil {
			panic(err)
		}
		nat, err := native.New(native.Deps{Auth: s, Accept: s, Reader: st, Fail: s, Sim: s})
		if err != nil {
			panic(err)
		}
		s.Mount(nat, txn, notifications, bqp)
		if o.Redis == nil { // a server built only for its error shapes (TestRateLimit429Shapes)
			return
		}
		adm, err := admin.New(admin.Config{Token: ingest.AdminTokenForTest(cfg.Keys), AllowPrivateWebhooks: true},
			admin.Deps{Directory: s.DirectoryForTest(), State: st, Edge: s, Webhooks: notFoundWebhooks{}})
		if err != nil {
			panic(err)
		}
		s.Mount(adm)
		forwarding, err := sms.New(sms.Config{Keys: cfg.Keys, TrustedSenders: o.SMSTrustedSenders}, sms.Deps{Redis: o.Redis, Pub: s, Limit: s, Admin: adm})
		if err != nil {
			panic(err)
		}
		co, err := checkout.New(checkout.Config{Keys: cfg.Keys}, checkout.Deps{Redis: o.Redis, Intents: st, Merchants: s, Pub: s, Links: s})
		if err != nil {
			panic(err)
		}
		tcfg := tokenized.Config{Keys: cfg.Keys}
		if b := o.Bkash; b != nil {
			tcfg.Client, tcfg.Defaults, tcfg.QueryDelay, tcfg.CallTimeout = b.Client, b.Defaults, b.QueryDelay, b.CallTimeout
		}
		tok, err := tokenized.New(tcfg, tokenized.Deps{Redis: o.Redis, Fail: s, Pub: s, Admin: adm, Links: s, Intents: st})
		if err != nil {
			panic(err)
		}
		s.Mount(forwarding, co, tok)
	}
}

// notFoundWebhooks is the webhook sink's queue as the admin API sees it, holding nothing.
type notFoundWebhooks struct{}

func (notFoundWebhooks) DeadLetters(context.Context, int) ([]admin.DeadLetterView, error) {
	return nil, nil
}
func (notFoundWebhooks) Redeliver(context.Context, string) error { return admin.ErrWebhookNotFound }
