package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sort"

	"github.com/stowage-dev/stowage/driver"
)

// entry is one visible child of a directory.
type entry struct {
	info driver.FileInfo
	os   os.FileInfo // for directories: to detect symbolic link cycles
}

// readDir returns the visible children of the directory dir, in walk
// order. Entries whose names are not valid components (the bookkeeping
// directory, staged files, foreign names) are hidden, and so are symbolic
// links that lead outside the root or nowhere and anything that is neither
// a regular file nor a directory. Links inside the root are described by
// their targets. With names set it skips the per-entry stat and returns
// only the paths (List). A missing dir, or one that is a file, gives a
// *PathNotFoundError.
func (d *Driver) readDir(ctx context.Context, dir string, names bool) ([]entry, error) {
	if err := d.acquire(ctx); err != nil {
		return nil, err
	}
	defer d.release()
	f, err := d.root.Open(osName(dir))
	if err != nil {
		return nil, readErr("list", dir, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, readErr("list", dir, err)
	} else if !fi.IsDir() {
		return nil, notFound(dir)
	}
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, readErr("list", dir, err)
	}
	out := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if !driver.ValidComponent(name) {
			continue
		}
		p := driver.JoinPath(dir, name)
		typ := de.Type()
		if names && (typ.IsDir() || typ.IsRegular()) {
			out = append(out, entry{info: driver.FileInfoFields{FilePath: p, Dir: typ.IsDir()}})
			continue
		}
		var fi os.FileInfo
		if typ&fs.ModeSymlink != 0 {
			fi, err = d.root.Stat(osName(p))
		} else {
			fi, err = de.Info()
		}
		if err != nil {
			if isNotExist(err) || isEscape(err) {
				continue // gone meanwhile, dangling, or leading out
			}
			return nil, readErr("list", p, err)
		}
		if !fi.IsDir() && !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, entry{info: fileInfo(p, fi), os: fi})
	}
	sort.Slice(out, func(i, j int) bool {
		return driver.WalkKey(out[i].info.Path(), out[i].info.IsDir()) < driver.WalkKey(out[j].info.Path(), out[j].info.IsDir())
	})
	return out, nil
}

// List implements driver.StorageDriver.
func (d *Driver) List(ctx context.Context, path string) ([]string, error) {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return nil, err
	}
	entries, err := d.readDir(ctx, path, true)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.info.Path()
	}
	sort.Strings(out) // lexical, which walk order is not ("a-b" < "a/")
	return out, nil
}

// Walk implements driver.StorageDriver with a tree walk: each directory is
// read once, its entries sorted into walk order and handed to a
// driver.Walker, which applies ErrSkipDir, the start-after hint and
// parallelism, and says which directories to descend into. Symbolic links
// to directories inside the root are followed, but never into a directory
// the walk is already inside (a link cycle).
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	if err := d.begin(ctx, path, true); err != nil {
		return err
	}
	fi, err := d.root.Stat(osName(path))
	d.release()
	if err != nil {
		return readErr("walk", path, err)
	}
	if !fi.IsDir() {
		return notFound(path)
	}
	w, wctx := driver.NewWalker(ctx, path, f, driver.ApplyWalkOptions(opts...))
	err = d.walkDir(wctx, w, path, []os.FileInfo{fi})
	if cerr := w.Close(); cerr != nil {
		return cerr
	}
	return err
}

// walkDir hands the entries of dir to w, descending where w says to.
// ancestors describes dir and the directories above it in this walk.
func (d *Driver) walkDir(ctx context.Context, w *driver.Walker, dir string, ancestors []os.FileInfo) error {
	entries, err := d.readDir(ctx, dir, false)
	if err != nil {
		var nf *driver.PathNotFoundError
		if errors.As(err, &nf) {
			return nil // removed while walking
		}
		return err
	}
	for _, e := range entries {
		descend, err := w.Visit(e.info)
		if err != nil {
			return err
		}
		if !descend || !e.info.IsDir() || inCycle(e.os, ancestors) {
			continue
		}
		if err := d.walkDir(ctx, w, e.info.Path(), append(ancestors, e.os)); err != nil {
			return err
		}
	}
	return nil
}

// inCycle reports whether the directory fi is one the walk is already
// inside, which only a symbolic link can lead back to.
func inCycle(fi os.FileInfo, ancestors []os.FileInfo) bool {
	for _, a := range ancestors {
		if os.SameFile(fi, a) {
			return true
		}
	}
	return false
}
