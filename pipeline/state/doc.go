// Package state is paystream's Redis-backed intent and matcher state. Ingest uses it to create
// intents (read-your-writes right after Kafka acknowledged the intent.created event) and to read and
// list them; the matcher uses it to load the state one decision needs (LoadSnapshot), to store a
// decision atomically and idempotently (Apply), and to keep intent deadlines (AddDeadline,
// DueDeadlines, RemoveDeadlines).
//
// # Redis layout
//
// Every key is built by pipeline.Keys, plus the two payment keys of this package (see
// PaymentRecordsKey and ReviewPaymentsKey). Keys of one receiving wallet share the hash tag
// {w:<wallet key>}; deadlines of one inbound partition share {exp:<partition>}. Every Lua script
// receives all its keys in KEYS[] and they always carry one hash tag (checked before the script is
// sent), so the store works unchanged on Redis Cluster: no CROSSSLOT by construction.
//
//	<tag>:intent:<id>          hash   json, status, version, updatedAt (unix ms), trxId, matchType, reason
//	<tag>:idx:all              zset   intent ids by creation time (ms)
//	<tag>:idx:<STATUS>         zset   intent ids in that status by creation time (ms)
//	<tag>:open:amt:<paisa>     zset   PENDING intent ids of that amount by creation time (ms)
//	<tag>:ref:<REFERENCE>      set    intent ids whose customer reference is REFERENCE (upper-cased), any status
//	<tag>:trx:<TRXID>          string the id of the event that reported the TrxID first (no TTL)
//	<tag>:unmatched            zset   unmatched payment event ids by payment time (ms)
//	<tag>:pay:review           zset   payment event ids kept for review, by payment time (ms)
//	<tag>:pay:records          hash   event id -> PaymentRecord JSON (unmatched and review payments)
//	<tag>:applied:<event id>   string the JSON array of outcomes the event produced (TTL 7 days)
//	<prefix>:intentloc:<id>    string the intent's wallet key (no tag: a single-key record)
//	<prefix>:{exp:<p>}:deadlines zset "<wallet key>|<intent id>" by expiry (ms, rounded up)
//
// # Concurrency
//
// A Store is safe for concurrent use. Correctness across processes rests on two rules: every write
// of one wallet is one Lua script on the wallet's slot, and Apply is a compare-and-set on the status
// and version of every intent it changes (and on the TrxID mark), so a zombie matcher that lost its
// partition cannot overwrite a newer decision: it gets a *ConflictError instead.
package state
