package inmemory

import (
	"context"
	"strconv"

	"github.com/stowage-dev/stowage/driver"
)

var _ driver.UploadStager = (*Driver)(nil)

// StagedUploads implements driver.UploadStager: every upload record in the
// store, one per path, whether its Writer was closed, abandoned or is
// still open (as on the other backends, the store cannot tell an open
// Writer of another process from an abandoned one). ID is the record's
// sequence number in this store, which tells it from an upload staged for
// the same path later; Started is when the Writer call that created the
// record ran (for a Writer continuing a committed file, the copy's
// start); Size is the bytes staged; Pieces is 1. It costs one pass over
// the records under the lock, and no requests.
func (d *Driver) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]driver.StagedUpload, 0, len(d.uploads))
	for p, up := range d.uploads {
		out = append(out, driver.StagedUpload{
			Path:    p,
			ID:      strconv.FormatUint(up.id, 10),
			Started: up.started,
			Size:    int64(len(up.data)),
			Pieces:  1,
		})
	}
	return out, nil
}

// PurgeStagedUpload implements driver.UploadStager: it removes the record
// of u, if it is still the one staged for u.Path; a record staged since
// (another upload for the path), a committed file and an upload already
// gone are left alone and are no error. A Writer still open on the
// removed record writes to and commits its own copy, as one whose record
// was replaced by a new Writer for the path does. An invalid u.Path is an
// *driver.InvalidPathError, an ID that is not one of this backend's (not
// a decimal sequence number) a *driver.InvalidUploadError; neither changes
// anything. The sequence number does not tell its path: that of another
// path's upload finds no record of u.Path and changes nothing.
func (d *Driver) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	if err := check(ctx, u.Path); err != nil {
		return err
	}
	id, err := strconv.ParseUint(u.ID, 10, 64)
	if err != nil {
		return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: "malformed ID: not a decimal sequence number"}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if up, ok := d.uploads[u.Path]; ok && up.id == id {
		delete(d.uploads, u.Path)
	}
	return nil
}
