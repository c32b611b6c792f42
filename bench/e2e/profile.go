package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// errNoPprof means paystream serves no /debug/pprof at the URL asked.
var errNoPprof = errors.New("paystream serves no /debug/pprof there (404)")

// fetchProfile GETs base+"/debug/pprof/"+name (with query q) into dir/<name>.pb.gz and returns
// the file's path. A CPU profile blocks for its seconds.
func fetchProfile(ctx context.Context, base, name, q, dir string) (string, error) {
	u := base + "/debug/pprof/" + name
	if q != "" {
		u += "?" + q
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("%s: %w", u, errNoPprof)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("fetching %s: HTTP %d %s", u, resp.StatusCode, b)
	}
	path := filepath.Join(dir, name+".pb.gz")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, f.Close()
}

// profiler fetches a CPU profile covering the load and a heap profile after it.
type profiler struct {
	base, dir string
	cpuDone   chan struct{}
	cpuPath   string
	cpuErr    error
}

// probe checks that base serves /debug/pprof before the load starts, so a missing endpoint is
// said at once instead of after the run.
func (p *profiler) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/debug/pprof/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probing %s/debug/pprof/: %w", p.base, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s/debug/pprof/: %w", p.base, errNoPprof)
	}
	return os.MkdirAll(p.dir, 0o755)
}

// startCPU starts fetching a CPU profile of d in the background.
func (p *profiler) startCPU(ctx context.Context, d time.Duration) {
	p.cpuDone = make(chan struct{})
	go func() {
		defer close(p.cpuDone)
		secs := max(1, int(d.Round(time.Second)/time.Second))
		p.cpuPath, p.cpuErr = fetchProfile(ctx, p.base, "profile", "seconds="+strconv.Itoa(secs), p.dir)
	}()
}

// finish waits for the CPU profile and fetches the heap profile; it returns the files written and
// the errors met.
func (p *profiler) finish(ctx context.Context) ([]string, error) {
	var files []string
	var errs []error
	if p.cpuDone != nil {
		<-p.cpuDone
		if p.cpuErr != nil {
			errs = append(errs, p.cpuErr)
		} else {
			files = append(files, p.cpuPath)
		}
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if path, err := fetchProfile(hctx, p.base, "heap", "", p.dir); err != nil {
		errs = append(errs, err)
	} else {
		files = append(files, path)
	}
	return files, errors.Join(errs...)
}
