package webhook

import (
	"fmt"
	"net/http"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect"
	"github.com/paystream/paystream/pipeline/dialect/dialects"
)

// render turns an outcome into the webhook of its intent's dialect (pipeline/dialect/<name>), once:
// the body the job stores is what every attempt sends. It is pure. An empty Event means the dialect
// tells the merchant nothing about this outcome; an intent of a dialect paystream does not know is
// ErrUnsupportedDialect.
func render(o *pipeline.Outcome) (dialect.Webhook, error) {
	d, err := dialects.For(o.Intent.Dialect)
	if err != nil {
		return dialect.Webhook{}, err
	}
	w, err := d.Webhook(o)
	if err != nil {
		return dialect.Webhook{}, fmt.Errorf("rendering %s webhook: %w", d.Name(), err)
	}
	return w, nil
}

// dialectHeaders returns the request headers a merchant's dialect adds to every webhook of env, or
// nil. They are read at delivery from the merchant record (m may be nil when it is gone), not
// frozen into the job at enqueue, so they follow the merchant's current credentials; they are not
// covered by the signatures. A merchant's intents all speak the merchant's dialect.
func dialectHeaders(m *pipeline.Merchant, env pipeline.Environment) http.Header {
	if m == nil {
		return nil
	}
	d, err := dialects.For(m.Dialect)
	if err != nil {
		return nil
	}
	return d.Headers(m, env)
}
