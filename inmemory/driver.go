// Package inmemory is the reference stowage backend: the whole contract of
// driver.StorageDriver over a map in memory. It is the executable spec the
// other backends are compared with, and a fast backend for tests.
//
// Directories are implicit, as in an object store: a directory exists while
// a file exists below it, so no empty directory is ever left behind. Files
// and uncommitted writer state live in one store per Driver; a Driver is
// safe for concurrent use, and everything is lost when it is dropped.
package inmemory

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "inmemory"

func init() {
	driver.Register(DriverName, func(_ context.Context, params map[string]any) (driver.StorageDriver, error) {
		if _, err := FromParameters(params); err != nil {
			return nil, err
		}
		return New(), nil
	})
}

// Config configures a Driver. The in-memory backend has no settings; the
// type is there so that every backend has the same four names (DriverName,
// Config, New, FromParameters).
type Config struct{}

// FromParameters builds a Config from distribution-style parameters, of
// which the in-memory backend reads none: any given (but those of Go code,
// see driver.NewFields) are named in one warning.
func FromParameters(params map[string]any) (Config, error) {
	f := driver.NewFields(DriverName, params)
	return Config{}, f.Done()
}

// Driver is an in-memory StorageDriver.
type Driver struct {
	mu      sync.RWMutex
	files   map[string]*file   // by path
	uploads map[string]*upload // uncommitted writer state, by path
	// lastUpload is the id of the last upload staged.
	lastUpload uint64
}

// file is immutable once stored: writes replace it, so readers can hold
// its data without a lock.
type file struct {
	data    []byte
	modTime time.Time
}

var _ driver.StorageDriver = (*Driver)(nil)

// New returns an empty in-memory driver.
func New() *Driver {
	return &Driver{files: map[string]*file{}, uploads: map[string]*upload{}}
}

// Name implements driver.StorageDriver.
func (d *Driver) Name() string { return DriverName }

// Capabilities reports what the backend can do: bulk deletes of
// deleteBatchSize paths, no flat listing, no signed URLs, implicit
// directories, no requests.
func (d *Driver) Capabilities() driver.Capabilities {
	return driver.Capabilities{DeleteBatchSize: deleteBatchSize}
}

func (d *Driver) notFound(path string) error {
	return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
}

// check validates a file path and the context.
func check(ctx context.Context, path string) error {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return err
	}
	return ctx.Err()
}

// checkDir validates a directory path ("/" allowed) and the context.
func checkDir(ctx context.Context, path string) error {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return err
	}
	return ctx.Err()
}

// GetContent implements driver.StorageDriver.
func (d *Driver) GetContent(ctx context.Context, path string) ([]byte, error) {
	if err := check(ctx, path); err != nil {
		return nil, err
	}
	d.mu.RLock()
	f, ok := d.files[path]
	d.mu.RUnlock()
	if !ok {
		return nil, d.notFound(path)
	}
	return bytes.Clone(f.data), nil
}

// PutContent implements driver.StorageDriver.
func (d *Driver) PutContent(ctx context.Context, path string, content []byte) error {
	if err := check(ctx, path); err != nil {
		return err
	}
	f := &file{data: bytes.Clone(content), modTime: time.Now()}
	if f.data == nil {
		f.data = []byte{}
	}
	d.mu.Lock()
	d.files[path] = f
	d.mu.Unlock()
	return nil
}

// Reader implements driver.StorageDriver.
func (d *Driver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	if err := check(ctx, path); err != nil {
		return nil, err
	}
	d.mu.RLock()
	f, ok := d.files[path]
	d.mu.RUnlock()
	if !ok {
		return nil, d.notFound(path)
	}
	if offset < 0 || offset > int64(len(f.data)) {
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	return io.NopCloser(bytes.NewReader(f.data[offset:])), nil
}

// Stat implements driver.StorageDriver.
func (d *Driver) Stat(ctx context.Context, path string) (driver.FileInfo, error) {
	if err := checkDir(ctx, path); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if f, ok := d.files[path]; ok {
		return driver.FileInfoFields{FilePath: path, FileSize: int64(len(f.data)), FileModTime: f.modTime}, nil
	}
	if path == "/" || d.hasFilesUnderLocked(path) {
		return driver.FileInfoFields{FilePath: path, Dir: true}, nil
	}
	return nil, d.notFound(path)
}

func (d *Driver) hasFilesUnderLocked(dir string) bool {
	for p := range d.files {
		if driver.IsUnder(p, dir) {
			return true
		}
	}
	return false
}

// filesUnderLocked returns the paths of all files below dir, sorted, which
// is walk order for files.
func (d *Driver) filesUnderLocked(dir string) []string {
	var out []string
	for p := range d.files {
		if driver.IsUnder(p, dir) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// List implements driver.StorageDriver.
func (d *Driver) List(ctx context.Context, path string) ([]string, error) {
	if err := checkDir(ctx, path); err != nil {
		return nil, err
	}
	d.mu.RLock()
	under := d.filesUnderLocked(path)
	d.mu.RUnlock()
	if len(under) == 0 && path != "/" {
		return nil, d.notFound(path)
	}
	prefix := path
	if prefix != "/" {
		prefix += "/"
	}
	children := []string{}
	seen := map[string]bool{}
	for _, p := range under {
		rest := p[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		child := prefix + rest
		if !seen[child] {
			seen[child] = true
			children = append(children, child)
		}
	}
	sort.Strings(children)
	return children, nil
}

// Move implements driver.StorageDriver.
func (d *Driver) Move(ctx context.Context, sourcePath, destPath string) error {
	if err := check(ctx, sourcePath); err != nil {
		return err
	}
	if err := check(ctx, destPath); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.files[sourcePath]
	if !ok {
		return d.notFound(sourcePath)
	}
	if sourcePath == destPath {
		return nil
	}
	d.files[destPath] = &file{data: f.data, modTime: time.Now()}
	delete(d.files, sourcePath)
	return nil
}

// Delete implements driver.StorageDriver.
func (d *Driver) Delete(ctx context.Context, path string) error {
	if err := check(ctx, path); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.files[path]; ok {
		delete(d.files, path) // a file: no need to look for a tree
		return nil
	}
	found := false
	for p := range d.files {
		if driver.IsUnder(p, path) {
			delete(d.files, p)
			found = true
		}
	}
	if !found {
		return d.notFound(path)
	}
	return nil
}

// deleteBatchSize is how many paths one locked pass of DeleteFiles removes,
// so a huge call does not hold the lock for long.
const deleteBatchSize = 1000

// DeleteFiles implements driver.StorageDriver. Directories are implicit, so
// those left empty vanish with their last file.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	return driver.DeleteInBatches(ctx, DriverName, paths, deleteBatchSize, 1, func(ctx context.Context, batch []string) []driver.DeleteFailure {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, p := range batch {
			delete(d.files, p) // absent paths and directories: nothing to do
		}
		return nil
	})
}

// URLFor implements driver.StorageDriver: an in-memory store has no URLs.
func (d *Driver) URLFor(ctx context.Context, path string, options map[string]any) (string, error) {
	if err := check(ctx, path); err != nil {
		return "", err
	}
	return "", &driver.UnsupportedMethodError{DriverName: DriverName, Method: "URLFor"}
}

// Walk implements driver.StorageDriver. It walks like an object store:
// the sorted file paths under path, with directories derived by
// driver.Walker.
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	if err := checkDir(ctx, path); err != nil {
		return err
	}
	d.mu.RLock()
	under := d.filesUnderLocked(path)
	infos := make([]driver.FileInfo, len(under))
	for i, p := range under {
		fl := d.files[p]
		infos[i] = driver.FileInfoFields{FilePath: p, FileSize: int64(len(fl.data)), FileModTime: fl.modTime}
	}
	d.mu.RUnlock()
	if len(infos) == 0 && path != "/" {
		return d.notFound(path)
	}
	w, _ := driver.NewWalker(ctx, path, f, driver.ApplyWalkOptions(opts...))
	for _, fi := range infos {
		if _, err := w.Visit(fi); err != nil {
			break
		}
	}
	return w.Close()
}
