package gc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Report is what a run did: its plan, what was deleted, and each phase's
// time and requests.
type Report struct {
	*Plan
	// DryRun says nothing was meant to be deleted (Options.Delete unset).
	DryRun bool `json:"dry_run"`
	// Deleted counts the files deleted (links and blob data files);
	// DeletedBlobs the blobs among them and FreedBytes their size.
	Deleted      int   `json:"deleted"`
	DeletedBlobs int   `json:"deleted_blobs"`
	FreedBytes   int64 `json:"freed_bytes"`
	// Failed lists every path the plan meant to delete that is still
	// there, or may be: those DeleteFiles reported with their cause, and
	// the blobs held back because a link could not be deleted first.
	Failed []Failure `json:"failed"`
	// Phases are the run's phases in order.
	Phases []Phase `json:"phases"`
}

// Failure is a path not deleted, and why.
type Failure struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// Phase is one phase of a run: "walk", "read tags", "read manifests",
// "delete links", "delete blobs".
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	// Requests counts the phase's requests by kind, when
	// Options.Requests is set.
	Requests map[string]int `json:"requests,omitempty"`
}

// TotalRequests sums the requests of the phases whose names are given,
// or of all phases when none is.
func (r *Report) TotalRequests(names ...string) int {
	n := 0
	for _, p := range r.Phases {
		if len(names) > 0 && !contains(names, p.Name) {
			continue
		}
		for _, c := range p.Requests {
			n += c
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Run marks the registry under o.Root on d and, with o.Delete, sweeps it.
// The Report holds the plan, and what was deleted; the error is for a run
// that could not finish (see Mark and Sweep), matching ErrAborted when
// the plan was unsafe to sweep.
func Run(ctx context.Context, d driver.StorageDriver, o Options) (*Report, error) {
	plan, phases, err := Mark(ctx, d, o)
	rep := &Report{Plan: plan, DryRun: !o.Delete, Phases: phases}
	if err != nil || !o.Delete {
		return rep, err
	}
	swept, err := Sweep(ctx, d, plan, o)
	swept.Phases = append(phases, swept.Phases...)
	return swept, err
}

// Sweep deletes what plan lists, in two DeleteFiles calls: the links
// first, then, when every link went, the blobs (see the package
// documentation). It refuses a plan with unsafe problems (Plan.Unsafe)
// with an error matching ErrAborted, deleting nothing. Every path not
// deleted is in Report.Failed; the error then says how many.
func Sweep(ctx context.Context, d driver.StorageDriver, plan *Plan, o Options) (*Report, error) {
	o = o.withDefaults()
	rep := &Report{Plan: plan}
	if unsafe := plan.Unsafe(); len(unsafe) > 0 {
		return rep, fmt.Errorf("%w: %d manifests or tag links could not be read or parsed, so what they reference is unknown (first: %s); fix or remove them, or skip them (--skip-unreadable)",
			ErrAborted, len(unsafe), unsafe[0])
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("%w: %w", ErrAborted, err)
	}
	ph := newPhaser(o)
	defer func() { rep.Phases = ph.done }()

	ph.start("delete links")
	links := plan.LinkPaths()
	n, err := deleteFiles(ctx, d, links, rep)
	rep.Deleted += n
	o.Logger.Debug("gc: links deleted", "deleted", n, "of", len(links))
	blobs := plan.BlobPaths()
	if err != nil {
		for _, p := range blobs {
			rep.Failed = append(rep.Failed, Failure{Path: p, Error: "not deleted: a link could not be deleted first"})
		}
		ph.end()
		return rep, fmt.Errorf("gc: %d of %d links not deleted, so no blob was (a blob is deleted only after its links): %w", len(links)-n, len(links), err)
	}

	ph.start("delete blobs")
	failedBefore := len(rep.Failed)
	n, err = deleteFiles(ctx, d, blobs, rep)
	ph.end()
	rep.Deleted += n
	failed := map[string]bool{}
	for _, f := range rep.Failed[failedBefore:] {
		failed[f.Path] = true
	}
	for _, b := range plan.DeleteBlobs {
		if !failed[b.Path] {
			rep.DeletedBlobs++
			rep.FreedBytes += b.Size
		}
	}
	o.Logger.Debug("gc: blobs deleted", "deleted", n, "of", len(blobs))
	if err != nil {
		return rep, fmt.Errorf("gc: %d of %d blobs not deleted: %w", len(blobs)-n, len(blobs), err)
	}
	return rep, nil
}

// deleteFiles deletes paths with one DeleteFiles call and records each
// failure in rep.
func deleteFiles(ctx context.Context, d driver.StorageDriver, paths []string, rep *Report) (int, error) {
	if len(paths) == 0 {
		return 0, nil
	}
	n, err := d.DeleteFiles(ctx, paths)
	if err == nil {
		return n, nil
	}
	var dfe *driver.DeleteFilesError
	if errors.As(err, &dfe) {
		for _, f := range dfe.Failures {
			rep.Failed = append(rep.Failed, Failure{Path: f.Path, Error: f.Err.Error()})
		}
	} else {
		for _, p := range paths {
			rep.Failed = append(rep.Failed, Failure{Path: p, Error: err.Error()})
		}
		n = 0
	}
	return n, err
}

// phaser times the phases and takes their requests from Options.Requests.
type phaser struct {
	o         Options
	done      []Phase
	name      string
	startedAt time.Time
	before    map[string]int
}

func newPhaser(o Options) *phaser { return &phaser{o: o} }

// start ends the current phase, if any, and starts the named one.
func (p *phaser) start(name string) {
	p.end()
	p.name, p.startedAt = name, time.Now()
	if p.o.Requests != nil {
		p.before = p.o.Requests()
	}
	if p.o.Progress != nil {
		p.o.Progress.SetStage(name)
	}
}

// end ends the current phase.
func (p *phaser) end() {
	if p.name == "" {
		return
	}
	ph := Phase{Name: p.name, Seconds: time.Since(p.startedAt).Seconds()}
	if p.o.Requests != nil {
		ph.Requests = map[string]int{}
		for k, v := range p.o.Requests() {
			if dv := v - p.before[k]; dv != 0 {
				ph.Requests[k] = dv
			}
		}
	}
	p.done = append(p.done, ph)
	p.name = ""
}
