package gcs

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/stowage-dev/stowage/driver"
)

// pathKey is the custom metadata key (x-goog-meta-stowage-path) under
// which every hidden object of an upload written by this version records
// the path the upload commits to. The objects are named by a hash of the
// path (uploadPrefix), which StagedUploads cannot reverse, and the listing
// returns every object's metadata at no extra cost.
const pathKey = "stowage-path"

// pathMetadata is the custom metadata of the hidden objects of path's
// upload.
func pathMetadata(path string) map[string]string { return map[string]string{pathKey: path} }

// idLen is the length of an upload's ID: the hex hash in its prefix.
const idLen = 40

var _ driver.UploadStager = (*Driver)(nil)

// StagedUploads implements driver.UploadStager: it lists the uploads whose
// hidden objects (parts, the tail stored at Close, an empty marker, the
// copy of a continued file, the compose intermediates of a failed Commit;
// see Writer) are under <root>/~stowage/uploads/, with one flat list
// request per ListPageSize (1,000) hidden objects and no request per
// upload. Committed and cancelled uploads have none left.
//
// For each upload: ID is the hex hash that names its prefix
// (<root>/~stowage/uploads/<ID>/); Path is the path recorded in its
// objects' metadata (pathKey), checked against that hash; Started is the
// creation time of its oldest object, which is when the upload began (a
// new upload deletes what an earlier one of the path left, a resumed one
// keeps its first part); Size is the sum of its parts from offset 0 that
// follow one another, which is what Writer(ctx, Path, true) would report
// (a continued file's copy included); Pieces counts all its objects.
//
// Uploads written by versions before the path was recorded have no
// metadata: they are listed with Path "" (the hash cannot be reversed)
// and the rest as above, and PurgeStagedUpload removes them by ID. Once
// such an upload is resumed and stores a part, it is listed with its path.
func (d *Driver) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	b := d.b
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root := b.hiddenPrefix() + "uploads/"
	q := &storage.Query{Prefix: root}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Created", "Metadata"}); err != nil {
		return nil, err
	}
	byID := map[string][]*storage.ObjectAttrs{}
	var ids []string
	pager := iterator.NewPager(b.bucket.Objects(ctx, q), ListPageSize, "")
	for {
		var page []*storage.ObjectAttrs
		next, err := pager.NextPage(&page)
		if err != nil {
			return nil, b.wrap(ctx, "StagedUploads", "/", err)
		}
		for _, o := range page {
			id, _, ok := strings.Cut(strings.TrimPrefix(o.Name, root), "/")
			if !ok || !validID(id) {
				continue // not the writer's
			}
			if byID[id] == nil {
				ids = append(ids, id)
			}
			byID[id] = append(byID[id], o)
		}
		if next == "" {
			break
		}
	}
	out := make([]driver.StagedUpload, 0, len(ids))
	for _, id := range ids {
		out = append(out, b.staged(id, byID[id]))
	}
	return out, nil
}

// staged describes the upload id from its objects objs.
func (b *backend) staged(id string, objs []*storage.ObjectAttrs) driver.StagedUpload {
	up := b.hiddenPrefix() + "uploads/" + id + "/"
	slices.SortFunc(objs, func(x, y *storage.ObjectAttrs) int { return strings.Compare(x.Name, y.Name) })
	u := driver.StagedUpload{ID: id, Pieces: len(objs)}
	for _, o := range objs {
		if p := o.Metadata[pathKey]; p != "" && u.Path == "" && b.uploadPrefix(p) == up {
			u.Path = p
		}
		if u.Started.IsZero() || o.Created.Before(u.Started) {
			u.Started = o.Created
		}
		if off, ok := partOffset(up, o.Name); ok && o.Size > 0 && off == u.Size {
			u.Size += o.Size
		}
	}
	return u
}

// PurgeStagedUpload implements driver.UploadStager: it deletes every
// object under the prefix of the upload u.ID, with one list request and
// one batch request per 100 objects (none when the upload is gone). The
// prefix is under the hidden directory, so no committed file is touched.
// A u whose ID is not an upload's, or whose Path is set but is not the
// path that ID belongs to, is a *driver.InvalidUploadError, before any
// request.
func (d *Driver) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	b := d.b
	if !validID(u.ID) {
		return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: fmt.Sprintf("the ID is not %d lowercase hex digits", idLen)}
	}
	up := b.hiddenPrefix() + "uploads/" + u.ID + "/"
	name := u.Path
	if u.Path != "" {
		if err := driver.ValidatePath(DriverName, u.Path); err != nil {
			return err
		}
		if b.uploadPrefix(u.Path) != up {
			return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: "the ID is not that of the path's upload"}
		}
	} else {
		name = "/" + strings.TrimPrefix(up, b.keys.Prefix)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	objs, err := b.listUpload(ctx, up)
	if err != nil {
		return b.wrap(ctx, "PurgeStagedUpload", name, err)
	}
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.name
	}
	return b.deleteHidden(ctx, "PurgeStagedUpload", names)
}

// validID reports whether id names an upload: the hex of uploadPrefix.
func validID(id string) bool {
	if len(id) != idLen || strings.ToLower(id) != id {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}
