package pipeline

import "time"

// Merchant is a merchant as stored (JSON) under Keys.Merchant(id). Ingest's admin API writes it;
// ingest and the webhook sink read it. API keys are never stored: only their SHA-256 (Keys.APIKey).
// Webhook signing secrets are stored because the sink must sign with them; the Redis holding them is
// a secret store and must be protected as one.
type Merchant struct {
	ID       string                          `json:"id"`
	Name     string                          `json:"name"`
	Status   string                          `json:"status"` // ACTIVE or INACTIVE
	Dialect  Dialect                         `json:"dialect"`
	Wallets  []Wallet                        `json:"wallets"`
	Webhooks map[Environment]WebhookEndpoint `json:"webhooks"`
	// AppKeys are the bdQuickPay dialect's App Keys per environment. They are identifiers, sent back
	// in every webhook's X-App-Key header, so they are stored as is; the paired Secret Keys are not.
	AppKeys map[Environment]string `json:"appKeys,omitempty"`
	// APIKeyHashes are the SHA-256 (hex) of the current API key per environment, kept so a key
	// rotation can revoke the old key. Merchants created before this field existed have none.
	APIKeyHashes map[Environment]string `json:"apiKeyHashes,omitempty"`
	CreatedAt    time.Time              `json:"createdAt"`
}

// Merchant statuses.
const (
	MerchantActive   = "ACTIVE"
	MerchantInactive = "INACTIVE"
)

// WebhookEndpoint is where one environment's events go and the secret that signs them.
type WebhookEndpoint struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"` // "whsec_" + base64 of 32 random bytes
	// MaxAttempts and BackoffBase override the sink's defaults for this endpoint when > 0.
	MaxAttempts int           `json:"maxAttempts,omitempty"`
	BackoffBase time.Duration `json:"backoffBase,omitempty"`
}

// WalletsIn returns the merchant's wallets of environment env, in registration order.
func (m *Merchant) WalletsIn(env Environment) []Wallet {
	var ws []Wallet
	for _, w := range m.Wallets {
		if w.Environment == env {
			ws = append(ws, w)
		}
	}
	return ws
}

// APIKeyRecord is what Keys.APIKey(sha256(key)) holds.
type APIKeyRecord struct {
	MerchantID  string      `json:"merchantId"`
	Environment Environment `json:"environment"`
	CreatedAt   time.Time   `json:"createdAt"`
}

// HasWallet reports whether w (validated) is one of the merchant's wallets.
func (m *Merchant) HasWallet(w Wallet) bool {
	for _, x := range m.Wallets {
		if x == w {
			return true
		}
	}
	return false
}

// Device is a registered SMS forwarder: a phone that forwards the wallet SMS it receives. Its token
// (in the forwarding URL, as many forwarder apps cannot set headers) is stored as SHA-256 only.
type Device struct {
	ID         string            `json:"id"`
	MerchantID string            `json:"merchantId"`
	Name       string            `json:"name"`
	Status     string            `json:"status"`               // ACTIVE, or REVOKED: its SMS are refused at once
	Wallets    map[string]Wallet `json:"wallets"`              // SIM slot ("1", "2", or "*" for any) -> receiving wallet
	SigningKey string            `json:"signingKey,omitempty"` // "SMS Gateway for Android" webhook signing key, if set
	TokenHash  string            `json:"tokenHash"`
	CreatedAt  time.Time         `json:"createdAt"`
	// Format is the one forwarding URL the device may post to ("native", "forwarder",
	// "smsgateway"); "" on records older than formats, which then accept the three URLs only while
	// they have no signing key (a keyed one is SMS Gateway's). See ingest/devices.go.
	Format string `json:"format,omitempty"`
}

// Device statuses.
const (
	DeviceActive  = "ACTIVE"
	DeviceRevoked = "REVOKED"
)
