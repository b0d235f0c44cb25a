package azure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stowage-dev/stowage/driver"
)

var _ driver.UploadStager = (*Driver)(nil)

// StagedUploads implements driver.UploadStager: one entry per staging blob
// under the root, <root>/~stowage/uploads/<path> (see backend.Writer),
// found by one flat List Blobs of that prefix per 5,000 staging blobs with
// include=uncommittedblobs, which lists the blobs that hold only
// uncommitted blocks too ("blobs for which blocks have been uploaded, but
// which haven't been committed by using Put Block List",
// https://learn.microsoft.com/rest/api/storageservices/list-blobs).
// No request per upload is sent.
//
// A staging blob exists from a Writer's first Put Block (or, for a
// server-side continuation, its Copy Blob of the file) until Commit or
// Cancel deletes it, so what is listed is every upload closed and not
// committed, abandoned, or still open in some process (the store cannot
// tell those apart). Also listed, as garbage for a purge, are a staging
// blob whose delete failed after its Commit and one that an earlier
// version's Cancel left with a "cancelled" marker block; neither is
// resumed. Uncommitted blocks that versions before the staging blob
// (commit fe87d69) left on a file's own blob are not listed: this version
// never resumes them, a listing cannot tell them apart from a committed
// file, and Azure discards uncommitted blocks a week after they were
// staged.
//
// Path is the file the upload commits to (the staging blob's name without
// the prefix; names under it that map to no valid path are skipped). ID is
// the staging blob's name. Started is the staging blob's creation time
// (its Last-Modified when the listing has none): when the upload's first
// block or copy reached the server. A Writer(path, false) over an
// abandoned upload of the same path stages on the same blob, so its
// upload is reported as started when the abandoned one was. Size is 0
// (unknown): a listing reports only committed content, and the blocks'
// sizes take a Get Block List per upload. Pieces is 1, the staging blob.
func (d *Driver) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	b := d.b
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, "StagedUploads", "/", err)
	}
	prefix := b.keys.Prefix + uploadsPrefix
	pager := b.container.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:     to.Ptr(blobPrefix(prefix)),
		Include:    container.ListBlobsInclude{UncommittedBlobs: true},
		MaxResults: to.Ptr(int32(ListPageSize)),
	})
	var out []driver.StagedUpload
	for pager.More() {
		resp, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(ctx, "StagedUploads", "/", err)
		}
		for _, item := range resp.Segment.BlobItems {
			name := deref(item.Name, "")
			p, ok := stagedPath(prefix, name)
			if !ok {
				continue
			}
			u := driver.StagedUpload{Path: p, ID: name, Pieces: 1}
			if props := item.Properties; props != nil {
				u.Started = deref(props.CreationTime, deref(props.LastModified, time.Time{}))
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// stagedPath returns the path whose staging blob is name, the blob name
// of a key under prefix (the root's uploads prefix); ok is false for a
// name that is the staging blob of no valid path.
func stagedPath(prefix, name string) (string, bool) {
	key, ok := keyOf(name)
	if !ok {
		return "", false
	}
	rel, ok := strings.CutPrefix(key, prefix)
	if !ok || driver.ValidatePath("", "/"+rel) != nil {
		return "", false
	}
	return "/" + rel, true
}

// PurgeStagedUpload implements driver.UploadStager with one Delete Blob of
// the staging blob of u.Path, which takes its uncommitted blocks and any
// committed copy of a continued file with it; the file's own blob is not
// touched. A staging blob already gone (purged, committed, cancelled) is
// no error. The delete is not conditional: Azure offers no condition that
// tells one upload on the staging blob from a later one, so it removes
// whatever upload to u.Path is staged when it runs, as a Writer(path,
// false) would. An invalid u.Path is a *driver.InvalidPathError and an ID
// that is not the staging blob of u.Path (a malformed ID, or another
// path's) a *driver.InvalidUploadError; neither sends a request.
func (d *Driver) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	if err := driver.ValidatePath(DriverName, u.Path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "PurgeStagedUpload", u.Path, err)
	}
	if want := d.b.stagingName(u.Path); u.ID != want {
		return &driver.InvalidUploadError{DriverName: DriverName, Upload: u,
			Reason: fmt.Sprintf("the ID is not the staging blob of the path (%q)", want)}
	}
	if _, err := d.b.staging(u.Path).Delete(ctx, nil); err != nil && classify(err) != driver.KindNotFound {
		return wrap(ctx, "PurgeStagedUpload", u.Path, err)
	}
	return nil
}
