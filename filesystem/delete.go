package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// deleteBatchSize is how many paths one DeleteFiles batch removes while
// holding one of the MaxThreads slots. The filesystem has no bulk API, so
// it only sets the grain of the concurrency.
const deleteBatchSize = 128

// entryKind is what a directory entry is, as far as removal cares.
type entryKind int

const (
	kindOther   entryKind = iota // a file or anything else unlink removes
	kindDir                      // a directory
	kindSymlink                  // a symbolic link
)

// Delete implements driver.StorageDriver. A directory is first renamed
// into the bookkeeping directory, so it vanishes from view at once, and
// then removed; the directories left empty above path are pruned. A path
// through, or naming, a symbolic link that leads outside the root gives an
// *driver.InvalidPathError and nothing is removed; a link inside the root
// is removed itself, never its target.
func (d *Driver) Delete(ctx context.Context, path string) error {
	if err := d.begin(ctx, path, false); err != nil {
		return err
	}
	defer d.release()
	name := osName(path)
	fi, err := d.root.Lstat(name)
	if err != nil {
		return mutationErr("delete", path, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if _, err := d.root.Stat(name); isEscape(err) {
			return mutationErr("delete", path, err)
		}
		err = d.root.Remove(name)
	case fi.IsDir():
		err = d.removeTree(name)
	default:
		err = d.root.Remove(name)
	}
	if err != nil {
		return mutationErr("delete", path, err)
	}
	d.prune(driver.ParentDir(path))
	return nil
}

// removeTree removes the directory name and everything in it, renaming it
// out of view first when it can.
func (d *Driver) removeTree(name string) error {
	trash := tempName(trashDir)
	err := d.root.Rename(name, trash)
	if isNotExist(err) {
		return err
	}
	if err != nil {
		// Could not move it aside (e.g. a mount point): remove in place.
		return d.root.RemoveAll(name)
	}
	if err := d.root.RemoveAll(trash); err != nil {
		// Out of view already; the next New sweeps what is left.
		d.log.Warn("filesystem: removing deleted directory", "dir", filepath.Join(d.rootDir, trash), "err", err)
	}
	return nil
}

// mutationErr maps an error of a changing operation on path: nothing there
// is a *PathNotFoundError, a symbolic link out of the root an
// *InvalidPathError.
func mutationErr(op, path string, err error) error {
	if isNotExist(err) {
		return notFound(path)
	}
	return writeErr(op, path, err)
}

// DeleteFiles implements driver.StorageDriver on top of
// driver.DeleteInBatches: batches of deleteBatchSize paths, up to
// MaxThreads at once. Each file is unlinked without following a symbolic
// link, after one fstatat on its open parent directory: a path that is
// absent, or names a directory, counts as deleted and nothing is removed;
// a path through, or naming, a link that leads outside the root fails
// with an *driver.InvalidPathError. The directories left empty are then
// pruned up to, never including, the root.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	return driver.DeleteInBatches(ctx, DriverName, paths, deleteBatchSize, cap(d.sem), d.deleteBatch)
}

// deleteBatch is DeleteFiles' driver.BatchFunc.
func (d *Driver) deleteBatch(ctx context.Context, batch []string) []driver.DeleteFailure {
	if err := d.acquire(ctx); err != nil {
		return failAll(batch, err)
	}
	defer d.release()
	// Group by parent so each parent is opened once and pruned once.
	sorted := append([]string(nil), batch...)
	sort.Slice(sorted, func(i, j int) bool {
		pi, pj := driver.ParentDir(sorted[i]), driver.ParentDir(sorted[j])
		if pi != pj {
			return pi < pj
		}
		return sorted[i] < sorted[j]
	})
	var failures []driver.DeleteFailure
	for start := 0; start < len(sorted); {
		if err := ctx.Err(); err != nil {
			return append(failures, failAll(sorted[start:], err)...)
		}
		parent := driver.ParentDir(sorted[start])
		end := start + 1
		for end < len(sorted) && driver.ParentDir(sorted[end]) == parent {
			end++
		}
		failures = append(failures, d.deleteInDir(ctx, parent, sorted[start:end])...)
		d.prune(parent)
		start = end
	}
	return failures
}

// deleteInDir removes the files paths, all children of the directory
// parent.
func (d *Driver) deleteInDir(ctx context.Context, parent string, paths []string) []driver.DeleteFailure {
	h, err := openDir(d.root, osName(parent))
	if isNotExist(err) {
		return nil // absent: deleted
	}
	if err != nil {
		return failAll(paths, deleteErr(paths[0], err))
	}
	defer h.close()
	var failures []driver.DeleteFailure
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			return append(failures, failAll(paths[i:], err)...)
		}
		if err := d.deleteFile(h, p); err != nil {
			failures = append(failures, driver.DeleteFailure{Path: p, Err: err})
		}
	}
	return failures
}

// deleteFile removes the file p from its open parent directory h.
func (d *Driver) deleteFile(h *dirHandle, p string) error {
	base := p[strings.LastIndexByte(p, '/')+1:]
	kind, err := h.kind(base)
	switch {
	case isNotExist(err):
		return nil
	case err != nil:
		return deleteErr(p, err)
	case kind == kindDir:
		return nil // DeleteFiles never removes a directory
	case kind == kindSymlink:
		if _, err := d.root.Stat(osName(p)); isEscape(err) {
			return deleteErr(p, err)
		}
	}
	if err := h.unlink(base); err != nil && !isNotExist(err) {
		return deleteErr(p, err)
	}
	return nil
}

// deleteErr maps a DeleteFiles failure for p.
func deleteErr(p string, err error) error {
	return writeErr("delete", p, err)
}

func failAll(paths []string, err error) []driver.DeleteFailure {
	out := make([]driver.DeleteFailure, len(paths))
	for i, p := range paths {
		out[i] = driver.DeleteFailure{Path: p, Err: err}
	}
	return out
}

// prune removes dir and then each parent of it while they are empty, up
// to but never including the root. rmdir fails on a directory that is not
// empty, atomically, so a file a concurrent writer puts in one of them
// stops the pruning instead of being lost; a writer that finds its
// directory pruned creates it again (see install). A directory already
// gone is passed over.
func (d *Driver) prune(dir string) {
	for dir != "/" {
		parent := driver.ParentDir(dir)
		h, err := openDir(d.root, osName(parent))
		if err != nil {
			return
		}
		err = h.rmdir(dir[strings.LastIndexByte(dir, '/')+1:])
		h.close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
		dir = parent
	}
}

// sweep removes the entries of the bookkeeping directory dir last modified
// more than maxAge ago: leftovers of a crashed process. Best effort.
func (d *Driver) sweep(dir string, maxAge time.Duration) int {
	f, err := d.root.Open(bookName(dir))
	if err != nil {
		return 0
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return 0
	}
	cutoff := time.Now().Add(-maxAge)
	n := 0
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			continue
		}
		if d.root.RemoveAll(bookName(dir, e.Name())) == nil {
			n++
		}
	}
	return n
}
