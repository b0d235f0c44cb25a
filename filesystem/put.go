package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/stowage-dev/stowage/driver"
)

// maxInstallAttempts bounds how often install creates a parent directory
// again after a concurrent pruner removed it. Each round needs a pruner to
// remove the directory in the instant between mkdir and rename, so the
// bound is never reached in practice; it only rules out livelock.
const maxInstallAttempts = 1000

// testHookBeforeRename, when set by a test, runs in install just before
// each rename, to stand in for a concurrent pruner.
var testHookBeforeRename func(dst string)

// errSourceGone says the file install was to rename has disappeared.
var errSourceGone = errors.New("source file disappeared")

// PutContent implements driver.StorageDriver: the content is written to a
// staged file under the bookkeeping directory, synced, and renamed over
// path, so readers see the old file or the new one, never a partial one,
// also after a crash.
func (d *Driver) PutContent(ctx context.Context, path string, content []byte) error {
	if err := d.begin(ctx, path, false); err != nil {
		return err
	}
	defer d.release()
	tmp := tempName(tmpDir)
	if err := d.writeStaged(tmp, content); err != nil {
		_ = d.root.Remove(tmp)
		return opErr("put", path, err)
	}
	if renamed, err := d.install("put", tmp, path); err != nil {
		if renamed {
			return err // visible, but maybe not durable
		}
		_ = d.root.Remove(tmp)
		d.prune(driver.ParentDir(path))
		if errors.Is(err, errSourceGone) {
			return opErr("put", path, err)
		}
		return err
	}
	return nil
}

// writeStaged writes content to the new bookkeeping file name and syncs it.
func (d *Driver) writeStaged(name string, content []byte) error {
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// install renames the file src (an OS name relative to the root) to the
// driver path dst, replacing what is there and creating dst's parents.
//
// It is the only way files come into being, and it is what makes pruning
// safe: when the rename fails because a parent is missing (never created,
// or removed by a concurrent pruner after it was created), install creates
// the parents again and retries, so the writer wins. A pruner's rmdir fails
// once the file is in the directory, so the file is never lost.
//
// Afterwards it syncs dst's directory, and when it had to create parents
// every directory up to the root, so that the new entry survives a crash.
// renamed reports whether the rename happened (the file is then visible
// at dst even if a later sync failed). An error wrapping errSourceGone
// says src disappeared.
func (d *Driver) install(op, src, dst string) (renamed bool, err error) {
	if err := d.checkTarget(dst); err != nil {
		return false, err
	}
	name, parent := osName(dst), driver.ParentDir(dst)
	created := false
	for attempt := 0; ; attempt++ {
		if testHookBeforeRename != nil {
			testHookBeforeRename(dst)
		}
		err := d.root.Rename(src, name)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == maxInstallAttempts {
			return false, writeErr(op, dst, err)
		}
		// ENOENT: either src or a parent of dst is missing.
		if _, serr := d.root.Lstat(src); serr != nil {
			return false, fmt.Errorf("%w: %w", errSourceGone, serr)
		}
		if err := d.root.MkdirAll(osName(parent), dirPerm); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, writeErr(op, dst, err)
		}
		created = true
	}
	if err := d.syncParents(parent, created); err != nil {
		return true, opErr(op, dst, err)
	}
	return true, nil
}

// checkTarget refuses a destination that leads outside the root: through
// a parent that is a symbolic link out of the root, or being such a link
// itself (a rename would only replace the link, but the caller asked to
// write through it).
func (d *Driver) checkTarget(path string) error {
	name := osName(path)
	fi, err := d.root.Lstat(name)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		if _, err := d.root.Stat(name); isEscape(err) {
			return writeErr("write", path, err)
		}
	case isEscape(err):
		return writeErr("write", path, err)
	}
	return nil
}

// syncParents syncs the directory dir, and with all set every directory
// above it up to the root. A directory deleted meanwhile needs no sync.
func (d *Driver) syncParents(dir string, all bool) error {
	for {
		if err := syncDir(d.root, osName(dir)); err != nil && !isNotExist(err) {
			return err
		}
		if !all || dir == "/" {
			return nil
		}
		dir = driver.ParentDir(dir)
	}
}

// Move implements driver.StorageDriver: a rename, so the destination is
// replaced atomically. Only a file can be moved; a directory source is not
// found, as for GetContent. A source or destination through a symbolic
// link out of the root gives an *driver.InvalidPathError. The source's
// directories left empty are pruned.
func (d *Driver) Move(ctx context.Context, sourcePath, destPath string) error {
	if err := driver.ValidatePath(DriverName, sourcePath); err != nil {
		return err
	}
	if err := d.begin(ctx, destPath, false); err != nil {
		return err
	}
	defer d.release()
	fi, err := d.root.Stat(osName(sourcePath))
	if err != nil {
		return mutationErr("move", sourcePath, err)
	}
	if !fi.Mode().IsRegular() {
		return notFound(sourcePath)
	}
	if sourcePath == destPath {
		return nil
	}
	renamed, err := d.install("move", osName(sourcePath), destPath)
	if err != nil && !renamed {
		d.prune(driver.ParentDir(destPath))
		if errors.Is(err, errSourceGone) {
			return notFound(sourcePath)
		}
		return err
	}
	srcDir := driver.ParentDir(sourcePath)
	if serr := syncDir(d.root, osName(srcDir)); serr != nil && !isNotExist(serr) && err == nil {
		err = opErr("move", sourcePath, serr)
	}
	d.prune(srcDir)
	return err
}
