// Package snsverify authenticates AWS SNS HTTP(S) deliveries and confirms SNS subscriptions, with
// the standard library only.
//
// SNS signs every message it POSTs: Signature is the base64 RSA PKCS #1 v1.5 signature of a
// canonical string of the message's fields (StringToSign), over SHA-1 for SignatureVersion "1" and
// SHA-256 for "2", made with the key of the X.509 certificate at SigningCertURL. The certificate is
// trusted because of where it comes from: an https URL on sns.<region>.amazonaws.com (or
// .amazonaws.com.cn), with no port and a path ending in .pem, fetched over TLS. The same host rule
// guards SubscribeURL, so a forged confirmation cannot make paystream fetch an arbitrary URL (SSRF);
// both fetches also go through netguard's client, which refuses internal addresses after DNS
// resolution, never follows redirects and caps what it reads.
//
// Config.ExtraHosts adds host:port pairs that are trusted like SNS's own hosts, over http or https
// and on private addresses: for tests only.
//
// A Verifier is safe for concurrent use. It caches certificates by URL (bounded, with a TTL), so a
// busy topic costs one certificate fetch per TTL, not one per message.
package snsverify
