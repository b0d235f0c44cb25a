package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gc"
	"github.com/stowage-dev/stowage/registry"
)

const gcUsage = `Usage: stowage gc [flags]

Collects the garbage of a distribution registry's storage: one Walk lists
the registry, every manifest is read (in parallel) to mark what it
references, and what nothing references is deleted with two DeleteFiles
calls, the links first and the blobs after.

It is a dry run unless --delete is given: the plan (what would be kept and
deleted) is printed and nothing is touched. With --delete the plan is still
printed first, before anything is deleted, then the report of the sweep.

Safety rules:
  - every file modified less than --min-age ago is kept, with what it points
    at, so that a push in progress (blobs uploaded, manifest not yet pushed)
    survives; --min-age 0 keeps nothing for its age: use it only while
    nothing is pushed;
  - nothing is deleted when a manifest or tag link cannot be read or parsed,
    or a manifest does not hash to its digest (--skip-unreadable keeps such
    a manifest and goes on);
  - a blob is deleted only after its links were.
A push that reuses an old unreferenced blob during the sweep can still lose
it, as with distribution's collector: sweep with the registry read-only.

Output: a table, or with --json one JSON document per line: the plan
({"type":"plan",...}) and, with --delete, the report after it
({"type":"report",...}).

Exit status: 0 when all went well, 1 when the plan holds a manifest or tag
link that could not be read (the sweep is refused: nothing is deleted), a
path could not be deleted or the run failed, 2 for a usage error, 130 when
interrupted.

Flags:
`

type gcOptions struct {
	storeFlags
	root                string
	delete              bool
	minAge              time.Duration
	deleteUntagged      bool
	deleteDanglingLinks bool
	skipUnreadable      bool
}

func parseGCFlags(args []string, output io.Writer) (*gcOptions, error) {
	o := &gcOptions{}
	fs := newFlagSet("stowage gc", gcUsage, output)
	o.register(fs, "", gc.DefaultConcurrency, "parallel manifest reads")
	fs.StringVar(&o.root, "root", registry.RootPath, "the registry's root `path` in the store")
	fs.BoolVar(&o.delete, "delete", false, "delete what the plan lists (without it: a dry run)")
	fs.DurationVar(&o.minAge, "min-age", gc.DefaultMinAge, "keep every file modified less than this `duration` ago, and what it points at (0: none)")
	fs.BoolVar(&o.deleteUntagged, "delete-untagged", false, "also delete the manifests no tag points at (their signatures and index children excepted)")
	fs.BoolVar(&o.deleteDanglingLinks, "delete-dangling-links", false, "also delete the links whose blob does not exist")
	fs.BoolVar(&o.skipUnreadable, "skip-unreadable", false, "keep a manifest or tag link that cannot be read or parsed and go on, instead of deleting nothing")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := o.check(fs); err != nil {
		return nil, err
	}
	if o.minAge < 0 {
		return nil, fmt.Errorf("--min-age must not be negative, got %v", o.minAge)
	}
	if err := driver.ValidateDirPath("stowage", o.root); err != nil {
		return nil, fmt.Errorf("--root: %w", err)
	}
	return o, nil
}

func runGC(ctx context.Context, args []string, a *app) int {
	o, err := parseGCFlags(args, a.stdout)
	if code, done := parseExit("gc", err, a); done {
		return code
	}
	s, log, code, ok := openCommand(ctx, "gc", &o.storeFlags, a)
	if !ok {
		return code
	}
	defer s.close(log)

	opts := gc.Options{
		Root: o.root, Delete: o.delete, DeleteUntagged: o.deleteUntagged,
		DeleteDanglingLinks: o.deleteDanglingLinks, MinAge: o.minAge,
		SkipUnreadable: o.skipUnreadable, Concurrency: o.concurrency,
		Now: a.now, Logger: log,
	}
	if o.minAge == 0 {
		opts.MinAge = gc.NoMinAge
	}
	if !localBackends[s.choice.name] {
		opts.Requests = s.counter.ByMethod
	}

	p, bar := startRunProgress(a, &o.storeFlags)
	opts.Progress = p
	start := time.Now()
	plan, phases, err := gc.Mark(ctx, s.d, opts)
	bar.stop()
	pr := gcPlanResult{Type: "plan", Backend: s.choice.name, DryRun: !o.delete, MinAge: o.minAge.String(), Phases: phases, Plan: plan}
	if plan != nil {
		pr.DeleteBytes = plan.DeleteBytes()
		pr.Unsafe = plan.Unsafe()
	}
	if err != nil {
		pr.Error = err.Error()
	}
	if werr := pr.write(a.stdout, o.json); werr != nil {
		fmt.Fprintf(a.stderr, "stowage gc: %v\n", werr)
		return exitFailure
	}
	if err != nil {
		return runExit(ctx, "gc", err, false, a)
	}
	if err == nil && plan.Blobs == 0 && plan.Links == 0 {
		fmt.Fprintf(a.stderr, "stowage gc: warning: no blobs and no links under %s: is --root (or the backend's rootdirectory) right?\n", o.root)
	}
	if !o.delete {
		if len(pr.Unsafe) > 0 {
			fmt.Fprintf(a.stderr, "stowage gc: a sweep would delete nothing: %d manifests or tag links could not be read or parsed (first: %s); fix or remove them, or skip them (--skip-unreadable)\n",
				len(pr.Unsafe), pr.Unsafe[0])
			return exitFailure
		}
		return exitOK
	}

	p, bar = startRunProgress(a, &o.storeFlags)
	opts.Progress = p
	rep, err := gc.Sweep(ctx, s.d, plan, opts)
	bar.stop()
	rr := gcReportResult{
		Type: "report", Backend: s.choice.name, Root: plan.Root,
		Phases:  append(slices.Clone(phases), rep.Phases...),
		Elapsed: time.Since(start).Seconds(),
		Deleted: rep.Deleted, DeletedBlobs: rep.DeletedBlobs, FreedBytes: rep.FreedBytes, Failed: rep.Failed,
		markPhases: len(phases),
	}
	rr.Aborted = errors.Is(err, gc.ErrAborted)
	rr.OK = err == nil && len(rep.Failed) == 0
	if err != nil {
		rr.Error = err.Error()
	}
	if werr := rr.write(a.stdout, o.json); werr != nil {
		fmt.Fprintf(a.stderr, "stowage gc: %v\n", werr)
		return exitFailure
	}
	if err == nil && !rr.OK {
		fmt.Fprintf(a.stderr, "stowage gc: %d paths not deleted\n", len(rep.Failed))
	}
	return runExit(ctx, "gc", err, rr.OK, a)
}

// gcPlanResult is the first thing stowage gc prints: the plan, before
// anything is deleted.
type gcPlanResult struct {
	// Type is "plan".
	Type    string `json:"type"`
	Backend string `json:"backend"`
	// DryRun says no sweep follows (no --delete).
	DryRun bool   `json:"dry_run"`
	MinAge string `json:"min_age"`
	Error  string `json:"error,omitempty"`
	// DeleteBytes is the size of the blobs to delete.
	DeleteBytes int64 `json:"delete_bytes"`
	// Unsafe are the problems that make the sweep refuse to delete.
	Unsafe []registry.Problem `json:"unsafe"`
	// Phases are the mark's phases, with their requests by kind.
	Phases []gc.Phase `json:"mark_phases"`
	*gc.Plan
}

func (r gcPlanResult) write(w io.Writer, asJSON bool) error {
	if asJSON {
		if r.Unsafe == nil {
			r.Unsafe = []registry.Problem{}
		}
		if r.Plan != nil {
			pl := *r.Plan
			pl.Problems = nonNil(pl.Problems)
			pl.DeleteBlobs = nonNil(pl.DeleteBlobs)
			pl.DeleteManifests = nonNil(pl.DeleteManifests)
			pl.DeleteLayerLinks = nonNil(pl.DeleteLayerLinks)
			pl.DanglingLinks = nonNil(pl.DanglingLinks)
			r.Plan = &pl
		}
		return encodeJSON(w, newJSONHeader(r.Backend, time.Now()), "", r, false)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	status := "dry run: nothing is deleted (--delete to sweep)"
	switch {
	case r.Error != "":
		status = "incomplete: " + r.Error
	case len(r.Unsafe) > 0:
		status = "UNREADABLE MANIFESTS: nothing will be deleted"
	case !r.DryRun:
		status = "plan: sweeping next"
	}
	root := registry.RootPath
	if r.Plan != nil {
		root = r.Plan.Root
	}
	fmt.Fprintf(tw, "gc\t%s %s\t%s\n", r.Backend, root, status)
	if r.Plan == nil {
		return tw.Flush()
	}
	pl := r.Plan
	if pl.Cutoff.Equal(pl.Started) {
		fmt.Fprintf(tw, "min age\tnone\tevery file is judged by the references alone\n")
	} else {
		fmt.Fprintf(tw, "min age\t%s\tfiles modified after %s are kept\n", r.MinAge, pl.Cutoff.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "repositories\t%d\t\n", pl.Repositories)
	fmt.Fprintf(tw, "blobs\t%d\t%s\n", pl.Blobs, fmtBytes(pl.BlobBytes))
	fmt.Fprintf(tw, "links\t%d\t\n", pl.Links)
	fmt.Fprintf(tw, "manifests read\t%d\t%d tags read\n", pl.ManifestsRead, pl.TagsRead)
	fmt.Fprintf(tw, "kept\t%d manifests\t%d blobs referenced, %d young\n", pl.KeptManifests, pl.MarkedBlobs, pl.YoungBlobs)
	fmt.Fprintf(tw, "to delete: blobs\t%d\t%s\n", len(pl.DeleteBlobs), fmtBytes(r.DeleteBytes))
	fmt.Fprintf(tw, "to delete: manifests\t%d\tuntagged\n", len(pl.DeleteManifests))
	fmt.Fprintf(tw, "to delete: layer links\t%d\t\n", len(pl.DeleteLayerLinks))
	dangling := "reported only (--delete-dangling-links deletes them)"
	if pl.DeleteDanglingLinks {
		dangling = "deleted, except those younger than the min age"
	}
	fmt.Fprintf(tw, "dangling links\t%d\t%s\n", len(pl.DanglingLinks), dangling)
	writePhases(tw, r.Phases)
	fmt.Fprintf(tw, "problems\t%d\t%d stop the sweep\n", len(pl.Problems), len(r.Unsafe))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range pl.Problems {
		if _, err := fmt.Fprintln(w, p); err != nil {
			return err
		}
	}
	return nil
}

// gcReportResult is what stowage gc --delete prints after the sweep.
type gcReportResult struct {
	// Type is "report".
	Type    string `json:"type"`
	Backend string `json:"backend"`
	Root    string `json:"root"`
	// OK says every path of the plan was deleted.
	OK bool `json:"ok"`
	// Aborted says the sweep refused the plan and deleted nothing.
	Aborted bool   `json:"aborted"`
	Error   string `json:"error,omitempty"`
	// Deleted counts the files deleted, DeletedBlobs the blobs among
	// them, FreedBytes their size.
	Deleted      int          `json:"deleted"`
	DeletedBlobs int          `json:"deleted_blobs"`
	FreedBytes   int64        `json:"freed_bytes"`
	Failed       []gc.Failure `json:"failed"`
	// Phases are every phase, the mark's and the sweep's, with their
	// requests by kind (none for a local backend).
	Phases  []gc.Phase `json:"phases"`
	Elapsed float64    `json:"elapsed_seconds"`
	// markPhases is how many of Phases are the mark's.
	markPhases int
}

func (r gcReportResult) write(w io.Writer, asJSON bool) error {
	if asJSON {
		if r.Failed == nil {
			r.Failed = []gc.Failure{}
		}
		return encodeJSON(w, newJSONHeader(r.Backend, time.Now()), "", r, false)
	}
	status := "ok"
	switch {
	case r.Aborted:
		status = "ABORTED: nothing deleted"
	case r.Error != "":
		status = "incomplete: " + r.Error
	case !r.OK:
		status = "PATHS NOT DELETED"
	}
	var b strings.Builder
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "sweep\t%s %s\t%s\n", r.Backend, r.Root, status)
	fmt.Fprintf(tw, "deleted\t%d files\t%d blobs, %s freed\n", r.Deleted, r.DeletedBlobs, fmtBytes(r.FreedBytes))
	fmt.Fprintf(tw, "failed\t%d\t\n", len(r.Failed))
	// The mark's phases were printed with the plan.
	writePhases(tw, r.Phases[r.markPhases:])
	fmt.Fprintf(tw, "total\t%s\t\n", fmtDuration(secondsToDuration(r.Elapsed)))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Failed {
		fmt.Fprintf(&b, "not deleted %s: %s\n", f.Path, f.Error)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writePhases writes a line per phase: its name, time and requests.
func writePhases(w io.Writer, phases []gc.Phase) {
	for _, ph := range phases {
		fmt.Fprintf(w, "phase %s\t%s\t%s requests\n", ph.Name, fmtDuration(secondsToDuration(ph.Seconds)), fmtPhaseRequests(ph.Requests))
	}
}

// fmtPhaseRequests is a phase's requests as fmtByMethod shows them, "0"
// for a counted phase that sent none.
func fmtPhaseRequests(m map[string]int) string {
	if m != nil && len(m) == 0 {
		return "0"
	}
	return fmtByMethod(m)
}

// nonNil is s, or an empty slice for nil (JSON [] rather than null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
