package swift

import (
	"context"
	"encoding/hex"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Staged uploads
//
// An upload's state is its objects in the segments container under
// <prefix><hash of path>/<upload id>/: numbered segments, the temporary
// manifests of a commit that failed, and the committed marker of an
// upload committed as a static large object (whose segments the file's
// manifest uses: such an upload is not staged and is never listed or
// purged). The hash cannot be reversed, and a container listing returns
// no user metadata (X-Object-Meta-*), only name, bytes, hash,
// last_modified and content_type. So every segment a Writer stores
// records the path in its Content-Type, as a parameter
// (application/octet-stream;stowage-path=<query-escaped path>), which the
// listing returns at no extra cost. Swift keeps a Content-Type's
// parameters (swift.common.utils.parse_content_type and the listing's
// extract_swift_bytes drop only swift_bytes), the query escape makes the
// value an RFC 7231 token, and a copy of a continued file takes the
// Content-Type of its COPY request (the copy middleware: "If the copy
// request does not explicitly override content-type, use the one present
// in the source object"). A file's own Content-Type is the commit's
// manifest's, never a segment's.

// pathParam is the Content-Type parameter of an upload's segments that
// records the path the upload commits to.
const pathParam = "stowage-path"

// segmentType is the Content-Type of the segments of path's upload.
func segmentType(path string) string {
	return "application/octet-stream;" + pathParam + "=" + url.QueryEscape(path)
}

// recordedPath is the path a segment's listed Content-Type records, or "".
func recordedPath(contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	p, err := url.QueryUnescape(params[pathParam])
	if err != nil {
		return ""
	}
	return p
}

var _ driver.UploadStager = (*Driver)(nil)

// StagedUploads implements driver.UploadStager: it lists the uploads that
// have objects in the segments container under the root's prefix and no
// committed marker, with one flat listing of that prefix (one request per
// ListPageSize names, plus the empty page that ends it; the prefix also
// holds the segments of the root's files committed as static large
// objects and the SLO index, which are listed and skipped) and no request
// per upload. A missing segments container has no uploads. Committed and
// cancelled uploads below MaxFileSize have no objects left.
//
// For each upload: ID is "<hash of path>/<upload id>", its name space
// relative to the prefix; Path is the path its segments' Content-Type
// records (see segmentType), checked against the hash; Started is the
// time in the upload id, which the Writer takes when the upload begins
// and which resumed sessions keep (a segment's last_modified would be
// the last replacement of the short tail); Size is the sum of the
// segments numbered from 0 without a gap, what Writer(Path, true) would
// resume (a continued file's copy included); Pieces counts all its
// objects.
//
// Uploads written by versions before the path was recorded are listed
// with Path "" (the hash cannot be reversed), and PurgeStagedUpload
// removes them by ID; once such an upload is resumed and stores a
// segment, it is listed with its path.
func (d *Driver) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	b := d.b
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type state struct {
		driver.StagedUpload
		committed bool
		segs      map[int]int64
	}
	byID := map[string]*state{}
	var ids []string
	err := b.listEach(ctx, b.keys.Prefix, func(o object) {
		hash, id, piece, ok := splitUploadName(strings.TrimPrefix(o.Name, b.keys.Prefix))
		if !ok {
			return // the SLO index, another root's uploads
		}
		s := byID[hash+"/"+id]
		if s == nil {
			s = &state{StagedUpload: driver.StagedUpload{ID: hash + "/" + id, Started: idTime(id)}, segs: map[int]int64{}}
			byID[s.ID] = s
			ids = append(ids, s.ID)
		}
		s.Pieces++
		if n, err := strconv.Atoi(piece); err == nil {
			s.segs[n] = o.Bytes
		}
		if piece == committedName {
			s.committed = true
		}
		if p := recordedPath(o.ContentType); s.Path == "" && p != "" && b.uploadBase(p) == b.keys.Prefix+hash+"/" {
			s.Path = p
		}
	})
	if err != nil {
		return nil, wrap(ctx, "StagedUploads", "/", err)
	}
	out := make([]driver.StagedUpload, 0, len(ids))
	for _, id := range ids {
		s := byID[id]
		if s.committed {
			continue // an SLO file's segments
		}
		for n := 0; ; n++ {
			size, ok := s.segs[n]
			if !ok {
				break
			}
			s.Size += size
		}
		out = append(out, s.StagedUpload)
	}
	return out, nil
}

// PurgeStagedUpload implements driver.UploadStager: it lists the upload's
// name space <prefix><u.ID>/ in the segments container (one request per
// ListPageSize names, plus the empty page that ends it) and bulk-deletes
// what it holds (one request per DeleteBatchSize names; none when the
// upload is gone). Only the segments container is touched, so no
// committed file is; an upload committed as a static large object (its
// committed marker is listed) is left alone, its segments being the
// file's. The segment a continuation copied from a committed static large
// object is a copy of its manifest: the bulk delete removes the copy, not
// the segments it shares with the file. A purge racing with a Writer of
// the same upload can break that Writer's Commit; purge uploads nobody
// writes (stowage uploads purges by age).
//
// A u whose ID is not "<32 hex digits>/<24 hex digits>", or whose Path is
// set but is not the path the ID's hash belongs to, is a
// *driver.InvalidUploadError, before any request.
func (d *Driver) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	b := d.b
	hash, id, _, ok := splitUploadName(u.ID + "/")
	if !ok || hash+"/"+id != u.ID {
		return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: "the ID is not <32 hex digits>/<24 hex digits>"}
	}
	path := u.Path
	if path != "" {
		if err := driver.ValidatePath(DriverName, path); err != nil {
			return err
		}
		if b.uploadBase(path) != b.keys.Prefix+hash+"/" {
			return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: "the ID is not that of an upload of the path"}
		}
	} else {
		path = "/"
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var names []string
	committed := false
	err := b.listEach(ctx, b.keys.Prefix+u.ID+"/", func(o object) {
		names = append(names, o.Name)
		committed = committed || strings.HasSuffix(o.Name, "/"+committedName)
	})
	if err != nil {
		return wrap(ctx, "PurgeStagedUpload", path, err)
	}
	if committed {
		return nil
	}
	return b.deleteSegments(ctx, "PurgeStagedUpload", path, names)
}

// Lengths of the hex parts of an upload's name space: the hash of the
// path (uploadBase) and the upload id (newUploadID).
const (
	hashLen = 32
	idLen   = 24
)

// splitUploadName splits name, relative to the root's prefix in the
// segments container, into an upload's hash, upload id and the piece
// after them; ok is false for a name that is no upload's.
func splitUploadName(name string) (hash, id, piece string, ok bool) {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) != 3 || !isHex(parts[0], hashLen) || !isHex(parts[1], idLen) {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// isHex reports whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// idTime is the time newUploadID put in id: its first 16 hex digits are
// the Unix nanoseconds.
func idTime(id string) time.Time {
	ns, err := strconv.ParseUint(id[:16], 16, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, int64(ns)).UTC()
}
