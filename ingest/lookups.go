package ingest

import (
	"context"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/paystream/paystream/pipeline"
)

// Bounds of the in-process lookup caches on the hot ingest routes (merchants, API keys and
// integrations are cached by the merchant directory, pipeline/directory).
const (
	// maxCachedIntents bounds the intents whose identity (merchant, environment, wallet) is kept:
	// those fields never change, so entries only age out of the LRU.
	maxCachedIntents = 200_000
)

// lookups caches what the SMS and simulator routes would otherwise read from Redis on every
// request (two round trips each). Safe for concurrent use.
type lookups struct {
	intents *expirable.LRU[string, IntentIdentity] // by intent id
}

// IntentIdentity is the part of an intent that never changes after creation.
type IntentIdentity struct {
	MerchantID     string
	Environment    pipeline.Environment
	Provider       pipeline.Provider
	ReceiverMsisdn string
}

func newLookups() *lookups {
	return &lookups{
		intents: expirable.NewLRU[string, IntentIdentity](maxCachedIntents, nil, 0),
	}
}

func identityOf(rec *pipeline.IntentRecord) IntentIdentity {
	return IntentIdentity{MerchantID: rec.MerchantID, Environment: rec.Environment, Provider: rec.Provider, ReceiverMsisdn: rec.ReceiverMsisdn}
}

// rememberIntent keeps the identity of an intent this process created or loaded.
func (l *lookups) rememberIntent(in *pipeline.Intent) {
	l.intents.Add(in.ID, IntentIdentity{MerchantID: in.MerchantID, Environment: in.Environment, Provider: in.Provider, ReceiverMsisdn: in.ReceiverMsisdn})
}

// loadIdentity returns intentID's identity from the cache, or loads the intent (two round trips)
// and caches it. Errors are GetIntent's (state.ErrNotFound when there is no such intent).
func (s *Server) loadIdentity(ctx context.Context, intentID string) (IntentIdentity, error) {
	if id, ok := s.look.intents.Get(intentID); ok {
		return id, nil
	}
	rec, err := s.state.GetIntent(ctx, intentID)
	if err != nil {
		return IntentIdentity{}, err
	}
	id := identityOf(rec)
	s.look.intents.Add(intentID, id)
	return id, nil
}

// Wallet is the wallet the intent is paid to.
func (id IntentIdentity) Wallet() pipeline.Wallet {
	return pipeline.Wallet{Provider: id.Provider, Account: id.ReceiverMsisdn, Environment: id.Environment}
}

// Integration is the directory's active integration of kind whose credential (hash) is given,
// nil if none, behind the directory's cache (a deactivation is seen within directory.DefaultTTL;
// unknown credentials are never cached): the SNS and transaction-API routes resolve their
// credential on every request. The result must not be modified.
func (s *Server) Integration(ctx context.Context, kind pipeline.IntegrationKind, credential string) (*pipeline.Integration, error) {
	return s.dir.Integration(ctx, kind, credential)
}

// CurrentMerchant is the directory's merchant id as stored now (nil if none), read from Redis on
// every call without a cache: for the pages that must see a deactivation at once (the hosted
// checkout). Errors are Redis's.
func (s *Server) CurrentMerchant(ctx context.Context, id string) (*pipeline.Merchant, error) {
	return s.dir.CurrentMerchant(ctx, id)
}

// Merchant is the directory's merchant id (nil if none) behind its cache (directory.DefaultTTL),
// for the routes that check a merchant's status on every request. The result must not be modified.
func (s *Server) Merchant(ctx context.Context, id string) (*pipeline.Merchant, error) {
	return s.dir.Merchant(ctx, id)
}
