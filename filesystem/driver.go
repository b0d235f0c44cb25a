// Package filesystem is the stowage backend for a local directory tree, the
// counterpart of distribution's "filesystem" storage driver.
//
// Every driver path maps to the same path below Config.RootDirectory. The
// driver guarantees:
//
//   - Atomic writes. PutContent and FileWriter.Commit write to a staged
//     file, fsync it, rename it into place and fsync the directory: a
//     reader sees the old content or the new, never part of a file, also
//     after a crash.
//   - Resumable writers. Uncommitted Writer data lives in a bookkeeping
//     directory under the root (named "#stowage", which no valid path can
//     reach, and hidden from List and Walk), keyed by a hash of the path,
//     so Writer(ctx, path, true) resumes it from any driver over the root.
//     StagedUploads and PurgeStagedUpload (driver.UploadStager) list and
//     remove that state one upload at a time; PurgeUploads removes what
//     has not been written to for a while.
//   - Confinement. Every operation goes through an os.Root: ".." is
//     rejected by path validation and no symbolic link is followed out of
//     the root. A link leading outside is invisible: GetContent, Reader and
//     Stat of a path naming it or through it give a
//     *driver.PathNotFoundError, List and Walk leave it out; every change
//     there (PutContent, Commit, Move on either side, Delete, DeleteFiles)
//     fails with an *driver.InvalidPathError. Nothing outside the root is
//     ever read or touched. Links that stay inside the root are followed
//     (Walk never loops through them); Delete and DeleteFiles remove such
//     a link itself, never its target.
//   - Pruning. Delete, DeleteFiles and Move remove the directories they
//     leave empty, up to but never including the root, with rmdir, which
//     fails on a directory that is not empty. Writers that find their
//     directory pruned under them create it again and retry, so no file
//     is ever lost to pruning.
//
// Importing the package registers it with driver.Register under "filesystem"
// with the parameters "rootdirectory" and "maxthreads".
package filesystem

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Driver is a StorageDriver over a local directory tree. It is safe for
// concurrent use, and several drivers (in one process or many) may share a
// root.
type Driver struct {
	root    *os.Root
	rootDir string
	sem     chan struct{} // bounds concurrent filesystem operations
	log     *slog.Logger
}

var _ driver.StorageDriver = (*Driver)(nil)

// tmpMaxAge is how old a staged PutContent file left by a crashed process
// must be before New removes it.
const tmpMaxAge = 24 * time.Hour

// New returns a driver over cfg.RootDirectory, creating the directory and
// the driver's bookkeeping directory in it when missing.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.RootDirectory, dirPerm); err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: ParamRootDirectory, Err: err}
	}
	r, err := os.OpenRoot(cfg.RootDirectory)
	if err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: ParamRootDirectory, Err: err}
	}
	learnEscapeErr(r)
	for _, dir := range []string{tmpDir, uploadsDir, trashDir} {
		if err := r.MkdirAll(bookName(dir), dirPerm); err != nil {
			r.Close()
			return nil, &driver.ConfigError{DriverName: DriverName, Parameter: ParamRootDirectory, Err: fmt.Errorf("bookkeeping directory: %w", err)}
		}
	}
	d := &Driver{root: r, rootDir: cfg.RootDirectory, sem: make(chan struct{}, cfg.MaxThreads), log: cmp.Or(cfg.Logger, slog.Default())}
	d.sweep(tmpDir, tmpMaxAge)
	d.sweep(trashDir, 0)
	return d, nil
}

// Close releases the driver's handle on its root directory. The driver
// must not be used afterwards; files and uncommitted writer state stay.
func (d *Driver) Close() error { return d.root.Close() }

// RootDirectory returns the directory the driver stores its files in.
func (d *Driver) RootDirectory() string { return d.rootDir }

// Name implements driver.StorageDriver.
func (d *Driver) Name() string { return DriverName }

// Capabilities reports what the backend can do: DeleteFiles in batches of
// deleteBatchSize paths, real directories, no signed URLs, no requests.
func (d *Driver) Capabilities() driver.Capabilities {
	return driver.Capabilities{DeleteBatchSize: deleteBatchSize, RealDirectories: true}
}

// acquire takes one of the MaxThreads slots for a filesystem operation.
func (d *Driver) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case d.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Driver) release() { <-d.sem }

// begin validates path (dir allows "/"), checks ctx and takes a slot; the
// caller must release when it returns nil.
func (d *Driver) begin(ctx context.Context, path string, dir bool) error {
	var err error
	if dir {
		err = driver.ValidateDirPath(DriverName, path)
	} else {
		err = driver.ValidatePath(DriverName, path)
	}
	if err != nil {
		return err
	}
	return d.acquire(ctx)
}

// openFile opens the regular file at path for reading. A directory, or
// anything else that is not a regular file, is not found.
func (d *Driver) openFile(op, path string) (*os.File, os.FileInfo, error) {
	f, err := d.root.Open(osName(path))
	if err != nil {
		return nil, nil, readErr(op, path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, readErr(op, path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, notFound(path)
	}
	return f, fi, nil
}

// GetContent implements driver.StorageDriver.
func (d *Driver) GetContent(ctx context.Context, path string) ([]byte, error) {
	if err := d.begin(ctx, path, false); err != nil {
		return nil, err
	}
	defer d.release()
	f, fi, err := d.openFile("read", path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	b.Grow(int(fi.Size()) + bytes.MinRead)
	if _, err := b.ReadFrom(f); err != nil {
		return nil, opErr("read", path, err)
	}
	return b.Bytes(), nil
}

// Reader implements driver.StorageDriver. The stream reads the file as it
// was when opened: a later PutContent or Commit replaces the file by
// rename and does not change what an open stream reads.
func (d *Driver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	if err := d.begin(ctx, path, false); err != nil {
		return nil, err
	}
	defer d.release()
	f, fi, err := d.openFile("open", path)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > fi.Size() {
		f.Close()
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, opErr("seek", path, err)
		}
	}
	return f, nil
}

// Stat implements driver.StorageDriver. Symbolic links inside the root are
// described by their targets.
func (d *Driver) Stat(ctx context.Context, path string) (driver.FileInfo, error) {
	if err := d.begin(ctx, path, true); err != nil {
		return nil, err
	}
	defer d.release()
	fi, err := d.root.Stat(osName(path))
	if err != nil {
		return nil, readErr("stat", path, err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return nil, notFound(path)
	}
	return fileInfo(path, fi), nil
}

// fileInfo describes the OS entry fi as the driver path path.
func fileInfo(path string, fi os.FileInfo) driver.FileInfo {
	out := driver.FileInfoFields{FilePath: path, FileModTime: fi.ModTime(), Dir: fi.IsDir()}
	if !out.Dir {
		out.FileSize = fi.Size()
	}
	return out
}

// URLFor implements driver.StorageDriver: local files have no URL, so it
// returns an *driver.UnsupportedMethodError.
func (d *Driver) URLFor(ctx context.Context, path string, options map[string]any) (string, error) {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return "", &driver.UnsupportedMethodError{DriverName: DriverName, Method: "URLFor"}
}
