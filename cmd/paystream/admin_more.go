package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

type AdminMerchantListCmd struct {
	Page  int `name:"page" default:"1" help:"Page (from 1)."`
	Limit int `name:"limit" default:"20" help:"Results per page (at most 100)."`
}

func (c *AdminMerchantListCmd) Run(cli *adminClient) error {
	q := url.Values{"page": {fmt.Sprint(c.Page)}, "limit": {fmt.Sprint(c.Limit)}}
	m, raw, err := cli.call(http.MethodGet, "/admin/v1/merchants?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ID\tNAME\tSTATUS\tDIALECT\tWALLETS\tWEBHOOKS\tCREATED")
		for _, it := range list(m["data"]) {
			x := obj(it)
			var hooks []string
			for _, env := range sortedKeys(obj(x["webhooks"])) {
				hooks = append(hooks, env+"="+str(obj(obj(x["webhooks"])[env])["url"]))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", str(x["id"]), str(x["name"]), str(x["status"]),
				str(x["dialect"]), len(list(x["wallets"])), str(strings.Join(hooks, " ")), str(x["createdAt"]))
		}
		fmt.Fprintf(w, "total %s, page %s\n", str(m["total"]), str(m["page"]))
	})
}

type AdminMerchantRotateKeyCmd struct {
	ID  string `arg:"" help:"Merchant id."`
	Env string `name:"env" required:"" help:"SANDBOX or LIVE."`
}

func (c *AdminMerchantRotateKeyCmd) Run(cli *adminClient) error {
	m, raw, err := cli.call(http.MethodPost, "/admin/v1/merchants/"+url.PathEscape(c.ID)+"/keys/rotate",
		map[string]string{"environment": strings.ToUpper(c.Env)})
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "paystream: The new API key is shown only once: store it now.")
	if revoked, _ := m["oldKeyRevoked"].(bool); !revoked {
		fmt.Fprintln(os.Stderr, "paystream: WARNING: "+str(m["note"]))
	}
	return cli.show(raw, func(w *tabwriter.Writer) {
		kv(w, m, "merchantId", "environment", "apiKey", "oldKeyRevoked", "note", "rotatedAt")
	})
}

type AdminMerchantSetWebhookCmd struct {
	ID          string `arg:"" help:"Merchant id."`
	Env         string `name:"env" required:"" help:"SANDBOX or LIVE."`
	URL         string `name:"webhook-url" required:"" help:"Webhook endpoint URL (--url is the paystream base URL)."`
	MaxAttempts int    `name:"max-attempts" help:"Delivery attempts before dead-lettering (1-20; default: unchanged)."`
}

func (c *AdminMerchantSetWebhookCmd) Run(cli *adminClient) error {
	body := map[string]any{"url": c.URL}
	if c.MaxAttempts > 0 {
		body["maxAttempts"] = c.MaxAttempts
	}
	m, raw, err := cli.call(http.MethodPut, "/admin/v1/merchants/"+url.PathEscape(c.ID)+"/webhooks/"+url.PathEscape(strings.ToUpper(c.Env)), body)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) { merchantTable(w, m) })
}

// AdminAttemptsCmd reads webhook_attempts straight from ClickHouse (Config.ClickHouseDSN), not via
// the admin API: the attempts are an audit record, and ingest does not read ClickHouse.
type AdminAttemptsCmd struct {
	Intent   string `name:"intent" xor:"target" required:"" help:"Attempts of this intent."`
	Merchant string `name:"merchant" xor:"target" required:"" help:"Attempts of this merchant's webhooks."`
	Limit    int    `name:"limit" default:"50" help:"At most this many (at most 1000)."`
}

type webhookAttempt struct {
	AttemptedAt time.Time `json:"attemptedAt"`
	IntentID    string    `json:"intentId"`
	OutcomeID   string    `json:"outcomeId"`
	EventType   string    `json:"eventType"`
	Attempt     uint32    `json:"attempt"`
	Result      string    `json:"result"`
	HTTPStatus  uint16    `json:"httpStatus"`
	Error       string    `json:"error,omitempty"`
}

func (c *AdminAttemptsCmd) Run(cli *adminClient, cfg *Config) error {
	if c.Limit < 1 || c.Limit > 1000 {
		return errors.New("--limit must be between 1 and 1000")
	}
	opts, err := clickhouse.ParseDSN(cfg.ClickHouseDSN)
	if err != nil {
		return fmt.Errorf("parsing clickhouse dsn: %w", err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("connecting to clickhouse: %w", err)
	}
	defer conn.Close()
	col, val := "intent_id", c.Intent
	if c.Merchant != "" {
		col, val = "merchant_id", c.Merchant
	}
	// col is one of two constants; the value is bound.
	q := "SELECT attempted_at, intent_id, outcome_id, event_type, attempt, result, http_status, error FROM webhook_attempts FINAL WHERE " +
		col + " = ? ORDER BY attempted_at_ms DESC, attempt DESC LIMIT " + fmt.Sprint(c.Limit)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, q, val)
	if err != nil {
		return fmt.Errorf("querying webhook_attempts: %w", err)
	}
	defer rows.Close()
	out := []webhookAttempt{}
	for rows.Next() {
		var a webhookAttempt
		if err := rows.Scan(&a.AttemptedAt, &a.IntentID, &a.OutcomeID, &a.EventType, &a.Attempt, &a.Result, &a.HTTPStatus, &a.Error); err != nil {
			return fmt.Errorf("reading webhook_attempts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading webhook_attempts: %w", err)
	}
	raw, err := json.Marshal(map[string]any{"data": out})
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ATTEMPTED AT\tINTENT\tOUTCOME\tEVENT\tATTEMPT\tRESULT\tHTTP\tERROR")
		for _, a := range out {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", a.AttemptedAt.UTC().Format(time.RFC3339), a.IntentID,
				a.OutcomeID, a.EventType, a.Attempt, a.Result, a.HTTPStatus, str(oneLine(a.Error, 120)))
		}
		if len(out) == 0 {
			fmt.Fprintln(w, "no attempts")
		}
	})
}

// oneLine flattens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// AdminMerchantBkashCmd is `paystream admin merchants bkash get|set|delete`: a merchant's own bKash
// merchant account per environment (PUT/GET/DELETE /admin/v1/merchants/{id}/bkash[/{env}]).
type AdminMerchantBkashCmd struct {
	Get    AdminMerchantBkashGetCmd    `cmd:"" help:"Which upstream serves the merchant's bkash_tokenized intents in each environment (no secrets)."`
	Set    AdminMerchantBkashSetCmd    `cmd:"" help:"Set the merchant's own bKash account for one environment; secrets only as env:NAME or file:PATH on the ingest."`
	Delete AdminMerchantBkashDeleteCmd `cmd:"" help:"Forget the merchant's own bKash account for one environment (the server default, if any, serves new intents)."`
}

type AdminMerchantBkashGetCmd struct {
	ID string `arg:"" help:"Merchant id."`
}

func (c *AdminMerchantBkashGetCmd) Run(cli *adminClient) error {
	m, raw, err := cli.call(http.MethodGet, "/admin/v1/merchants/"+url.PathEscape(c.ID)+"/bkash", nil)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) { bkashUpstreamTable(w, m) })
}

type AdminMerchantBkashSetCmd struct {
	ID           string `arg:"" help:"Merchant id."`
	Env          string `name:"env" required:"" enum:"SANDBOX,LIVE,sandbox,live" help:"SANDBOX or LIVE."`
	BaseURL      string `name:"base-url" required:"" help:"bKash base URL: SANDBOX https://tokenized.sandbox.bka.sh/v1.2.0-beta, LIVE https://tokenized.pay.bka.sh/v1.2.0-beta."`
	Username     string `name:"username" required:"" help:"bKash merchant username."`
	AppKey       string `name:"app-key" required:"" help:"bKash app key."`
	PasswordRef  string `name:"password-ref" required:"" help:"Where the ingest reads the bKash password: env:NAME or file:PATH."`
	AppSecretRef string `name:"app-secret-ref" required:"" help:"Where the ingest reads the bKash app secret: env:NAME or file:PATH."`
}

func (c *AdminMerchantBkashSetCmd) Run(cli *adminClient) error {
	body := map[string]string{"baseUrl": c.BaseURL, "username": c.Username, "appKey": c.AppKey,
		"passwordRef": c.PasswordRef, "appSecretRef": c.AppSecretRef}
	m, raw, err := cli.call(http.MethodPut, "/admin/v1/merchants/"+url.PathEscape(c.ID)+"/bkash/"+url.PathEscape(strings.ToUpper(c.Env)), body)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) { bkashUpstreamTable(w, m) })
}

type AdminMerchantBkashDeleteCmd struct {
	ID  string `arg:"" help:"Merchant id."`
	Env string `name:"env" required:"" enum:"SANDBOX,LIVE,sandbox,live" help:"SANDBOX or LIVE."`
}

func (c *AdminMerchantBkashDeleteCmd) Run(cli *adminClient) error {
	m, raw, err := cli.call(http.MethodDelete, "/admin/v1/merchants/"+url.PathEscape(c.ID)+"/bkash/"+url.PathEscape(strings.ToUpper(c.Env)), nil)
	if err != nil {
		return err
	}
	return cli.show(raw, func(w *tabwriter.Writer) { bkashUpstreamTable(w, m) })
}

func bkashUpstreamTable(w *tabwriter.Writer, m map[string]any) {
	fmt.Fprintf(w, "merchant\t%s\n", str(m["merchantId"]))
	fmt.Fprintln(w, "ENV\tSOURCE\tBASE URL\tUSERNAME\tAPP KEY\tPASSWORD REF\tAPP SECRET REF")
	ups := obj(m["upstreams"])
	for _, env := range []string{"SANDBOX", "LIVE"} {
		u := obj(ups[env])
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", env, str(u["source"]), str(u["baseUrl"]), str(u["username"]),
			str(u["appKey"]), str(u["passwordRef"]), str(u["appSecretRef"]))
	}
}
