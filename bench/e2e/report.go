package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// Report is everything one run measured. It is written as JSON (-json) and as a table.
type Report struct {
	Config      ReportConfig           `json:"config"`
	Setup       SetupReport            `json:"setup"`
	Load        LoadReport             `json:"load"`
	Latency     LatencyReport          `json:"latency_ms"`
	BySurface   map[string]SurfaceStat `json:"by_surface"`
	Correctness Correctness            `json:"correctness"`
	Process     *ProcessReport         `json:"process,omitempty"`
	Machine     *MachineReport         `json:"machine,omitempty"`
	Headline    *HeadlineReport        `json:"headline,omitempty"`
	Profiles    []string               `json:"profiles,omitempty"`
	Series      []Second               `json:"series"`
}

// ReportConfig is what was asked.
type ReportConfig struct {
	Target      string  `json:"target"`
	Spawned     string  `json:"spawned,omitempty"`
	Merchants   int     `json:"merchants"`
	Payments    int     `json:"payments"`
	Rate        float64 `json:"rate"`
	Mix         string  `json:"mix"`
	Workers     int     `json:"workers"`
	Seed        uint64  `json:"seed"`
	WaitSeconds float64 `json:"wait_seconds"`
	Layout      string  `json:"layout,omitempty"`    // spawned: dev or production
	Processes   int     `json:"processes,omitempty"` // paystream processes measured (the broker apart)
}

// SetupReport is the onboarding and intent creation before the load.
type SetupReport struct {
	Merchants  int     `json:"merchants"`
	Intents    int     `json:"intents"`
	Seconds    float64 `json:"seconds"`
	IntentRate float64 `json:"intents_per_second"`
}

// LoadReport is the open-loop phase: what was offered, sent and accepted.
type LoadReport struct {
	Offered         int         `json:"offered"`           // payments scheduled
	OfferedRate     float64     `json:"offered_rate"`      // scheduled payments per second of schedule
	Sent            int         `json:"sent"`              // payments a worker sent
	SentRate        float64     `json:"sent_rate"`         // sent over the time from the first schedule to the last send
	Accepted        int         `json:"accepted"`          // 2xx the surface's accepting status
	AcceptedRate    float64     `json:"accepted_rate"`     // accepted over the time from the first schedule to the last accept
	Errors          int         `json:"errors"`            // answered, not accepted (any other status, or transport error)
	NotSent         int         `json:"not_sent"`          // interrupted before being sent
	Seconds         float64     `json:"seconds"`           // first schedule to last answer
	Interrupted     bool        `json:"interrupted"`       // stopped by a signal
	WaitedForWorker int         `json:"waited_for_worker"` // sends that found the pool saturated: the generator was behind
	SendLagMs       Percentiles `json:"send_lag_ms"`       // start of sending - schedule: the generator's own delay
	// Statuses counts answers per surface and HTTP status ("-1": transport error;
	// "txn.check": the check before each complete).
	Statuses     map[string]map[string]int `json:"statuses"`
	ErrorSamples []string                  `json:"error_samples,omitempty"`
}

// LatencyReport gives latency percentiles in milliseconds. "scheduled" is the open-loop send time;
// "accepted" when the 2xx came back; "decided" the webhook's timestamp (the matcher's decision
// time); "delivered" when the first payment.paid webhook reached the receiver.
type LatencyReport struct {
	Accept             Percentiles `json:"scheduled_to_accepted"`
	AcceptedDecided    Percentiles `json:"accepted_to_decided"`
	AcceptedDelivered  Percentiles `json:"accepted_to_delivered"`
	ScheduledDecided   Percentiles `json:"scheduled_to_decided"`
	ScheduledDelivered Percentiles `json:"scheduled_to_delivered"`
	// IntentCreated is from the schedule to the intent's 201 (-setup-in-window only: the intent is
	// created first, so every figure above includes it).
	IntentCreated Percentiles `json:"scheduled_to_intent_created"`
}

// SurfaceStat is one surface's share of the run.
type SurfaceStat struct {
	Offered  int           `json:"offered"`
	Accepted int           `json:"accepted"`
	Errors   int           `json:"errors"`
	Paid     int           `json:"paid"`
	Latency  LatencyReport `json:"latency_ms"`
}

// Correctness checks every payment against its intent.
type Correctness struct {
	PaidExactlyOnce   int            `json:"paid_exactly_once"`  // accepted, one payment.paid event, right merchant and TrxID
	Lost              int            `json:"lost"`               // accepted, no payment.paid by the end of the wait
	Duplicated        int            `json:"duplicated"`         // two or more distinct payment.paid events for one intent
	WrongMerchant     int            `json:"wrong_merchant"`     // an intent's webhook arrived at another merchant's URL
	WrongTrx          int            `json:"wrong_trx"`          // payment.paid naming another TrxID
	OtherEvents       int            `json:"other_events"`       // intents that got any other event (review, expiry…)
	PaidNotAccepted   int            `json:"paid_not_accepted"`  // paid although the report was not accepted (e.g. timeout)
	Redeliveries      int            `json:"redeliveries"`       // the same event again (same webhook id): not a duplicate
	BadSignatures     int            `json:"bad_signatures"`     // webhooks whose signatures did not verify
	UnknownIntent     int            `json:"unknown_intent"`     // verified webhooks for intents this run did not make
	UnknownPath       int            `json:"unknown_path"`       // requests to no merchant's URL
	MalformedWebhooks int            `json:"malformed_webhooks"` // verified, but not the native payload
	MatchTypes        map[string]int `json:"match_types"`        // of first payment.paid webhooks
}

// failed reports whether the run broke a correctness property.
func (c *Correctness) failed() bool {
	return c.Lost > 0 || c.Duplicated > 0 || c.WrongMerchant > 0 || c.WrongTrx > 0 || c.OtherEvents > 0 ||
		c.BadSignatures > 0 || c.UnknownIntent > 0 || c.UnknownPath > 0 || c.MalformedWebhooks > 0
}

// ProcessReport is paystream's CPU and memory, from /proc.
type ProcessReport struct {
	PID             int     `json:"pid"`
	CPUSecondsSetup float64 `json:"cpu_seconds_setup"`
	CPUSecondsLoad  float64 `json:"cpu_seconds_load"` // from the first scheduled send to the end of the wait
	LoadSeconds     float64 `json:"load_seconds"`
	CPUCoresLoad    float64 `json:"cpu_cores_load"` // CPUSecondsLoad / LoadSeconds
	PeakRSSBytes    uint64  `json:"peak_rss_bytes"` // VmHWM: the process's peak since it started
	MaxSampledRSS   uint64  `json:"max_sampled_rss_bytes"`
	// RSSByMinute is the largest RSS sampled in each minute of the load and the wait: flat over a
	// soak when memory is bounded.
	RSSByMinute  []uint64 `json:"rss_by_minute_bytes,omitempty"`
	GeneratorCPU float64  `json:"generator_cpu_seconds_load"` // this benchmark's own CPU over the same time
	Error        string   `json:"error,omitempty"`
}

// MachineReport is how busy the whole machine was during the load and the wait, and who kept it
// busy, in cores (CPU seconds per second): everything runs on one machine, so paystream's limit is
// often the CPU the others leave it.
type MachineReport struct {
	Cores          int                `json:"cores"`
	LoadSeconds    float64            `json:"load_seconds"`
	BusyCores      float64            `json:"busy_cores"`      // all processes, kernel included (/proc/stat)
	PaystreamCores float64            `json:"paystream_cores"` // 0 when paystream's pid is unknown
	GeneratorCores float64            `json:"generator_cores"` // this benchmark, its webhook receiver included
	ServiceCores   map[string]float64 `json:"service_cores"`   // redis-server, clickhouse-server
	Error          string             `json:"error,omitempty"`
}

// reportInput is the run's raw material.
type reportInput struct {
	config  ReportConfig
	setup   SetupReport
	load    loadResult
	t0      int64 // unix ns of the first scheduled send
	pays    []payment
	rcv     *receiver
	errs    []string
	process *ProcessReport
	machine *MachineReport
	samples []procSample
}

// buildReport computes the report. It must run after the load and the receiver have stopped.
func buildReport(in reportInput) *Report {
	r := &Report{Config: in.config, Setup: in.setup, Process: in.process, Machine: in.machine, BySurface: map[string]SurfaceStat{}}
	ld := &r.Load
	ld.Statuses = map[string]map[string]int{}
	ld.WaitedForWorker, ld.Interrupted, ld.ErrorSamples = in.load.waited, in.load.stopped, in.errs
	c := &r.Correctness
	c.MatchTypes = map[string]int{}
	var lastSched, lastSent, lastAnswer, lastAccept int64
	var lag []float64
	all := newLatencies()
	var per [numSurfaces]*latencies
	for s := range per {
		per[s] = newLatencies()
	}
	count := func(surf, status string) {
		if ld.Statuses[surf] == nil {
			ld.Statuses[surf] = map[string]int{}
		}
		ld.Statuses[surf][status]++
	}
	for i := range in.pays {
		p := &in.pays[i]
		name := p.surface.String()
		st := r.BySurface[name]
		if p.scheduled != 0 && p.scheduled >= in.t0 {
			ld.Offered++
			st.Offered++
			lastSched = max(lastSched, p.scheduled)
		}
		if p.started == 0 {
			if p.scheduled != 0 {
				ld.NotSent++
			}
			r.BySurface[name] = st
			continue
		}
		ld.Sent++
		lastSent = max(lastSent, p.started)
		lag = append(lag, nsToMs(p.started-p.scheduled))
		lastAnswer = max(lastAnswer, p.answered)
		status := strconv.Itoa(int(p.status))
		if p.notPayment {
			status += " (not a payment)"
		}
		count(name, status)
		if p.surface == surfTxn && p.checkStatus != 0 {
			count("txn.check", strconv.Itoa(int(p.checkStatus)))
		}
		paid := p.paidEvents > 0
		if paid {
			st.Paid++
			c.MatchTypes[p.matchType]++
		}
		if p.accepted() {
			ld.Accepted++
			st.Accepted++
			lastAccept = max(lastAccept, p.answered)
			all.add(p)
			per[p.surface].add(p)
		} else {
			ld.Errors++
			st.Errors++
			if paid {
				c.PaidNotAccepted++
			}
		}
		switch {
		case p.paidEvents > 1:
			c.Duplicated++
		case p.accepted() && !paid:
			c.Lost++
		case paid && p.accepted() && p.wrongMerchant == 0 && !p.wrongTrx:
			c.PaidExactlyOnce++
		}
		if p.wrongMerchant > 0 {
			c.WrongMerchant++
		}
		if p.wrongTrx {
			c.WrongTrx++
		}
		if p.otherEvents > 0 {
			c.OtherEvents++
		}
		c.Redeliveries += int(p.redeliveries)
		r.BySurface[name] = st
	}
	if in.rcv != nil {
		in.rcv.mu.Lock()
		c.BadSignatures, c.UnknownIntent, c.UnknownPath, c.MalformedWebhooks =
			in.rcv.badSignatures, in.rcv.unknownIntent, in.rcv.unknownPath, in.rcv.malformed
		in.rcv.mu.Unlock()
	}
	span := func(last int64) float64 { return float64(last-in.t0) / 1e9 }
	if ld.Offered > 1 && lastSched > in.t0 {
		// n sends at a fixed interval span n-1 intervals.
		ld.OfferedRate = float64(ld.Offered-1) / span(lastSched)
	} else {
		ld.OfferedRate = in.config.Rate
	}
	if lastSent > in.t0 {
		ld.SentRate = float64(ld.Sent) / max(span(lastSent), 1/in.config.Rate)
	}
	if lastAccept > in.t0 {
		ld.AcceptedRate = float64(ld.Accepted) / max(span(lastAccept), 1/in.config.Rate)
	}
	if lastAnswer > in.t0 {
		ld.Seconds = span(lastAnswer)
	}
	ld.SendLagMs = percentiles(lag)
	r.Latency = all.report()
	for s, l := range per {
		name := surface(s).String()
		if st, ok := r.BySurface[name]; ok {
			st.Latency = l.report()
			r.BySurface[name] = st
		}
	}
	r.Series = buildSeries(seriesInput{t0: in.t0, pays: in.pays, samples: in.samples})
	return r
}

// latencies collects the latency samples of accepted payments.
type latencies struct {
	accept, accDec, accDel, schedDec, schedDel, intent []float64
}

func newLatencies() *latencies { return &latencies{} }

func (l *latencies) add(p *payment) {
	l.accept = append(l.accept, nsToMs(p.answered-p.scheduled))
	if p.intentAt != 0 {
		l.intent = append(l.intent, nsToMs(p.intentAt-p.scheduled))
	}
	if p.decidedAt != 0 {
		l.accDec = append(l.accDec, nsToMs(p.decidedAt-p.answered))
		l.schedDec = append(l.schedDec, nsToMs(p.decidedAt-p.scheduled))
	}
	if p.paidAt != 0 {
		l.accDel = append(l.accDel, nsToMs(p.paidAt-p.answered))
		l.schedDel = append(l.schedDel, nsToMs(p.paidAt-p.scheduled))
	}
}

func (l *latencies) report() LatencyReport {
	return LatencyReport{
		Accept: percentiles(l.accept), AcceptedDecided: percentiles(l.accDec), AcceptedDelivered: percentiles(l.accDel),
		ScheduledDecided: percentiles(l.schedDec), ScheduledDelivered: percentiles(l.schedDel), IntentCreated: percentiles(l.intent),
	}
}

// writeJSON writes r, indented, to path.
func writeJSON(path string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// writeTable writes the readable report.
func writeTable(w io.Writer, r *Report) error {
	cf, ld, c := &r.Config, &r.Load, &r.Correctness
	var b strings.Builder
	target := cf.Target
	if cf.Spawned != "" {
		target = "spawned " + cf.Spawned + " " + cf.Layout + " at " + cf.Target
	}
	fmt.Fprintf(&b, "\npaystream bench: %d payments to %d merchants at %.0f/s, mix %s, %s\n\n", cf.Payments, cf.Merchants, cf.Rate, cf.Mix, target)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "set-up\t%d merchants, %d intents in %.1f s (%.0f intents/s)\n", r.Setup.Merchants, r.Setup.Intents, r.Setup.Seconds, r.Setup.IntentRate)
	fmt.Fprintf(tw, "offered\t%d at %.1f/s\n", ld.Offered, ld.OfferedRate)
	fmt.Fprintf(tw, "sent\t%d at %.1f/s (not sent %d%s)\n", ld.Sent, ld.SentRate, ld.NotSent, map[bool]string{true: ", interrupted", false: ""}[ld.Interrupted])
	fmt.Fprintf(tw, "accepted\t%d at %.1f/s; errors %d\n", ld.Accepted, ld.AcceptedRate, ld.Errors)
	fmt.Fprintf(tw, "generator\t%d workers; behind (pool saturated) %d; send lag p50 %.2f / p99 %.2f / max %.2f ms\n",
		cf.Workers, ld.WaitedForWorker, ld.SendLagMs.P50, ld.SendLagMs.P99, ld.SendLagMs.Max)
	fmt.Fprintf(tw, "statuses\t%s\n", formatStatuses(ld.Statuses))
	_ = tw.Flush()

	fmt.Fprintf(&b, "\n%-30s %7s %9s %9s %9s %9s %9s\n", "latency (ms)", "n", "p50", "p90", "p99", "p99.9", "max")
	for _, row := range []struct {
		name string
		p    Percentiles
	}{
		{"HTTP accept (from schedule)", r.Latency.Accept},
		{"accepted → decided", r.Latency.AcceptedDecided},
		{"accepted → webhook delivered", r.Latency.AcceptedDelivered},
		{"scheduled → decided", r.Latency.ScheduledDecided},
		{"scheduled → webhook delivered", r.Latency.ScheduledDelivered},
		{"scheduled → intent created", r.Latency.IntentCreated},
	} {
		p := row.p
		if p.Count == 0 && strings.Contains(row.name, "intent") {
			continue
		}
		fmt.Fprintf(&b, "%s %7d %9.1f %9.1f %9.1f %9.1f %9.1f\n", padRight(row.name, 30), p.Count, p.P50, p.P90, p.P99, p.P999, p.Max)
	}

	fmt.Fprintf(&b, "\n%-8s %8s %8s %7s %8s %17s %17s\n", "surface", "offered", "accepted", "errors", "paid", "accept p50/p99", "delivered p50/p99")
	for _, name := range surfaceNames {
		st, ok := r.BySurface[name]
		if !ok || st.Offered == 0 {
			continue
		}
		l := st.Latency
		fmt.Fprintf(&b, "%-8s %8d %8d %7d %8d %17s %17s\n", name, st.Offered, st.Accepted, st.Errors, st.Paid,
			fmt.Sprintf("%.1f / %.1f", l.Accept.P50, l.Accept.P99), fmt.Sprintf("%.1f / %.1f", l.ScheduledDelivered.P50, l.ScheduledDelivered.P99))
	}
	fmt.Fprintf(&b, "(surface latencies in ms from the schedule)\n")

	fmt.Fprintf(&b, "\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "correctness\tpaid exactly once %d of %d accepted; lost %d; duplicated %d; wrong merchant %d\n",
		c.PaidExactlyOnce, ld.Accepted, c.Lost, c.Duplicated, c.WrongMerchant)
	fmt.Fprintf(tw, "\twrong TrxID %d; other events %d; paid though not accepted %d; redeliveries %d\n",
		c.WrongTrx, c.OtherEvents, c.PaidNotAccepted, c.Redeliveries)
	fmt.Fprintf(tw, "webhooks\tbad signatures %d; unknown intent %d; unknown path %d; malformed %d\n",
		c.BadSignatures, c.UnknownIntent, c.UnknownPath, c.MalformedWebhooks)
	fmt.Fprintf(tw, "match types\t%s\n", formatCounts(c.MatchTypes))
	if p := r.Process; p != nil {
		if p.Error != "" {
			fmt.Fprintf(tw, "paystream\tpid %d: %s\n", p.PID, p.Error)
		} else {
			who := fmt.Sprintf("pid %d", p.PID)
			if cf.Processes > 1 {
				who = fmt.Sprintf("%d processes (the broker apart)", cf.Processes)
			}
			fmt.Fprintf(tw, "paystream\t%s: CPU %.1f s over %.1f s of load (%.2f cores), %.1f s in set-up\n",
				who, p.CPUSecondsLoad, p.LoadSeconds, p.CPUCoresLoad, p.CPUSecondsSetup)
			hwm := "VmHWM"
			if cf.Processes > 1 {
				hwm = "VmHWM, summed"
			}
			fmt.Fprintf(tw, "\tpeak RSS %.0f MiB (%s), max sampled %.0f MiB; generator CPU %.1f s\n",
				float64(p.PeakRSSBytes)/(1<<20), hwm, float64(p.MaxSampledRSS)/(1<<20), p.GeneratorCPU)
		}
	}
	if m := r.Machine; m != nil {
		if m.Error != "" {
			fmt.Fprintf(tw, "machine\t%s\n", m.Error)
		} else {
			fmt.Fprintf(tw, "machine\t%.2f of %d cores busy: paystream %.2f, redis-server %.2f, clickhouse-server %.2f, this generator %.2f\n",
				m.BusyCores, m.Cores, m.PaystreamCores, m.ServiceCores["redis-server"], m.ServiceCores["clickhouse-server"], m.GeneratorCores)
		}
	}
	if p := r.Process; p != nil && len(p.RSSByMinute) > 1 {
		parts := make([]string, len(p.RSSByMinute))
		for i, v := range p.RSSByMinute {
			parts[i] = fmt.Sprintf("%.0f", float64(v)/(1<<20))
		}
		fmt.Fprintf(tw, "RSS by minute\t%s MiB\n", strings.Join(parts, " / "))
	}
	_ = tw.Flush()
	if h := r.Headline; h != nil {
		writeHeadline(&b, h)
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, f := range r.Profiles {
		fmt.Fprintf(tw, "profile\t%s\n", f)
	}
	for _, e := range ld.ErrorSamples {
		fmt.Fprintf(tw, "error\t%s\n", e)
	}
	_ = tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// padRight pads s with spaces to n runes (fmt's widths count bytes, and the arrows are three).
func padRight(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// formatStatuses writes "native 202×750, txn 202×750, txn.check 202×750", surfaces in order.
func formatStatuses(st map[string]map[string]int) string {
	var parts []string
	for _, surf := range slices.Sorted(maps.Keys(st)) {
		for _, code := range slices.Sorted(maps.Keys(st[surf])) {
			parts = append(parts, fmt.Sprintf("%s %s×%d", surf, code, st[surf][code]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// formatCounts writes "A 3, B 1", keys sorted.
func formatCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// writeHeadline writes the headline block: CPU-µs per payment (net of the idle rate, raw in
// brackets) for paystream, each of its processes, the broker and Redis, and Redis's bytes.
func writeHeadline(b *strings.Builder, h *HeadlineReport) {
	inWindow := "intents created in set-up (not counted)"
	if h.SetupInWindow {
		inWindow = fmt.Sprintf("intents created in the window (TTL %.0f s)", h.IntentTTL)
	}
	rl := h.RateLimits
	if rl == "" {
		rl = "as configured"
	}
	fmt.Fprintf(b, "\nheadline (%s layout; %s; rate limits %s; %d payments at %.1f/s; window %.1f s; idle measured %.1f s)\n",
		orUnknown(h.Layout), inWindow, rl, h.Payments, h.PaymentsPerSecond, h.WindowSeconds, h.IdleSeconds)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tCPU-µs/payment net\traw\tCPU s raw\tidle cores\t\n")
	fmt.Fprintf(tw, "paystream (all roles)\t%.0f\t%.0f\t%.2f\t%.3f\t\n", h.PaystreamUsPerPayment, h.PaystreamUsPerPaymentRaw, h.PaystreamCPUSeconds, h.PaystreamIdleCores)
	if len(h.Roles) > 1 {
		for _, r := range h.Roles {
			fmt.Fprintf(tw, "  %s (pid %d)\t%.0f\t%.0f\t%.2f\t%.3f\t\n", r.Name, r.PID, r.UsPerPayment, r.UsPerPaymentRaw, r.CPUSeconds, r.IdleCores)
		}
	}
	if r := h.Broker; r != nil {
		fmt.Fprintf(tw, "broker %s (pid %d)\t%.0f\t%.0f\t%.2f\t%.3f\t\n", r.Name, r.PID, r.UsPerPayment, r.UsPerPaymentRaw, r.CPUSeconds, r.IdleCores)
	}
	if r := h.Redis; r != nil {
		fmt.Fprintf(tw, "redis-server (pid %d)\t%.0f\t%.0f\t%.2f\t%.3f\t\n", r.PID, r.UsPerPayment, r.UsPerPaymentRaw, r.CPUSeconds, r.IdleCores)
	}
	_ = tw.Flush()
	if r := h.Redis; r != nil {
		fmt.Fprintf(b, "redis: %.1f commands/payment (net; every client of the server); used_memory %.1f → %.1f MiB: %.0f bytes retained/payment (whole server); the run's keys: %.0f bytes/payment (sampled MEMORY USAGE)\n",
			r.CommandsPerPayment, float64(r.UsedMemoryBefore)/(1<<20), float64(r.UsedMemoryAfter)/(1<<20), r.BytesRetainedPerPayment, r.SampledBytesPerPayment)
		if len(r.Families) > 0 {
			parts := make([]string, 0, len(r.Families))
			for _, f := range r.Families {
				parts = append(parts, fmt.Sprintf("%s %.0f B (%.2f keys)", f.Family, f.BytesPerPayment, f.KeysPerPayment))
			}
			fmt.Fprintf(b, "redis bytes/payment by family: %s\n", strings.Join(parts, ", "))
		}
		if r.Error != "" {
			fmt.Fprintf(b, "redis: %s\n", r.Error)
		}
	}
	if h.PendingDeadlines > 0 {
		fmt.Fprintf(b, "expiry: %d deadlines still pending at the end of the window\n", h.PendingDeadlines)
	}
	if h.Error != "" {
		fmt.Fprintf(b, "headline: %s\n", h.Error)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
