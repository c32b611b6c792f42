// Package state is the matcher's persistence adapter: the one owner of the matcher's keys in Redis
// (intents, kept payments, claims, TrxID marks, balance chains, applied markers, deadlines: the
// layout below). It loads the state one decision needs (LoadSnapshot, of the records in
// pipeline/records.go, the vocabulary matcher.Decide works on), stores a decision atomically and
// idempotently (Apply), and keeps intent deadlines (AddDeadline, DueDeadlines, RemoveDeadlines).
// Ingest creates intents through it (CreateIntent: read-your-writes right after Kafka acknowledged
// intent.created).
//
// Every other read of the matcher's state by another stage goes through the named read methods
// below ("Reads for other stages"); no other package reads or writes one of these keys with a raw
// Redis call: ingest's review checks a payment is attachable with PaymentKept, spreads intents
// over wallets with OpenIntentsOfAmount (PickWallet) and answers a decided TrxID as a duplicate
// with TrxSeen (ClaimTrx).
//
// # Redis layout
//
// Every key is built by pipeline.Keys, plus the wallet keys of this package (keys.go). Keys of one
// receiving wallet share the hash tag {w:<wallet key>}; deadlines of one inbound partition share
// {exp:<partition>}. Every Lua script receives all its keys in KEYS[] and they always carry one
// hash tag (checked before the script is sent), so the store works unchanged on Redis Cluster: no
// CROSSSLOT by construction. TRXID below is the TrxID trimmed and upper-cased (pipeline.NormalizeTrxID).
//
//	<tag>:intent:<id>          hash   json, status, version, updatedAt (unix ms), trxId, matchType, reason;
//	                                  a settled intent (Settled) and its index, reference and location
//	                                  entries leave Lifetimes.FinalIntentRetention after its last change
//	<tag>:idx:all              zset   intent ids by creation time (ms)
//	<tag>:idx:<STATUS>         zset   intent ids in that status by creation time (ms)
//	<tag>:open:amt:<paisa>     zset   PENDING intent ids of that amount by creation time (ms)
//	<tag>:ref:<REFERENCE>      set    intent ids whose customer reference is REFERENCE (upper-cased), any status
//	<tag>:trx:<TRXID>          string the id of the event that reported the TrxID first (TTL Lifetimes.TrxWindow + slack)
//	<tag>:trxpaid              hash   TRXID -> the intent it paid (TrxUse; a field leaves with its intent, RetireDue)
//	<tag>:unmatched            zset   unmatched payment event ids by payment time (ms)
//	<tag>:pay:review           zset   payment event ids kept for review, by payment time (ms)
//	<tag>:pay:records          hash   event id -> pipeline.PaymentRecord JSON (unmatched and review payments)
//	<tag>:review:cand:<id>     set    event ids of the kept payments an intent under review may take (ReviewQueue)
//	<tag>:claim:<TRXID>        string JSON array of pipeline.ClaimRecord waiting for that TrxID (TTL ClaimTTL)
//	<tag>:iclaims:<id>         string JSON array of the TRXIDs claimed for an intent (TTL ClaimTTL)
//	<tag>:balance              string pipeline.BalanceHead JSON: the newest trusted SMS balance
//	<tag>:balance:gaps         zset   pipeline.BalanceGap JSON by SMS time (ms), newest MaxBalanceGaps
//	<tag>:ver                  string the wallet's version: +1 per applied decision
//	<tag>:applied:<event id>   string the JSON array of outcomes the event produced, "[]" once Kafka acknowledged them (TTL Lifetimes.AppliedRetention, 7 days)
//	<prefix>:intentloc:<id>    string the intent's wallet key (no tag: a single-key record)
//	<prefix>:{exp:<p>}:deadlines zset "<wallet key>|<intent id>" by expiry (ms, rounded up); PENDING intents only
//	<prefix>:{exp:<p>}:retire    zset "<wallet key>|<intent id>" of settled intents by the time they leave Redis (RetireDue)
//
// Apply is one Lua script: it checks the applied marker, the wallet's version (Change.IfVersion),
// the TrxID mark and every changed intent's status and version, and only then runs the write
// operations Go computed (applyArgs), so a decision is all or nothing. Besides the fields of a
// Change it keeps three links itself: a transition to PAID with a TrxID writes trxpaid; a
// transition out of REVIEW_REQUIRED deletes the intent's candidates; a payment kept in review is
// added to the candidates of its intents, and a used payment is removed from them.
//
// # Reads for other stages
//
// Each is read-only, safe for concurrent use, and answers from the state as last written: decisions
// lag the inbound topic, intents created by CreateIntent are there at once.
//
//	GetIntent, ListIntents          an intent by id; a page of a merchant's intents (the native and bdQuickPay APIs)
//	OpenIntentsByReference          the open intents a customer reference names (the bKash transaction API)
//	OpenIntentsOfAmount             PENDING intents of one amount per wallet (ingest spreading new intents)
//	TrxUse, TrxSeen                 whether a TrxID was decided, and the intent it paid (checkout, reported TrxIDs)
//	PaymentKept                     whether a payment is kept (unmatched or review) on a wallet (an operator's attach)
//	ListPayments, ReviewQueue       kept payments; intents under review with their candidates (the admin API)
//	BalanceGaps                     breaks of the wallets' balance chains (the admin API)
//
// # Concurrency
//
// A Store is safe for concurrent use. Correctness across processes rests on two rules: every write
// of one wallet is one Lua script on the wallet's slot, and Apply is a compare-and-set on the
// wallet's version as the decision loaded it (IfVersion: claims, kept payments, the balance chain
// and everything else the snapshot read), on the status and version of every intent it changes
// and on the TrxID mark, so a zombie matcher that lost its partition cannot overwrite a newer
// decision: it gets a *ConflictError instead. Intents that ingest creates do not move the version
// (creating an intent changes no decision already taken).
package state
