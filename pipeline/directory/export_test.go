package directory

// CacheSizes are the entries each cache holds.
type CacheSizes struct{ Merchants, APIKeys, Integrations int }

// CachedForTest returns the sizes of d's caches.
func CachedForTest(d *Directory) CacheSizes {
	return CacheSizes{Merchants: d.merchants.len(), APIKeys: d.apiKeys.len(), Integrations: d.integrations.len()}
}
