// Package dialects lists the merchant dialects paystream speaks: the one place a new dialect is
// mounted for every stage that looks dialects up by name (the webhook sink; ingest's admin API
// when it validates a merchant's dialect).
package dialects

import (
	"fmt"

	"github.com/paystream/paystream/pipeline"
	"github.com/paystream/paystream/pipeline/dialect"
	"github.com/paystream/paystream/pipeline/dialect/bdquickpay"
	"github.com/paystream/paystream/pipeline/dialect/native"
)

// All are the dialects, in the order documentation lists them. Add a new dialect here.
var All = []dialect.Dialect{native.Dialect{}, bdquickpay.Dialect{}}

// For returns the dialect named name. The empty name (merchants and intents stored before
// dialects existed) is native. An unknown name is dialect.ErrUnknown.
func For(name pipeline.Dialect) (dialect.Dialect, error) {
	if name == "" {
		name = native.Name
	}
	for _, d := range All {
		if d.Name() == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w %q", dialect.ErrUnknown, name)
}

// Known reports whether name is a dialect a merchant may be created with (not empty).
func Known(name pipeline.Dialect) bool {
	if name == "" {
		return false
	}
	_, err := For(name)
	return err == nil
}
