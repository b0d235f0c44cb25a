package consistency

import (
	"context"
	"errors"
	"hash/maphash"

	"github.com/stowage-dev/stowage/driver"
)

// Changes go to the backend first and are recorded once it has accepted
// them, holding a lock on each exact path involved, so that this process's
// changes to one path are recorded in the order the backend applied them.

// PutContent stores content and records its size and hash.
func (w *wrapped) PutContent(ctx context.Context, p string, content []byte) error {
	if err := driver.ValidatePath(w.name, p); err != nil {
		return err
	}
	sum := maphash.Bytes(w.seed, content)
	unlock := w.locks.lock(p)
	defer unlock()
	if err := w.d.PutContent(ctx, p, content); err != nil {
		return err
	}
	w.recordWrite(p, int64(len(content)), sum, true)
	return nil
}

// Writer returns the backend's writer, hashing what is written so that
// Commit can record the file's size and hash. A writer resumed in this
// process continues the hash of the sessions before it; one resumed from
// another process's upload records the size only.
func (w *wrapped) Writer(ctx context.Context, p string, append bool) (driver.FileWriter, error) {
	if err := driver.ValidatePath(w.name, p); err != nil {
		return nil, err
	}
	fw, err := w.d.Writer(ctx, p, append)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	saved := w.sessions.take(p)
	w.mu.Unlock()
	ww := &writer{w: w, fw: fw, path: p}
	switch {
	case append && saved != nil && saved.size == fw.Size():
		ww.h, ww.hashed = saved.h, true
	case fw.Size() == 0:
		ww.h, ww.hashed = new(maphash.Hash), true
		ww.h.SetSeed(w.seed)
	}
	return ww, nil
}

// writer wraps a backend FileWriter; it is used by one goroutine at a time,
// as FileWriters are.
type writer struct {
	w      *wrapped
	fw     driver.FileWriter
	path   string
	h      *maphash.Hash
	hashed bool // h covers every byte of the file so far
	done   bool // committed, cancelled or closed
}

func (ww *writer) Write(b []byte) (int, error) {
	n, err := ww.fw.Write(b)
	if ww.hashed {
		ww.h.Write(b[:n])
	}
	return n, err
}

func (ww *writer) Size() int64 { return ww.fw.Size() }

// Close closes the backend writer and, when the upload stays resumable,
// keeps its hash for a Writer(path, true) of this process.
func (ww *writer) Close() error {
	err := ww.fw.Close()
	if err == nil && !ww.done {
		ww.done = true
		if ww.hashed {
			ww.w.mu.Lock()
			ww.w.sessions.put(ww.path, ww.h, ww.fw.Size())
			ww.w.mu.Unlock()
		}
	}
	return err
}

func (ww *writer) Cancel(ctx context.Context) error {
	err := ww.fw.Cancel(ctx)
	if err == nil {
		ww.done = true
	}
	return err
}

// Commit commits the backend writer and records the file it made.
func (ww *writer) Commit(ctx context.Context) error {
	unlock := ww.w.locks.lock(ww.path)
	defer unlock()
	if err := ww.fw.Commit(ctx); err != nil {
		return err
	}
	ww.done = true
	var sum uint64
	if ww.hashed {
		sum = ww.h.Sum64()
	}
	ww.w.recordWrite(ww.path, ww.fw.Size(), sum, ww.hashed)
	return nil
}

// Move moves on the backend and records the destination as written (with
// the source's size and hash when this process wrote the source) and the
// source as deleted. A source this process deleted is missing without
// asking the backend; one it wrote that the backend does not show yet is
// retried until the backend has it.
func (w *wrapped) Move(ctx context.Context, src, dst string) error {
	if err := driver.ValidatePath(w.name, src); err != nil {
		return err
	}
	if err := driver.ValidatePath(w.name, dst); err != nil {
		return err
	}
	unlock := w.locks.lock(src, dst)
	defer unlock()
	st, rec := w.fileState(src)
	if st == absent {
		return w.absent(ctx, src)
	}
	err := w.d.Move(ctx, src, dst)
	if driver.IsNotFound(err) && st == present {
		err = w.poll(ctx, "Move", src, func(ctx context.Context) (bool, string, string, error) {
			err := w.d.Move(ctx, src, dst)
			if driver.IsNotFound(err) {
				return false, describeRec(rec) + " to move", "path not found", nil
			}
			return true, "", "", err
		})
	}
	if err != nil || src == dst {
		return err
	}
	moved := fileRec{exists: true, size: -1}
	if st == present {
		moved = fileRec{exists: true, size: rec.size, hash: rec.hash, hashed: rec.hashed}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.nowLocked()
	w.t.setFile(dst, moved, now)
	w.t.setFile(src, fileRec{size: -1}, now)
	w.t.evict(now, w.o.Window, w.o.MaxEntries)
	return nil
}

// Delete deletes on the backend and records that p, and everything below
// it written before now, is gone. A path this process already deleted (and
// has not written below since) is missing without asking the backend. When
// this process wrote files below p within the window, they are also
// deleted by name (one DeleteFiles call), in case the backend's listing,
// which its Delete relies on, has not caught up with them.
func (w *wrapped) Delete(ctx context.Context, p string) error {
	if err := driver.ValidatePath(w.name, p); err != nil {
		return err
	}
	unlock := w.locks.lock(p)
	defer unlock()
	st, _ := w.fileState(p)
	r := w.reachOf(p)
	if st == absent && r.cover > 0 && r.creates == 0 {
		return w.absent(ctx, p)
	}
	var written []string
	if r.creates > 0 {
		for _, c := range w.snapshotOf(p).creations {
			written = append(written, c.path)
		}
	}
	err := w.d.Delete(ctx, p)
	if driver.IsNotFound(err) && (st == present || r.creates > 0) {
		err = w.poll(ctx, "Delete", p, func(ctx context.Context) (bool, string, string, error) {
			err := w.d.Delete(ctx, p)
			if driver.IsNotFound(err) {
				return false, "files this process wrote", "path not found", nil
			}
			return true, "", "", err
		})
	}
	if err != nil {
		return err
	}
	w.recordDelete(p)
	if len(written) > 0 {
		if _, err := w.d.DeleteFiles(ctx, written); err != nil {
			return err
		}
	}
	return nil
}

// DeleteFiles deletes on the backend and records every path it reports
// deleted as gone (as a file: a directory named is left alone, as the
// backend leaves it).
func (w *wrapped) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	unique, err := driver.UniquePaths(w.name, paths)
	if err != nil {
		return 0, err
	}
	unlock := w.locks.lock(unique...)
	defer unlock()
	n, err := w.d.DeleteFiles(ctx, unique)
	var dfe *driver.DeleteFilesError
	if err != nil && !errors.As(err, &dfe) {
		return n, err // which paths went is not known: record none
	}
	gone := unique
	if dfe != nil {
		failed := make(map[string]bool, len(dfe.Failures))
		for _, f := range dfe.Failures {
			failed[f.Path] = true
		}
		gone = make([]string, 0, len(unique))
		for _, p := range unique {
			if !failed[p] {
				gone = append(gone, p)
			}
		}
	}
	w.recordFileDelete(gone...)
	return n, err
}
