package consistency

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

// List returns the backend's listing with the files this process wrote
// below dir added and the paths it deleted left out. A child directory
// with a deletion below it is kept only if something visible is left in
// it, which a walk of it that stops at the first visible file decides.
func (w *wrapped) List(ctx context.Context, dir string) ([]string, error) {
	if err := driver.ValidateDirPath(w.name, dir); err != nil {
		return nil, err
	}
	r := w.reachOf(dir)
	if r.none() {
		return w.d.List(ctx, dir)
	}
	names, err := w.d.List(ctx, dir)
	if err != nil && !driver.IsNotFound(err) {
		return nil, err
	}
	set := make(map[string]bool, len(names))
	if !r.removals() {
		for _, c := range names {
			set[c] = true
		}
		w.mu.Lock()
		written := w.t.childrenWritten(dir)
		w.mu.Unlock()
		for _, c := range written {
			set[c] = true
		}
	} else {
		s := w.snapshotOf(dir)
		for _, c := range names {
			ok, err := w.childVisible(ctx, s, c)
			if err != nil {
				return nil, err
			}
			if ok {
				set[c] = true
			}
		}
		for _, c := range s.creations {
			set[childOf(dir, c.path)] = true
		}
	}
	if len(set) == 0 {
		switch {
		case err != nil:
			return nil, err
		case dir != "/":
			return nil, w.notFound(dir)
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// childOf returns the direct child of dir on the way to p, which is below
// dir.
func childOf(dir, p string) string {
	prefix := dir
	if dir != "/" {
		prefix += "/"
	}
	rest := p[len(prefix):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return prefix + rest
}

// childVisible decides whether a child the backend lists is still there
// for this process.
func (w *wrapped) childVisible(ctx context.Context, s *snapshot, c string) (bool, error) {
	if !s.touched(c) || s.creationUnder(c) {
		return true, nil
	}
	switch s.fileState(c) {
	case present:
		return true, nil
	case unknown:
		// Records below c only: c may be a file, which is then visible.
		fi, err := w.d.Stat(ctx, c)
		if err == nil && !fi.IsDir() {
			return true, nil
		}
		if err != nil && !driver.IsNotFound(err) {
			return false, err
		}
	}
	return w.hasVisible(ctx, c)
}

// errFound stops an existence walk at the first visible entry.
var errFound = errors.New("consistency: found")

// hasVisible reports whether the directory dir holds a file visible to
// this process.
func (w *wrapped) hasVisible(ctx context.Context, dir string) (bool, error) {
	err := w.mergedWalk(ctx, dir, func(driver.FileInfo) error { return errFound }, driver.WalkOptions{})
	switch {
	case errors.Is(err, errFound):
		return true, nil
	case err == nil || driver.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// Walk is the backend's walk when this process changed nothing at or below
// root within the window; otherwise the backend's walk merged with the
// records (see mergedWalk).
func (w *wrapped) Walk(ctx context.Context, root string, fn driver.WalkFn, opts ...driver.WalkOption) error {
	if err := driver.ValidateDirPath(w.name, root); err != nil {
		return err
	}
	if w.reachOf(root).none() {
		return w.d.Walk(ctx, root, fn, opts...)
	}
	return w.mergedWalk(ctx, root, fn, driver.ApplyWalkOptions(opts...))
}

// mergedWalk streams the backend's walk of root, in order and with the
// start-after hint, into a driver.Walker of its own that applies the
// caller's options: files this process wrote are inserted at their place
// in walk order, files it deleted are dropped, and a directory is handed
// on only when a visible file below it comes, so that a directory left
// empty by deletions is not visited. Directories whose whole content is
// deleted, or which the caller skipped, are skipped in the backend's walk
// too.
func (w *wrapped) mergedWalk(ctx context.Context, root string, fn driver.WalkFn, o driver.WalkOptions) error {
	m := &merger{w: w, s: w.snapshotOf(root)}
	walker, wctx := driver.NewWalker(ctx, root, func(fi driver.FileInfo) error {
		err := fn(fi)
		if fi.IsDir() && errors.Is(err, driver.ErrSkipDir) {
			m.skipped = fi.Path() // directories are visited on this goroutine
		}
		return err
	}, o)
	m.walker, m.ctx = walker, wctx
	var bopts []driver.WalkOption
	if o.StartAfter != "" {
		bopts = append(bopts, driver.WithStartAfter(o.StartAfter))
	}
	berr := w.d.Walk(wctx, root, m.visit, bopts...)
	var ferr error
	if berr == nil || driver.IsNotFound(berr) {
		ferr = m.emitBefore("")
	}
	if err := walker.Close(); err != nil {
		return err
	}
	switch {
	case ferr != nil:
		return ferr
	case berr != nil && !driver.IsNotFound(berr):
		return berr
	case walker.Visited():
		return nil
	case berr != nil:
		return berr
	case root == "/":
		return nil
	case o.StartAfter != "":
		// The hint may have hidden every visible entry; look without it.
		found, err := w.hasVisible(ctx, root)
		if err != nil || found {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.notFound(root)
}

// merger merges one backend walk with a snapshot of the records.
type merger struct {
	w      *wrapped
	s      *snapshot
	walker *driver.Walker
	ctx    context.Context
	next   int          // index of the next creation to hand on
	dirs   []pendingDir // backend directories on the current path
	// skipped is the last directory for which the caller's WalkFn
	// returned ErrSkipDir.
	skipped string
}

type pendingDir struct {
	fi  driver.FileInfo
	fed bool // handed to the walker
}

// visit takes the backend's next entry.
func (m *merger) visit(fi driver.FileInfo) error {
	p := fi.Path()
	if err := m.emitBefore(driver.WalkKey(p, fi.IsDir())); err != nil {
		return err
	}
	if fi.IsDir() {
		if m.skipped != "" && (p == m.skipped || driver.IsUnder(p, m.skipped)) || m.s.hidden(p) {
			return driver.ErrSkipDir
		}
		m.popTo(p)
		m.dirs = append(m.dirs, pendingDir{fi: fi})
		return nil
	}
	if m.next < len(m.s.creations) && m.s.creations[m.next].path == p {
		m.next++
		return m.emitCreation(m.s.creations[m.next-1], fi)
	}
	if m.s.fileState(p) == absent {
		return nil
	}
	return m.emit(fi)
}

// emitBefore hands on the creations whose walk key sorts before key (all
// of them when key is empty).
func (m *merger) emitBefore(key string) error {
	for m.next < len(m.s.creations) && (key == "" || m.s.creations[m.next].path < key) {
		m.next++
		if err := m.emitCreation(m.s.creations[m.next-1], nil); err != nil {
			return err
		}
	}
	return nil
}

// emitCreation hands on a file this process wrote: as the backend lists it
// when that agrees with the record (have), as recorded otherwise, or, when
// the size was not recorded (a Move of a file this process did not
// write), as Stat shows it once the backend has it.
func (m *merger) emitCreation(c creation, have driver.FileInfo) error {
	switch {
	case have != nil && (c.rec.size < 0 || have.Size() == c.rec.size):
		return m.emit(have)
	case c.rec.size >= 0:
		return m.emit(driver.FileInfoFields{FilePath: c.path, FileSize: c.rec.size, FileModTime: c.rec.at})
	}
	fi, err := m.w.Stat(m.ctx, c.path)
	switch {
	case driver.IsNotFound(err):
		return nil // deleted by this process meanwhile
	case err != nil:
		return err
	}
	return m.emit(fi)
}

// emit hands a visible file to the walker, preceded by the backend
// directories above it that were held back.
func (m *merger) emit(fi driver.FileInfo) error {
	m.popTo(fi.Path())
	for i := range m.dirs {
		if !m.dirs[i].fed {
			m.dirs[i].fed = true
			if _, err := m.walker.Visit(m.dirs[i].fi); err != nil {
				return err
			}
		}
	}
	_, err := m.walker.Visit(fi)
	return err
}

// popTo drops the held directories that p is not below.
func (m *merger) popTo(p string) {
	for len(m.dirs) > 0 && !driver.IsUnder(p, m.dirs[len(m.dirs)-1].fi.Path()) {
		m.dirs = m.dirs[:len(m.dirs)-1]
	}
}
