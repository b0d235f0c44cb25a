package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/internal/progress"
	"github.com/stowage-dev/stowage/layout"
)

// httpish is an inmemory driver that sends one HTTP request through the
// client it was given before every call, as an HTTP backend without
// listing or retries would.
type httpish struct {
	driver.StorageDriver
	client *http.Client
	url    string
}

func (h *httpish) request(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func (h *httpish) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	if err := h.request(ctx); err != nil {
		return nil, err
	}
	return h.StorageDriver.Stat(ctx, p)
}

func (h *httpish) List(ctx context.Context, p string) ([]string, error) {
	if err := h.request(ctx); err != nil {
		return nil, err
	}
	return h.StorageDriver.List(ctx, p)
}

func (h *httpish) Delete(ctx context.Context, p string) error {
	if err := h.request(ctx); err != nil {
		return err
	}
	return h.StorageDriver.Delete(ctx, p)
}

func (h *httpish) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	if err := h.request(ctx); err != nil {
		return 0, err
	}
	return h.StorageDriver.DeleteFiles(ctx, paths)
}

func (h *httpish) PutContent(ctx context.Context, p string, b []byte) error {
	if err := h.request(ctx); err != nil {
		return err
	}
	return h.StorageDriver.PutContent(ctx, p, b)
}

func (h *httpish) GetContent(ctx context.Context, p string) ([]byte, error) {
	if err := h.request(ctx); err != nil {
		return nil, err
	}
	return h.StorageDriver.GetContent(ctx, p)
}

func (h *httpish) Walk(ctx context.Context, p string, f driver.WalkFn, opts ...driver.WalkOption) error {
	if err := h.request(ctx); err != nil {
		return err
	}
	return h.StorageDriver.Walk(ctx, p, f, opts...)
}

// fixture runs the command with fake backends: "shared" (one inmemory
// store for the whole test), "fakehttp" (httpish over that store and a test
// server) and "fakelocal" (a fresh inmemory under another name); other names
// go to driver.Open.
type fixture struct {
	t              *testing.T
	app            *app
	stdout, stderr bytes.Buffer
	hits           atomic.Int64
	onRequest      func(n int64) // called with the server's hit count
	shared         *inmemory.Driver
	params         map[string]any // of the last open
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, shared: inmemory.New()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.hits.Add(1)
		if f.onRequest != nil {
			f.onRequest(n)
		}
	}))
	t.Cleanup(srv.Close)
	f.app = &app{
		stdout: &f.stdout,
		stderr: &f.stderr,
		open: func(ctx context.Context, name string, params map[string]any) (driver.StorageDriver, error) {
			f.params = params
			switch name {
			case "fakehttp":
				c, ok := params[driver.HTTPClientParam].(*http.Client)
				if !ok {
					t.Fatalf("no *http.Client in the parameters: %v", params)
				}
				return &httpish{StorageDriver: f.shared, client: c, url: srv.URL}, nil
			case "fakelocal":
				return inmemory.New(), nil
			case "shared":
				return f.shared, nil
			}
			return driver.Open(ctx, name, params)
		},
	}
	return f
}

// run runs stowage with args and returns its exit code.
func (f *fixture) run(args ...string) int {
	f.t.Helper()
	f.stdout.Reset()
	f.stderr.Reset()
	return run(context.Background(), args, f.app)
}

// tiny are flags for a quick run of every workload.
var tiny = []string{"--matrix", "2x1", "--walk", "2x1", "--sizes", "1KiB:2", "--progress", "never"}

func args(extra ...string) []string { return append(append([]string{"bench"}, tiny...), extra...) }

func TestBenchInmemoryTable(t *testing.T) {
	f := newFixture(t)
	if code := f.run(args("--backend", "inmemory", "--matrix", "2x1,3x0")...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	out := f.stdout.String()
	// CELL FILES ONE-BY-ONE REQUESTS DELETEFILES REQUESTS SPEEDUP RATIO
	for _, re := range []string{
		`(?m)^stowage bench: backend inmemory, prefix /stowage-bench-[0-9a-f]{16}, latency 0s, 1 run\(s\)$`,
		`(?m)^CELL\s+FILES\s+ONE-BY-ONE\s+REQUESTS\s+DELETEFILES\s+REQUESTS\s+SPEEDUP\s+REQUEST RATIO\s*$`,
		`(?m)^2x1\s+4\s+\S+\s+-\s+\S+\s+-\s+[0-9.]+x\s+-\s*$`,
		`(?m)^3x0\s+3\s+\S+\s+-\s+\S+\s+-\s+[0-9.]+x\s+-\s*$`,
		`(?m)^2x1\s+14\s+\d+\s+\S+\s+-\s+\d+\s*$`,
		`(?m)^put\s+1KiB\s+2\s+\S+\s+[0-9.]+\s+-\s*$`,
		`(?m)^get\s+1KiB\s+2\s+\S+\s+[0-9.]+\s+-\s*$`,
		`(?m)^total \S+, - requests`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
}

func TestBenchFilesystemInATemporaryRoot(t *testing.T) {
	f := newFixture(t)
	if code := f.run(args("--backend", "filesystem", "--workloads", "delete")...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	m := regexp.MustCompile(`backend filesystem \(temporary root (\S+)\)`).FindStringSubmatch(f.stdout.String())
	if m == nil {
		t.Fatalf("no temporary root in:\n%s", f.stdout.String())
	}
	if f.params["rootdirectory"] != m[1] {
		t.Fatalf("rootdirectory %v, table says %s", f.params["rootdirectory"], m[1])
	}
	if _, err := os.Stat(m[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary root %s left behind: %v", m[1], err)
	}
	if !regexp.MustCompile(`(?m)^2x1\s+4\s`).MatchString(f.stdout.String()) {
		t.Fatalf("no 2x1 row:\n%s", f.stdout.String())
	}
}

// filesUnder lists the regular files under dir, relative to it.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBenchDeletesOnlyWhatItWrote(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	keep := filepath.Join(root, "docker", "registry", "v2", "blobs", "keep")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("registry data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := f.run(args("--backend", "filesystem", "--param", "rootdirectory="+root, "--prefix", "/docker/registry/v2/bench")...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	if strings.Contains(f.stdout.String(), "temporary root") {
		t.Fatalf("a given rootdirectory was treated as temporary:\n%s", f.stdout.String())
	}
	if got := filesUnder(t, root); !slices.Equal(got, []string{"docker/registry/v2/blobs/keep"}) {
		t.Fatalf("files left under the root: %v", got)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "registry data" {
		t.Fatalf("the file outside the prefix changed: %q, %v", b, err)
	}
}

func TestBenchRefusesAPrefixInUse(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	theirs := filepath.Join(root, "taken", "x")
	if err := os.MkdirAll(filepath.Dir(theirs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(theirs, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code := f.run(args("--backend", "filesystem", "--param", "rootdirectory="+root, "--prefix", "/taken")...)
	if code != exitFailure || !strings.Contains(f.stderr.String(), "already holds data") {
		t.Fatalf("exit %d, stderr %q; want a refusal", code, f.stderr.String())
	}
	if f.stdout.Len() != 0 {
		t.Fatalf("a refused run printed %q", f.stdout.String())
	}
	if got := filesUnder(t, root); !slices.Equal(got, []string{"taken/x"}) {
		t.Fatalf("files under the root after a refused run: %v", got)
	}
}

func TestBenchSharedStoreKeepsOtherData(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.shared.PutContent(ctx, "/docker/registry/v2/repositories/app/_layers/link", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if code := f.run(args("--backend", "shared")...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	top, err := f.shared.List(ctx, "/")
	if err != nil || !slices.Equal(top, []string{"/docker"}) {
		t.Fatalf("List(/) after the run = %v, %v", top, err)
	}
	if _, err := f.shared.Stat(ctx, "/docker/registry/v2/repositories/app/_layers/link"); err != nil {
		t.Fatal(err)
	}
}

func TestBenchLatencyRefusedForLocalBackends(t *testing.T) {
	for _, backend := range []string{"inmemory", "filesystem", "fakelocal"} {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t)
			code := f.run(args("--backend", backend, "--latency", "48ms")...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			if msg := f.stderr.String(); !strings.Contains(msg, "--latency 48ms") || !strings.Contains(msg, backend) {
				t.Fatalf("stderr %q does not explain the refusal", msg)
			}
			if f.stdout.Len() != 0 {
				t.Fatalf("stdout %q", f.stdout.String())
			}
		})
	}
}

// jsonReport is the part of --json the tests read.
type jsonReport struct {
	Backend  string `json:"backend"`
	Prefix   string `json:"prefix"`
	Runs     int    `json:"runs"`
	Counted  bool   `json:"requests_counted"`
	Latency  string `json:"latency"`
	Requests int    `json:"total_requests"`
	Delete   []struct {
		Cell        string   `json:"cell"`
		Files       int      `json:"files"`
		Speedup     float64  `json:"speedup"`
		Ratio       *float64 `json:"request_ratio"`
		OneByOne    measure  `json:"one_by_one"`
		DeleteFiles measure  `json:"delete_files"`
	} `json:"delete"`
	Walk *struct {
		Files   int     `json:"files"`
		Entries int     `json:"entries"`
		Walk    measure `json:"walk"`
	} `json:"walk"`
	Throughput []struct {
		Op    string `json:"op"`
		Bytes int64  `json:"bytes"`
		measure
	} `json:"throughput"`
	Machine struct {
		CPUs int `json:"cpus"`
	} `json:"machine"`
}

type measure struct {
	Seconds  float64 `json:"seconds"`
	Requests *int    `json:"requests"`
}

func TestBenchHTTPBackendCountsRequestsAndAddsLatency(t *testing.T) {
	f := newFixture(t)
	const delay = 20 * time.Millisecond
	if code := f.run(args("--backend", "fakehttp", "--latency", delay.String(), "--json")...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	var r jsonReport
	if err := json.Unmarshal(f.stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v in %s", err, f.stdout.String())
	}
	if !r.Counted || r.Latency != "20ms" || r.Requests == 0 || int64(r.Requests) != f.hits.Load() {
		t.Fatalf("report %+v, server saw %d requests", r, f.hits.Load())
	}
	d := r.Delete[0]
	// 2 manifests with 1 tag: Stat+Delete per tag link, Delete per revision.
	if d.OneByOne.Requests == nil || *d.OneByOne.Requests != 6 || d.DeleteFiles.Requests == nil || *d.DeleteFiles.Requests != 1 {
		t.Fatalf("delete requests %v and %v, want 6 and 1", d.OneByOne.Requests, d.DeleteFiles.Requests)
	}
	if d.Ratio == nil || *d.Ratio != 6 {
		t.Fatalf("request ratio %v, want 6", d.Ratio)
	}
	// Every request waited the simulated round trip.
	if d.OneByOne.Seconds < (6 * delay).Seconds() {
		t.Fatalf("6 requests took %.3fs at %v each", d.OneByOne.Seconds, delay)
	}
	if r.Walk == nil || r.Walk.Walk.Requests == nil || *r.Walk.Walk.Requests != 1 {
		t.Fatalf("walk %+v", r.Walk)
	}
	for _, tp := range r.Throughput {
		if tp.Requests == nil || *tp.Requests != 2 {
			t.Fatalf("throughput %+v, want 2 requests", tp)
		}
	}
}

func TestBenchJSONShapeForLocalBackend(t *testing.T) {
	f := newFixture(t)
	if code := f.run(args("--backend", "inmemory", "--json", "--runs", "2")...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	var raw map[string]any
	if err := json.Unmarshal(f.stdout.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"backend", "prefix", "runs", "requests_counted", "latency", "elapsed_seconds", "total_requests", "machine", "delete", "walk", "throughput"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, f.stdout.String())
		}
	}
	var r jsonReport
	if err := json.Unmarshal(f.stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Backend != "inmemory" || r.Runs != 2 || r.Counted || r.Machine.CPUs < 1 || len(r.Delete) != 1 || len(r.Throughput) != 2 {
		t.Fatalf("report %+v", r)
	}
	d := r.Delete[0]
	if d.Cell != "2x1" || d.Files != 4 || d.OneByOne.Requests != nil || d.Ratio != nil || d.Speedup <= 0 {
		t.Fatalf("cell %+v", d)
	}
	if r.Walk.Files != 14 || r.Walk.Walk.Requests != nil {
		t.Fatalf("walk %+v", r.Walk)
	}
}

func TestBenchCSVShape(t *testing.T) {
	f := newFixture(t)
	if code := f.run(args("--backend", "fakehttp", "--matrix", "1x0,2x1", "--csv")...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	recs, err := csv.NewReader(&f.stdout).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("header %v", recs[0])
	}
	var got []string
	for _, r := range recs[1:] {
		if len(r) != len(csvHeader) {
			t.Fatalf("row %v has %d fields", r, len(r))
		}
		got = append(got, strings.Join(r[:6], " "))
	}
	want := []string{
		"delete 1x0 one-by-one 1 0 1",
		"delete 1x0 deletefiles 1 0 1",
		"delete 2x1 one-by-one 4 0 6",
		"delete 2x1 deletefiles 4 0 1",
		"walk 2x1 walk 14 0 1",
		"throughput 1KiB put 2 2048 2",
		"throughput 1KiB get 2 2048 2",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows\n  %q\nwant\n  %q", got, want)
	}
	if recs[4][11] != "6.000" || recs[4][10] == "" || recs[3][10] != "" {
		t.Fatalf("ratios in %v and %v", recs[3], recs[4])
	}
}

func TestBenchInterruptedExitCode(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code := run(ctx, args("--backend", "shared"), f.app)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, f.stderr.String())
	}
	if top, err := f.shared.List(context.Background(), "/"); len(top) != 0 {
		t.Fatalf("an interrupted run left %v (%v)", top, err)
	}
}

func TestParseBenchFlags(t *testing.T) {
	o, err := parseBenchFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.backend != localS3 || o.backendSet || o.runs != 1 || o.latency != localS3Latency || o.progress != "auto" ||
		!slices.Equal(o.matrix, layout.DefaultDeleteMatrix) || len(o.workloads) != 3 || len(o.sizes) != 3 ||
		o.walk.Manifests != 100 || o.walk.Tags != 5 || o.concurrency != 16 || o.json || o.csv {
		t.Fatalf("defaults %+v", o)
	}

	o, err = parseBenchFlags([]string{"--backend", "s3", "--param", "bucket=b", "--param", "region=r", "--latency", "48ms",
		"--matrix", "100x20", "--workloads", "delete", "--runs", "3", "--csv", "--prefix", "/scratch/bench", "-v"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.backend != "s3" || !o.backendSet || len(o.params) != 2 || o.latency != 48*time.Millisecond ||
		len(o.matrix) != 1 || o.matrix[0].Files() != 2100 || !slices.Equal(o.workloads, []string{"delete"}) ||
		o.runs != 3 || !o.csv || o.prefix != "/scratch/bench" || !o.verbose {
		t.Fatalf("parsed %+v", o)
	}

	// The injected round trip is local-s3's default only.
	for _, c := range []struct {
		args    []string
		latency time.Duration
	}{
		{[]string{"--backend", "local-s3"}, localS3Latency},
		{[]string{"--latency", "0"}, 0},
		{[]string{"--latency", "20ms"}, 20 * time.Millisecond},
		{[]string{"--backend", "filesystem"}, 0},
		{[]string{"--backend", "s3"}, 0},
		{[]string{"--config", "testdata/registry.yml"}, 0},
	} {
		o, err := parseBenchFlags(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if o.latency != c.latency {
			t.Errorf("%q: latency %v, want %v", c.args, o.latency, c.latency)
		}
	}

	if _, err := parseBenchFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, bad := range [][]string{
		{"--matrix", "1x"}, {"--walk", "x"}, {"--sizes", "1KiB"}, {"--workloads", "gcs"}, {"--gc-shape", "1x2x3"},
		{"--runs", "0"}, {"--latency", "-1s"}, {"--latency", "soon"}, {"--concurrency", "0"},
		{"--json", "--csv"}, {"--progress", "sometimes"}, {"--prefix", "relative"}, {"--prefix", "/a/../b"},
		{"--param", "novalue"}, {"extra"}, {"--nope"},
	} {
		if _, err := parseBenchFlags(bad, io.Discard); err == nil {
			t.Errorf("parseBenchFlags(%q) succeeded", bad)
		}
	}
}

func TestBenchUsageErrors(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"bench", "--runs", "0"}, exitUsage, "--runs"},
		{[]string{"bench", "--backend", "nosuch", "--progress", "never"}, exitUsage, "no backend registered"}, // a configuration error,
		{[]string{"bench", "--config", "testdata/two-drivers.yml"}, exitUsage, "choose one with --backend"},
		{[]string{"bench", "--config", "testdata/missing.yml"}, exitUsage, "missing.yml"},
	} {
		if code := f.run(c.args...); code != c.code || !strings.Contains(f.stderr.String(), c.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d mentioning %q", c.args, code, f.stderr.String(), c.code, c.msg)
		}
	}
}

func TestBenchConfigFile(t *testing.T) {
	f := newFixture(t)
	if code := f.run(args("--config", "testdata/inmemory.yml", "--workloads", "delete")...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	if !strings.Contains(f.stdout.String(), "backend inmemory") {
		t.Fatalf("the config's backend was not used:\n%s", f.stdout.String())
	}
}

func TestBenchInterruptedMidRunCleansUp(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stoppedAt atomic.Int64
	f.onRequest = func(n int64) {
		if n == 200 {
			stoppedAt.Store(n)
			cancel()
		}
	}
	code := run(ctx, []string{"bench", "--backend", "fakehttp", "--matrix", "100x20", "--progress", "never"}, f.app)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, f.stderr.String())
	}
	if stoppedAt.Load() == 0 || f.hits.Load() <= stoppedAt.Load() {
		t.Fatalf("no cleanup request after the interruption (%d requests)", f.hits.Load())
	}
	if top, err := f.shared.List(context.Background(), "/"); len(top) != 0 {
		t.Fatalf("the interrupted run left %v (%v)", top, err)
	}
	if f.stdout.Len() != 0 {
		t.Fatalf("an interrupted run printed a table: %s", f.stdout.String())
	}
}

// TestBenchDefaultIsTheInProcessS3: with no backend named, stowage bench
// runs the real s3 backend against the in-process S3 server with the
// default round trip injected, counts real requests, says so in the
// header, and stops the server afterwards.
func TestBenchDefaultIsTheInProcessS3(t *testing.T) {
	f := newFixture(t)
	if code := f.run(args()...); code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	out := f.stdout.String()
	for _, re := range []string{
		`(?m)^stowage bench: backend s3 \(in-process S3 server, 2ms injected round trip\), prefix /stowage-bench-[0-9a-f]{16}, latency 2ms, 1 run\(s\)$`,
		// 2 manifests x 1 tag: HeadObject+ListObjectsV2+DeleteObjects per
		// tag link, ListObjectsV2+DeleteObjects per revision link (2M+3TM
		// = 10); one DeleteObjects.
		`(?m)^2x1\s+4\s+\S+\s+10\s+\S+\s+1\s+[0-9.]+x\s+10\.0x\s*$`,
		`(?m)^2x1\s+14\s+\d+\s+\S+\s+1\s+\d+\s*$`,
		`(?m)^put\s+1KiB\s+2\s+\S+\s+[0-9.]+\s+2\s*$`,
		`(?m)^get\s+1KiB\s+2\s+\S+\s+[0-9.]+\s+2\s*$`,
		`(?m)^total \S+, [1-9]\d* requests`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
	endpoint, _ := f.params["regionendpoint"].(string)
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") || f.params["bucket"] == nil {
		t.Fatalf("opened s3 with %v", f.params)
	}
	if _, err := http.Get(endpoint); err == nil {
		t.Fatalf("the in-process server at %s still answers after the run", endpoint)
	}
}

// TestBenchDefaultStoreDeleteFilesIsCeilNOverB: on the default store,
// deleting a cell one path at a time costs 2M+3TM requests (as
// docs/BENCHMARKS.md counts), and DeleteFiles ceil(N/B) requests, B the
// batch size (1000 by default: TestBenchDefaultIsTheInProcessS3; 1,001
// paths in two DeleteObjects: internal/localstore).
func TestBenchDefaultStoreDeleteFilesIsCeilNOverB(t *testing.T) {
	f := newFixture(t)
	code := f.run("bench", "--matrix", "2x1,3x1,1x8", "--workloads", "delete", "--latency", "0",
		"--param", "deletebatchsize=4", "--progress", "never", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	var r struct {
		jsonReport
		Server string `json:"server"`
	}
	if err := json.Unmarshal(f.stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v in %s", err, f.stdout.String())
	}
	if r.Backend != "s3" || r.Server != "in-process S3 server, no injected round trip" || !r.Counted || r.Latency != "0s" || r.Requests == 0 || len(r.Delete) != 3 {
		t.Fatalf("report %+v", r)
	}
	for i, want := range []struct{ files, oneByOne, deleteFiles int }{
		{4, 2*2 + 3*1*2, 1}, {6, 2*3 + 3*1*3, 2}, {9, 2*1 + 3*8*1, 3},
	} {
		d := r.Delete[i]
		if d.Files != want.files || d.OneByOne.Requests == nil || *d.OneByOne.Requests != want.oneByOne ||
			d.DeleteFiles.Requests == nil || *d.DeleteFiles.Requests != want.deleteFiles {
			t.Errorf("cell %s of %d files: %v and %v requests, want %d and %d", d.Cell, d.Files,
				d.OneByOne.Requests, d.DeleteFiles.Requests, want.oneByOne, want.deleteFiles)
		}
	}
}

// TestLocalS3IsForBenchOnly: the in-process store is gone when the
// command ends, so the other commands refuse it.
func TestLocalS3IsForBenchOnly(t *testing.T) {
	f := newFixture(t)
	code := f.run("ls", "--backend", "local-s3", "/")
	if code != exitUsage || !strings.Contains(f.stderr.String(), "local-s3") {
		t.Fatalf("exit %d, stderr %q; want a usage error about local-s3", code, f.stderr.String())
	}
}

// TestBenchProgressLinesWhenNotATerminal: with stderr no terminal and
// --progress auto, a run prints whole progress lines (no \r) as its clock
// ticks, naming the stage, and a last one at the end.
func TestBenchProgressLinesWhenNotATerminal(t *testing.T) {
	f := newFixture(t)
	lines := make(lineWriter, 100)
	f.app.stderr = lines
	ticks := make(chan time.Time)
	var (
		mu   sync.Mutex
		seen []string
	)
	f.onRequest = func(n int64) {
		// Tick at two points of the run and wait for each line, so each
		// is drawn while the run is under way.
		if n == 10 || n == 30 {
			mu.Lock()
			defer mu.Unlock()
			ticks <- time.Now()
			seen = append(seen, <-lines)
		}
	}
	o, err := parseBenchFlags([]string{"--backend", "fakehttp", "--matrix", "2x1,3x1", "--walk", "2x1", "--sizes", "1KiB:2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.ticks = ticks
	if err := benchMain(context.Background(), o, f.app, newLogger(io.Discard, false)); err != nil {
		t.Fatal(err)
	}
	close(lines)
	var last string
	for l := range lines {
		last = l
	}
	if len(seen) != 2 {
		t.Fatalf("%d lines while running: %q", len(seen), seen)
	}
	for _, l := range append(seen, last) {
		if !strings.HasSuffix(l, "\n") || strings.Contains(l, "\r") || !regexp.MustCompile(`^\[[#.]{24}\]\s+\d+%  \S`).MatchString(l) {
			t.Errorf("line %q: want a whole progress line with a stage", l)
		}
	}
	if !regexp.MustCompile(`100%.* (\d+)/(\d+) files`).MatchString(last) {
		t.Errorf("last line %q: want 100%%", last)
	}
}

// TestProgressLinesClock: barLines's first line comes early and the next
// ones every few seconds (the issue: a pipe saw nothing for 35s).
func TestProgressLinesClock(t *testing.T) {
	if linesFirst > 2*time.Second || linesEvery < 2*time.Second || linesEvery > 5*time.Second {
		t.Fatalf("first line after %v, then every %v; want <= 2s, then 2-5s", linesFirst, linesEvery)
	}
	b := startProgressEvery(io.Discard, &progress.Progress{}, barLines, 10*time.Minute)
	defer b.stop()
	if b.first != linesFirst || b.every != 10*time.Minute {
		t.Fatalf("startProgressEvery: first %v, every %v", b.first, b.every)
	}
}

// TestBenchMetrics: --metrics observes the backend with package
// instrument and prints its counters after the table. The 2x1 cell writes
// 14 files; 4 go one at a time (4 Deletes, a bulk-delete batch of 1
// each), 4 in the cell's DeleteFiles and the other 10 in the cleanup's:
// 6 batches of 18 objects in all.
func TestBenchMetrics(t *testing.T) {
	f := newFixture(t)
	if code := f.run("bench", "--matrix", "2x1", "--workloads", "delete", "--latency", "0", "--progress", "never", "--metrics"); code != exitOK {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	out := f.stdout.String()
	_, metrics, ok := strings.Cut(out, "Metrics of the whole run (package instrument):\n")
	if !ok {
		t.Fatalf("no metrics after the table:\n%s", out)
	}
	for _, want := range []string{
		`stowage_operations_total{driver="s3",operation="PutContent"} 14` + "\n",
		`stowage_operations_total{driver="s3",operation="Delete"} 4` + "\n",
		`stowage_operations_total{driver="s3",operation="DeleteFiles"} 2` + "\n",
		`stowage_delete_files_paths_total{driver="s3"} 14` + "\n",
		`stowage_delete_batch_size_count{driver="s3"} 6` + "\n",
		`stowage_delete_batch_size_sum{driver="s3"} 18` + "\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	if code := f.run("bench", "--metrics", "--csv"); code != exitUsage {
		t.Errorf("--metrics --csv: exit %d, want %d", code, exitUsage)
	}
}

// TestBenchConfigKeyInAnotherCase: a config's "RootDirectory:" is the
// filesystem's root (with a warning), not a missing rootdirectory that
// would send the bench to a temporary directory.
func TestBenchConfigKeyInAnotherCase(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(t.TempDir(), "registry.yml")
	if err := os.WriteFile(config, []byte("storage:\n  filesystem:\n    RootDirectory: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.app.open = driver.Open
	if code := f.run("bench", "--config", config, "--matrix", "1x0", "--workloads", "delete", "--progress", "never", "--json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, f.stderr.String())
	}
	var r result
	if err := json.Unmarshal(f.stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Root != "" || !strings.HasPrefix(r.Prefix, "/stowage-bench-") {
		t.Fatalf("ran in %q under %q, want the config's root %s", r.Root, r.Prefix, dir)
	}
	if !strings.Contains(f.stderr.String(), `parameter \"RootDirectory\" taken as \"rootdirectory\"`) {
		t.Errorf("no warning about the key's case: %s", f.stderr.String())
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
		t.Errorf("the config's root %s was not used: %v, %v", dir, entries, err)
	}
}
