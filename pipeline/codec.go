package pipeline

import (
	"fmt"

	gojson "github.com/goccy/go-json"
)

// The record codec of the inbound, outcomes and webhook-attempts topics (EncodeEvent, DecodeEvent,
// EncodeOutcome, DecodeOutcome, EncodeWebhookAttempt, DecodeWebhookAttempt) uses github.com/goccy/go-json, a drop-in replacement for encoding/json that
// follows its documented behaviour (field names and tags, omitempty, MarshalJSON/UnmarshalJSON
// methods such as Money's, time.Time, json.RawMessage, []byte as base64, HTML escaping, unknown
// members ignored, names matched without regard to case). It is 2.5-4 times as fast on these types.
//
// The records stay encoding/json's: whatever encoding/json wrote decodes to the same struct, and
// whatever this writes is what encoding/json writes, byte for byte for the records the pipeline
// makes. codec_test.go checks both directions against encoding/json, for every event kind and
// outcome type, and malformed input; keep it passing when a field or a type is added.
// pipeline/state uses the same library for its Redis records; the rest of the repository (request
// bodies above all) and every other reader of the topics keep encoding/json.

// marshalRecord encodes a record value as encoding/json.Marshal does.
func marshalRecord(v any) ([]byte, error) { return gojson.Marshal(v) }

// decodeRecord is the decoder unmarshalRecord calls (a variable for the panic test).
var decodeRecord = gojson.Unmarshal

// unmarshalRecord decodes a record value as encoding/json.Unmarshal does. A record on a topic can
// be anything a producer wrote; should the decoder panic on one (goccy/go-json has, on malformed
// input, in versions before v0.12.0), the panic becomes an error, so the consumer skips the record
// as malformed instead of crashing on it again at every restart.
func unmarshalRecord(b []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panicked: %v", r)
		}
	}()
	return decodeRecord(b, v)
}
