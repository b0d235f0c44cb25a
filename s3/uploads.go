package s3

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-dev/stowage/driver"
)

var _ driver.UploadStager = (*Driver)(nil)

// Tail object metadata that names the upload a tail belongs to, so that a
// tail whose upload is gone can still be listed with its path and purged.
const (
	tailPathMeta   = "stowage-path"
	tailUploadMeta = "stowage-upload"
)

// Prefixes of the StagedUpload.ID of the two kinds of staged state.
const (
	// uploadIDPrefix is followed by a multipart upload ID: the upload
	// and its tail object (tailKey of the path's key and the ID).
	uploadIDPrefix = "upload/"
	// tailIDPrefix is followed by the hex name of a tail object that
	// names no upload (written before tails recorded theirs).
	tailIDPrefix = "tail/"
)

// tailsDir is the key prefix, relative to the root, of the tail objects.
const tailsDir = hiddenPrefix + "tails/"

// StagedUploads implements driver.UploadStager. S3 keeps two kinds of
// staged state, and it lists both flat:
//
//   - Every unfinished multipart upload whose key is a valid path under
//     the root, with its tail object if it has one: Path is the upload's
//     key as a path, ID names the upload, Started is S3's Initiated time.
//     Two uploads of one key (left by racing Writers; a Writer resumes
//     the latest only) are listed apart.
//   - Every tail object whose upload is gone (aborted by a lifecycle rule
//     such as AbortIncompleteMultipartUpload, which does not know about
//     tails, or by a Cancel that died before deleting its tail): Started
//     is the tail's LastModified, Size its exact size and Pieces 1. Its
//     metadata (one HeadObject per such tail) names its path and upload,
//     so it is listed and purged like an upload. A tail written before
//     tails recorded their upload names none: it is listed with the path
//     of its own hidden key, "/~stowage/tails/<hash>", which no file can
//     have, and purging it deletes only that object.
//
// S3 lists uploads without their parts, and a part count or byte count
// would cost a ListParts per upload, which purging by age does not need;
// so an upload's Size is 0 (unknown) and its Pieces counts the upload as
// one piece plus its tail object, if any.
//
// The cost is one ListMultipartUploads per 1,000 unfinished uploads in
// the whole bucket, one ListObjectsV2 per 1,000 tail objects under the
// root and one HeadObject per tail whose upload is gone. The uploads are
// listed without a prefix and filtered here: MinIO takes a
// ListMultipartUploads prefix as an exact object name (cmd/erasure-multipart.go,
// ListMultipartUploads lists the uploads of the one object it is given)
// and lists a whole bucket only without one, from a per-process table of
// the uploads it started (cmd/erasure-server-pool.go, mpCache), so on
// MinIO uploads begun before its last restart are not listed. The two
// listings are not one snapshot: an upload begun between them may show
// as an upload-less tail of a moment ago, which a purge by age leaves
// alone.
func (d *Driver) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	b := d.b
	var out []driver.StagedUpload
	byTail := map[string]int{} // tail key -> index in out
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(b.bucket)}
	for {
		page, err := b.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, wrap(ctx, "StagedUploads", "/", err)
		}
		for _, u := range page.Uploads {
			key, id := aws.ToString(u.Key), aws.ToString(u.UploadId)
			p, ok := b.keys.Path(key)
			if !ok {
				continue
			}
			byTail[b.tailKey(key, id)] = len(out)
			out = append(out, driver.StagedUpload{Path: p, ID: uploadIDPrefix + id, Started: aws.ToTime(u.Initiated), Pieces: 1})
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}

	var orphans []driver.Object
	q := driver.ListQuery{Prefix: b.keys.Prefix + tailsDir}
	for {
		page, err := b.List(ctx, q)
		if err != nil {
			return nil, wrap(ctx, "StagedUploads", "/", err)
		}
		for _, o := range page.Objects {
			if i, ok := byTail[o.Key]; ok {
				out[i].Pieces++
			} else {
				orphans = append(orphans, o)
			}
		}
		if page.Next == "" {
			break
		}
		q.Token = page.Next
	}

	found := make([]driver.StagedUpload, len(orphans))
	keep := make([]bool, len(orphans))
	err := driver.ForEach(ctx, len(orphans), 8, func(ctx context.Context, i int) error {
		u, ok, err := b.orphanTail(ctx, orphans[i])
		found[i], keep[i] = u, ok
		return err
	})
	if err != nil {
		return nil, wrap(ctx, "StagedUploads", "/", err)
	}
	for i, u := range found {
		if keep[i] {
			out = append(out, u)
		}
	}
	return out, nil
}

// orphanTail describes the tail object o, whose upload was not listed, as
// a StagedUpload; false when it is gone (committed or purged meanwhile).
func (b *backend) orphanTail(ctx context.Context, o driver.Object) (driver.StagedUpload, bool, error) {
	head, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(o.Key)})
	if err != nil {
		if Classify(err) == driver.KindNotFound {
			return driver.StagedUpload{}, false, nil
		}
		return driver.StagedUpload{}, false, err
	}
	u := driver.StagedUpload{Started: o.ModTime, Size: o.Size, Pieces: 1}
	p, id := head.Metadata[tailPathMeta], head.Metadata[tailUploadMeta]
	if driver.ValidatePath(DriverName, p) == nil && id != "" && b.tailKey(b.keys.Key(p), id) == o.Key {
		u.Path, u.ID = p, uploadIDPrefix+id
	} else {
		u.Path, u.ID = b.keys.AnyPath(o.Key), tailIDPrefix+strings.TrimPrefix(o.Key, b.keys.Prefix+tailsDir)
	}
	return u, true, nil
}

// PurgeStagedUpload implements driver.UploadStager. For an upload it sends
// AbortMultipartUpload for u.Path's key and the upload ID, then
// DeleteObject of its tail object (whether or not it has one): the
// committed object at the key is never touched, and an upload or tail
// already gone is no error. For a tail that names no upload it sends one
// DeleteObject of that tail. An invalid u.Path is a
// *driver.InvalidPathError and a malformed ID (neither "upload/<upload
// id>" nor "tail/<40 lowercase hex digits>") a *driver.InvalidUploadError;
// neither sends a request. An upload ID does not tell its key, so the ID
// of another path's upload is not refused: its abort, sent for u.Path's
// key, finds no such upload there and changes nothing.
func (d *Driver) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	b := d.b
	const op = "PurgeStagedUpload"
	if err := ctx.Err(); err != nil {
		return wrap(ctx, op, u.Path, err)
	}
	switch {
	case strings.HasPrefix(u.ID, uploadIDPrefix) && len(u.ID) > len(uploadIDPrefix):
		if err := driver.ValidatePath(DriverName, u.Path); err != nil {
			return err
		}
		err := b.discardUpload(ctx, b.keys.Key(u.Path), strings.TrimPrefix(u.ID, uploadIDPrefix))
		return wrap(ctx, op, u.Path, err)
	case strings.HasPrefix(u.ID, tailIDPrefix):
		name := strings.TrimPrefix(u.ID, tailIDPrefix)
		if sum, err := hex.DecodeString(name); err != nil || len(sum) != tailHashSize || hex.EncodeToString(sum) != name {
			return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: fmt.Sprintf("malformed ID: not %s and %d lowercase hex digits", tailIDPrefix, 2*tailHashSize)}
		}
		_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.keys.Prefix + tailsDir + name)})
		return wrap(ctx, op, u.Path, err)
	}
	return &driver.InvalidUploadError{DriverName: DriverName, Upload: u, Reason: fmt.Sprintf("malformed ID: neither %s<upload id> nor %s<tail name>", uploadIDPrefix, tailIDPrefix)}
}
