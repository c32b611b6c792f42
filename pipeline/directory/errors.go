package directory

import "errors"

var (
	// ErrConfig reports an unusable Config or a missing Redis client (New).
	ErrConfig = errors.New("directory: invalid configuration")
	// ErrWalletTaken reports a wallet already registered to another merchant (Create).
	ErrWalletTaken = errors.New("wallet already registered")
	// ErrRotationRace reports a key rotation that lost to a concurrent one: the key it would have
	// replaced was replaced first (RotateKey). The key it was given never worked.
	ErrRotationRace = errors.New("api key rotated concurrently")
	// ErrMerchantGone reports a merchant deleted while a write was under way.
	ErrMerchantGone = errors.New("merchant vanished during the write")
)
