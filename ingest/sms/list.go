package sms

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
)

// handleListSMS lists the SMS kept for operators, newest first:
// GET /admin/v1/merchants/:id/sms?filter=suspicious|unparsed|unrouted|unused&env=SANDBOX|LIVE&page=&limit=
// → {data: [keptSMS], total, page, limit}. Only the newest smsKeepMax are kept.
func (s *Surface) handleListSMS(ctx *fasthttp.RequestCtx) {
	m := s.admin.AdminMerchant(ctx)
	if m == nil {
		return
	}
	args := ctx.QueryArgs()
	filter := strings.ToLower(string(args.Peek("filter")))
	if filter != "" && !smsKept(filter) {
		ingest.WriteError(ctx, ingest.Errf(http.StatusBadRequest, "filter must be suspicious, unparsed, unrouted or unused"))
		return
	}
	env, ae := ingest.EnvArg(args)
	if ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	page, ae := ingest.IntArg(args, "page", 1, 1, smsKeepMax)
	if ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	limit, ae := ingest.IntArg(args, "limit", 20, 1, 100)
	if ae != nil {
		ingest.WriteError(ctx, ae)
		return
	}
	raw, err := s.rdb.LRange(ingest.RequestContext(ctx), smsListKey(s.keys, m.ID), 0, smsKeepMax-1).Result()
	if err != nil {
		s.pub.Internal(ctx, "listing sms", err)
		return
	}
	all := make([]keptSMS, 0, len(raw))
	for _, r := range raw {
		var k keptSMS
		if err := json.Unmarshal([]byte(r), &k); err != nil {
			s.log.Warn("undecodable kept sms skipped", "merchant", m.ID, "err", err)
			continue
		}
		if (filter == "" || k.Result == filter) && (env == "" || k.Environment == env) {
			all = append(all, k)
		}
	}
	from := min((page-1)*limit, len(all))
	to := min(from+limit, len(all))
	ingest.WriteJSON(ctx, http.StatusOK, map[string]any{"data": all[from:to], "total": len(all), "page": page, "limit": limit})
}
