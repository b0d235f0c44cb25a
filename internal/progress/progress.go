// Package progress tracks how far a long command is, for a progress bar
// or a periodic progress line: the stage, the items done out of those
// planned, and the time.
package progress

import (
	"sync"
	"time"
)

// Progress tracks how far a run is, for a progress display: the current
// stage, the items done (files written, deleted, read, walked or hashed) out
// of the items planned, and the time. Its methods are safe for concurrent use; the zero
// value is ready.
type Progress struct {
	// Notify, when set before the run starts, is called after every change with a
	// snapshot; it must be quick and must not call back into Progress.
	Notify func(Snapshot)

	mu    sync.Mutex
	stage string
	done  int64
	total int64
	start time.Time
}

// Snapshot is the state of a Progress at one moment.
type Snapshot struct {
	Stage string
	Done  int64
	Total int64
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// Remaining estimates the time left from the pace so far; zero until
	// something is done.
	Remaining time.Duration
}

// Snapshot returns the current state.
func (p *Progress) Snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snapshotLocked()
}

func (p *Progress) snapshotLocked() Snapshot {
	s := Snapshot{Stage: p.stage, Done: p.done, Total: p.total}
	if !p.start.IsZero() {
		s.Elapsed = time.Since(p.start)
	}
	if p.done > 0 && p.total > p.done {
		s.Remaining = time.Duration(float64(s.Elapsed) * float64(p.total-p.done) / float64(p.done))
	}
	return s
}

func (p *Progress) update(fn func()) {
	p.mu.Lock()
	fn()
	s := p.snapshotLocked()
	notify := p.Notify
	p.mu.Unlock()
	if notify != nil {
		notify(s)
	}
}

// Begin starts the clock and plans total items (0 when not known yet).
func (p *Progress) Begin(total int64) {
	p.update(func() { p.start, p.total, p.done = time.Now(), total, 0 })
}

// SetStage names what the run is doing now.
func (p *Progress) SetStage(stage string) { p.update(func() { p.stage = stage }) }

// Add counts n more items done.
func (p *Progress) Add(n int64) { p.update(func() { p.done += n }) }

// Plan adds n items to the total planned, for a run that learns its work
// as it goes (a listing that is still paging).
func (p *Progress) Plan(n int64) { p.update(func() { p.total += n }) }
