package ingest_test

import (
	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/ingest/txnapi"
	"github.com/paystream/paystream/pipeline/state"
)

// init mounts the surfaces of their own packages on the servers of package ingest's tests, as cmd
// does (cmd/paystream's route table).
func init() {
	ingest.MountForTest = func(s *ingest.Server, st *state.Store) {
		txn, err := txnapi.New(txnapi.Deps{Auth: s, Trx: s, Pub: s, Intents: st})
		if err != nil {
			panic(err)
		}
		s.Mount(txn)
	}
}
