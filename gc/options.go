package gc

import (
	"errors"
	"log/slog"
	"time"

	"github.com/stowage-dev/stowage/registry"
)

// DefaultMinAge is the MinAge of the zero Options: a file younger than an
// hour is kept.
const DefaultMinAge = time.Hour

// NoMinAge, as Options.MinAge, keeps nothing for its age: every file is
// judged by the references alone, as distribution's collector judges it.
// Use it only while nothing is pushed to the registry.
const NoMinAge time.Duration = -1

// DefaultConcurrency is the Concurrency of the zero Options.
const DefaultConcurrency = 32

// Options configure Mark, Sweep and Run. The zero value plans a
// collection of the registry at registry.RootPath that deletes nothing
// (Delete is false), keeps tagged and untagged manifests, and keeps every
// file younger than DefaultMinAge.
type Options struct {
	// Root is the registry root; "" means registry.RootPath.
	Root string
	// Delete makes Run sweep what Mark planned; without it Run only plans
	// (a dry run). Sweep itself always deletes.
	Delete bool
	// DeleteUntagged also deletes the manifests no tag points at (see the
	// package documentation for those it still keeps), with their
	// revision links and tag index entries, as distribution's
	// --delete-untagged does.
	DeleteUntagged bool
	// DeleteDanglingLinks also deletes the layer and revision links whose
	// blob does not exist (they are reported either way).
	DeleteDanglingLinks bool
	// MinAge keeps every blob and link modified less than MinAge before
	// the run started, and what such a link points at. 0 means
	// DefaultMinAge; NoMinAge keeps nothing for its age.
	MinAge time.Duration
	// SkipUnreadable keeps going past a manifest or tag link that cannot
	// be read or parsed, keeping it, instead of aborting.
	SkipUnreadable bool
	// Concurrency bounds the parallel reads (and the DeleteFiles batches
	// are the backend's own); 0 means DefaultConcurrency.
	Concurrency int
	// Now is the clock MinAge is measured on; nil means time.Now.
	Now func() time.Time
	// Progress, when set, follows the run, one stage per phase.
	Progress registry.Tracker
	// Requests, when set, returns the requests the driver has sent so
	// far by kind (for example by HTTP method, transport.Counter's
	// ByMethod); the report then gives each phase's requests.
	Requests func() map[string]int
	// Logger receives debug logs of each phase; nil logs nothing.
	Logger *slog.Logger
}

// ErrAborted is matched by the error of Run and Sweep when the plan holds
// a problem that makes a sweep unsafe (a manifest or tag link that could
// not be read or parsed): nothing was deleted.
var ErrAborted = errors.New("gc: nothing deleted")

// minAge is o.MinAge with the default applied; 0 means none.
func (o Options) minAge() time.Duration {
	switch {
	case o.MinAge == 0:
		return DefaultMinAge
	case o.MinAge < 0:
		return 0
	}
	return o.MinAge
}

func (o Options) withDefaults() Options {
	if o.Root == "" {
		o.Root = registry.RootPath
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = nopTracker{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

type nopTracker struct{}

func (nopTracker) SetStage(string) {}
func (nopTracker) Plan(int64)      {}
func (nopTracker) Add(int64)       {}
