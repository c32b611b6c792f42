package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reportFixture is a small finished run: 6 payments over 3 s, one refused, one lost, one
// duplicated, one paid at another merchant's URL.
func reportFixture() reportInput {
	const s = int64(1e9)
	t0 := int64(2_000) * s
	ok := func(surf surface, at int64) payment {
		return payment{
			surface: surf, scheduled: t0 + at, started: t0 + at + s/1000, answered: t0 + at + 5*s/1000, status: acceptStatus[surf],
			decidedAt: t0 + at + 10*s/1000, paidAt: t0 + at + 20*s/1000, paidEvents: 1, matchType: "AUTO_MATCH", checkStatus: 202,
		}
	}
	pays := []payment{ok(surfNative, 0), ok(surfSMS, s/2), ok(surfSNS, s), ok(surfTxn, 3*s/2), ok(surfNative, 2*s), ok(surfNative, 5*s/2)}
	pays[3].matchType = "REFERENCE_MATCH"
	pays[1].status, pays[1].paidEvents, pays[1].paidAt, pays[1].decidedAt, pays[1].matchType = 503, 0, 0, 0, ""
	pays[2].paidEvents, pays[2].paidAt, pays[2].decidedAt, pays[2].matchType = 0, 0, 0, "" // lost
	pays[4].paidEvents = 2                                                                 // duplicated
	pays[5].wrongMerchant = 1
	pays[0].waited = true
	return reportInput{
		config: ReportConfig{Target: "http://127.0.0.1:8080", Merchants: 2, Payments: 6, Rate: 2, Mix: "native=1,sms=1,sns=1,txn=1", Workers: 64},
		setup:  SetupReport{Merchants: 2, Intents: 6, Seconds: 0.5, IntentRate: 12},
		load:   loadResult{workers: 64, waited: 1},
		t0:     t0, pays: pays, rcv: &receiver{badSignatures: 1},
		errs: []string{"1× sms: HTTP 503"},
		process: &ProcessReport{PID: 42, CPUSecondsLoad: 1.5, LoadSeconds: 3, CPUCoresLoad: 0.5, PeakRSSBytes: 200 << 20, MaxSampledRSS: 190 << 20,
			RSSByMinute: []uint64{150 << 20, 190 << 20}},
		machine: &MachineReport{Cores: 2, LoadSeconds: 3, BusyCores: 1.9, PaystreamCores: 0.5, GeneratorCores: 0.25,
			ServiceCores: map[string]float64{"redis-server": 0.4, "clickhouse-server": 0.3}},
	}
}

func TestBuildReport(t *testing.T) {
	r := buildReport(reportFixture())
	ld, c := r.Load, r.Correctness
	if ld.Offered != 6 || ld.Sent != 6 || ld.Accepted != 5 || ld.Errors != 1 || ld.WaitedForWorker != 1 || ld.NotSent != 0 {
		t.Errorf("load: %+v", ld)
	}
	if ld.OfferedRate != 2 || ld.Statuses["sms"]["503"] != 1 || ld.Statuses["native"]["202"] != 3 || ld.Statuses["txn.check"]["202"] != 1 {
		t.Errorf("rates and statuses: %v %v", ld.OfferedRate, ld.Statuses)
	}
	if c.PaidExactlyOnce != 2 || c.Lost != 1 || c.Duplicated != 1 || c.WrongMerchant != 1 || c.BadSignatures != 1 || !c.failed() {
		t.Errorf("correctness: %+v", c)
	}
	if c.MatchTypes["AUTO_MATCH"] != 3 || c.MatchTypes["REFERENCE_MATCH"] != 1 {
		t.Errorf("match types: %v", c.MatchTypes)
	}
	if l := r.Latency; l.Accept.Count != 5 || l.Accept.P50 != 5 || l.AcceptedDecided.P50 != 5 || l.ScheduledDelivered.Max != 20 || l.AcceptedDelivered.Count != 4 {
		t.Errorf("latency: %+v", l)
	}
	if st := r.BySurface["native"]; st.Offered != 3 || st.Accepted != 3 || st.Paid != 3 {
		t.Errorf("native: %+v", st)
	}
	if len(r.Series) != 3 || r.Series[0].Offered != 2 {
		t.Errorf("series: %+v", r.Series)
	}
}

func TestReportOutputs(t *testing.T) {
	r := buildReport(reportFixture())
	var b bytes.Buffer
	if err := writeTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"6 payments to 2 merchants at 2/s, mix native=1,sms=1,sns=1,txn=1",
		"accepted   5 at",
		"behind (pool saturated) 1",
		"sms 503×1",
		"HTTP accept (from schedule)          5       5.0",
		"accepted → webhook delivered         4",
		"paid exactly once 2 of 5 accepted; lost 1; duplicated 1; wrong merchant 1",
		"bad signatures 1",
		"AUTO_MATCH 3, REFERENCE_MATCH 1",
		"pid 42: CPU 1.5 s over 3.0 s of load (0.50 cores)",
		"peak RSS 200 MiB (VmHWM)",
		"1.90 of 2 cores busy: paystream 0.50, redis-server 0.40, clickhouse-server 0.30, this generator 0.25",
		"RSS by minute  150 / 190 MiB",
		"1× sms: HTTP 503",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := writeJSON(path, r); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	lat := back["latency_ms"].(map[string]any)["scheduled_to_accepted"].(map[string]any)
	if lat["p99.9"] != 5.0 || back["correctness"].(map[string]any)["lost"] != 1.0 {
		t.Errorf("JSON: %s", raw)
	}
}

func TestWritePlot(t *testing.T) {
	r := buildReport(reportFixture())
	dir := t.TempDir()
	for _, name := range []string{"r.png", "r.svg", "r.html"} {
		path := filepath.Join(dir, name)
		if err := writePlot(path, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := os.ReadFile(path)
		switch filepath.Ext(name) {
		case ".png":
			if !bytes.HasPrefix(b, []byte("\x89PNG")) {
				t.Errorf("%s is no PNG", name)
			}
		case ".svg", ".html":
			if !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("throughput")) {
				t.Errorf("%s has no chart", name)
			}
		}
	}
	if err := writePlot(filepath.Join(dir, "r.jpg"), r); err == nil {
		t.Error("a .jpg plot was accepted")
	}
}
