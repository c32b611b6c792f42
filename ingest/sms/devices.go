package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// Devices: the SMS forwarders (Android phones) of a merchant, registered through the admin API.
//
//	POST   /admin/v1/merchants/:id/devices  {"name", "wallets": {"1": {"provider","account"}, "*": {...}},
//	                                         "environment": "SANDBOX"|"LIVE",
//	                                         "format"?: "native"|"forwarder"|"smsgateway", "signingKey"?}
//	  → 201 {id, merchantId, name, environment, format?, status, wallets, signed, token, forwardingUrls, createdAt}
//	GET    /admin/v1/merchants/:id/devices  → 200 {data: [device without token], total}
//	DELETE /admin/v1/devices/:id            → 200 the device, status REVOKED
//
// The token is shown only in the 201 and stored as SHA-256 (Keys.DeviceToken → device id). A
// device resolved from its token is cached for 2 s (deviceCacheTTL): revoking one (status REVOKED,
// then its token mapping deleted) refuses its next SMS at once on the replica that revoked it, and
// within 2 s on the others.
//
// Format: a device is issued for one forwarding URL (its format) and every other URL carrying its
// token answers exactly as an unknown token does (401), so the token works only where the phone's
// app posts. A signing key exists only for SMS Gateway for Android, the one app that signs its
// webhooks: a keyed device is always of format smsgateway (implied when the format is absent; a key
// with another format is a 400), and every request it accepts carries a valid, fresh signature. A
// device without a format (records older than formats, or registered without one) accepts the
// three URLs only while it has no key: its token is then its only credential, in every URL alike.

const (
	deviceTokenPrefix = "dvt_"
	maxDeviceSlots    = 8   // SIM slots "1".."8" and "*"
	maxSigningKeyLen  = 256 // SMS Gateway for Android generates short keys; a user may paste their own
	maxDeviceNameLen  = 100
)

// Forwarding URL formats, as the device's 201 names them.
const (
	smsFormatNative     = "native"
	smsFormatForwarder  = "forwarder"
	smsFormatSMSGateway = "smsgateway"
)

// createDeviceReq is the registration body; unknown fields are ignored.
type createDeviceReq struct {
	Name        string                      `json:"name"`
	Wallets     map[string]*deviceWalletReq `json:"wallets"`
	Environment pipeline.Environment        `json:"environment"`
	Format      *string                     `json:"format"`
	SigningKey  *string                     `json:"signingKey"`
}

type deviceWalletReq struct {
	Provider pipeline.Provider `json:"provider"`
	Account  string            `json:"account"`
}

// deviceView is a device as the admin API shows it. Token and URLs appear only in the creation
// answer; the signing key never appears (signed says whether one is set).
type deviceView struct {
	ID             string                     `json:"id"`
	MerchantID     string                     `json:"merchantId"`
	Name           string                     `json:"name"`
	Environment    pipeline.Environment       `json:"environment"`
	Format         string                     `json:"format,omitempty"` // absent: any of the three URLs (unsigned devices only)
	Status         string                     `json:"status"`
	Wallets        map[string]pipeline.Wallet `json:"wallets"`
	Signed         bool                       `json:"signed"`
	Token          string                     `json:"token,omitempty"`
	ForwardingURLs map[string]string          `json:"forwardingUrls,omitempty"`
	CreatedAt      string                     `json:"createdAt"`
}

func viewDevice(d *pipeline.Device) deviceView {
	v := deviceView{
		ID: d.ID, MerchantID: d.MerchantID, Name: d.Name, Format: deviceFormat(d), Status: d.Status, Wallets: d.Wallets,
		Signed: d.SigningKey != "", CreatedAt: pipeline.FormatTime(d.CreatedAt),
	}
	for _, w := range d.Wallets {
		v.Environment = w.Environment // every wallet of a device is of its environment
		break
	}
	return v
}

// deviceFormat is the format a device is issued for: its own, else smsgateway when it has a signing
// key (only SMS Gateway signs), else "" (any of the three).
func deviceFormat(d *pipeline.Device) string {
	switch {
	case d.Format != "":
		return d.Format
	case d.SigningKey != "":
		return smsFormatSMSGateway
	}
	return ""
}

// deviceAccepts reports whether a device may post to the URL of format.
func deviceAccepts(d *pipeline.Device, format string) bool {
	f := deviceFormat(d)
	return f == "" || f == format
}

// smsFormats are the forwarding URL formats, in the order the API lists them.
var smsFormats = []string{smsFormatNative, smsFormatForwarder, smsFormatSMSGateway}

// deviceIndexKey is the set of a merchant's device ids (single-key record, no hash tag).
func deviceIndexKey(k pipeline.Keys, merchantID string) string {
	return k.Merchant(merchantID) + ":devices"
}

// validSlot reports whether k names a SIM slot of a device's wallet map: "1".."8" or "*".
func validSlot(k string) bool {
	return k == "*" || (len(k) == 1 && k[0] >= '1' && k[0] < '1'+maxDeviceSlots)
}

func (s *Surface) handleCreateDevice(ctx *fasthttp.RequestCtx) {
	m := s.admin.AdminMerchant(ctx)
	if m == nil {
		return
	}
	var req createDeviceReq
	if ae := ingest.DecodeJSON(ctx.PostBody(), &req); ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || utf8.RuneCountInString(req.Name) > maxDeviceNameLen || !ingest.Printable(req.Name) {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "name is required (at most %d printable characters)", maxDeviceNameLen))
		return
	}
	env := pipeline.Environment(strings.ToUpper(string(req.Environment)))
	if !env.Valid() {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "environment must be SANDBOX or LIVE"))
		return
	}
	if len(req.Wallets) == 0 {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, `wallets is required: SIM slot ("1", "2", or "*" for any) -> {"provider", "account"} of one of the merchant's wallets`))
		return
	}
	wallets := make(map[string]pipeline.Wallet, len(req.Wallets))
	for _, slot := range slices.Sorted(maps.Keys(req.Wallets)) {
		wr := req.Wallets[slot]
		if !validSlot(slot) {
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, `wallets: %q is not a SIM slot: use "1" to "%d", or "*" for any slot`, clip(slot, 20), maxDeviceSlots))
			return
		}
		if wr == nil {
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "wallets.%s must be an object with provider and account", slot))
			return
		}
		w := pipeline.Wallet{Provider: wr.Provider, Account: wr.Account, Environment: env}
		if err := w.Validate(); err != nil || !m.HasWallet(w) {
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "wallets.%s must be one of the merchant's %s wallets", slot, env))
			return
		}
		wallets[slot] = w
	}
	signingKey := ""
	if req.SigningKey != nil {
		signingKey = strings.TrimSpace(*req.SigningKey)
		if signingKey == "" || len(signingKey) > maxSigningKeyLen || !ingest.Printable(signingKey) {
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "signingKey must be 1 to %d printable characters (the key SMS Gateway for Android shows in Settings → Webhooks)", maxSigningKeyLen))
			return
		}
	}
	format := ""
	if req.Format != nil {
		format = strings.ToLower(strings.TrimSpace(*req.Format))
		if !slices.Contains(smsFormats, format) {
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "format must be native, forwarder or smsgateway: the one forwarding URL the phone's app will post to"))
			return
		}
	}
	if signingKey != "" {
		if format != "" && format != smsFormatSMSGateway {
			ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "signingKey is only for format smsgateway: SMS Gateway for Android signs its webhooks, the %s format has no signature (register the device without a key)", format))
			return
		}
		format = smsFormatSMSGateway
	}
	token := deviceTokenPrefix + ingest.RandomToken(24)
	d := &pipeline.Device{
		ID: "dev_" + ingest.RandomHex(10), MerchantID: m.ID, Name: req.Name, Status: pipeline.DeviceActive,
		Wallets: wallets, SigningKey: signingKey, TokenHash: ingest.HashSecret(token), CreatedAt: time.Now().UTC(), Format: format,
	}
	b, err := json.Marshal(d)
	if err != nil {
		s.pub.Internal(ctx, "encoding device", err)
		return
	}
	c := ingest.RequestContext(ctx)
	if err := s.rdb.Set(c, s.keys.Device(d.ID), b, 0).Err(); err != nil {
		s.pub.Internal(ctx, "storing device", err)
		return
	}
	if err := s.rdb.SAdd(c, deviceIndexKey(s.keys, m.ID), d.ID).Err(); err != nil {
		s.pub.Internal(ctx, "indexing device", err)
		return
	}
	// The token last: the device is usable only when its record is complete.
	if err := s.rdb.Set(c, s.keys.DeviceToken(d.TokenHash), d.ID, 0).Err(); err != nil {
		s.pub.Internal(ctx, "storing device token", err)
		return
	}
	s.log.Info("device registered", "merchant", m.ID, "device", d.ID, "slots", len(wallets), "signed", signingKey != "", "format", format)
	v := viewDevice(d)
	v.Token = token
	v.ForwardingURLs = map[string]string{}
	for _, f := range smsFormats {
		if !deviceAccepts(d, f) {
			continue
		}
		path := "/v1/sms/" + token
		if f != smsFormatNative {
			path += "/" + f
		}
		v.ForwardingURLs[f] = s.admin.PublicURL(path)
	}
	ingest.WriteJSON(ctx, http.StatusCreated, v)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (s *Surface) handleListDevices(ctx *fasthttp.RequestCtx) {
	m := s.admin.AdminMerchant(ctx)
	if m == nil {
		return
	}
	c := ingest.RequestContext(ctx)
	ids, err := s.rdb.SMembers(c, deviceIndexKey(s.keys, m.ID)).Result()
	if err != nil {
		s.pub.Internal(ctx, "listing devices", err)
		return
	}
	data := make([]deviceView, 0, len(ids))
	for _, id := range ids {
		d, err := s.loadDevice(c, id)
		if err != nil {
			s.pub.Internal(ctx, "loading device", err)
			return
		}
		if d != nil {
			data = append(data, viewDevice(d))
		}
	}
	slices.SortFunc(data, func(a, b deviceView) int { // newest first
		if c := strings.Compare(b.CreatedAt, a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"data": data, "total": len(data)})
}

// handleRevokeDevice marks the device REVOKED, then deletes its token mapping: its next SMS is
// answered 401 whichever of the two writes a concurrent request sees. Revoking twice is a no-op.
func (s *Surface) handleRevokeDevice(ctx *fasthttp.RequestCtx) {
	if !s.admin.RequireAdmin(ctx) {
		return
	}
	id, _ := ctx.UserValue("id").(string)
	c := ingest.RequestContext(ctx)
	d, err := s.loadDevice(c, id)
	if err != nil {
		s.pub.Internal(ctx, "loading device", err)
		return
	}
	if d == nil {
		ingest.WriteError(ctx, ingest.Errf(http.StatusNotFound, "Device not found"))
		return
	}
	if d.Status != pipeline.DeviceRevoked {
		d.Status = pipeline.DeviceRevoked
		b, _ := json.Marshal(d)
		if err := s.rdb.Set(c, s.keys.Device(d.ID), b, 0).Err(); err != nil {
			s.pub.Internal(ctx, "revoking device", err)
			return
		}
		s.log.Info("device revoked", "merchant", d.MerchantID, "device", d.ID)
	}
	s.devices.Remove(d.TokenHash)
	if err := s.rdb.Del(c, s.keys.DeviceToken(d.TokenHash)).Err(); err != nil {
		s.pub.Internal(ctx, "deleting device token", err)
		return
	}
	ingest.WriteJSON(ctx, http.StatusOK, viewDevice(d))
}

// loadDevice reads a device record; (nil, nil) when there is none.
func (s *Surface) loadDevice(ctx context.Context, id string) (*pipeline.Device, error) {
	if id == "" || len(id) > 64 {
		return nil, nil
	}
	b, err := s.rdb.Get(ctx, s.keys.Device(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading device %s: %w", id, err)
	}
	var d pipeline.Device
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("decoding device %s: %w", id, err)
	}
	return &d, nil
}

// deviceByToken resolves a device token from a forwarding URL to its active device; (nil, nil)
// when the token is unknown or the device revoked, which callers answer alike. The token is hashed
// before the lookup, so the time taken does not depend on how much of it is right.
func (s *Surface) deviceByToken(ctx context.Context, token string) (*pipeline.Device, error) {
	if len(token) < 16 || len(token) > 128 {
		return nil, nil
	}
	h := ingest.HashSecret(token)
	if d, ok := s.devices.Get(h); ok {
		return d, nil
	}
	id, err := s.rdb.Get(ctx, s.keys.DeviceToken(h)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up device token: %w", err)
	}
	d, err := s.loadDevice(ctx, id)
	if err != nil || d == nil {
		return nil, err
	}
	if d.Status != pipeline.DeviceActive || !ingest.EqualHash(d.TokenHash, h) {
		return nil, nil
	}
	s.devices.Add(h, d)
	return d, nil
}
