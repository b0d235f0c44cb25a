package filesystem

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/stowage-dev/stowage/driver"
)

// writeBufferSize is how much a FileWriter buffers before writing to its
// staged file.
const writeBufferSize = 64 << 10

// errStateReplaced says a writer's uncommitted state was discarded, or
// replaced, by another writer for the same path.
var errStateReplaced = errors.New("uncommitted state was discarded by another writer for the same path")

// Writer implements driver.StorageDriver. The uncommitted data is staged in
// the bookkeeping directory, under a hash of path, with a sidecar file
// naming path and the upload (see StagedUploads); Close syncs it to stable storage and leaves it there for
// Writer(ctx, path, true), from this driver or any other over the same
// root, to resume; Commit renames it over path atomically (after an
// fsync); Cancel removes it. Writer(ctx, path,
// true) with no uncommitted state continues the committed file at path: it
// stages a copy of the file and appends to that.
func (d *Driver) Writer(ctx context.Context, path string, append bool) (driver.FileWriter, error) {
	if err := d.begin(ctx, path, false); err != nil {
		return nil, err
	}
	defer d.release()
	dir := uploadDir(path)
	data := filepath.Join(dir, uploadData)
	w := &fileWriter{d: d, path: path, dir: dir, data: data, state: driver.WriterState{DriverName: DriverName}, fresh: !append}
	if append {
		f, err := d.root.OpenFile(data, os.O_WRONLY, 0)
		if isNotExist(err) {
			f, err = d.continueFile(path, dir, data)
			if err != nil {
				return nil, err
			}
			w.fresh = true
		} else if err != nil {
			return nil, readErr("resume", path, err)
		}
		size, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			f.Close()
			return nil, opErr("resume", path, err)
		}
		w.f = f
		w.size.Store(size)
	} else {
		f, err := d.newUpload(path, dir, data)
		if err != nil {
			return nil, opErr("writer", path, err)
		}
		w.f = f
	}
	w.bw = bufio.NewWriterSize(w.f, writeBufferSize)
	return w, nil
}

// newUpload discards any uncommitted state for path and starts an empty
// one, whose sidecar names path and a fresh upload id (see sidecar).
func (d *Driver) newUpload(path, dir, data string) (*os.File, error) {
	if err := d.root.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := d.root.MkdirAll(dir, dirPerm); err != nil {
		return nil, err
	}
	if err := d.root.WriteFile(filepath.Join(dir, uploadPath), sidecar(path, rand.Text()), filePerm); err != nil {
		return nil, err
	}
	return d.root.OpenFile(data, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
}

// continueFile starts the uncommitted state of a Writer that continues the
// committed file at path: a copy of the file staged as the upload's data,
// so that the file stays as it is until Commit renames the copy, with the
// new bytes appended, over it. No committed file is a *PathNotFoundError.
func (d *Driver) continueFile(path, dir, data string) (*os.File, error) {
	src, _, err := d.openFile("resume", path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	f, err := d.newUpload(path, dir, data)
	if err == nil {
		_, err = io.Copy(f, src)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		_ = d.root.RemoveAll(dir)
		return nil, opErr("resume", path, err)
	}
	return f, nil
}

// fileWriter is the filesystem FileWriter. Like any io.Writer it is meant
// for one goroutine; Size may be called from any.
type fileWriter struct {
	state driver.WriterState
	d     *Driver
	path  string
	dir   string // bookkeeping directory of the upload
	data  string // staged data file in dir
	f     *os.File
	bw    *bufio.Writer
	size  atomic.Int64
	// fresh says this writer created the upload's directory, whose
	// entries Close must sync as well as the data.
	fresh bool
}

// testHookSync, when set by a test, is called with the OS name (relative
// to the root) of each staged file or directory a writer's Close has just
// synced.
var testHookSync func(name string)

// syncStaged syncs the staged data and, for a writer that created the
// upload, the directory entries that lead to it (the upload's directory
// and its entry in the uploads directory), so that state Close reported
// as kept survives a power cut: without the data sync, a filesystem may
// come back with the file's new size but not its blocks, which read as
// zeros, and a resumed upload would take them as written.
func (w *fileWriter) syncStaged() error {
	names := []string{w.data}
	if w.fresh {
		names = append(names, w.dir, bookName(uploadsDir))
	}
	for i, name := range names {
		var err error
		if i == 0 {
			err = w.f.Sync()
		} else {
			err = syncDir(w.d.root, name)
		}
		if err != nil {
			return err
		}
		if testHookSync != nil {
			testHookSync(name)
		}
	}
	w.fresh = false
	return nil
}

// Write implements io.Writer.
func (w *fileWriter) Write(p []byte) (int, error) {
	if err := w.state.CheckWrite(); err != nil {
		return 0, err
	}
	_ = w.d.acquire(context.Background())
	defer w.d.release()
	n, err := w.bw.Write(p)
	w.size.Add(int64(n))
	if err != nil {
		return n, opErr("write", w.path, err)
	}
	return n, nil
}

// Size implements driver.FileWriter: the bytes written in all sessions.
func (w *fileWriter) Size() int64 { return w.size.Load() }

// Close implements io.Closer: it flushes what is buffered, syncs the
// staged data to stable storage (syncStaged) and keeps the uncommitted
// state for a later resume, which may come from another process after a
// crash. That costs one fsync per session (three for the first), the price
// of resuming only bytes that are really there.
func (w *fileWriter) Close() error {
	wasOpen, err := w.state.Close()
	if err != nil || !wasOpen {
		return err
	}
	_ = w.d.acquire(context.Background())
	defer w.d.release()
	err = w.bw.Flush()
	if err == nil {
		err = w.syncStaged()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return opErr("close", w.path, err)
	}
	return nil
}

// ours reports whether the staged data file is still the one w writes to,
// not discarded or replaced by another writer for the same path.
func (w *fileWriter) ours() (bool, error) {
	mine, err := w.f.Stat()
	if err != nil {
		return false, err
	}
	staged, err := w.d.root.Lstat(w.data)
	if isNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(mine, staged), nil
}

// Commit implements driver.FileWriter. On failure the writer stays open.
func (w *fileWriter) Commit(ctx context.Context) error {
	if err := w.state.BeginCommit(ctx); err != nil {
		return err
	}
	if err := w.d.acquire(ctx); err != nil {
		return err
	}
	defer w.d.release()
	if err := w.bw.Flush(); err != nil {
		return opErr("commit", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return opErr("commit", w.path, err)
	}
	if ok, err := w.ours(); err != nil || !ok {
		return opErr("commit", w.path, orReplaced(err))
	}
	renamed, err := w.d.install("commit", w.data, w.path)
	if !renamed {
		if errors.Is(err, errSourceGone) {
			return opErr("commit", w.path, fmt.Errorf("%w: %w", errStateReplaced, err))
		}
		return err
	}
	// Visible now, even if syncing afterwards failed (err): the writer
	// must not touch the file any more.
	w.state.Committed()
	w.f.Close()
	_ = w.d.root.RemoveAll(w.dir)
	return err
}

// Cancel implements driver.FileWriter: it removes the uncommitted state
// of every session. On failure the writer stays open.
func (w *fileWriter) Cancel(ctx context.Context) error {
	if err := w.state.BeginCancel(ctx); err != nil {
		return err
	}
	if err := w.d.acquire(ctx); err != nil {
		return err
	}
	defer w.d.release()
	ok, err := w.ours()
	if err != nil {
		return opErr("cancel", w.path, err)
	}
	if ok {
		if err := w.d.root.RemoveAll(w.dir); err != nil {
			return opErr("cancel", w.path, err)
		}
	}
	w.state.Cancelled()
	w.size.Store(0)
	w.bw.Reset(io.Discard)
	w.f.Close()
	return nil
}

func orReplaced(err error) error {
	if err != nil {
		return err
	}
	return errStateReplaced
}
