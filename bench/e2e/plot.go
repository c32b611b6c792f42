package main

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// series is one line of a panel: a name and a value per second (nil: no point that second).
type series struct {
	name string
	at   func(s *Second) *float64
}

func count(f func(s *Second) int) func(s *Second) *float64 {
	return func(s *Second) *float64 {
		v := float64(f(s))
		return &v
	}
}

// writePlot draws r's per-second series with gonum/plot into path: throughput, latency (log scale)
// and, when sampled, paystream's CPU and RSS, stacked. The format follows the extension: .png, .svg,
// or .html (the SVG inside a self-contained page).
func writePlot(path string, r *Report) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".svg" && ext != ".html" {
		return fmt.Errorf("plot %s: the name must end in .png, .svg or .html", path)
	}
	panels := []*plot.Plot{
		panel("throughput", "per second", false, r.Series, []series{
			{"offered", count(func(s *Second) int { return s.Offered })},
			{"accepted", count(func(s *Second) int { return s.Accepted })},
			{"decided", count(func(s *Second) int { return s.Decided })},
			{"delivered", count(func(s *Second) int { return s.Delivered })},
			{"errors", count(func(s *Second) int { return s.Errors })},
		}),
		panel("latency from schedule, by second offered", "ms (log)", true, r.Series, []series{
			{"accept p50", func(s *Second) *float64 { return s.AcceptP50 }},
			{"accept p99", func(s *Second) *float64 { return s.AcceptP99 }},
			{"delivered p50", func(s *Second) *float64 { return s.DeliveredP50 }},
			{"delivered p99", func(s *Second) *float64 { return s.DeliveredP99 }},
		}),
	}
	if r.Process != nil {
		panels = append(panels,
			panel("CPU", "cores", false, r.Series, []series{
				{"paystream", func(s *Second) *float64 { return s.CPUCores }},
				{"whole machine", func(s *Second) *float64 { return s.MachineCores }},
				{"redis-server", func(s *Second) *float64 { return s.RedisCores }},
				{"clickhouse-server", func(s *Second) *float64 { return s.ClickHouseCores }},
			}),
			panel("paystream memory", "RSS MiB", false, r.Series, []series{{"RSS", func(s *Second) *float64 { return s.RSSMiB }}}))
	}
	panels[0].Title.Text = fmt.Sprintf("paystream bench: %d payments at %.0f/s, mix %s — throughput", r.Config.Payments, r.Config.Rate, r.Config.Mix)
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*plot.Plot{p}
	}
	w, h := vg.Points(960), vg.Points(float64(260*len(panels)))
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch ext {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	default:
		c = vgsvg.New(w, h)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("rendering plot: %w", err)
	}
	out := buf.Bytes()
	if ext == ".html" {
		out = bytes.TrimPrefix(bytes.TrimSpace(out), []byte(`<?xml version="1.0"?>`))
		out = []byte("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(panels[0].Title.Text) +
			"</title></head><body style=\"background:#fff\">\n" + string(out) + "\n</body></html>\n")
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing plot: %w", err)
	}
	return nil
}

// panel is one time-series plot over seconds since the first scheduled send.
func panel(title, ylabel string, logY bool, secs []Second, lines []series) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds since the first scheduled payment"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	drawn := false
	for i, l := range lines {
		var xys plotter.XYs
		for j := range secs {
			v := l.at(&secs[j])
			if v == nil {
				continue
			}
			y := *v
			if logY {
				y = max(y, 0.01) // a log axis has no 0
			}
			xys = append(xys, plotter.XY{X: float64(secs[j].T), Y: y})
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		if i >= 4 {
			line.Color = color.RGBA{R: 200, A: 255}
			line.Dashes = plotutil.Dashes(1)
		}
		p.Add(line)
		p.Legend.Add(l.name, line)
		drawn = true
	}
	p.X.Min, p.X.Max = 0, float64(max(1, len(secs)-1)) // the same time axis on every panel
	// Room above the data for the legend.
	if logY && drawn {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Max *= 8
	} else {
		p.Y.Min = 0
		p.Y.Max = max(p.Y.Max*1.4, 1)
	}
	return p
}
