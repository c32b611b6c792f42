package pipeline

import "time"

// IntegrationKind names an inbound surface that authenticates with its own credentials.
type IntegrationKind string

// Integration kinds.
const (
	// IntegrationTxnAPI is seed 002's bKash transaction API: API-Key + X-Signature (HMAC-SHA256 over JCS).
	IntegrationTxnAPI IntegrationKind = "bkash_txn_api"
	// IntegrationSNS is seed 003's SNS-shaped notifications: shunno_id + x-app-secret + x-client-secret.
	IntegrationSNS IntegrationKind = "sns"
)

// Integration is one set of credentials through which an upstream reports payments for a merchant,
// stored as JSON under Keys.Integration(id). Secrets that only need comparing are stored as SHA-256
// hex; the transaction API's signing secret is stored as is, because verifying an HMAC needs it.
type Integration struct {
	ID          string          `json:"id"`
	Kind        IntegrationKind `json:"kind"`
	MerchantID  string          `json:"merchantId"`
	Environment Environment     `json:"environment"`
	CreatedAt   time.Time       `json:"createdAt"`
	Status      string          `json:"status"` // ACTIVE or INACTIVE (revoked)

	// Transaction API.
	APIKeyHash      string `json:"apiKeyHash,omitempty"`
	SigningSecret   string `json:"signingSecret,omitempty"`
	AllowAnyAccount bool   `json:"allowAnyAccount,omitempty"` // check: allow any payer account, not only known ones

	// SNS notifications.
	ShunnoID         string  `json:"shunnoId,omitempty"`
	Wallet           *Wallet `json:"wallet,omitempty"` // the receiving wallet the notifications are about
	AppSecretHash    string  `json:"appSecretHash,omitempty"`
	ClientSecretHash string  `json:"clientSecretHash,omitempty"`
	// TopicArn is the only SNS topic whose signed messages the integration accepts: given when the
	// integration is created, or, for one created without it, pinned by the first signed
	// SubscriptionConfirmation that SNS confirmed (ingest/sns.go).
	TopicArn string `json:"topicArn,omitempty"`
}

// AppKeyRecord is what Keys.AppKey(sha256(app key)) holds for the bdQuickPay dialect: the merchant,
// the environment, and the SHA-256 hex of the paired Secret Key.
type AppKeyRecord struct {
	MerchantID    string      `json:"merchantId"`
	Environment   Environment `json:"environment"`
	SecretKeyHash string      `json:"secretKeyHash"`
	CreatedAt     time.Time   `json:"createdAt"`
}
