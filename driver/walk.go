package driver

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// WalkOptions holds the settings WalkOption functions change.
type WalkOptions struct {
	// StartAfter, when set, is a path in walk-key form (see WalkKey): only
	// entries whose walk key sorts after it are visited. Object stores pass
	// it to their list call, so a resumed walk skips what it has done.
	StartAfter string
	// Parallel, when above 1, lets up to that many goroutines call the
	// WalkFn at once for files, in no particular order. Directories are
	// still visited one at a time, each before anything under it, so
	// ErrSkipDir keeps its exact meaning. The WalkFn must then be safe for
	// concurrent use.
	Parallel int
}

// WalkOption changes WalkOptions.
type WalkOption func(*WalkOptions)

// WithStartAfter visits only the entries whose walk key (see WalkKey) sorts
// after hint, as S3's StartAfter does for keys. Give the key of the last
// entry a walk saw to resume right after it: a file's path, or
// WalkKey(dir, true) to resume with the directory's contents.
func WithStartAfter(hint string) WalkOption {
	return func(o *WalkOptions) { o.StartAfter = hint }
}

// WithParallel lets up to n goroutines call the WalkFn at once; see
// WalkOptions.Parallel.
func WithParallel(n int) WalkOption {
	return func(o *WalkOptions) { o.Parallel = n }
}

// ApplyWalkOptions folds opts into a WalkOptions.
func ApplyWalkOptions(opts ...WalkOption) WalkOptions {
	var o WalkOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WalkKey is the key that fixes walk order: the path for a file, the path
// followed by "/" for a directory. Sorting entries by it byte-wise gives a
// directory before its contents and is exactly the order in which object
// stores list keys, so flat listings need no re-sorting.
func WalkKey(path string, isDir bool) string {
	if isDir {
		return path + "/"
	}
	return path
}

// Walker turns a stream of entries in walk order into WalkFn calls while
// applying the walk options, ErrSkipDir and parallelism. Backends feed it:
// tree walkers hand it every directory and file, flat listers hand it only
// files and let it derive the directories from their paths. A Walker is
// used by one goroutine; Close must be called once at the end.
type Walker struct {
	ctx        context.Context
	root       string
	f          WalkFn
	startAfter string
	skipped    string   // directory whose contents are being skipped
	dirs       []string // ancestors of the current entry visited or passed
	any        bool

	work   chan FileInfo
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
	cancel context.CancelFunc
}

// NewWalker starts a Walker for a walk of root (root itself is not visited).
// The returned context is cancelled when the walk fails; producers should
// use it for their own I/O.
func NewWalker(ctx context.Context, root string, f WalkFn, o WalkOptions) (*Walker, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	w := &Walker{ctx: ctx, root: root, f: f, startAfter: o.StartAfter, cancel: cancel}
	if o.Parallel > 1 {
		w.work = make(chan FileInfo)
		for i := 0; i < o.Parallel; i++ {
			w.wg.Add(1)
			go w.worker()
		}
	}
	return w, ctx
}

func (w *Walker) worker() {
	defer w.wg.Done()
	for fi := range w.work {
		if w.failed() != nil {
			continue
		}
		if err := w.f(fi); err != nil && !errors.Is(err, ErrSkipDir) {
			w.fail(err)
		}
	}
}

func (w *Walker) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
		w.cancel()
	}
	w.mu.Unlock()
}

func (w *Walker) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Visited reports whether any entry, visited or skipped by a hint, has been
// handed to the Walker: a walk that saw none found no directory.
func (w *Walker) Visited() bool { return w.any }

// Visit hands the Walker the next entry in walk order. It returns whether a
// tree walker should descend into the entry (false for files, for skipped
// directories and for directories wholly before the start-after hint), and a
// non-nil error when the walk must stop.
func (w *Walker) Visit(fi FileInfo) (descend bool, err error) {
	if err := w.failed(); err != nil {
		return false, err
	}
	if err := w.ctx.Err(); err != nil {
		w.fail(err)
		return false, err
	}
	w.any = true
	p := fi.Path()
	if w.skipped != "" {
		if IsUnder(p, w.skipped) {
			return false, nil
		}
		w.skipped = ""
	}
	// Derive the ancestors a flat lister did not hand over.
	if err := w.enterAncestors(p); err != nil {
		return false, err
	}
	if w.skipped != "" {
		return false, nil
	}
	if fi.IsDir() {
		w.dirs = append(w.dirs, p)
		return w.visitDir(fi)
	}
	if w.startAfter != "" && p <= w.startAfter {
		return false, nil
	}
	if w.work != nil {
		select {
		case w.work <- fi:
		case <-w.ctx.Done():
			err := w.ctxErr()
			w.fail(err) // so that Close reports it too
			return false, err
		}
		return false, nil
	}
	if err := w.f(fi); err != nil && !errors.Is(err, ErrSkipDir) {
		w.fail(err)
		return false, err
	}
	return false, nil
}

func (w *Walker) ctxErr() error {
	if err := w.failed(); err != nil {
		return err
	}
	return w.ctx.Err()
}

// enterAncestors pops the directories that p is not under and visits, as
// directories, the ancestors of p below root that were not visited yet.
func (w *Walker) enterAncestors(p string) error {
	for len(w.dirs) > 0 && !IsUnder(p, w.dirs[len(w.dirs)-1]) {
		w.dirs = w.dirs[:len(w.dirs)-1]
	}
	parent := ParentDir(p)
	if parent == w.root || !IsUnder(parent, w.root) {
		return nil
	}
	// Ancestors strictly between the deepest known directory (or root) and p.
	base := w.root
	if len(w.dirs) > 0 {
		base = w.dirs[len(w.dirs)-1]
	}
	if parent == base {
		return nil
	}
	rest := strings.TrimPrefix(parent, base)
	if base == "/" {
		rest = parent
	}
	cur := base
	for _, name := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
		cur = JoinPath(cur, name)
		w.dirs = append(w.dirs, cur)
		descend, err := w.visitDir(FileInfoFields{FilePath: cur, Dir: true})
		if err != nil {
			return err
		}
		if !descend {
			return nil
		}
	}
	return nil
}

// visitDir calls f for a directory unless the hint passes over it, and
// records a skip.
func (w *Walker) visitDir(fi FileInfo) (bool, error) {
	p := fi.Path()
	key := WalkKey(p, true)
	if w.startAfter != "" && key <= w.startAfter {
		// The directory itself is before the hint; its contents are too,
		// unless the hint lies inside it.
		if strings.HasPrefix(w.startAfter, key) {
			return true, nil
		}
		w.skipped = p
		return false, nil
	}
	if err := w.f(fi); err != nil {
		if errors.Is(err, ErrSkipDir) {
			w.skipped = p
			return false, nil
		}
		w.fail(err)
		return false, err
	}
	return true, nil
}

// Close waits for parallel calls to finish and returns the walk's error,
// if any. It must be called once, after the last Visit.
func (w *Walker) Close() error {
	if w.work != nil {
		close(w.work)
		w.wg.Wait()
	}
	w.cancel()
	return w.failed()
}
