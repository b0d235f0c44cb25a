package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/storereport"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// The command's tests run one after another: a conformance run borrows
// process-wide state (package testing's flags, os.Stdout).

// paramArgs turns parameters into --param flags.
func paramArgs(params map[string]any) []string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, "--param", fmt.Sprintf("%s=%v", k, params[k]))
	}
	return out
}

func runConformanceCmd(t *testing.T, ctx context.Context, a *app, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a.stdout, a.stderr = &stdout, &stderr
	if a.open == nil {
		a.open = driver.Open
	}
	code := run(ctx, append([]string{"conformance"}, args...), a)
	return code, stdout.String(), stderr.String()
}

// readJUnit parses a JUnit file back and checks that its counts add up.
func readJUnit(t *testing.T, path string) junitSuites {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j junitSuites
	if err := xml.Unmarshal(b, &j); err != nil {
		t.Fatalf("JUnit file does not parse: %v\n%s", err, b)
	}
	tests, failures, skipped := 0, 0, 0
	for _, s := range j.Suites {
		f, sk := 0, 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				f++
			}
			if c.Skipped != nil {
				sk++
			}
			if c.Name == "" || c.Classname == "" {
				t.Errorf("testcase without a name or classname in %s: %+v", s.Name, c)
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != f || s.Skipped != sk {
			t.Errorf("testsuite %s says tests=%d failures=%d skipped=%d, has %d cases, %d failures, %d skipped",
				s.Name, s.Tests, s.Failures, s.Skipped, len(s.Cases), f, sk)
		}
		tests += len(s.Cases)
		failures += f
		skipped += sk
	}
	if j.Tests != tests || j.Failures != failures || j.Skipped != skipped {
		t.Errorf("testsuites says tests=%d failures=%d skipped=%d, its suites add up to %d, %d, %d",
			j.Tests, j.Failures, j.Skipped, tests, failures, skipped)
	}
	return j
}

// walkAll returns every file under "/" of the backend opened with params.
func walkAll(t *testing.T, backend string, params map[string]any) []string {
	t.Helper()
	p := map[string]any{}
	for k, v := range params {
		p[k] = v
	}
	d, err := driver.Open(context.Background(), backend, p)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = d.Walk(context.Background(), "/", func(fi driver.FileInfo) error {
		files = append(files, fi.Path())
		return nil
	})
	if err != nil && !driver.IsNotFound(err) {
		t.Fatalf("Walk(/): %v", err)
	}
	return files
}

// testServerLacks are the store report's items each backend cannot
// deliver on its test server: signed URLs where the driver has nothing
// to sign with (local backends; fake-gcs-server's anonymous client; a
// Swift account without a temp URL key). TestConformanceEveryBackend
// requires every other item, and these to be reported unsupported.
var testServerLacks = map[string][]string{
	"inmemory": {storereport.SignedURLs}, "filesystem": {storereport.SignedURLs},
	"gcs": {storereport.SignedURLs}, "swift": {storereport.SignedURLs},
}

// testServerDelivers is the --require list of every item but those of
// testServerLacks.
func testServerDelivers(backend string) []string {
	var out []string
	for _, name := range storereport.ItemNames {
		if !slices.Contains(testServerLacks[backend], name) {
			out = append(out, name)
		}
	}
	return out
}

// TestConformanceEveryBackend runs two groups against each backend's test
// server (the whole suite runs per backend in each package's tests) and
// checks the JUnit report and that nothing is left in the store.
func TestConformanceEveryBackend(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			params := testenv.Params(t, backend, "")
			junit := filepath.Join(t.TempDir(), "junit.xml")
			args := append([]string{"--backend", backend, "--groups", "Paths,DeleteFiles", "--junit", junit,
				"--report-keys", "300", "--require", strings.Join(testServerDelivers(backend), ",")}, paramArgs(params)...)
			code, out, errs := runConformanceCmd(t, t.Context(), &app{}, args...)
			if code != exitOK {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			j := readJUnit(t, junit)
			var names []string
			for _, s := range j.Suites {
				names = append(names, s.Name)
			}
			want := []string{"conformance/" + backend + "/Paths", "conformance/" + backend + "/DeleteFiles", "conformance/" + backend + "/StoreReport"}
			if !slices.Equal(names, want) || j.Failures != 0 || j.Tests < 20 {
				t.Errorf("JUnit suites %v, %d tests, %d failures; want %v, passing", names, j.Tests, j.Failures, want)
			}
			cases := junitReportCases(t, j, backend)
			if len(cases) != len(storereport.ItemNames) {
				t.Errorf("JUnit StoreReport has %d testcases, want one per item (%d)", len(cases), len(storereport.ItemNames))
			}
			for _, name := range testServerLacks[backend] {
				if c := cases[name]; !strings.HasPrefix(c.SystemOut, storereport.StatusUnsupported+": ") {
					t.Errorf("JUnit StoreReport %s: %q, want it reported unsupported", name, c.SystemOut)
				}
			}
			for _, w := range []string{"paths ", "DeleteFiles ", "store report: " + backend + " (300 keys)", "required: ", "removed.", "PASS: "} {
				if !strings.Contains(out, w) {
					t.Errorf("summary lacks %q:\n%s", w, out)
				}
			}
			if !localBackends[backend] && !regexp.MustCompile(`\nRequests: .* \([1-9][0-9]* of them by the store report\)\n`).MatchString(out) {
				t.Errorf("summary of an HTTP backend has no request counts with the store report's share:\n%s", out)
			}
			if backend != "inmemory" {
				if left := walkAll(t, backend, params); len(left) > 0 {
					t.Errorf("the run left %v in the store", left)
				}
			}
		})
	}
}

// TestConformanceInmemoryFull runs the whole suite once, with --json.
func TestConformanceInmemoryFull(t *testing.T) {
	code, out, errs := runConformanceCmd(t, t.Context(), &app{}, "--backend", "inmemory", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	var r struct {
		Version  string `json:"stowage_version"`
		Backend  string `json:"backend"`
		OK       bool   `json:"ok"`
		Passed   int    `json:"passed"`
		Failed   int    `json:"failed"`
		Groups   []string
		Concerns []concernSummary `json:"concerns"`
		Tests    []testResult     `json:"tests"`
		Cleanup  cleanupResult    `json:"cleanup"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	if rep := decodeReport(t, out).Report; rep.Backend != "inmemory" || rep.Keys != storereport.DefaultKeys {
		t.Errorf("report of %s over %d keys, want inmemory and the default %d", rep.Backend, rep.Keys, storereport.DefaultKeys)
	}
	if r.Version == "" || r.Backend != "inmemory" || !r.OK || r.Failed != 0 || r.Passed != len(r.Tests) || r.Passed < 200 || !r.Cleanup.Removed {
		t.Errorf("version %q backend %q ok %v, %d passed, %d failed of %d, cleanup %+v", r.Version, r.Backend, r.OK, r.Passed, r.Failed, len(r.Tests), r.Cleanup)
	}
	var got []string
	for _, c := range r.Concerns {
		got = append(got, c.Concern)
	}
	want := []string{"paths", "content", "writer", "list/walk", "delete", "DeleteFiles", "concurrency", "URLFor", "consistency"}
	if !slices.Equal(got, want) {
		t.Errorf("concerns %v, want %v", got, want)
	}
	groups := map[string]bool{}
	for _, l := range r.Tests {
		groups[l.Group] = true
	}
	for _, g := range conformanceGroups {
		if !groups[g] {
			t.Errorf("no test of group %s ran", g)
		}
	}
}

// TestConformanceRefusesAPrefixInUse: a prefix that holds data is refused
// with exit 2 and nothing is written or deleted.
func TestConformanceRefusesAPrefixInUse(t *testing.T) {
	root := t.TempDir()
	keep := filepath.Join(root, "used", "keep")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	opened := 0
	a := &app{open: func(ctx context.Context, name string, p map[string]any) (driver.StorageDriver, error) {
		opened++
		return driver.Open(ctx, name, p)
	}}
	code, out, errs := runConformanceCmd(t, t.Context(), a, "--backend", "filesystem", "--param", "rootdirectory="+root, "--prefix", "/used")
	if code != exitUsage || !strings.Contains(errs, "prefix already holds data") || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and the prefix refused", code, out, errs)
	}
	if opened != 1 {
		t.Errorf("%d drivers opened, want only the one that checked the prefix", opened)
	}
	if got := filesUnder(t, root); !slices.Equal(got, []string{"used/keep"}) {
		t.Errorf("files after the refusal: %v, want only used/keep", got)
	}
}

// leafOnly wraps the drivers of the suite's tests (opened under the run's
// prefix), not the one that checks and removes the prefix.
func leafOnly(wrap func(driver.StorageDriver) driver.StorageDriver) func(context.Context, string, map[string]any) (driver.StorageDriver, error) {
	return func(ctx context.Context, name string, p map[string]any) (driver.StorageDriver, error) {
		d, err := driver.Open(ctx, name, p)
		if err != nil || !strings.Contains(fmt.Sprint(p["rootdirectory"]), "/stowage-conformance-") {
			return d, err
		}
		return wrap(d), nil
	}
}

// keepsFiles is a driver whose Delete deletes nothing: the suite's own
// cleanup after each test then fails and leaves files behind.
type keepsFiles struct{ driver.StorageDriver }

func (keepsFiles) Delete(context.Context, string) error { return nil }

// TestConformanceCleansUpAfterFailures: tests that fail and leave files
// behind fail the run (exit 1, failures in JUnit), and the prefix is
// still removed.
func TestConformanceCleansUpAfterFailures(t *testing.T) {
	root := t.TempDir()
	junit := filepath.Join(t.TempDir(), "junit.xml")
	a := &app{open: leafOnly(func(d driver.StorageDriver) driver.StorageDriver { return keepsFiles{d} })}
	code, out, errs := runConformanceCmd(t, t.Context(), a, "--backend", "filesystem", "--param", "rootdirectory="+root,
		"--groups", "Delete", "--junit", junit, "--report=false")
	if code != exitFailure || !strings.Contains(out, "FAIL Delete/") || !strings.Contains(out, "removed.") {
		t.Errorf("exit %d; want 1 with failures and the prefix removed\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if j := readJUnit(t, junit); j.Failures == 0 {
		t.Errorf("JUnit has no failures: %+v", j)
	}
	if got := filesUnder(t, root); len(got) > 0 {
		t.Errorf("left behind: %v", got)
	}
	if left := rootEntries(t, root); len(left) != 0 {
		t.Errorf("root holds %v, want the prefix gone", left)
	}
}

// TestConformanceCancelledCleansUp: ctx ends in the middle of the run (as
// on Ctrl-C): no further test starts, the run exits 130, and the prefix
// is gone.
func TestConformanceCancelledCleansUp(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var opened atomic.Int32
	a := &app{open: leafOnly(func(d driver.StorageDriver) driver.StorageDriver {
		if opened.Add(1) == 30 {
			cancel()
		}
		return d
	})}
	code, out, errs := runConformanceCmd(t, ctx, a, "--backend", "filesystem", "--param", "rootdirectory="+root, "--parallel", "4")
	if code != exitInterrupted || !strings.Contains(out, "INTERRUPTED: ") || !strings.Contains(out, "removed.") {
		t.Errorf("exit %d; want 130, interrupted, prefix removed\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if n := opened.Load(); n < 30 || n > 200 {
		t.Errorf("%d drivers opened; want the run to stop soon after the 30th", n)
	}
	if left := rootEntries(t, root); len(left) != 0 {
		t.Errorf("root holds %v, want the prefix gone", left)
	}
}

// TestConformanceDryRun contacts no store and reports measured requests.
func TestConformanceDryRun(t *testing.T) {
	var named atomic.Int32
	a := &app{open: func(ctx context.Context, name string, p map[string]any) (driver.StorageDriver, error) {
		if !strings.HasPrefix(fmt.Sprint(p["regionendpoint"]), "http://127.0.0.1:") || p["bucket"] == "users-bucket" {
			named.Add(1)
		}
		return driver.Open(ctx, name, p)
	}}
	code, out, errs := runConformanceCmd(t, t.Context(), a, "--dry-run", "--backend", "s3", "--param", "bucket=users-bucket",
		"--param", "regionendpoint=https://s3.example.invalid", "--groups", "Paths,DeleteFiles")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, w := range []string{"nothing was sent to the s3 store", "Paths", "DeleteFiles", "Requests by HTTP method: ", "POST ", "in-process S3 server",
		"Of them, the store report (2500 keys; --report=false skips it) made "} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run output lacks %q:\n%s", w, out)
		}
	}
	if named.Load() != 0 {
		t.Errorf("the named store was opened %d times in a dry run", named.Load())
	}
}

func TestConformanceUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "name the store"},
		{[]string{"--backend", "inmemory", "--groups", "Paths,Nope"}, `unknown group "Nope"`},
		{[]string{"--backend", "inmemory", "--prefix", "rel"}, "--prefix"},
		{[]string{"--backend", "nope"}, "nope"},
	} {
		code, _, errs := runConformanceCmd(t, t.Context(), &app{}, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// TestConformanceFromAScratchModule runs the command as a user would,
// with go run from a module that requires stowage (here through a
// replace directive to this checkout): no checkout, no go test.
func TestConformanceFromAScratchModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command in a scratch module (-short)")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module scratch\n\ngo 1.26\n\nrequire github.com/stowage-dev/stowage v0.0.0\n\nreplace github.com/stowage-dev/stowage => " + repo + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(dir, "junit.xml")
	cmd := exec.CommandContext(t.Context(), "go", "run", "github.com/stowage-dev/stowage/cmd/stowage",
		"conformance", "--backend", "inmemory", "--groups", "Paths", "--junit", junit)
	cmd.Dir = dir
	// The module cache has every dependency: no network.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS: ") || !strings.Contains(string(out), "paths ") || !strings.Contains(string(out), "store report: inmemory") {
		t.Errorf("output:\n%s", out)
	}
	if j := readJUnit(t, junit); j.Tests == 0 || j.Failures != 0 {
		t.Errorf("JUnit: %d tests, %d failures", j.Tests, j.Failures)
	}
}

// rootEntries lists a filesystem root, but for the backend's own
// bookkeeping directory (#stowage).
func rootEntries(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "#") {
			out = append(out, e.Name())
		}
	}
	return out
}
