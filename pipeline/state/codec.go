package state

import gojson "github.com/goccy/go-json"

// The records this package keeps in Redis (intents, outcomes, payments, claims, balance heads) are
// encoding/json's JSON, encoded and decoded with github.com/goccy/go-json as the topics' records
// are (see pipeline/codec.go): the same bytes, 3-4 times as fast. The matcher reads and writes
// several per event. Anything else may read them with encoding/json.

// marshal encodes v as encoding/json.Marshal does.
func marshal(v any) ([]byte, error) { return gojson.Marshal(v) }

// unmarshal decodes b into v as encoding/json.Unmarshal does.
func unmarshal(b []byte, v any) error { return gojson.Unmarshal(b, v) }
