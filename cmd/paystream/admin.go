package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"
)

// AdminCmd is `paystream admin ...`: the admin API of a running paystream over HTTP, with the
// token from --admin-token / PAYSTREAM_ADMIN_TOKEN. Output is a readable table, or the API's JSON
// with --json. An API error is printed with its status and message and exits non-zero.
type AdminCmd struct {
	URL  string `name:"url" env:"PAYSTREAM_URL" help:"Base URL of the running paystream. Default http://<http-addr>."`
	JSON bool   `name:"json" help:"Print the API's raw JSON instead of a table."`

	Merchants    AdminMerchantsCmd    `cmd:"" help:"Merchants: create, get, list, rotate-key, set-webhook, bkash."`
	Integrations AdminIntegrationsCmd `cmd:"" help:"Upstream integrations (bkash_txn_api, sns): create."`
	Devices      AdminDevicesCmd      `cmd:"" help:"SMS forwarding devices: create, revoke."`
	Review       AdminReviewCmd       `cmd:"" help:"Review queue: list, approve, reject, attach."`
	Webhooks     AdminWebhooksCmd     `cmd:"" help:"Webhooks: dead letters, redeliver, replay, attempts."`

	cli *adminClient
}

// AfterApply builds the HTTP client and binds it for the subcommands' Run methods.
func (a *AdminCmd) AfterApply(kctx *kong.Context, cfg *Config) error {
	base := strings.TrimRight(a.URL, "/")
	if base == "" {
		base = "http://" + cfg.HTTPAddr
	}
	a.cli = &adminClient{base: base, token: cfg.AdminToken, json: a.JSON, out: os.Stdout,
		http: &http.Client{Timeout: 30 * time.Second}}
	kctx.Bind(a.cli)
	return nil
}

// ---- HTTP client ----

type adminClient struct {
	base, token string
	json        bool
	out         io.Writer
	http        *http.Client
}

// apiError is a non-2xx answer of the admin API.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("API %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// do sends body (nil, or marshalled to JSON) and returns the raw answer; non-2xx is an *apiError.
func (c *adminClient) do(method, path string, body any) ([]byte, error) {
	if c.token == "" {
		return nil, errors.New("no admin token: set --admin-token or PAYSTREAM_ADMIN_TOKEN")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		return nil, &apiError{Status: resp.StatusCode, Message: msg}
	}
	return raw, nil
}

// call does the request and decodes the answer into a generic map.
func (c *adminClient) call(method, path string, body any) (map[string]any, []byte, error) {
	raw, err := c.do(method, path, body)
	if err != nil {
		return nil, nil, err
	}
	m := map[string]any{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, raw, fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return m, raw, nil
}

// show prints raw JSON (with --json) or calls table.
func (c *adminClient) show(raw []byte, table func(w *tabwriter.Writer)) error {
	if c.json {
		var buf bytes.Buffer
		if json.Indent(&buf, raw, "", "  ") != nil {
			buf.Reset()
			buf.Write(raw)
		}
		buf.WriteByte('\n')
		_, err := c.out.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// str renders a JSON value for a table cell.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return x
	case float64:
		return fmt.Sprint(x)
	case bool:
		return fmt.Sprint(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// kv prints key/value rows (keys in the given order, absent ones skipped).
func kv(w io.Writer, m map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			fmt.Fprintf(w, "%s\t%s\n", k, str(v))
		}
	}
}

// walletArg parses provider:account[:ENV] (env defaults to def).
func walletArg(s, def string) (map[string]string, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("wallet %q is not provider:account[:SANDBOX|LIVE] (e.g. bkash:01700000001:SANDBOX)", s)
	}
	w := map[string]string{"provider": strings.ToLower(parts[0]), "account": parts[1]}
	env := def
	if len(parts) == 3 {
		env = strings.ToUpper(parts[2])
	}
	if env != "" {
		w["environment"] = env
	}
	return w, nil
}

const secretsWarning = "These keys and secrets are shown only once: store them now."

// ---- merchants ----

type AdminMerchantsCmd struct {
	Create     AdminMerchantCreateCmd     `cmd:"" help:"Create a merchant; prints its id, API keys and webhook secrets (shown once)."`
	Get        AdminMerchantGetCmd        `cmd:"" help:"Show a merchant."`
	List       AdminMerchantListCmd       `cmd:"" help:"List merchants (by id)."`
	RotateKey  AdminMerchantRotateKeyCmd  `cmd:"" name:"rotate-key" help:"Issue a new API key for one environment (shown once); the old one stops working."`
	SetWebhook AdminMerchantSetWebhookCmd `cmd:"" name:"set-webhook" help:"Set one environment's webhook URL (the signing secret is kept)."`
	Bkash      AdminMerchantBkashCmd      `cmd:"" name:"bkash" help:"The merchant's own bKash Tokenized Checkout account per environment: get, set, delete."`
}

type AdminMerchantCreateCmd struct {
	Name    string            `name:"name" required:"" help:"Merchant name."`
	Wallet  []string          `name:"wallet" required:"" help:"Receiving wallet provider:account:ENV, e.g. bkash:01700000001:SANDBOX (repeatable)."`
	Webhook map[string]string `name:"webhook" help:"Webhook URL per environment: SANDBOX=https://... (repeatable)."`
	Dialect string            `name:"dialect" enum:"native,bdquickpay" default:"native" help:"API dialect: native or bdquickpay."`
}

func (c *AdminMerchantCreateCmd) Run(cli *adminClient) error {
	body := map[string]any{"name": c.Name, "dialect": c.Dialect}
	var wallets []map[string]string
	for _, s := range c.Wallet {
		w, err := walletArg(s, "SANDBOX")
		if err != nil {
			return err
		}
		wallets = append(wallets, w)
	}
	body["wallets"] = wallets
	if len(c.Webhook) > 0 {
		hooks := map[string]any{}
		for env, u := range c.Webhook {
			hooks[strings.ToUpper(env)] = map[string]string{"url": u}
		}
		body["webhooks"] = hooks
	}
	m, raw, err := cli.call(http.MethodPost, "/admin/v1/merchants", body)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "paystream: "+secretsWarning)
	return cli.show(raw, func(w *tabwriter.Writer) { merchantTable(w, m) })
}

func merchantTable(w *tabwriter.Writer, m map[string]any) {
	kv(w, m, "id", "name", "status", "dialect", "createdAt")
	for _, wl := range list(m["wallets"]) {
		x := obj(wl)
		fmt.Fprintf(w, "wallet\t%s %s %s\n", str(x["provider"]), str(x["account"]), str(x["environment"]))
	}
	for _, env := range sortedKeys(obj(m["apiKeys"])) {
		fmt.Fprintf(w, "apiKey %s\t%s\n", env, str(obj(m["apiKeys"])[env]))
	}
	for _, env := range sortedKeys(obj(m["appKeys"])) {
		p := obj(obj(m["appKeys"])[env])
		fmt.Fprintf(w, "appKey %s\t%s\n", env, str(p["appKey"]))
		if p["secretKey"] != nil {
			fmt.Fprintf(w, "secretKey %s\t%s\n", env, str(p["secretKey"]))
		}
	}
	hooks := obj(m["webhooks"])
	for _, env := range sortedKeys(hooks) {
		h := obj(hooks[env])
		fmt.Fprintf(w, "webhook %s\t%s\n", env, str(h["url"]))
		if h["secret"] != nil {
			fmt.Fprintf(w, "webhookSecret %s\t%s\n", env, str(h["secret"]))
		}
	}
	for _, env := range sortedKeys(obj(m["webhookSecrets"])) {
		fmt.Fprintf(w, "webhookSecret %s\t%s\n", env, str(obj(m["webhookSecrets"])[env]))
	}
}

type AdminMerchantGetCmd struct {
	ID string `arg:"" help:"Merchant id."`
}

func (c *AdminMerchantGetCmd) Run(cli *adminClient) error {
	m, raw, err := cli.call(http.MethodGet, "/admin/v1/merchants/"+url.PathEscape(c.ID), nil)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) { merchantTable(w, m) })
}

// ---- integrations ----

type AdminIntegrationsCmd struct {
	Create AdminIntegrationCreateCmd `cmd:"" help:"Create an integration; prints its credentials (shown once)."`
}

type AdminIntegrationCreateCmd struct {
	MerchantID      string `arg:"" name:"merchant-id" help:"Merchant id."`
	Type            string `name:"type" required:"" enum:"bkash_txn_api,sns" help:"bkash_txn_api or sns."`
	Env             string `name:"env" default:"SANDBOX" help:"SANDBOX or LIVE."`
	Wallet          string `name:"wallet" help:"The merchant's receiving wallet provider:account (sns)."`
	AllowAnyAccount bool   `name:"allow-any-account" help:"bkash_txn_api: accept payments to any account."`
}

func (c *AdminIntegrationCreateCmd) Run(cli *adminClient) error {
	env := strings.ToUpper(c.Env)
	body := map[string]any{"type": c.Type, "environment": env, "allowAnyAccount": c.AllowAnyAccount}
	if c.Wallet != "" {
		w, err := walletArg(c.Wallet, env)
		if err != nil {
			return err
		}
		body["wallet"] = w
	}
	m, raw, err := cli.call(http.MethodPost, "/admin/v1/merchants/"+url.PathEscape(c.MerchantID)+"/integrations", body)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "paystream: "+secretsWarning)
	return cli.show(raw, func(w *tabwriter.Writer) {
		for _, k := range sortedKeys(m) {
			fmt.Fprintf(w, "%s\t%s\n", k, str(m[k]))
		}
	})
}

// ---- devices ----

type AdminDevicesCmd struct {
	Create AdminDeviceCreateCmd `cmd:"" help:"Register an SMS forwarding device; prints its token (shown once)."`
	Revoke AdminDeviceRevokeCmd `cmd:"" help:"Revoke a device."`
}

type AdminDeviceCreateCmd struct {
	MerchantID string            `arg:"" name:"merchant-id" help:"Merchant id."`
	Name       string            `name:"name" required:"" help:"Device name."`
	Env        string            `name:"env" default:"SANDBOX" help:"SANDBOX or LIVE."`
	Slot       map[string]string `name:"slot" required:"" help:"SIM slot to wallet: 1=bkash:01700000001 (repeatable; slot * = any)."`
	Format     string            `name:"format" enum:",native,forwarder,smsgateway" default:"" help:"The one forwarding URL the phone's app posts to: native, forwarder (SMS to URL Forwarder) or smsgateway (SMS Gateway for Android); the token is refused on the others. Implied smsgateway with --signing-key; without both, the three URLs work."`
	SigningKey string            `name:"signing-key" help:"SMS Gateway for Android's webhook signing key (optional, format smsgateway only): every request must then be signed."`
}

func (c *AdminDeviceCreateCmd) Run(cli *adminClient) error {
	wallets := map[string]any{}
	for slot, s := range c.Slot {
		w, err := walletArg(s, "")
		if err != nil {
			return err
		}
		wallets[slot] = w
	}
	body := map[string]any{"name": c.Name, "environment": strings.ToUpper(c.Env), "wallets": wallets}
	if c.SigningKey != "" {
		body["signingKey"] = c.SigningKey
	}
	if c.Format != "" {
		body["format"] = c.Format
	}
	m, raw, err := cli.call(http.MethodPost, "/admin/v1/merchants/"+url.PathEscape(c.MerchantID)+"/devices", body)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "paystream: The device token is shown only once: store it now.")
	return cli.show(raw, func(w *tabwriter.Writer) { deviceTable(w, m) })
}

func deviceTable(w *tabwriter.Writer, m map[string]any) {
	kv(w, m, "id", "merchantId", "name", "environment", "format", "status", "signed", "token", "createdAt")
	ws := obj(m["wallets"])
	for _, slot := range sortedKeys(ws) {
		x := obj(ws[slot])
		fmt.Fprintf(w, "slot %s\t%s %s\n", slot, str(x["provider"]), str(x["account"]))
	}
	us := obj(m["forwardingUrls"])
	for _, f := range sortedKeys(us) {
		fmt.Fprintf(w, "url %s\t%s\n", f, str(us[f]))
	}
}

type AdminDeviceRevokeCmd struct {
	ID string `arg:"" help:"Device id."`
}

func (c *AdminDeviceRevokeCmd) Run(cli *adminClient) error {
	m, raw, err := cli.call(http.MethodDelete, "/admin/v1/devices/"+url.PathEscape(c.ID), nil)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) { deviceTable(w, m) })
}

// ---- review ----

type AdminReviewCmd struct {
	List    AdminReviewListCmd   `cmd:"" help:"Intents under review, with reason and candidate payments."`
	Approve AdminReviewDecideCmd `cmd:"" help:"Approve an intent under review (PAID, MANUAL)."`
	Reject  AdminReviewDecideCmd `cmd:"" help:"Reject an intent under review."`
	Attach  AdminReviewAttachCmd `cmd:"" help:"Attach an unmatched payment to an intent (PAID, MANUAL)."`
}

type AdminReviewListCmd struct {
	MerchantID string `arg:"" name:"merchant-id" help:"Merchant id."`
	Env        string `name:"env" help:"SANDBOX or LIVE (both when absent)."`
	Page       int    `name:"page" default:"1" help:"Page (from 1)."`
	Limit      int    `name:"limit" default:"20" help:"Results per page (at most 100)."`
}

func (c *AdminReviewListCmd) Run(cli *adminClient) error {
	q := url.Values{"page": {fmt.Sprint(c.Page)}, "limit": {fmt.Sprint(c.Limit)}}
	if c.Env != "" {
		q.Set("env", strings.ToUpper(c.Env))
	}
	m, raw, err := cli.call(http.MethodGet, "/admin/v1/merchants/"+url.PathEscape(c.MerchantID)+"/review?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "INTENT\tENV\tAMOUNT\tWALLET\tREASON\tCANDIDATES (trxId amount eventId)")
		for _, it := range list(m["data"]) {
			item := obj(it)
			in := obj(item["intent"])
			var cands []string
			for _, cd := range list(item["candidates"]) {
				p := obj(cd)
				cands = append(cands, fmt.Sprintf("%s %s %s", str(p["trxId"]), str(p["amount"]), str(p["eventId"])))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", str(in["id"]), str(in["environment"]), str(in["amount"]),
				str(in["receiverMsisdn"]), str(item["reason"]), strings.Join(cands, "; "))
		}
		fmt.Fprintf(w, "total %s, page %s\n", str(m["total"]), str(m["page"]))
	})
}

type AdminReviewDecideCmd struct {
	IntentID string `arg:"" name:"intent-id" help:"Intent id."`
	Trx      string `name:"trx" help:"approve: the TrxID that paid it."`
	Operator string `name:"operator" help:"Who decides (recorded)."`
	Note     string `name:"note" help:"Why (recorded)."`
}

func (c *AdminReviewDecideCmd) Run(kctx *kong.Context, cli *adminClient) error {
	action := "approve"
	if sel := kctx.Selected(); sel != nil && sel.Name == "reject" {
		action = "reject"
	}
	body := map[string]any{"operator": c.Operator, "note": c.Note}
	if c.Trx != "" {
		if action == "reject" {
			return errors.New("--trx applies to approve only")
		}
		body["trxId"] = c.Trx
	}
	return decide(cli, c.IntentID, action, body)
}

type AdminReviewAttachCmd struct {
	IntentID string `arg:"" name:"intent-id" help:"Intent id."`
	Payment  string `name:"payment" required:"" help:"eventId of the unmatched payment."`
	Operator string `name:"operator" help:"Who decides (recorded)."`
	Note     string `name:"note" help:"Why (recorded)."`
}

func (c *AdminReviewAttachCmd) Run(cli *adminClient) error {
	return decide(cli, c.IntentID, "attach", map[string]any{"paymentEventId": c.Payment, "operator": c.Operator, "note": c.Note})
}

func decide(cli *adminClient, intentID, action string, body map[string]any) error {
	m, raw, err := cli.call(http.MethodPost, "/admin/v1/intents/"+url.PathEscape(intentID)+"/"+action, body)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "%s\t%s\taccepted (the matcher applies it)\n", action, intentID)
		for _, k := range sortedKeys(m) {
			if k != "accepted" {
				fmt.Fprintf(w, "%s\t%s\n", k, str(m[k]))
			}
		}
	})
}

// ---- webhooks ----

type AdminWebhooksCmd struct {
	DeadLetters AdminDeadLettersCmd `cmd:"" name:"dead-letters" help:"List dead-lettered webhooks, newest first."`
	Redeliver   AdminRedeliverCmd   `cmd:"" help:"Redeliver one or several dead-lettered webhooks by outcome id."`
	ReplayDead  AdminReplayDeadCmd  `cmd:"" name:"replay-dead" help:"Redeliver every listed dead letter (of one merchant with --merchant)."`
	Attempts    AdminAttemptsCmd    `cmd:"" help:"Webhook delivery attempts of an intent or a merchant, newest first (reads ClickHouse)."`
}

type AdminDeadLettersCmd struct {
	Merchant string `name:"merchant" help:"Only this merchant's."`
	Limit    int    `name:"limit" default:"20" help:"At most this many (at most 100)."`
}

func (c *AdminDeadLettersCmd) Run(cli *adminClient) error {
	m, raw, err := deadLetters(cli, c.Merchant, c.Limit)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "OUTCOME\tMERCHANT\tENV\tEVENT\tINTENT\tATTEMPTS\tLAST STATUS\tDEAD AT\tLAST ERROR")
		for _, d := range list(m["data"]) {
			x := obj(d)
			det := obj(x["details"])
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", str(x["outcomeId"]), str(x["merchantId"]),
				str(det["environment"]), str(det["eventType"]), str(det["intentId"]), str(det["totalAttempts"]),
				str(det["lastHttpStatus"]), str(det["deadAt"]), str(det["lastError"]))
		}
	})
}

func deadLetters(cli *adminClient, merchant string, limit int) (map[string]any, []byte, error) {
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if merchant != "" {
		q.Set("merchant", merchant)
	}
	return cli.call(http.MethodGet, "/admin/v1/webhooks/dead-letters?"+q.Encode(), nil)
}

type AdminRedeliverCmd struct {
	OutcomeIDs []string `arg:"" name:"outcome-id" help:"Outcome ids (webhook-id) of dead-lettered webhooks."`
}

func (c *AdminRedeliverCmd) Run(cli *adminClient) error {
	return redeliverAll(cli, c.OutcomeIDs)
}

type AdminReplayDeadCmd struct {
	Merchant string `name:"merchant" help:"Only this merchant's dead letters."`
	Limit    int    `name:"limit" default:"100" help:"At most this many (at most 100)."`
}

func (c *AdminReplayDeadCmd) Run(cli *adminClient) error {
	m, _, err := deadLetters(cli, c.Merchant, c.Limit)
	if err != nil {
		return err
	}
	var ids []string
	for _, d := range list(m["data"]) {
		if id, _ := obj(d)["outcomeId"].(string); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		if cli.json {
			fmt.Fprintln(cli.out, `{"data":[]}`)
		} else {
			fmt.Fprintln(cli.out, "no dead letters")
		}
		return nil
	}
	return redeliverAll(cli, ids)
}

// redeliverAll redelivers each id and reports each result; it fails if any did.
func redeliverAll(cli *adminClient, ids []string) error {
	type result struct {
		OutcomeID string `json:"outcomeId"`
		OK        bool   `json:"ok"`
		Status    int    `json:"status"`
		Error     string `json:"error,omitempty"`
	}
	var results []result
	failed := 0
	for _, id := range ids {
		r := result{OutcomeID: id, OK: true, Status: http.StatusAccepted}
		if _, err := cli.do(http.MethodPost, "/admin/v1/webhooks/"+url.PathEscape(id)+"/redeliver", nil); err != nil {
			failed++
			r.OK, r.Status, r.Error = false, 0, err.Error()
			var ae *apiError
			if errors.As(err, &ae) {
				r.Status, r.Error = ae.Status, ae.Message
			}
		}
		results = append(results, r)
	}
	raw, _ := json.Marshal(map[string]any{"data": results})
	if err := cli.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "OUTCOME\tRESULT")
		for _, r := range results {
			res := "redelivery scheduled"
			if !r.OK {
				res = fmt.Sprintf("failed: %d %s", r.Status, r.Error)
			}
			fmt.Fprintf(w, "%s\t%s\n", r.OutcomeID, res)
		}
	}); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d redeliveries failed", failed, len(ids))
	}
	return nil
}
