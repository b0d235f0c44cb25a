package filesystem

import (
	"context"
	"path/filepath"
	"time"
)

// PurgeUploads removes the uncommitted Writer state (see Driver.Writer)
// that has not been written to for olderThan, and returns how many uploads
// it removed. A registry that abandons an upload deletes its own upload
// directory but cannot see this state, which lives in the driver's
// bookkeeping directory; call PurgeUploads periodically, as distribution's
// upload purger runs, with an age well above the longest pause between two
// chunks of one upload.
func (d *Driver) PurgeUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	if err := d.acquire(ctx); err != nil {
		return 0, err
	}
	defer d.release()
	f, err := d.root.Open(bookName(uploadsDir))
	if err != nil {
		return 0, opErr("purge uploads", uploadsDir, err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return 0, opErr("purge uploads", uploadsDir, err)
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		dir := bookName(uploadsDir, name)
		// The data file's time is the last write; without one (a commit
		// or a discard cut short) the directory's.
		fi, err := d.root.Stat(filepath.Join(dir, uploadData))
		if err != nil {
			fi, err = d.root.Stat(dir)
		}
		if err != nil || fi.ModTime().After(cutoff) {
			continue
		}
		if err := d.root.RemoveAll(dir); err != nil {
			return n, opErr("purge uploads", dir, err)
		}
		n++
	}
	return n, nil
}
