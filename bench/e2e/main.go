// Command e2e is paystream's end-to-end benchmark: an open-loop load generator driving a running
// paystream over HTTP, with a local webhook receiver that verifies every signature.
//
// It onboards N merchants (one SANDBOX bKash wallet each, plus the SMS device, SNS integration and
// bKash transaction-API integration the mix needs) and creates one intent per payment, amounts
// unique per merchant so that every payment has exactly one right intent. Then it offers the
// payments at a fixed arrival rate (open loop: each payment has a scheduled send time, latency is
// measured from it, so a slow server cannot hide queueing behind a slower client), each reported
// through the surface the mix draws for it:
//
//   - native: seed 004's sandbox simulator (matched by amount);
//   - sms:    the merchant's device forwards the bKash "You have received Tk …" SMS from "bKash",
//     with a Ref and a consistent wallet balance (matched by reference);
//   - sns:    seed 003's SNS-shaped notification (matched by merchantInvoiceNumber);
//   - txn:    seed 002's check, then complete, signed over RFC 8785 JSON (matched by reference).
//
// It reports offered and accepted rates, statuses per surface, latency percentiles (HTTP accept,
// accepted → decided, accepted → delivered, and the same from the schedule), correctness (paid
// exactly once, lost, duplicated, wrong merchant, …) and paystream's CPU and peak RSS, as a table,
// as JSON (-json) and as a chart over time (-plot). Its headline (issue 16) is paystream's CPU-µs
// per payment net of the idle rate, per process (-layout production: one process per role on a
// standalone broker, reported apart), beside Redis's CPU-µs and bytes retained per payment; with
// -setup-in-window intent creation and expiry are inside the measured window. Flags and the
// report's fields: README.md here; results: bench/README.md.
//
//	go run ./bench/e2e -spawn bin/paystream                                     # starts its own `paystream dev`
//	go run ./bench/e2e -url http://127.0.0.1:8080 -admin $PAYSTREAM_ADMIN_TOKEN -pid $(pidof paystream)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
	"github.com/redis/go-redis/v9"
)

type options struct {
	spawn, url, admin string
	pid               int
	pprof, profileDir string
	merchants         int
	intents           int
	duration          time.Duration
	rate              float64
	mix               string
	workers           int
	concurrency       int
	timeout           time.Duration
	wait, grace       time.Duration
	jsonOut, plotOut  string
	quiet             bool
	seed              uint64
	partitions        int
	env               []string
	keep              bool
	receiverAddr      string
	receiverURL       string
	sampleEvery       time.Duration
	layout            string
	setupInWindow     bool
	idle              time.Duration
	ttl               time.Duration
	rateLimits        string
	redisPrefix       string
	familySample      int
	idemKeys          bool
}

// parseFlags reads the command line.
func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	fs.StringVar(&o.spawn, "spawn", "", "path of a paystream binary: start `paystream dev` (see -layout) on free ports for this run (rate limits off unless -rate-limits defaults)")
	fs.StringVar(&o.url, "url", "", "base URL of a running paystream instead (it needs PAYSTREAM_ALLOW_PRIVATE_WEBHOOKS=true for the local receiver, and rate limits off to measure capacity)")
	fs.StringVar(&o.admin, "admin", os.Getenv("PAYSTREAM_ADMIN_TOKEN"), "admin token of the running paystream (default $PAYSTREAM_ADMIN_TOKEN)")
	fs.IntVar(&o.pid, "pid", 0, "pid of the running paystream, for its CPU and RSS from /proc (spawned: its own)")
	fs.StringVar(&o.pprof, "pprof", "", "base URL serving /debug/pprof (default: the spawned paystream's metrics address, else -url)")
	fs.StringVar(&o.profileDir, "profile", "", "fetch a CPU profile of the load and a heap profile after it from /debug/pprof into this directory (spawned: sets PAYSTREAM_PPROF=true)")
	fs.IntVar(&o.merchants, "merchants", 10, "merchants, one bKash wallet each")
	fs.IntVar(&o.intents, "intents", 5000, "payments (one intent each); see -duration")
	fs.DurationVar(&o.duration, "duration", 0, "offer payments for this long instead (payments = rate × duration)")
	fs.Float64Var(&o.rate, "rate", 500, "payments offered per second (open loop)")
	fs.StringVar(&o.mix, "mix", "native=1", "which surface reports each payment, by weight: native=4,sms=3,sns=2,txn=1")
	fs.IntVar(&o.workers, "workers", 0, "concurrent senders (default: rate × 1 s, 64…4096); a payment that finds them all busy counts as 'generator behind'")
	fs.IntVar(&o.concurrency, "concurrency", 64, "concurrent intent creations during set-up")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "HTTP timeout of one request")
	fs.DurationVar(&o.wait, "wait", 60*time.Second, "how long to wait for the last webhooks after the load")
	fs.DurationVar(&o.grace, "grace", time.Second, "how long to keep listening after the last expected webhook, for duplicates")
	fs.StringVar(&o.jsonOut, "json", "", "write the full report as JSON to this file")
	fs.StringVar(&o.plotOut, "plot", "", "write a chart of throughput, latency, CPU and RSS over time to this .png, .svg or .html file")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bars (they are off anyway when stderr is not a terminal)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the surface draw and of TrxIDs and payer numbers (default: random)")
	fs.IntVar(&o.partitions, "partitions", 0, "spawned: PAYSTREAM_KAFKA_PARTITIONS (default: paystream's)")
	fs.Func("env", "spawned: extra NAME=value for paystream's environment (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return errors.New("want NAME=value")
		}
		o.env = append(o.env, s)
		return nil
	})
	fs.BoolVar(&o.keep, "keep", false, "spawned: keep its Redis keys, ClickHouse database, data dir and log")
	fs.StringVar(&o.receiverAddr, "receiver-addr", "127.0.0.1:0", "where the webhook receiver listens")
	fs.StringVar(&o.receiverURL, "receiver-url", "", "base URL paystream reaches the receiver at (default: http://<receiver-addr>)")
	fs.DurationVar(&o.sampleEvery, "sample", 500*time.Millisecond, "how often to sample paystream's CPU and RSS")
	fs.StringVar(&o.layout, "layout", layoutDev, "spawned: dev (one `paystream dev`) or production (`paystream kafka-dev` and one process per role: ingest ×2, matcher ×2, webhooks, audit)")
	fs.BoolVar(&o.setupInWindow, "setup-in-window", false, "create each payment's intent just before its payment, inside the measured window, with a short -ttl, and wait until every deadline has been checked (expiry inside the window)")
	fs.DurationVar(&o.idle, "idle", 5*time.Second, "measure the idle CPU rate (nothing offered) this long before the load; it is subtracted from the window's CPU (0: none)")
	fs.DurationVar(&o.ttl, "ttl", 0, "intents' TTL (default: 20s with -setup-in-window, else long enough to outlive the run)")
	fs.StringVar(&o.rateLimits, "rate-limits", "off", "spawned: off (both rate limits 0) or defaults (paystream's production defaults)")
	fs.StringVar(&o.redisPrefix, "redis-prefix", "", "-url: the running paystream's PAYSTREAM_REDIS_PREFIX, for the bytes its keys hold per family (spawned: its own)")
	fs.BoolVar(&o.idemKeys, "idempotency-keys", false, "send an idempotencyKey with every intent, as merchants' integrations do (its claim is then in the CPU and the Redis bytes)")
	fs.IntVar(&o.familySample, "family-sample", 200, "keys per family whose MEMORY USAGE is read after the run (0: no per-family figures)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// errCorrectness is returned when the report shows a lost, duplicated or misrouted payment.
var errCorrectness = errors.New("correctness failed")

func run(ctx context.Context, o options) error {
	mx, err := parseMix(o.mix)
	if err != nil {
		return err
	}
	n := o.intents
	if o.duration > 0 {
		n = int(math.Ceil(o.rate * o.duration.Seconds()))
	}
	switch {
	case o.rate <= 0 || math.IsInf(o.rate, 0) || math.IsNaN(o.rate):
		return errors.New("-rate must be positive")
	case o.merchants < 1:
		return errors.New("-merchants must be at least 1")
	case n < 1 || n > 10_000_000:
		return fmt.Errorf("%d payments: want 1 to 10,000,000", n)
	case o.concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	}
	workers := o.workers
	if workers <= 0 {
		workers = max(64, min(4096, int(math.Ceil(o.rate))))
	}
	if o.seed == 0 {
		o.seed = randUint64()
	}
	bars := !o.quiet && stderrIsTerminal()

	switch {
	case o.rateLimits != "off" && o.rateLimits != "defaults":
		return fmt.Errorf("-rate-limits %q: want off or defaults", o.rateLimits)
	case o.idle < 0:
		return errors.New("-idle must not be negative")
	}
	ttl := o.ttl
	if ttl == 0 && o.setupInWindow {
		ttl = 20 * time.Second
	}
	if ttl == 0 {
		// Intents live through set-up, the load and the wait, with room to spare.
		ttl = min(604800*time.Second, max(time.Hour, 2*time.Duration(float64(n)/o.rate*float64(time.Second))+o.wait+10*time.Minute))
	}
	in := &instance{base: strings.TrimRight(o.url, "/"), admin: o.admin, pprof: strings.TrimRight(o.url, "/")}
	if o.spawn != "" {
		in, err = spawn(spawnConfig{bin: o.spawn, layout: o.layout, partitions: o.partitions, env: o.env, keepState: o.keep,
			pprof: o.profileDir != "", rateLimits: o.rateLimits == "defaults"})
		if err != nil {
			return err
		}
		defer in.stop()
		fmt.Fprintf(os.Stderr, "bench: spawned %s %s (%s) at %v; logs %s\n", o.spawn, in.layout, formatProcs(in), in.bases, in.spawnLog)
	}
	if o.pid != 0 {
		in.procs = []procRef{{name: "paystream", pid: o.pid}}
	}
	if len(in.bases) == 0 {
		in.bases = []string{in.base}
	}
	if in.prefix == "" {
		in.prefix = o.redisPrefix
	}
	if o.pprof != "" {
		in.pprof = strings.TrimRight(o.pprof, "/")
	}
	if in.base == "" || in.admin == "" {
		return errors.New("give -spawn <binary>, or -url and -admin (or $PAYSTREAM_ADMIN_TOKEN) of a running paystream")
	}

	// The receiver listens now, so the merchants' webhook URLs are known; it serves once set-up
	// has filled in its secrets and intents.
	ln, err := net.Listen("tcp", o.receiverAddr)
	if err != nil {
		return fmt.Errorf("listening for webhooks: %w", err)
	}
	defer ln.Close()
	hookBase := strings.TrimRight(o.receiverURL, "/")
	if hookBase == "" {
		hookBase = "http://" + ln.Addr().String()
	}

	var smp *sampler
	sctx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	var cpuStart procSample
	if len(in.procs) > 0 {
		smp = &sampler{pids: in.pids(), interval: o.sampleEvery, machine: true}
		go smp.run(sctx)
		if cpuStart, err = readProcs(in.pids()); err != nil {
			return fmt.Errorf("-pid: %w", err)
		}
	}
	rdb := newRedisClient()
	defer rdb.Close()
	var memBefore int64
	hasRedis := true
	if st, err := readRedisStats(ctx, rdb); err != nil {
		fmt.Fprintf(os.Stderr, "bench: no Redis figures: %v\n", err)
		hasRedis = false
	} else {
		memBefore = st.usedMemory
	}
	var hrdb *redis.Client
	if hasRedis {
		hrdb = rdb
	}

	var prof *profiler
	if o.profileDir != "" {
		prof = &profiler{base: in.pprof, dir: o.profileDir}
		if err := prof.probe(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "bench: no profiles: %v\n", err)
			prof = nil
		}
	}

	// Set-up.
	setupStart := time.Now()
	pays := newPlan(planConfig{merchants: o.merchants, n: n, mix: mx, seed: o.seed})
	client := &http.Client{Timeout: o.timeout, Transport: &http.Transport{
		Proxy: nil, MaxIdleConns: workers + o.concurrency, MaxIdleConnsPerHost: workers + o.concurrency,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true,
	}}
	defer client.CloseIdleConnections()
	adm := &admin{base: in.base, token: in.admin, client: client}
	merchants := make([]merchantCreds, o.merchants)
	rcv := &receiver{secrets: make([]string, o.merchants), pays: pays, index: make(map[string]int, n)}
	for m := range merchants {
		if merchants[m], err = adm.onboard(ctx, m, hookBase+webhookPath(m), mx); err != nil {
			return err
		}
		rcv.secrets[m] = merchants[m].webhookSecret
	}
	setupIntents := 0
	if !o.setupInWindow {
		if err := adm.createIntents(ctx, pays, merchants, o.concurrency, ttl, o.idemKeys, newProgress(bars, n, "creating intents")); err != nil {
			return err
		}
		for i := range pays {
			rcv.register(pays[i].intentID, i)
		}
		setupIntents = n
	}
	setupSecs := time.Since(setupStart).Seconds()
	fmt.Fprintf(os.Stderr, "bench: set-up: %d merchants, %d intents in %.1f s\n", o.merchants, setupIntents, setupSecs)
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	// Idle: paystream's (and the broker's and Redis's) CPU rate with nothing offered.
	idle0 := takeSnapshot(ctx, in, hrdb)
	if o.idle > 0 {
		fmt.Fprintf(os.Stderr, "bench: measuring the idle CPU rate for %s\n", o.idle)
		select {
		case <-ctx.Done():
		case <-time.After(o.idle):
		}
	}
	idle1 := takeSnapshot(ctx, in, hrdb)

	// Load: schedule every payment, then offer them.
	start := time.Now().Add(200 * time.Millisecond)
	schedule(pays, start, o.rate)
	assignSMS(pays, o.merchants, func(m int) int64 { return 1_000_000 + int64(m)*12_345 })
	t0 := start.UnixNano()
	var cpuLoad procSample
	if len(in.procs) > 0 {
		if cpuLoad, err = readProcs(in.pids()); err != nil {
			return err
		}
	}
	win0 := takeSnapshot(ctx, in, hrdb)
	selfStart := selfCPU()
	machStart, machErr := readMachineCPU()
	if prof != nil {
		prof.startCPU(ctx, time.Until(start)+time.Duration(float64(n)/o.rate*float64(time.Second))+time.Second)
	}
	snd := &sender{bases: in.bases, client: client, merchants: merchants, errs: &errorSamples{}, rcv: rcv}
	if o.setupInWindow {
		snd.intentTTL, snd.idemKeys = ttl, o.idemKeys
	}
	var done atomic.Int64
	bar := newProgress(bars, n, "offering payments")
	wctx, stopWatch := context.WithCancel(ctx)
	go bar.watch(wctx, func() (int, string) {
		return int(done.Load()), fmt.Sprintf("offering at %.0f/s", o.rate)
	})
	lr := runLoad(ctx, pays, workers, snd.send, &done)
	stopWatch()
	bar.finish()
	fmt.Fprintf(os.Stderr, "bench: load: %d payments offered in %.1f s\n", done.Load(), time.Since(start).Seconds())

	// Wait for every accepted payment's webhook (or -wait), then a grace period for duplicates.
	accepted := 0
	for i := range pays {
		if pays[i].accepted() {
			accepted++
		}
	}
	bar = newProgress(bars, accepted, "waiting for webhooks")
	deadline := time.Now().Add(o.wait)
	for ctx.Err() == nil {
		got := paidAccepted(rcv)
		bar.set(got, "")
		if got >= accepted || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	bar.finish()
	pending := int64(-1)
	if o.setupInWindow && hasRedis && in.prefix != "" {
		pending = drainDeadlines(ctx, rdb, in.prefix, o.partitions, lastIntent(pays).Add(ttl+30*time.Second), bars)
	}
	if ctx.Err() == nil {
		time.Sleep(o.grace)
	}
	loadEnd := time.Now()
	win1 := takeSnapshot(ctx, in, hrdb)

	mach := &MachineReport{Cores: runtime.NumCPU(), LoadSeconds: loadEnd.Sub(start).Seconds()}
	if machErr == nil {
		end, err := readMachineCPU()
		machErr = err
		mach.BusyCores, mach.ServiceCores = cpuShare(machStart, end, mach.LoadSeconds)
		mach.GeneratorCores = (selfCPU() - selfStart) / max(mach.LoadSeconds, 1e-9)
	}
	if machErr != nil {
		mach.Error = machErr.Error()
	}

	var proc *ProcessReport
	if len(in.procs) > 0 {
		proc = &ProcessReport{PID: in.procs[0].pid, LoadSeconds: loadEnd.Sub(start).Seconds(), GeneratorCPU: selfCPU() - selfStart}
		end, err1 := readProcs(in.pids())
		var peak uint64
		var err2 error
		for _, pid := range in.pids() {
			v, err := peakRSS(pid)
			peak += v
			err2 = errors.Join(err2, err)
		}
		stopSampling()
		samples, err3 := smp.snapshot()
		if err := errors.Join(err1, err2, err3); err != nil {
			proc.Error = err.Error()
		}
		proc.CPUSecondsSetup = cpuLoad.cpuSeconds - cpuStart.cpuSeconds
		proc.CPUSecondsLoad = end.cpuSeconds - cpuLoad.cpuSeconds
		proc.CPUCoresLoad = proc.CPUSecondsLoad / max(proc.LoadSeconds, 1e-9)
		proc.PeakRSSBytes = peak
		proc.RSSByMinute = rssByMinute(samples, t0)
		for _, m := range proc.RSSByMinute {
			proc.MaxSampledRSS = max(proc.MaxSampledRSS, m)
		}
		mach.PaystreamCores = proc.CPUCoresLoad
	}
	var profiles []string
	if prof != nil {
		var err error
		if profiles, err = prof.finish(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(os.Stderr, "bench: profiles: %v\n", err)
		}
	}
	_ = srv.Close()

	var samples []procSample
	if smp != nil {
		samples, _ = smp.snapshot()
	}
	rep := buildReport(reportInput{
		config: ReportConfig{
			Target: in.base, Spawned: in.spawned, Merchants: o.merchants, Payments: n, Rate: o.rate, Mix: mx.String(),
			Workers: workers, Seed: o.seed, WaitSeconds: o.wait.Seconds(), Layout: in.layout, Processes: len(in.procs),
		},
		setup:   SetupReport{Merchants: o.merchants, Intents: setupIntents, Seconds: setupSecs, IntentRate: float64(setupIntents) / setupSecs},
		load:    lr,
		t0:      t0,
		pays:    pays,
		rcv:     rcv,
		errs:    snd.errs.list(),
		process: proc,
		machine: mach,
		samples: samples,
	})
	rep.Profiles = profiles
	if len(in.procs) > 0 {
		// After the window: the scan and MEMORY USAGE calls cost Redis CPU the run did not.
		var memAfter int64
		var fams []FamilyReport
		var famErr error
		if hasRedis {
			if st, err := readRedisStats(ctx, rdb); err == nil {
				memAfter = st.usedMemory
			}
			if in.prefix != "" && o.familySample > 0 {
				fams, famErr = scanFamilies(context.WithoutCancel(ctx), rdb, in.prefix, o.familySample)
			}
		}
		rl := ""
		if in.spawned != "" {
			rl = o.rateLimits
		}
		rep.Headline = buildHeadline(HeadlineReport{Layout: in.layout, SetupInWindow: o.setupInWindow, RateLimits: rl, IntentTTL: ttl.Seconds()},
			headlineInput{
				in: in, idle0: idle0, idle1: idle1, win0: win0, win1: win1, memBefore: memBefore, memAfter: memAfter,
				payments: rep.Load.Accepted, loadSeconds: rep.Load.Seconds, families: fams, familiesErr: famErr,
				pendingDeadlines: pending, hasRedis: hasRedis,
			})
	}
	if err := writeTable(os.Stdout, rep); err != nil {
		return err
	}
	var errs []error
	if o.jsonOut != "" {
		errs = append(errs, writeJSON(o.jsonOut, rep))
	}
	if o.plotOut != "" {
		errs = append(errs, writePlot(o.plotOut, rep))
	}
	if c := rep.Correctness; c.failed() {
		errs = append(errs, fmt.Errorf("%w: lost %d, duplicated %d, wrong merchant %d, wrong TrxID %d, other events %d, bad signatures %d",
			errCorrectness, c.Lost, c.Duplicated, c.WrongMerchant, c.WrongTrx, c.OtherEvents, c.BadSignatures))
	}
	if ctx.Err() != nil {
		errs = append(errs, errors.New("interrupted"))
	}
	return errors.Join(errs...)
}

// lastIntent is when the last intent was created in the window (now when none was).
func lastIntent(pays []payment) time.Time {
	var last int64
	for i := range pays {
		last = max(last, pays[i].intentAt)
	}
	if last == 0 {
		return time.Now()
	}
	return time.Unix(0, last)
}

// drainDeadlines waits until the run's expiry shards hold no deadline (every intent's expiry
// check ran), or until deadline; it returns how many are left (-1 when Redis cannot tell).
// partitions 0 means paystream's default (12).
func drainDeadlines(ctx context.Context, rdb *redis.Client, prefix string, partitions int, deadline time.Time, bars bool) int64 {
	if partitions <= 0 {
		partitions = 12
	}
	bar := newProgress(bars, -1, "waiting for expiry checks")
	defer bar.finish()
	for {
		n, err := pendingDeadlines(ctx, rdb, prefix, partitions)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return -1
		}
		bar.set(int(n), fmt.Sprintf("%d deadlines left", n))
		if n == 0 || ctx.Err() != nil || time.Now().After(deadline) {
			return n
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// formatProcs writes "dev 123" or "kafka-dev 1, audit-0 2, …".
func formatProcs(in *instance) string {
	var parts []string
	if in.broker.pid > 0 {
		parts = append(parts, fmt.Sprintf("%s %d", in.broker.name, in.broker.pid))
	}
	for _, p := range in.procs {
		parts = append(parts, fmt.Sprintf("%s %d", p.name, p.pid))
	}
	return "pids " + strings.Join(parts, ", ")
}

// paidAccepted counts accepted payments that got their payment.paid webhook.
func paidAccepted(r *receiver) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for i := range r.pays {
		if p := &r.pays[i]; p.paidEvents > 0 && p.accepted() {
			n++
		}
	}
	return n
}

// selfCPU returns this process's CPU seconds so far (0 when /proc cannot tell).
func selfCPU() float64 {
	p, err := procfs.Self()
	if err != nil {
		return 0
	}
	st, err := p.Stat()
	if err != nil {
		return 0
	}
	return st.CPUTime()
}
