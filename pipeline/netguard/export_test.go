package netguard

import "context"

// CheckURLWith is CheckURL with a replaceable resolver, so tests need no network.
func CheckURLWith(ctx context.Context, raw string, allowPrivate bool, r resolver) error {
	return checkURL(ctx, raw, allowPrivate, r)
}
