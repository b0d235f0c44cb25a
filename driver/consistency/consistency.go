// Package consistency gives read-after-write consistency, within one
// process, over a storage backend that lags: an object store, a Swift
// cluster or a cache that is only eventually consistent.
//
// Wrap returns a driver.StorageDriver that remembers what this process
// recently wrote, moved and deleted, and makes every later call of this
// process agree with it:
//
//   - read-after-write: GetContent, Reader and Stat after PutContent,
//     Writer.Commit or Move return the new content and size, never the old
//     content or a "path not found";
//   - read-after-delete: after Delete, DeleteFiles or Move (its source),
//     GetContent, Reader, Stat, Move and Delete find nothing there; Delete
//     of a directory hides everything below it that was written before;
//   - list-after-write and list-after-delete: List and Walk show the files
//     written and hide the files deleted, even when the backend's listing
//     has not caught up.
//
// How: reads of a path written recently poll the backend with exponential
// backoff until it returns what was written, comparing the size and a
// 64-bit hash of the content recorded at write time, for at most
// Options.MaxWait; if the backend still disagrees they fail with a
// *StaleError (matching ErrStale) rather than return stale data. Paths
// deleted recently are answered from memory. List and Walk merge the
// remembered writes and deletions into the backend's listing, keeping walk
// order, ErrSkipDir, the start-after hint and parallel walks exact. The
// records are kept for Options.Window and at most Options.MaxEntries of
// them, the oldest forgotten first.
//
// Costs: under a directory where this process changed nothing within the
// window, List and Walk are the backend's own calls, and reads of paths
// it did not change go straight through. Otherwise: reads may wait for the
// backend (never on a strongly consistent one); List of a directory below
// which something was deleted checks each affected child with a walk that
// stops at its first visible file; a Walk merging deletions still lists
// what it hides; and Delete of a directory below which this process wrote
// files within the window also deletes those files by name (one extra
// DeleteFiles call), since a backend whose listing lags would miss them.
//
// What it does not guarantee:
//
//   - Other processes' writes. The wrapper knows only what went through
//     it: another process's change may be seen late, and a path this
//     process deleted reads as absent for the window even if another
//     process writes it again meanwhile. Every driver over one store in one
//     process should share one wrapper.
//   - Write-write races. Changes of this process to one exact path are
//     recorded in the order the backend applied them; between processes,
//     or between Delete of a directory and a concurrent write below it,
//     the last writer to reach the backend wins, and reads then agree with
//     the backend or fail with a *StaleError.
//   - Anything older than the window or beyond the entry limit: the
//     backend's word then stands. Choose Window above the backend's
//     longest lag.
//   - The content of a file moved from a source this process did not write
//     within the window: the destination is only known to exist, so a read
//     of it may return the destination's previous content while the
//     backend still serves that.
//   - Reader of a file larger than Options.VerifyReadLimit is checked by
//     size before the stream opens and, read from offset 0, by hash at its
//     end: a stale stream of the same size is then reported by a
//     *StaleError from the last Read, after its bytes were delivered.
//   - URLs from URLFor are fetched around the wrapper; URLFor only waits
//     until Stat agrees with a recent write.
package consistency

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// Defaults used for the zero values of Options.
const (
	DefaultWindow          = time.Minute
	DefaultMaxEntries      = 20_000
	DefaultMaxWait         = 5 * time.Second
	DefaultInitialBackoff  = 10 * time.Millisecond
	DefaultMaxBackoff      = 250 * time.Millisecond
	DefaultVerifyReadLimit = 1 << 20
)

// Options tune the wrapper. The zero value works: every zero field takes
// the default named after it.
type Options struct {
	// Window is how long a write or deletion is remembered
	// (DefaultWindow, one minute). Choose it above the backend's longest
	// lag.
	Window time.Duration

	// MaxEntries bounds the records held (DefaultMaxEntries, 20,000; a
	// record, its share of the path tree included, takes well under a
	// kilobyte). When full, the oldest record is forgotten first: with the
	// defaults the guarantees hold up to about 330 changes a second. It
	// bounds, separately, the saved hash states of uploads closed without
	// Commit, which Writer(path, true) of this process resumes.
	MaxEntries int

	// MaxWait is the longest a read waits for the backend to catch up
	// before it fails with a *StaleError (DefaultMaxWait, five seconds).
	MaxWait time.Duration

	// InitialBackoff is the first pause between polls
	// (DefaultInitialBackoff, 10 ms); each pause doubles up to MaxBackoff
	// (DefaultMaxBackoff, 250 ms).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration

	// VerifyReadLimit is the largest file Reader reads whole to verify it
	// before streaming, after a recent write (DefaultVerifyReadLimit,
	// 1 MiB). Larger files are checked by size, and by hash at the end of
	// a stream from offset 0.
	VerifyReadLimit int64

	// Clock tells the time and sleeps between polls; nil means the system
	// clock. Tests pass a clock that moves on its own terms.
	Clock Clock

	// Logger receives a debug record when a read had to wait and a warning
	// when it gave up; nil discards them.
	Logger *slog.Logger
}

// Clock is the wrapper's source of time.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx is done and then returns its error.
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error { return wait.Sleep(ctx, d) }

func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.InitialBackoff)
	if o.VerifyReadLimit <= 0 {
		o.VerifyReadLimit = DefaultVerifyReadLimit
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ErrStale is matched (errors.Is) by every *StaleError.
var ErrStale = errors.New("backend has not caught up with this process's changes")

// StaleError is returned when the backend still disagrees with what this
// process wrote or deleted after Options.MaxWait. It deliberately does not
// wrap the backend's *driver.PathNotFoundError, if that is what the backend
// kept answering: the path is not missing, the backend is behind.
type StaleError struct {
	DriverName string
	// Op is the call that gave up, e.g. "GetContent".
	Op   string
	Path string
	// Want is what this process wrote, e.g. "a file of 12 bytes".
	Want string
	// Got is what the backend answered last, e.g. "path not found".
	Got string
	// Waited is how long the wrapper polled.
	Waited time.Duration
}

// Error says which call gave up on which path, what the backend answered
// and what was wanted.
func (e *StaleError) Error() string {
	return fmt.Sprintf("%s: %s %s: backend still stale after %v: got %s, want %s",
		e.DriverName, e.Op, e.Path, e.Waited.Round(time.Millisecond), e.Got, e.Want)
}

// Is reports whether target is ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// Wrap returns d with read-after-write, read-after-delete, list-after-write
// and list-after-delete consistency for the calls made through the
// returned driver; see the package documentation for what it does and
// does not guarantee. Every driver.StorageDriver built over one store in
// one process should go through one wrapper: two wrappers do not know each
// other's writes. The result is safe for concurrent use and reports d's
// Name.
func Wrap(d driver.StorageDriver, opts Options) driver.StorageDriver {
	o := opts.withDefaults()
	return &wrapped{
		d:        d,
		name:     d.Name(),
		o:        o,
		clock:    o.Clock,
		log:      o.Logger,
		seed:     maphash.MakeSeed(),
		sessions: newSessions(o.MaxEntries),
	}
}

// wrapped is the driver Wrap returns.
type wrapped struct {
	d     driver.StorageDriver
	name  string
	o     Options
	clock Clock
	log   *slog.Logger
	seed  maphash.Seed

	locks keyedMutex // serialises changes to one exact path

	mu       sync.Mutex // guards t and sessions
	t        table
	sessions *sessions
}

var _ driver.StorageDriver = (*wrapped)(nil)

// Name returns the backend's name.
func (w *wrapped) Name() string { return w.name }

// Capabilities reports the wrapped backend's capabilities: the wrapper
// adds requests only to reads that find stale data.
func (w *wrapped) Capabilities() driver.Capabilities { return driver.CapabilitiesOf(w.d) }

// now returns the time and evicts what the window and the limit let go.
// Callers hold w.mu.
func (w *wrapped) nowLocked() time.Time {
	now := w.clock.Now()
	w.t.evict(now, w.o.Window, w.o.MaxEntries)
	return now
}

// fileState returns what the records say about the file at p.
func (w *wrapped) fileState(p string) (state, fileRec) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nowLocked()
	return w.t.fileState(p)
}

// reachOf returns what the records say about the tree at dir.
func (w *wrapped) reachOf(dir string) reach {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nowLocked()
	return w.t.reachOf(dir)
}

// snapshotOf copies the records bearing on the tree at root.
func (w *wrapped) snapshotOf(root string) *snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nowLocked()
	return w.t.snapshotOf(root)
}

func (w *wrapped) recordWrite(p string, size int64, hash uint64, hashed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.nowLocked()
	w.t.setFile(p, fileRec{exists: true, size: size, hash: hash, hashed: hashed}, now)
	w.t.evict(now, w.o.Window, w.o.MaxEntries)
}

func (w *wrapped) recordFileDelete(paths ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.nowLocked()
	for _, p := range paths {
		w.t.setFile(p, fileRec{exists: false, size: -1}, now)
	}
	w.t.evict(now, w.o.Window, w.o.MaxEntries)
}

func (w *wrapped) recordDelete(p string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.nowLocked()
	w.t.setPrefix(p, now)
	w.t.evict(now, w.o.Window, w.o.MaxEntries)
}

func (w *wrapped) notFound(p string) error {
	return &driver.PathNotFoundError{Path: p, DriverName: w.name}
}

// keyedMutex locks exact paths, so that this process's changes to one
// path reach the backend in the order they are recorded.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks every key (sorted, so that two callers never deadlock) and
// returns the function that unlocks them.
func (k *keyedMutex) lock(keys ...string) func() {
	if len(keys) > 1 {
		keys = sortedUnique(keys)
	}
	entries := make([]*keyedEntry, len(keys))
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	for i, key := range keys {
		e := k.m[key]
		if e == nil {
			e = &keyedEntry{}
			k.m[key] = e
		}
		e.refs++
		entries[i] = e
	}
	k.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
	}
	return func() {
		for _, e := range entries {
			e.mu.Unlock()
		}
		k.mu.Lock()
		for i, key := range keys {
			if entries[i].refs--; entries[i].refs == 0 {
				delete(k.m, key)
			}
		}
		k.mu.Unlock()
	}
}
