package snsverify

import "errors"

// Sentinel errors. Every error this package returns wraps one of them, so callers classify with
// errors.Is. Their texts are written to be shown to the sender of the message; none of them repeats a
// URL.
var (
	// ErrMissingSignature reports a message without Signature or SigningCertURL.
	ErrMissingSignature = errors.New("the message is not signed (Signature and SigningCertURL are required)")
	// ErrUnsupportedVersion reports a SignatureVersion other than "1" (SHA1withRSA) or "2" (SHA256withRSA).
	ErrUnsupportedVersion = errors.New("the SignatureVersion must be 1 or 2")
	// ErrUnknownType reports a message Type whose signed fields SNS does not define.
	ErrUnknownType = errors.New("the message Type must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation")
	// ErrUntrustedURL reports a SigningCertURL or SubscribeURL that is not an SNS endpoint
	// (https://sns.<region>.amazonaws.com/...) nor one of Config.ExtraHosts. Nothing was fetched.
	ErrUntrustedURL = errors.New("the URL is not an SNS endpoint (https://sns.<region>.amazonaws.com/...)")
	// ErrBadCertificate reports a SigningCertURL whose content is not a PEM X.509 certificate with an
	// RSA key, or that SNS refused to serve.
	ErrBadCertificate = errors.New("the signing certificate could not be used")
	// ErrBadSignature reports a signature that does not verify: the message was altered, or was not
	// signed by SNS.
	ErrBadSignature = errors.New("the signature does not verify")
	// ErrRefused reports an SNS endpoint that answered a non-2xx status other than 5xx, or an
	// endpoint the guard refused to dial: retrying the same request will not help.
	ErrRefused = errors.New("SNS refused the request")
	// ErrUnreachable reports an SNS endpoint that could not be reached, timed out or answered 5xx:
	// retrying later may succeed.
	ErrUnreachable = errors.New("SNS could not be reached")
)
