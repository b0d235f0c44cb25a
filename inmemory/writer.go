package inmemory

import (
	"bytes"
	"context"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// upload is the uncommitted state of a Writer, kept in the store so that a
// later Writer(ctx, path, true) resumes it.
type upload struct {
	data []byte
	// id tells this upload from the others staged for the same path
	// before or after it (driver.StagedUpload.ID).
	id uint64
	// started is when the Writer call that created the upload ran.
	started time.Time
}

// newUploadLocked stages a new upload for path holding data, replacing
// any upload staged for it. The caller holds d.mu.
func (d *Driver) newUploadLocked(path string, data []byte) *upload {
	d.lastUpload++
	up := &upload{data: data, id: d.lastUpload, started: time.Now()}
	d.uploads[path] = up
	return up
}

// Writer implements driver.StorageDriver.
func (d *Driver) Writer(ctx context.Context, path string, append bool) (driver.FileWriter, error) {
	if err := check(ctx, path); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	up, ok := d.uploads[path]
	if append && !ok {
		// Continue the committed file, if there is one.
		f, isFile := d.files[path]
		if !isFile {
			return nil, d.notFound(path)
		}
		data := bytes.Clone(f.data)
		if data == nil {
			data = []byte{}
		}
		up = d.newUploadLocked(path, data)
	}
	if !append {
		up = d.newUploadLocked(path, nil)
	}
	return &writer{d: d, path: path, up: up, state: driver.WriterState{DriverName: DriverName}}, nil
}

type writer struct {
	d     *Driver
	path  string
	up    *upload
	state driver.WriterState
	// committed is the size at Commit, after which up is released.
	committed int64
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.state.CheckWrite(); err != nil {
		return 0, err
	}
	w.d.mu.Lock()
	w.up.data = append(w.up.data, p...)
	w.d.mu.Unlock()
	return len(p), nil
}

func (w *writer) Size() int64 {
	w.d.mu.RLock()
	defer w.d.mu.RUnlock()
	if w.up.data == nil {
		return w.committed
	}
	return int64(len(w.up.data))
}

// Close keeps the uncommitted data in the store for a later resume.
func (w *writer) Close() error {
	_, err := w.state.Close()
	return err
}

func (w *writer) Cancel(ctx context.Context) error {
	if err := w.state.BeginCancel(ctx); err != nil {
		return err
	}
	w.d.mu.Lock()
	if w.d.uploads[w.path] == w.up {
		delete(w.d.uploads, w.path)
	}
	w.up = &upload{} // Size is 0 from now on
	w.d.mu.Unlock()
	w.state.Cancelled()
	return nil
}

func (w *writer) Commit(ctx context.Context) error {
	if err := w.state.BeginCommit(ctx); err != nil {
		return err
	}
	w.d.mu.Lock()
	data := w.up.data
	if data == nil {
		data = []byte{}
	}
	w.d.files[w.path] = &file{data: data, modTime: time.Now()}
	w.committed = int64(len(data))
	w.up.data = nil
	if w.d.uploads[w.path] == w.up {
		delete(w.d.uploads, w.path)
	}
	w.d.mu.Unlock()
	w.state.Committed()
	return nil
}
