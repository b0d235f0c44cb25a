// Package bench is the engine behind `stowage bench`: it runs the delete
// matrix, a Walk of a registry tree, Put/Get throughput and a garbage
// collection (package gc) against any driver.StorageDriver, under a fresh prefix it refuses to share, and
// deletes exactly what it wrote, also when it is interrupted.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/progress"
	"github.com/stowage-dev/stowage/layout"
)

// Workload names, as --workloads takes them.
const (
	WorkloadDelete     = "delete"
	WorkloadWalk       = "walk"
	WorkloadThroughput = "throughput"
)

// Workloads lists the workloads a nil Config.Workloads and "all" run, in
// the order Run runs them; OptInWorkloads run only when named.
var Workloads = []string{WorkloadDelete, WorkloadWalk, WorkloadThroughput}

// Size is one Put/Get throughput case: Count files of Bytes each.
type Size struct {
	Bytes int64
	Count int
}

// DefaultSizes are the default throughput cases.
var DefaultSizes = []Size{{1 << 10, 200}, {1 << 20, 20}, {64 << 20, 2}}

// DefaultWalk is the default tree of the walk workload: 100 manifests with
// 5 tags and 2 layers each (1,100 files).
var DefaultWalk = layout.Spec{Manifests: 100, Tags: 5, LayersPerManifest: 2}

// Config says what Run measures and where.
type Config struct {
	// Driver is the backend under test.
	Driver driver.StorageDriver
	// Requests returns the number of HTTP requests the backend has sent so
	// far; nil for a backend that sends none (the requests columns then
	// stay empty).
	Requests func() int
	// Prefix is the fresh directory everything is written under, e.g.
	// "/stowage-bench-1a2b3c4d" (see NewPrefix). Run refuses to start when
	// it already holds anything.
	Prefix string
	// Workloads to run (see Workloads); nil means all.
	Workloads []string
	// Matrix is the delete matrix; nil means layout.DefaultDeleteMatrix.
	Matrix []layout.DeleteCell
	// Walk is the tree of the walk workload (its Prefix is set by Run);
	// the zero value means DefaultWalk.
	Walk layout.Spec
	// Sizes are the throughput cases; nil means DefaultSizes.
	Sizes []Size
	// GC is the registry of the gc workload; the zero value means
	// DefaultGCShape.
	GC GCShape
	// Runs is how many times each measurement is taken (at least 1).
	Runs int
	// Concurrency bounds the parallel writes that set a measurement up
	// (never the measured operations, which run one at a time); 0 means 16.
	Concurrency int
	// Progress, when set, is kept up to date for a progress display.
	Progress *progress.Progress
	// Logger receives progress and cleanup messages; nil means
	// slog.Default().
	Logger *slog.Logger
}

// ErrPrefixInUse is matched by the error Run returns when its prefix
// already holds data.
var ErrPrefixInUse = errors.New("prefix already holds data")

// cleanupTimeout bounds the deletion of what a run wrote.
const cleanupTimeout = 10 * time.Minute

// Run checks that cfg.Prefix is unused, runs the workloads and returns their
// measurements. Whatever happens, interrupted or not, it then deletes every
// file it wrote (with a fresh context, so a cancelled ctx still cleans up)
// and nothing else. The returned report holds the measurements finished so
// far also when err is not nil.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, log: cfg.Logger, written: newPathSet()}
	rep = &Report{Backend: cfg.Driver.Name(), Prefix: cfg.Prefix, Runs: cfg.Runs, Counted: cfg.Requests != nil}
	if err := checkFresh(ctx, cfg.Driver, cfg.Prefix); err != nil {
		return rep, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := r.cleanup(cctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	cfg.Progress.Begin(r.plannedWork())
	for run := 0; run < cfg.Runs; run++ {
		for _, w := range cfg.Workloads {
			switch w {
			case WorkloadDelete:
				for i, c := range cfg.Matrix {
					m, err := r.deleteCell(ctx, run, c)
					if err != nil {
						return rep, err
					}
					if run == 0 {
						rep.Delete = append(rep.Delete, DeleteResult{Cell: c.String(), Manifests: c.Manifests, Tags: c.Tags, Files: c.Files()})
					}
					rep.Delete[i].add(m)
				}
			case WorkloadWalk:
				m, err := r.walk(ctx, run)
				if err != nil {
					return rep, err
				}
				if run == 0 {
					rep.Walk = &WalkResult{Tree: fmt.Sprintf("%dx%d", cfg.Walk.Manifests, cfg.Walk.Tags), Files: m.files, Entries: m.entries}
				}
				rep.Walk.Walk.add(m.sample)
			case WorkloadThroughput:
				for i, s := range cfg.Sizes {
					put, get, err := r.throughput(ctx, run, i, s)
					if err != nil {
						return rep, err
					}
					if run == 0 {
						rep.Throughput = append(rep.Throughput,
							ThroughputResult{Op: "put", Size: FormatBytes(s.Bytes), Bytes: s.Bytes, Count: s.Count},
							ThroughputResult{Op: "get", Size: FormatBytes(s.Bytes), Bytes: s.Bytes, Count: s.Count})
					}
					rep.Throughput[2*i].Measure.add(put)
					rep.Throughput[2*i+1].Measure.add(get)
				}
			case WorkloadGC:
				m, err := r.gcRun(ctx, run)
				if err != nil {
					return rep, err
				}
				if run == 0 {
					res := m.result
					rep.GC = &res
				}
				rep.GC.add(m)
			}
		}
	}
	rep.finish()
	return rep, nil
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Driver == nil {
		return cfg, errors.New("bench: no driver")
	}
	if err := driver.ValidatePath("bench", cfg.Prefix); err != nil {
		return cfg, fmt.Errorf("bench: prefix: %w", err)
	}
	if cfg.Workloads == nil {
		cfg.Workloads = Workloads
	}
	for _, w := range cfg.Workloads {
		if !contains(Workloads, w) && !contains(OptInWorkloads, w) {
			return cfg, fmt.Errorf("bench: unknown workload %q (want some of %v or %v)", w, Workloads, OptInWorkloads)
		}
	}
	if cfg.Matrix == nil {
		cfg.Matrix = layout.DefaultDeleteMatrix
	}
	if cfg.Walk == (layout.Spec{}) {
		cfg.Walk = DefaultWalk
	}
	if cfg.Sizes == nil {
		cfg.Sizes = DefaultSizes
	}
	if cfg.GC == (GCShape{}) {
		cfg.GC = DefaultGCShape
	}
	if g := cfg.GC; g.Repositories < 1 || g.Manifests < 1 || g.Tags < 0 || g.Layers < 0 {
		return cfg, fmt.Errorf("bench: gc shape %s: want at least 1 repository and 1 manifest", g)
	}
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 16
	}
	if cfg.Progress == nil {
		cfg.Progress = &progress.Progress{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
