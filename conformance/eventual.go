package conformance

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Clock tells the eventual-consistency simulator the time.
type Clock interface {
	Now() time.Time
}

// ManualClock is a Clock that moves only when told to. Advance moves it
// forward; Sleep moves it forward by the duration instead of waiting, so
// that code which polls with backoff (consistency.Options.Clock accepts a
// ManualClock) runs at full speed while the lag it waits out stays exact.
// It is safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock that reads start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (a negative d is ignored).
func (c *ManualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep advances the clock by d and returns at once, or returns ctx's error
// without advancing when ctx is done.
func (c *ManualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// EventualOptions sets the lags of the eventual-consistency simulator.
// Each kind of lag is set on its own; a zero lag makes that kind of change
// visible at once.
type EventualOptions struct {
	// Seed makes the random part of the lags (see Jitter) reproducible:
	// the same seed and the same sequence of changes give the same lags.
	Seed uint64

	// CreateLag is how long a new file stays invisible to Stat, GetContent
	// and Reader (PutContent, Writer.Commit or Move to a path that held no
	// file).
	CreateLag time.Duration

	// OverwriteLag is how long Stat, GetContent and Reader keep returning
	// the previous content of a file that was replaced.
	OverwriteLag time.Duration

	// DeleteLag is how long a deleted file (Delete, DeleteFiles, the source
	// of Move) stays visible to Stat, GetContent and Reader, with its old
	// content.
	DeleteLag time.Duration

	// ListLag is how long List, Walk and Stat of a directory keep showing
	// a file as it was before it was created, replaced or deleted.
	ListLag time.Duration

	// Jitter, between 0 and 1, is the random part of each lag: a change
	// gets lag × (1 − Jitter × r) with r drawn uniformly from [0, 1) by a
	// generator seeded with Seed. 0 makes every lag exact; 1 spreads them
	// over (0, lag].
	Jitter float64

	// Clock tells the time; nil means the system clock. A ManualClock
	// makes tests deterministic without sleeping.
	Clock Clock
}

// Eventual wraps a StorageDriver and behaves like an eventually consistent
// object store: changes made through it reach the wrapped driver at once,
// but its readers see them only after the lags set in EventualOptions. It
// models the store as a log of versions per path, each with the instant it
// becomes visible to reads (Stat, GetContent, Reader) and to listings
// (List, Walk, Stat of a directory); a path's log is dropped once its last
// version is visible everywhere, and then the wrapped driver answers
// directly.
//
// Changes (PutContent, Writer.Commit, Move, Delete, DeleteFiles) act on the
// current state, as an object store's writes do. URLFor and uncommitted
// writer state pass straight through. Two Eventual values over one driver
// do not see each other's changes as pending: share one value between the
// drivers of a simulated store.
//
// Eventual is a test double: it holds the content of every superseded
// version until it is visible everywhere, and it serialises its operations
// with one lock. It is safe for concurrent use.
type Eventual struct {
	d     driver.StorageDriver
	name  string
	opts  EventualOptions
	clock Clock

	mu    sync.Mutex
	rng   *rand.Rand
	hist  map[string]*evHistory
	under map[string]int // number of logged paths strictly below each directory
	due   evHeap
	gen   uint64 // counts changes, to recognise outdated heap items
}

var _ driver.StorageDriver = (*Eventual)(nil)

// NewEventual returns the simulator over d; see Eventual.
func NewEventual(d driver.StorageDriver, opts EventualOptions) *Eventual {
	clock := opts.Clock
	if clock == nil {
		clock = systemClock{}
	}
	opts.Jitter = min(max(opts.Jitter, 0), 1)
	return &Eventual{
		d:     d,
		name:  d.Name(),
		opts:  opts,
		clock: clock,
		rng:   rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		hist:  map[string]*evHistory{},
		under: map[string]int{},
	}
}

// evVersion is one state of a path: a file with some content, or no file.
type evVersion struct {
	exists bool
	// filled is set once content and modTime are known. Only the last
	// version of a log may be unfilled: it is read from the wrapped driver,
	// and filled from it just before a change supersedes it.
	filled  bool
	content []byte
	modTime time.Time
	// readAt and listAt are when the version becomes visible to reads and
	// to listings.
	readAt, listAt time.Time
}

// evHistory is the log of one path, oldest first. The first version is
// the state before the first logged change, visible since forever.
type evHistory struct {
	versions []evVersion
	gen      uint64 // the simulator's change count at its last change
}

// visible returns the version a reader (list false) or a lister (list true)
// sees at now, and whether it is the last one, which the wrapped driver
// holds.
func (h *evHistory) visible(now time.Time, list bool) (*evVersion, bool) {
	for i := len(h.versions) - 1; i > 0; i-- {
		at := h.versions[i].readAt
		if list {
			at = h.versions[i].listAt
		}
		if !at.After(now) {
			return &h.versions[i], i == len(h.versions)-1
		}
	}
	return &h.versions[0], len(h.versions) == 1
}

// evDue is when a log's last version is visible everywhere.
type evDue struct {
	at   time.Time
	path string
	gen  uint64
}

type evHeap []evDue

func (h evHeap) Len() int           { return len(h) }
func (h evHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h evHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *evHeap) Push(x any)        { *h = append(*h, x.(evDue)) }
func (h *evHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Pending returns the number of paths with a change not yet visible
// everywhere.
func (e *Eventual) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.prune(e.clock.Now())
	return len(e.hist)
}

// prune drops the logs whose last version is visible everywhere by now.
func (e *Eventual) prune(now time.Time) {
	for len(e.due) > 0 && !e.due[0].at.After(now) {
		item := heap.Pop(&e.due).(evDue)
		if h := e.hist[item.path]; h != nil && h.gen == item.gen {
			e.forget(item.path)
		}
	}
}

func (e *Eventual) forget(p string) {
	delete(e.hist, p)
	for dir := driver.ParentDir(p); ; dir = driver.ParentDir(dir) {
		if e.under[dir]--; e.under[dir] == 0 {
			delete(e.under, dir)
		}
		if dir == "/" {
			break
		}
	}
}

// logOf returns p's log, starting one with the current state when there is
// none, and makes sure its last version is filled, reading it from the
// wrapped driver if needed. Callers hold e.mu.
func (e *Eventual) logOf(ctx context.Context, p string) (*evHistory, error) {
	h := e.hist[p]
	if h == nil {
		e.gen++
		h = &evHistory{versions: []evVersion{{}}, gen: e.gen}
		e.hist[p] = h
		for dir := driver.ParentDir(p); ; dir = driver.ParentDir(dir) {
			e.under[dir]++
			if dir == "/" {
				break
			}
		}
		// Due at once: a log to which no change is added is dropped by the
		// next prune.
		heap.Push(&e.due, evDue{path: p, gen: h.gen})
	}
	last := &h.versions[len(h.versions)-1]
	if last.filled {
		return h, nil
	}
	fi, err := e.d.Stat(ctx, p)
	switch {
	case err == nil && !fi.IsDir():
		content, err := e.d.GetContent(ctx, p)
		if err != nil {
			return nil, err
		}
		last.exists, last.content, last.modTime = true, content, fi.ModTime()
	case err == nil || evNotFound(err):
		last.exists = false
	default:
		return nil, err
	}
	last.filled = true
	return h, nil
}

// record appends the state after a change to p's log (started by logOf
// before the change) and schedules its visibility.
func (e *Eventual) record(p string, exists bool) {
	h := e.hist[p]
	if h == nil {
		return
	}
	prev := h.versions[len(h.versions)-1]
	var lag time.Duration
	switch {
	case !prev.exists && exists:
		lag = e.opts.CreateLag
	case prev.exists && exists:
		lag = e.opts.OverwriteLag
	case prev.exists && !exists:
		lag = e.opts.DeleteLag
	default:
		return // no file before, no file after: nothing changed
	}
	now := e.clock.Now()
	v := evVersion{
		exists: exists,
		filled: !exists,
		readAt: now.Add(e.jitter(lag)),
		listAt: now.Add(e.jitter(e.opts.ListLag)),
	}
	h.versions = append(h.versions, v)
	e.gen++
	h.gen = e.gen
	due := v.readAt
	if v.listAt.After(due) {
		due = v.listAt
	}
	heap.Push(&e.due, evDue{at: due, path: p, gen: h.gen})
}

func (e *Eventual) jitter(lag time.Duration) time.Duration {
	if lag <= 0 {
		return 0
	}
	r := e.rng.Float64()
	return lag - time.Duration(e.opts.Jitter*r*float64(lag))
}

func (e *Eventual) notFound(p string) error {
	return &driver.PathNotFoundError{Path: p, DriverName: e.name}
}

func evNotFound(err error) bool {
	var nf *driver.PathNotFoundError
	return errors.As(err, &nf)
}

// lock takes e.mu and drops what has become visible everywhere; it returns
// the time of the operation.
func (e *Eventual) lock() time.Time {
	e.mu.Lock()
	now := e.clock.Now()
	e.prune(now)
	return now
}

// Name returns the wrapped driver's name.
func (e *Eventual) Name() string { return e.name }

// GetContent returns the content a reader sees now.
func (e *Eventual) GetContent(ctx context.Context, p string) ([]byte, error) {
	if err := driver.ValidatePath(e.name, p); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := e.lock()
	defer e.mu.Unlock()
	if h := e.hist[p]; h != nil {
		if v, last := h.visible(now, false); !last {
			if !v.exists {
				return nil, e.notFound(p)
			}
			return bytes.Clone(v.content), nil
		}
	}
	return e.d.GetContent(ctx, p)
}

// Reader streams the content a reader sees now.
func (e *Eventual) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := driver.ValidatePath(e.name, p); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := e.lock()
	defer e.mu.Unlock()
	if h := e.hist[p]; h != nil {
		if v, last := h.visible(now, false); !last {
			if !v.exists {
				return nil, e.notFound(p)
			}
			if offset < 0 || offset > int64(len(v.content)) {
				return nil, &driver.InvalidOffsetError{Path: p, Offset: offset, DriverName: e.name}
			}
			return io.NopCloser(bytes.NewReader(bytes.Clone(v.content[offset:]))), nil
		}
	}
	return e.d.Reader(ctx, p, offset)
}

// Stat describes what a reader sees now at p: a file by the read lag, a
// directory by the list lag.
func (e *Eventual) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	if err := driver.ValidateDirPath(e.name, p); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := e.lock()
	defer e.mu.Unlock()
	fileHidden := false
	if h := e.hist[p]; h != nil && p != "/" {
		v, last := h.visible(now, false)
		switch {
		case !last && v.exists:
			return driver.FileInfoFields{FilePath: p, FileSize: int64(len(v.content)), FileModTime: v.modTime}, nil
		case last && v.exists:
			return e.d.Stat(ctx, p)
		}
		fileHidden = true
	}
	if p != "/" && e.under[p] > 0 {
		files, err := e.visibleFiles(ctx, p, now)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, e.notFound(p)
		}
		fi, err := e.d.Stat(ctx, p)
		if err == nil && fi.IsDir() {
			return fi, nil
		}
		return driver.FileInfoFields{FilePath: p, Dir: true}, nil
	}
	fi, err := e.d.Stat(ctx, p)
	if err == nil && !fi.IsDir() && fileHidden {
		return nil, e.notFound(p)
	}
	return fi, err
}

// visibleFiles returns the files a lister sees now under dir, sorted by
// path. Callers hold e.mu.
func (e *Eventual) visibleFiles(ctx context.Context, dir string, now time.Time) ([]driver.FileInfo, error) {
	var files []driver.FileInfo
	current := map[string]driver.FileInfo{}
	err := e.d.Walk(ctx, dir, func(fi driver.FileInfo) error {
		if fi.IsDir() {
			return nil
		}
		if _, logged := e.hist[fi.Path()]; logged {
			current[fi.Path()] = fi
		} else {
			files = append(files, fi)
		}
		return nil
	})
	if err != nil && !evNotFound(err) {
		return nil, err
	}
	for p, h := range e.hist {
		if !driver.IsUnder(p, dir) {
			continue
		}
		v, last := h.visible(now, true)
		switch {
		case !v.exists:
		case last:
			if fi, ok := current[p]; ok {
				files = append(files, fi)
			}
		default:
			files = append(files, driver.FileInfoFields{FilePath: p, FileSize: int64(len(v.content)), FileModTime: v.modTime})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path() < files[j].Path() })
	return files, nil
}

// List lists what a lister sees now.
func (e *Eventual) List(ctx context.Context, p string) ([]string, error) {
	if err := driver.ValidateDirPath(e.name, p); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := e.lock()
	defer e.mu.Unlock()
	if e.under[p] == 0 {
		return e.d.List(ctx, p)
	}
	files, err := e.visibleFiles(ctx, p, now)
	if err != nil {
		return nil, err
	}
	prefix := p
	if p != "/" {
		prefix += "/"
	}
	seen := map[string]bool{}
	children := []string{}
	for _, fi := range files {
		rest := fi.Path()[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		if c := prefix + rest; !seen[c] {
			seen[c] = true
			children = append(children, c)
		}
	}
	if len(children) == 0 && p != "/" {
		return nil, e.notFound(p)
	}
	sort.Strings(children)
	return children, nil
}

// Walk walks what a lister sees now. When nothing under p is pending it is
// the wrapped driver's own walk.
func (e *Eventual) Walk(ctx context.Context, p string, f driver.WalkFn, opts ...driver.WalkOption) error {
	if err := driver.ValidateDirPath(e.name, p); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := e.lock()
	if e.under[p] == 0 {
		e.mu.Unlock()
		return e.d.Walk(ctx, p, f, opts...)
	}
	files, err := e.visibleFiles(ctx, p, now)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if len(files) == 0 && p != "/" {
		return e.notFound(p)
	}
	w, _ := driver.NewWalker(ctx, p, f, driver.ApplyWalkOptions(opts...))
	for _, fi := range files {
		if _, err := w.Visit(fi); err != nil {
			break
		}
	}
	return w.Close()
}

// PutContent stores content now; readers see it after the create or
// overwrite lag.
func (e *Eventual) PutContent(ctx context.Context, p string, content []byte) error {
	if err := driver.ValidatePath(e.name, p); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.lock()
	defer e.mu.Unlock()
	if _, err := e.logOf(ctx, p); err != nil {
		return err
	}
	if err := e.d.PutContent(ctx, p, content); err != nil {
		return err
	}
	e.record(p, true)
	return nil
}

// Writer returns the wrapped driver's writer; its Commit is a change like
// PutContent.
func (e *Eventual) Writer(ctx context.Context, p string, append bool) (driver.FileWriter, error) {
	fw, err := e.d.Writer(ctx, p, append)
	if err != nil {
		return nil, err
	}
	return &evWriter{FileWriter: fw, e: e, path: p}, nil
}

type evWriter struct {
	driver.FileWriter
	e    *Eventual
	path string
}

// Commit commits through the wrapped writer and logs the change.
func (w *evWriter) Commit(ctx context.Context) error {
	e := w.e
	e.lock()
	defer e.mu.Unlock()
	if _, err := e.logOf(ctx, w.path); err != nil {
		return err
	}
	if err := w.FileWriter.Commit(ctx); err != nil {
		return err
	}
	e.record(w.path, true)
	return nil
}

// Move moves now; the destination's new content and the source's removal
// each become visible after their own lag.
func (e *Eventual) Move(ctx context.Context, src, dst string) error {
	if err := driver.ValidatePath(e.name, src); err != nil {
		return err
	}
	if err := driver.ValidatePath(e.name, dst); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.lock()
	defer e.mu.Unlock()
	for _, p := range []string{src, dst} {
		if _, err := e.logOf(ctx, p); err != nil {
			return err
		}
	}
	if err := e.d.Move(ctx, src, dst); err != nil {
		return err
	}
	if src != dst {
		e.record(dst, true)
		e.record(src, false)
	}
	return nil
}

// Delete deletes now; every file removed stays visible for the delete lag.
func (e *Eventual) Delete(ctx context.Context, p string) error {
	if err := driver.ValidatePath(e.name, p); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.lock()
	defer e.mu.Unlock()
	var files []string
	fi, err := e.d.Stat(ctx, p)
	switch {
	case err != nil && !evNotFound(err):
		return err
	case err == nil && !fi.IsDir():
		files = append(files, p)
	case err == nil:
		err := e.d.Walk(ctx, p, func(fi driver.FileInfo) error {
			if !fi.IsDir() {
				files = append(files, fi.Path())
			}
			return nil
		})
		if err != nil && !evNotFound(err) {
			return err
		}
	}
	for _, f := range files {
		if _, err := e.logOf(ctx, f); err != nil {
			return err
		}
	}
	if err := e.d.Delete(ctx, p); err != nil {
		return err
	}
	for _, f := range files {
		e.record(f, false)
	}
	return nil
}

// DeleteFiles deletes now; every file removed stays visible for the delete
// lag.
func (e *Eventual) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	unique, err := driver.UniquePaths(e.name, paths)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	e.lock()
	defer e.mu.Unlock()
	// The simulator's own reads of what is there are bookkeeping, not the
	// caller's work: they ignore cancellation (checked above), so that a
	// cancellation reaches the wrapped driver's DeleteFiles as it would a
	// store's (DeleteFiles/CancelledMidway counts the looks at ctx).
	bctx := context.WithoutCancel(ctx)
	for _, p := range unique {
		if _, err := e.logOf(bctx, p); err != nil {
			return 0, err
		}
	}
	n, err := e.d.DeleteFiles(ctx, unique)
	failed := map[string]bool{}
	var dfe *driver.DeleteFilesError
	switch {
	case errors.As(err, &dfe):
		for _, f := range dfe.Failures {
			failed[f.Path] = true
		}
	case err != nil:
		return n, err // which paths went is unknown: log nothing
	}
	for _, p := range unique {
		if !failed[p] {
			e.record(p, false)
		}
	}
	return n, err
}

// URLFor passes through: a URL fetched directly bypasses the simulation.
func (e *Eventual) URLFor(ctx context.Context, p string, options map[string]any) (string, error) {
	return e.d.URLFor(ctx, p, options)
}
