package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/progress"
)

func TestRunDispatch(t *testing.T) {
	for _, c := range []struct {
		args      []string
		code      int
		out, errs string
	}{
		{nil, exitUsage, "", "Commands:"},
		{[]string{"help"}, exitOK, "Commands:", ""},
		{[]string{"--help"}, exitOK, "Commands:", ""},
		{[]string{"help", "help"}, exitOK, "Commands:", ""},
		{[]string{"help", "bench"}, exitOK, "Usage: stowage bench", ""},
		{[]string{"bench", "-h"}, exitOK, "-latency delay", ""},
		{[]string{"gc", "--help"}, exitOK, "Usage: stowage gc", ""},
		{[]string{"ls", "-h"}, exitOK, "Usage: stowage ls", ""},
		{[]string{"version"}, exitOK, "stowage ", ""},
		{[]string{"--version"}, exitOK, "stowage ", ""},
		{[]string{"help", "nope"}, exitUsage, "", `unknown command "nope"`},
		{[]string{"nope"}, exitUsage, "", `unknown command "nope"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &app{stdout: &stdout, stderr: &stderr, open: driver.Open})
		if code != c.code || !strings.Contains(stdout.String(), c.out) || !strings.Contains(stderr.String(), c.errs) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", c.args, code, stdout.String(), stderr.String())
		}
	}
}

// TestBadFlagIsOneLineAndAHint: a mistyped flag prints the error and
// where to look, not the whole help, on stderr, and exits 2, for every
// command.
func TestBadFlagIsOneLineAndAHint(t *testing.T) {
	for _, name := range []string{"bench", "verify", "cp", "ls", "du", "rm", "gc", "version", "uploads list"} {
		var stdout, stderr bytes.Buffer
		args := append(strings.Fields(name), "--rootdir=/x")
		code := run(context.Background(), args, &app{stdout: &stdout, stderr: &stderr, open: driver.Open})
		want := "stowage " + name + ": flag provided but not defined: -rootdir\nRun 'stowage " + name + " -h' for usage.\n"
		if code != exitUsage || stdout.Len() != 0 || stderr.String() != want {
			t.Errorf("%s --rootdir: exit %d, stdout %q, stderr %q; want exit 2 and %q", name, code, stdout.String(), stderr.String(), want)
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"version", "--json"}, &app{stdout: &stdout, stderr: &stdout}); code != exitOK {
		t.Fatalf("exit %d: %s", code, stdout.String())
	}
	var b buildInfo
	if err := json.Unmarshal(stdout.Bytes(), &b); err != nil || b.Version == "" || b.Go != runtime.Version() {
		t.Fatalf("version --json = %s (%v), want the module version and the Go version", stdout.String(), err)
	}
	// Under go test the main module is "(devel)" and no VCS stamp is made.
	if got := (buildInfo{Version: "v1.2.3", Revision: "abc", RevisionTime: "2026-12-01T00:00:00Z", Modified: true, Go: "go1.26"}).String(); got != "stowage v1.2.3 (revision abc, 2026-12-01T00:00:00Z, modified) go1.26" {
		t.Errorf("String = %q", got)
	}
}

// TestMissingParametersAllInOneMessage: a backend whose required
// parameters are missing names all of them at once, with the flags to
// add, and exits 2 (a configuration error).
func TestMissingParametersAllInOneMessage(t *testing.T) {
	driver.Register("cli-needs-two", func(_ context.Context, params map[string]any) (driver.StorageDriver, error) {
		f := driver.NewFields("cli-needs-two", params)
		f.Require("bucket", "region")
		return nil, f.Done()
	})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"ls", "--backend", "cli-needs-two", "/"}, &app{stdout: &stdout, stderr: &stderr, open: driver.Open})
	want := "stowage ls: opening the cli-needs-two backend: cli-needs-two: missing required parameters bucket, region\n" +
		"Add --param bucket=... --param region=... (or set them in the --config file's storage section).\n"
	if code != exitUsage || stderr.String() != want {
		t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, stderr.String(), want)
	}
}

func TestJSONHeader(t *testing.T) {
	var buf bytes.Buffer
	h := jsonHeader{Version: "v1", Time: "2026-12-02T00:00:00Z", Backend: "s3"}
	if err := encodeJSON(&buf, h, "rows", []int{1, 2}, false); err != nil {
		t.Fatal(err)
	}
	if want := `{"stowage_version":"v1","time":"2026-12-02T00:00:00Z","backend":"s3","rows":[1,2]}` + "\n"; buf.String() != want {
		t.Errorf("list: %q, want %q", buf.String(), want)
	}
	buf.Reset()
	if err := encodeJSON(&buf, h, "", map[string]any{"backend": "gcs", "ok": true}, false); err != nil {
		t.Fatal(err)
	}
	if want := `{"stowage_version":"v1","time":"2026-12-02T00:00:00Z","backend":"gcs","ok":true}` + "\n"; buf.String() != want {
		t.Errorf("object with its own backend: %q, want %q", buf.String(), want)
	}
	buf.Reset()
	if err := encodeJSON(&buf, h, "", struct{}{}, false); err != nil || !json.Valid(buf.Bytes()) {
		t.Errorf("empty object: %q, %v", buf.String(), err)
	}
}

func TestRenderProgress(t *testing.T) {
	got := renderProgress(progress.Snapshot{Stage: "100x20 one-by-one", Done: 250, Total: 1000, Elapsed: 5 * time.Second, Remaining: 15 * time.Second}, 8)
	want := "[##......]  25%  100x20 one-by-one        250/1000 files  elapsed 5s  left ~15s"
	if got != want {
		t.Fatalf("got\n  %q\nwant\n  %q", got, want)
	}
	got = renderProgress(progress.Snapshot{Stage: "setup", Total: 10}, 4)
	if !strings.HasPrefix(got, "[....]   0%") || !strings.HasSuffix(got, "left ?") {
		t.Fatalf("before any work: %q", got)
	}
	got = renderProgress(progress.Snapshot{Stage: "done", Done: 10, Total: 10, Elapsed: time.Second}, 4)
	if !strings.HasPrefix(got, "[####] 100%") || !strings.HasSuffix(got, "left ~0s") {
		t.Fatalf("at the end: %q", got)
	}
}

func TestProgressNeverDrawsNothing(t *testing.T) {
	var buf bytes.Buffer
	b := startProgress(&buf, &progress.Progress{}, barNever)
	b.stop()
	b.stop()
	if buf.Len() != 0 {
		t.Fatalf("drew %q", buf.String())
	}
}

func TestProgressModes(t *testing.T) {
	for _, c := range []struct {
		flag     string
		terminal bool
		verbose  bool
		want     barMode
	}{
		{"auto", true, false, barAuto},
		{"auto", false, false, barLines},
		{"auto", true, true, barLines},
		{"always", false, false, barAlways},
		{"lines", true, false, barLines},
		{"never", true, false, barNever},
	} {
		if got := progressMode(&storeFlags{progress: c.flag, verbose: c.verbose}, &app{terminal: c.terminal}); got != c.want {
			t.Errorf("%+v: mode %d, want %d", c, got, c.want)
		}
	}
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Microsecond:   "850µs",
		2345 * time.Microsecond:  "2.35ms",
		12345 * time.Microsecond: "12.3ms",
		1234 * time.Millisecond:  "1.23s",
		125 * time.Second:        "2m5s",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// Example_help shows the commands.
func Example_help() {
	run(context.Background(), []string{"help"}, &app{stdout: os.Stdout, stderr: os.Stdout, open: driver.Open})
	// Output:
	// stowage: storage drivers for content-addressed stores such as container registries
	//
	// Usage:
	//   stowage <command> [flags]
	//
	// Commands:
	//   bench       measure a backend: delete matrix, walk, put/get throughput
	//   verify      check a registry's blobs by digest, its links and manifests
	//   cp          copy a registry between stores, verifying every blob
	//   ls          list a directory's children
	//   du          sum the sizes under a path, by child
	//   rm          delete the files named on stdin, in batches
	//   uploads     list or purge abandoned uploads
	//   gc          collect a registry's garbage (a dry run unless --delete)
	//   conformance run the conformance suite against a store (--junit, --json, --dry-run)
	//   version     print the version and VCS revision stowage was built from
	//   help        show help for stowage or a command
	//
	// Run "stowage help <command>" for a command's flags.
}

// lineWriter passes each write to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) { w <- string(p); return len(p), nil }

func TestProgressLinesPrintsWholeLines(t *testing.T) {
	w := make(lineWriter, 100)
	p := &progress.Progress{}
	p.Begin(4)
	p.SetStage("hashing blobs")
	p.Add(1)
	b := startProgressEvery(w, p, barLines, time.Millisecond)
	first := <-w // the first tick's line
	p.Add(3)
	b.stop()
	if !strings.HasSuffix(first, "\n") || strings.Contains(first, "\r") || !strings.Contains(first, "hashing blobs") {
		t.Fatalf("first line %q: want a whole line, no \\r", first)
	}
	close(w)
	var last string
	for l := range w {
		last = l
	}
	if !strings.Contains(last, "4/4 files") {
		t.Fatalf("last line %q: want the final count 4/4", last)
	}
}
