package filesystem

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

var _ driver.UploadStager = (*Driver)(nil)

// maxSidecar bounds how much of a sidecar is read: a path and an id.
const maxSidecar = 64 << 10

// sidecar is the content of an upload's sidecar file: the driver path it
// commits to and the upload's id (a crypto/rand.Text, fresh for every
// upload started), one a line. The id tells this upload from another one
// later staged under the same directory name (the path's hash), so that
// PurgeStagedUpload of a listed upload never removes its successor.
// Sidecars written before the id was added hold the path line alone.
func sidecar(path, id string) []byte { return []byte(path + "\n" + id + "\n") }

// stagedRecord is what the staging directory of one upload says about it.
type stagedRecord struct {
	path    string // "" when the sidecar is missing, cut short or foreign
	id      string // "" for a sidecar without one
	started time.Time
	size    int64
	pieces  int
}

// parseSidecar reads a sidecar of the staging directory name: the path
// when its line is complete, a valid path and the one name is the hash
// of, and the id when its line is complete and valid.
func parseSidecar(name string, b []byte) (path, id string) {
	p, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok || driver.ValidatePath(DriverName, string(p)) != nil || uploadDir(string(p)) != bookName(uploadsDir, name) {
		return "", ""
	}
	if i, rest, ok := bytes.Cut(rest, []byte("\n")); ok && len(rest) == 0 && validID(string(i)) {
		id = string(i)
	}
	return string(p), id
}

// validID reports whether s may be an upload id written by sidecar: a
// non-empty string in the alphabet of crypto/rand.Text.
func validID(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == ""
}

// validDirName reports whether s is a staging directory name: the
// lowercase hex SHA-256 that uploadDir makes.
func validDirName(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// readStaged reads the record of the staging directory name: its
// sidecar (Started is the sidecar's modification time, which is when the
// upload started, or the directory's when there is no sidecar) and its
// data file. ok is false when the directory is gone.
func (d *Driver) readStaged(name string) (rec stagedRecord, ok bool, err error) {
	dir := bookName(uploadsDir, name)
	f, err := d.root.Open(filepath.Join(dir, uploadPath))
	switch {
	case err == nil:
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return rec, false, err
		}
		rec.started = fi.ModTime()
		b, err := io.ReadAll(io.LimitReader(f, maxSidecar))
		if err != nil {
			return rec, false, err
		}
		rec.path, rec.id = parseSidecar(name, b)
	case isNotExist(err):
		fi, err := d.root.Stat(dir)
		if isNotExist(err) {
			return rec, false, nil
		}
		if err != nil {
			return rec, false, err
		}
		rec.started = fi.ModTime()
	default:
		return rec, false, err
	}
	fi, err := d.root.Stat(filepath.Join(dir, uploadData))
	switch {
	case err == nil:
		rec.size, rec.pieces = fi.Size(), 1
	case !isNotExist(err):
		return rec, false, err
	}
	return rec, true, nil
}

// StagedUploads implements driver.UploadStager: one StagedUpload per
// staging directory under the bookkeeping directory (see Writer), whether
// its Writer was closed, abandoned by a process that died, or is still
// open in this process or another (a directory cannot tell). Path is the
// path its sidecar names; ID is the directory's name, with the upload id
// the sidecar records after a "."; Started is the sidecar's modification
// time, written once when the upload started (not when it was last
// resumed); Size is the staged data file's size and Pieces 1 (0 for a
// directory without a data file).
//
// A directory whose sidecar is missing, cut short or names a path that is
// not the one the directory is named by (a crash while the upload
// started, which leaves nothing resumable) is listed with an empty Path,
// so that it can be purged too; one written before sidecars recorded an
// upload id has its path and an ID with no upload id. Entries whose name
// is not a staging directory's are not listed.
//
// It costs one read of the uploads directory and, per upload, an open,
// stat and read of its sidecar and a stat of its data file: local system
// calls, no requests.
func (d *Driver) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	if err := d.acquire(ctx); err != nil {
		return nil, err
	}
	defer d.release()
	f, err := d.root.Open(bookName(uploadsDir))
	if err != nil {
		return nil, opErr("staged uploads", uploadsDir, err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, opErr("staged uploads", uploadsDir, err)
	}
	out := []driver.StagedUpload{}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !validDirName(name) {
			continue
		}
		rec, ok, err := d.readStaged(name)
		if err != nil {
			return nil, opErr("staged uploads", bookName(uploadsDir, name), err)
		}
		if !ok {
			continue // committed, cancelled or purged since the read
		}
		id := name
		if rec.id != "" {
			id += "." + rec.id
		}
		out = append(out, driver.StagedUpload{Path: rec.path, ID: id, Started: rec.started, Size: rec.size, Pieces: rec.pieces})
	}
	return out, nil
}

// PurgeStagedUpload implements driver.UploadStager: it removes the staging
// directory u.ID names if its sidecar still names u.Path and the same
// upload id; a directory gone, or holding another upload for the path
// started since u was listed, is left alone and is no error. Committed
// files are never touched: the staging directory is in the bookkeeping
// directory. A Writer still open on the purged upload fails to Commit.
// An invalid u.Path is a *driver.InvalidPathError, an ID that does not
// name a staging directory of u.Path (a malformed ID, or another path's) a
// *driver.InvalidUploadError; neither removes anything. The check and the
// removal are two steps: an upload started for the same path between them
// is removed too.
func (d *Driver) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	if u.Path != "" {
		if err := driver.ValidatePath(DriverName, u.Path); err != nil {
			return err
		}
	}
	name, id, _ := strings.Cut(u.ID, ".")
	if !validDirName(name) || (id != "" && !validID(id)) {
		return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: "malformed ID: not a staging directory name (64 lowercase hex digits), with an upload id after a \".\" or none"}
	}
	if u.Path != "" && uploadDir(u.Path) != bookName(uploadsDir, name) {
		return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: "the ID is not that of a staging directory of the path"}
	}
	if err := d.acquire(ctx); err != nil {
		return err
	}
	defer d.release()
	dir := bookName(uploadsDir, name)
	rec, ok, err := d.readStaged(name)
	if err != nil {
		return opErr("purge staged upload", dir, err)
	}
	if !ok || rec.path != u.Path || rec.id != id {
		return nil
	}
	if err := d.root.RemoveAll(dir); err != nil {
		return opErr("purge staged upload", dir, err)
	}
	return nil
}
