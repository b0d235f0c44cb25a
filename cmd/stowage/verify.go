package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/registry"
)

const verifyUsage = `Usage: stowage verify [flags]

Checks a distribution registry's storage: every blob under blobs/ is read and
hashed against the digest it is named by (--sample hashes a fraction), every
link file of the repositories is read and its blob looked up, and every
manifest is parsed and its config, layers and child manifests looked up. It
reports mismatched, truncated, empty and misplaced blobs, dangling and bad
links and manifests with missing references, each on its own line, after a
summary. It only reads.

Exit status: 0 when all is well, 1 when a problem was found or the run
failed, 2 for a usage error, 130 when interrupted (what was done is printed).

Flags:
`

type verifyOptions struct {
	storeFlags
	root       string
	repository string
	sample     float64
	seed       uint64
}

func parseVerifyFlags(args []string, output io.Writer) (*verifyOptions, error) {
	o := &verifyOptions{}
	fs := newFlagSet("stowage verify", verifyUsage, output)
	o.register(fs, "", 16, "parallel reads")
	fs.StringVar(&o.root, "root", registry.RootPath, "the registry's root `path` in the store")
	fs.StringVar(&o.repository, "repository", "", "check only this repository `name` and the blobs it references")
	fs.Float64Var(&o.sample, "sample", 1, "hash this `fraction` of the blobs, e.g. 0.1 (manifests and links are always all checked)")
	fs.Uint64Var(&o.seed, "seed", 0, "`seed` of the sample (0: a new sample each run)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := o.check(fs); err != nil {
		return nil, err
	}
	if o.sample <= 0 || o.sample > 1 {
		return nil, fmt.Errorf("--sample must be a fraction in (0, 1], got %v", o.sample)
	}
	if err := driver.ValidateDirPath("stowage", o.root); err != nil {
		return nil, fmt.Errorf("--root: %w", err)
	}
	return o, nil
}

func runVerify(ctx context.Context, args []string, a *app) int {
	o, err := parseVerifyFlags(args, a.stdout)
	if code, done := parseExit("verify", err, a); done {
		return code
	}
	s, log, code, ok := openCommand(ctx, "verify", &o.storeFlags, a)
	if !ok {
		return code
	}
	defer s.close(log)

	p, bar := startRunProgress(a, &o.storeFlags)
	start := time.Now()
	rep, err := registry.Verify(ctx, s.d, registry.VerifyOptions{
		Root: o.root, Repository: o.repository, Sample: o.sample, Seed: o.seed,
		Concurrency: o.concurrency, Progress: p,
	})
	bar.stop()
	out := verifyResult{
		Backend: s.choice.name, Root: o.root, Repository: o.repository,
		Elapsed: time.Since(start).Seconds(), Report: rep, OK: rep.OK() && err == nil,
	}
	if !localBackends[s.choice.name] {
		out.Requests = s.counter.ByMethod()
	}
	if err != nil {
		out.Error = err.Error()
	}
	if err == nil && rep.Blobs == 0 && rep.Links == 0 {
		fmt.Fprintf(a.stderr, "stowage verify: warning: no blobs and no links under %s: is --root (or the backend's rootdirectory) right?\n", o.root)
	}
	if werr := out.write(a.stdout, o.json); werr != nil {
		fmt.Fprintf(a.stderr, "stowage verify: %v\n", werr)
		return exitFailure
	}
	return runExit(ctx, "verify", err, out.OK, a)
}

// newLogger logs to w, debug messages too when verbose.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// verifyResult is what stowage verify prints.
type verifyResult struct {
	Backend    string  `json:"backend"`
	Root       string  `json:"root"`
	Repository string  `json:"repository,omitempty"`
	OK         bool    `json:"ok"`
	Error      string  `json:"error,omitempty"`
	Elapsed    float64 `json:"elapsed_seconds"`
	// Requests counts the requests by HTTP method; nil for a local
	// backend.
	Requests map[string]int `json:"requests"`
	registry.Report
}

// mibPerSecond is the hashing rate.
func (r verifyResult) mibPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.HashedBytes) / (1 << 20) / r.Elapsed
}

func (r verifyResult) write(w io.Writer, asJSON bool) error {
	if asJSON {
		if r.Problems == nil {
			r.Problems = []registry.Problem{}
		}
		v := struct {
			verifyResult
			MiBPerSecond float64 `json:"mib_per_second"`
		}{r, r.mibPerSecond()}
		return printJSON(w, r.Backend, "", v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	status := "ok"
	switch {
	case r.Error != "":
		status = "incomplete: " + r.Error
	case !r.OK:
		status = "PROBLEMS FOUND"
	}
	fmt.Fprintf(tw, "verify\t%s %s\t%s\n", r.Backend, r.Root+strings.TrimSuffix("/repositories/"+r.Repository, "/repositories/"), status)
	fmt.Fprintf(tw, "repositories\t%d\t\n", r.Repositories)
	fmt.Fprintf(tw, "blobs\t%d\t%s\n", r.Blobs, fmtBytes(r.BlobBytes))
	fmt.Fprintf(tw, "hashed\t%d\t%s in %s, %.1f MiB/s\n", r.Hashed, fmtBytes(r.HashedBytes), fmtDuration(secondsToDuration(r.Elapsed)), r.mibPerSecond())
	fmt.Fprintf(tw, "links\t%d\t\n", r.Links)
	fmt.Fprintf(tw, "manifests\t%d\t\n", r.Manifests)
	fmt.Fprintf(tw, "requests\t%s\t\n", fmtByMethod(r.Requests))
	byKind := r.ByKind()
	kinds := make([]string, 0, len(byKind))
	for k, n := range byKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	fmt.Fprintf(tw, "problems\t%d\t%s\n", len(r.Problems), strings.Join(kinds, ", "))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Problems {
		if _, err := fmt.Fprintln(w, p); err != nil {
			return err
		}
	}
	return nil
}

// fmtByMethod is "GET 12, HEAD 3" (sorted, with the total), or "-" for
// uncounted requests.
func fmtByMethod(m map[string]int) string {
	if m == nil {
		return "-"
	}
	total := 0
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	slices.Sort(parts)
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// fmtBytes is a size in binary units.
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
