package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/registry"
)

const cpUsage = `Usage: stowage cp [flags]

Copies a registry (or one --repository, or the paths and blob digests read
from stdin with --stdin) from one store to another: blobs, links and every
other file under the root but uploads in progress. Blobs are hashed while
they stream and committed only when they match their digest. Files already
on the destination with the source's size are skipped, so a rerun of an
interrupted copy finishes it. Each file is tried up to --attempts times with
backoff; what still fails is listed, and the exit status is then 1.

Flags:
`

type cpOptions struct {
	from, to   storeFlags
	root       string
	repository string
	stdin      bool
	attempts   int
}

func parseCpFlags(args []string, output io.Writer) (*cpOptions, error) {
	o := &cpOptions{}
	fs := newFlagSet("stowage cp", cpUsage, output)
	for _, side := range []struct {
		name string
		f    *storeFlags
	}{{"from", &o.from}, {"to", &o.to}} {
		fs.StringVar(&side.f.backend, side.name+"-backend", "", "the "+side.name+" side's backend `name`")
		fs.Var(&side.f.params, side.name+"-param", "the "+side.name+" side's backend parameter `key=value` (repeatable)")
		fs.StringVar(&side.f.config, side.name+"-config", "", "distribution-style YAML `file` configuring the "+side.name+" side")
	}
	fs.IntVar(&o.from.concurrency, "concurrency", 16, "files copied at once, at most `n`")
	fs.BoolVar(&o.from.json, "json", false, "print the results as JSON instead of a table")
	fs.StringVar(&o.from.progress, "progress", "auto", "progress on stderr: `auto`, always, lines or never")
	fs.BoolVar(&o.from.verbose, "v", false, "verbose logs on stderr")
	fs.StringVar(&o.root, "root", registry.RootPath, "the registry's root `path` on both sides")
	fs.StringVar(&o.repository, "repository", "", "copy only this repository `name` and the blobs it references")
	fs.BoolVar(&o.stdin, "stdin", false, "copy only the paths and blob digests (sha256:...) read from stdin, one a line")
	fs.IntVar(&o.attempts, "attempts", 5, "tries per file before it counts as failed")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "from-backend":
			o.from.backendSet = true
		case "to-backend":
			o.to.backendSet = true
		}
	})
	if err := o.from.check(fs); err != nil {
		return nil, err
	}
	o.to.concurrency, o.to.verbose = o.from.concurrency, o.from.verbose
	switch {
	case o.attempts < 1:
		return nil, fmt.Errorf("--attempts must be at least 1, got %d", o.attempts)
	case o.stdin && o.repository != "":
		return nil, errors.New("--stdin and --repository exclude each other")
	}
	if err := driver.ValidateDirPath("stowage", o.root); err != nil {
		return nil, fmt.Errorf("--root: %w", err)
	}
	return o, nil
}

func runCp(ctx context.Context, args []string, a *app) int {
	o, err := parseCpFlags(args, a.stdout)
	if code, done := parseExit("cp", err, a); done {
		return code
	}
	var paths []string
	if o.stdin {
		if paths, err = readLines(a.stdin); err != nil {
			fmt.Fprintf(a.stderr, "stowage cp: reading stdin: %v\n", err)
			return exitFailure
		}
		if paths == nil {
			paths = []string{}
		}
	}
	log := newLogger(a.stderr, o.from.verbose)
	src, err := openBackend(ctx, &o.from, a, log)
	if err != nil {
		return reportError(a.stderr, "stowage cp: source", err)
	}
	defer src.close(log)
	dst, err := openBackend(ctx, &o.to, a, log)
	if err != nil {
		return reportError(a.stderr, "stowage cp: destination", err)
	}
	defer dst.close(log)

	p, bar := startRunProgress(a, &o.from)
	start := time.Now()
	rep, err := registry.Copy(ctx, src.d, dst.d, registry.CopyOptions{
		Root: o.root, Repository: o.repository, Paths: paths,
		Concurrency: o.from.concurrency, Attempts: o.attempts, Progress: p, Logger: log,
	})
	bar.stop()
	out := cpResult{From: src.choice.name, To: dst.choice.name, Root: o.root, Elapsed: time.Since(start).Seconds(), CopyReport: rep}
	if !localBackends[src.choice.name] {
		out.SourceRequests = src.counter.ByMethod()
	}
	if !localBackends[dst.choice.name] {
		out.DestRequests = dst.counter.ByMethod()
	}
	if err != nil {
		out.Error = err.Error()
	}
	out.OK = err == nil && len(rep.Failed) == 0
	if werr := out.write(a.stdout, o.from.json); werr != nil {
		fmt.Fprintf(a.stderr, "stowage cp: %v\n", werr)
		return exitFailure
	}
	return runExit(ctx, "cp", err, out.OK, a)
}

// exitCode maps an error opening a backend to the exit status.
// exitCode is the exit code of an error that stopped a command before it
// did anything: exitUsage for a usage or configuration error (a
// *driver.ConfigError), exitFailure otherwise.
func exitCode(err error) int {
	var ce *driver.ConfigError
	if errors.Is(err, errUsage) || errors.As(err, &ce) {
		return exitUsage
	}
	return exitFailure
}

// readLines reads the non-blank lines of r, trimmed.
func readLines(r io.Reader) ([]string, error) {
	if r == nil {
		return nil, nil
	}
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// cpResult is what stowage cp prints.
type cpResult struct {
	From           string         `json:"from"`
	To             string         `json:"to"`
	Root           string         `json:"root"`
	OK             bool           `json:"ok"`
	Error          string         `json:"error,omitempty"`
	Elapsed        float64        `json:"elapsed_seconds"`
	SourceRequests map[string]int `json:"source_requests"`
	DestRequests   map[string]int `json:"destination_requests"`
	registry.CopyReport
}

func (r cpResult) write(w io.Writer, asJSON bool) error {
	if asJSON {
		if r.Failed == nil {
			r.Failed = []registry.CopyFailure{}
		}
		return printJSON(w, r.From+" -> "+r.To, "", r)
	}
	status := "ok"
	switch {
	case r.Error != "":
		status = "incomplete: " + r.Error
	case !r.OK:
		status = "FAILURES"
	}
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.Bytes) / (1 << 20) / r.Elapsed
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "cp\t%s -> %s %s\t%s\n", r.From, r.To, r.Root, status)
	fmt.Fprintf(tw, "planned\t%d\t\n", r.Planned)
	fmt.Fprintf(tw, "copied\t%d\t%s in %s, %.1f MiB/s\n", r.Copied, fmtBytes(r.Bytes), fmtDuration(secondsToDuration(r.Elapsed)), rate)
	fmt.Fprintf(tw, "  server-side\t%d\t\n", r.ServerSide)
	fmt.Fprintf(tw, "  streamed\t%d\t%s\n", r.Copied-r.ServerSide, fmtBytes(r.StreamedBytes))
	fmt.Fprintf(tw, "skipped\t%d\talready there\n", r.Skipped)
	fmt.Fprintf(tw, "failed\t%d\t\n", len(r.Failed))
	fmt.Fprintf(tw, "retries\t%d\t\n", r.Retries)
	fmt.Fprintf(tw, "requests\tfrom %s, to %s\t\n", fmtByMethod(r.SourceRequests), fmtByMethod(r.DestRequests))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Failed {
		if _, err := fmt.Fprintf(w, "failed %s: %s\n", f.Path, f.Error); err != nil {
			return err
		}
	}
	return nil
}
