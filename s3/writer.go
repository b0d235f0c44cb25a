package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
)

// tailPartsMeta is the user metadata of a tail object that records how many
// parts the upload had when the tail was written.
const tailPartsMeta = "stowage-parts"

// Writer implements driver.Backend with a multipart upload.
//
// Bytes are buffered and uploaded in Config.ChunkSize parts, larger ones
// beyond the 1,000th part so that a file fits S3's 10,000 parts (see
// partSize; Write fails with a *PartLimitError past the last, which
// matches driver.ErrFileTooLarge with errors.Is). Close without Commit
// leaves the upload open and must also keep the bytes that do not fill a
// part yet; S3 cannot append to a part, and a part below 5 MiB may only be
// the last one, so they are not uploaded as a part. Instead Close stores
// them as a small tail object, <root>/~stowage/tails/<hash of key and
// upload ID>, whose metadata records the number of parts uploaded when it
// was written, and the path and upload ID (which the hash hides) for
// StagedUploads. Close works under driver.CloseContext, so it persists the
// bytes also when ctx has ended.
//
// Writer(ctx, path, true) resumes from any driver instance: it finds the
// upload with ListMultipartUploads, its parts with ListParts and reads the
// tail object back into the buffer, so the next part is the tail plus the
// new bytes. A tail whose recorded part count no longer matches the upload
// (a session that uploaded a part and then died without Close) is stale and
// ignored, so Size never counts a byte twice. Commit uploads what is
// buffered as the last part, completes the upload and deletes the tail;
// Cancel aborts the upload and deletes the tail. Content that never filled
// a part is committed with a single PutObject.
//
// When there is no upload to resume, Writer(ctx, path, true) continues the
// committed object at path (HeadObject), as it is at that moment: an object
// of at least MinChunkSize is copied server-side into a new multipart
// upload, with UploadPartCopy of MultipartCopyChunkSize ranges (on the
// object's ETag, so that every range comes from the same version) as its
// first parts; its bytes never pass through the client. A smaller object
// (where a part copy would be a part below the minimum) is read into the
// buffer with one GetObject on the same ETag. Either way the continuation is
// an ordinary upload from then on: invisible until Commit, which replaces
// the object atomically with the old content followed by the new; resumable
// after Close; and Cancel aborts it, leaving the object as it was. With
// Config.Checksum ChecksumWhenSupported a continuation's upload carries no
// checksum algorithm and its parts no checksums (MinIO refuses part copies
// into a checksummed upload), as with ChecksumWhenRequired.
//
// Writer(ctx, path, false) aborts every unfinished upload for the key
// first (one ListMultipartUploads request, plus one abort per upload found).
func (b *backend) Writer(ctx context.Context, path string, append bool) (driver.FileWriter, error) {
	key := b.keys.Key(path)
	uploads, err := b.uploadsFor(ctx, key)
	if err != nil {
		return nil, err
	}
	w := &writer{WriterState: driver.WriterState{DriverName: DriverName}, b: b, ctx: ctx, path: path, key: key,
		checksum: b.cfg.Checksum == ChecksumWhenSupported}
	if !append {
		for _, u := range uploads {
			if err := b.discardUpload(ctx, key, aws.ToString(u.UploadId)); err != nil {
				return nil, err
			}
		}
		return w, nil
	}
	if len(uploads) == 0 {
		if err := w.continueObject(ctx); err != nil {
			return nil, err
		}
		return w, nil
	}
	latest := uploads[len(uploads)-1]
	w.uploadID = aws.ToString(latest.UploadId)
	if err := w.resume(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// uploadsFor lists the unfinished multipart uploads of exactly key, oldest
// first.
func (b *backend) uploadsFor(ctx context.Context, key string) ([]types.MultipartUpload, error) {
	var out []types.MultipartUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(b.bucket), Prefix: aws.String(key)}
	for {
		page, err := b.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Uploads {
			if aws.ToString(u.Key) == key {
				out = append(out, u)
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
	sort.SliceStable(out, func(i, j int) bool {
		return aws.ToTime(out[i].Initiated).Before(aws.ToTime(out[j].Initiated))
	})
	return out, nil
}

// tailHashSize is the number of bytes of the SHA-256 that name a tail.
const tailHashSize = 20

// tailKey names the tail object of an upload.
func (b *backend) tailKey(key, uploadID string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + uploadID))
	return b.keys.Prefix + tailsDir + hex.EncodeToString(sum[:tailHashSize])
}

// discardUpload aborts an upload and deletes its tail object.
func (b *backend) discardUpload(ctx context.Context, key, uploadID string) error {
	_, err := b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(b.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(uploadID),
	})
	if err != nil && Classify(err) != driver.KindNotFound {
		return err
	}
	_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.tailKey(key, uploadID)),
	})
	return err
}

// writer is the FileWriter of backend.Writer.
type writer struct {
	driver.WriterState
	b    *backend
	ctx  context.Context // of the Writer call: Write uses it, Close outlives it
	path string
	key  string

	uploadID  string // "" until the upload is created
	parts     []types.CompletedPart
	partsSize int64
	buf       []byte // bytes not uploaded as a part yet
	tail      bool   // a tail object may exist for the upload
	released  int64  // bytes Close stored as the tail and dropped from buf

	// checksum says that the upload was created with a CRC32 checksum
	// algorithm (Config.Checksum ChecksumWhenSupported), so each part is
	// sent and completed with its checksum. A continuation's upload has
	// none: S3-compatibles such as MinIO refuse UploadPartCopy into a
	// checksummed upload. A resumed writer takes it from ListParts.
	checksum bool
}

// continueObject sets w up to continue the committed object at w.key; see
// backend.Writer. A missing object (a directory included) is an error
// Classify calls driver.KindNotFound.
func (w *writer) continueObject(ctx context.Context) error {
	b := w.b
	head, err := b.head(ctx, w.path)
	if err != nil {
		return err
	}
	size := aws.ToInt64(head.ContentLength)
	switch {
	case size == 0:
		return nil
	case size < MinChunkSize:
		out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
			Bucket:  aws.String(b.bucket),
			Key:     aws.String(w.key),
			IfMatch: head.ETag,
		})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		buf, err := io.ReadAll(out.Body)
		if err != nil {
			return err
		}
		if int64(len(buf)) != size {
			return fmt.Errorf("read %d bytes of the %d-byte object", len(buf), size)
		}
		w.buf = buf
		return nil
	}
	w.checksum = false
	if err := w.ensureUpload(ctx); err != nil {
		return err
	}
	parts, err := b.copyParts(ctx, "Writer", w.path, w.key, w.uploadID, b.copySource(w.path), head.ETag, partRanges(size, b.cfg.MultipartCopyChunkSize, max(1, b.maxParts/2), true))
	if err != nil {
		// An upload without the copied parts would later be resumed as
		// an empty continuation.
		b.abortUpload(ctx, w.key, w.uploadID)
		return err
	}
	w.parts, w.partsSize = parts, size
	return nil
}

// resume loads the parts and the tail of w.uploadID, and whether the
// upload has a checksum algorithm.
func (w *writer) resume(ctx context.Context) error {
	b := w.b
	in := &s3.ListPartsInput{Bucket: aws.String(b.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID)}
	for {
		page, err := b.client.ListParts(ctx, in)
		if err != nil {
			return err
		}
		w.checksum = page.ChecksumAlgorithm != ""
		for _, p := range page.Parts {
			part := types.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag}
			if w.checksum {
				part.ChecksumCRC32, part.ChecksumCRC32C = p.ChecksumCRC32, p.ChecksumCRC32C
				part.ChecksumSHA1, part.ChecksumSHA256 = p.ChecksumSHA1, p.ChecksumSHA256
			}
			w.parts = append(w.parts, part)
			w.partsSize += aws.ToInt64(p.Size)
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.PartNumberMarker = page.NextPartNumberMarker
	}
	sort.Slice(w.parts, func(i, j int) bool { return aws.ToInt32(w.parts[i].PartNumber) < aws.ToInt32(w.parts[j].PartNumber) })

	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.tailKey(w.key, w.uploadID)),
	})
	if err != nil {
		if Classify(err) == driver.KindNotFound {
			return nil
		}
		return err
	}
	defer out.Body.Close()
	tail, err := io.ReadAll(out.Body)
	if err != nil {
		return err
	}
	w.tail = true
	if n, err := strconv.Atoi(out.Metadata[tailPartsMeta]); err != nil || n != len(w.parts) {
		b.cfg.Logger.Warn("s3: ignoring a stale writer tail", "path", w.path, "parts", len(w.parts), "tailparts", out.Metadata[tailPartsMeta])
		return nil
	}
	w.buf = tail
	return nil
}

// Size implements driver.FileWriter: the bytes uploaded as parts, those
// buffered, and those Close kept in the tail object. Cancel zeroes them.
func (w *writer) Size() int64 { return w.partsSize + int64(len(w.buf)) + w.released }

// Write implements io.Writer. Every full part (of partSize bytes for its
// number) is uploaded before Write returns. When a part upload fails the
// bytes stay buffered (Size counts them) and Write reports the error. Once
// the upload has all the parts S3 allows, Write takes no more bytes: it
// returns a *PartLimitError (errors.Is driver.ErrFileTooLarge) and leaves
// the writer as it was, so Commit still commits what was written.
func (w *writer) Write(p []byte) (int, error) {
	written := 0
	for {
		if len(w.parts) >= w.b.maxParts && len(p) > 0 {
			if err := w.CheckWrite(); err != nil {
				return written, err
			}
			return written, &PartLimitError{Path: w.path, MaxParts: w.b.maxParts, Size: w.Size()}
		}
		// Up to what fills the next part, so that each part has its size.
		chunk := w.b.partSize(len(w.parts) + 1)
		k := len(p)
		if room := chunk - int64(len(w.buf)); room > 0 && int64(k) > room {
			k = int(room)
		}
		n, err := w.WriteChunks(w.ctx, &w.buf, p[:k], chunk, w.uploadPart)
		written, p = written+n, p[n:]
		if err != nil || len(p) == 0 {
			return written, err
		}
	}
}

// partSize is the size of part number n (from 1) of a Writer upload:
// Config.ChunkSize, doubled after every tenth of the parts S3 allows (1,000
// of 10,000), up to MaxChunkSize. Ten doublings make room for at least
// about 4.9 TiB whatever the ChunkSize (1,000 × ChunkSize × 1,023), and
// more than S3's 5 TiB object limit from 5.1 MiB on (S3 refuses a larger
// object at CompleteMultipartUpload), while files below 1,000 parts
// (10 GB at the default ChunkSize) keep parts of ChunkSize. Growing the
// part as the file grows, instead of failing at part 10,001, is what a
// writer of unknown length can do; it costs memory: a writer buffers up
// to one part, about a 500th of what it has written beyond 1,000 parts.
// The schedule depends only on the part number, so a writer resumed by
// another process continues it.
func (b *backend) partSize(n int) int64 {
	step := max(1, b.maxParts/10)
	doublings := min((n-1)/step, 30)
	return min(b.cfg.ChunkSize<<doublings, MaxChunkSize)
}

// PartLimitError is returned by Write once the upload of Path has the
// MaxParts parts S3 allows: its Size bytes are written and can still be
// committed, but no more. It matches driver.ErrFileTooLarge with
// errors.Is.
type PartLimitError struct {
	Path     string
	MaxParts int
	Size     int64
}

func (e *PartLimitError) Error() string {
	return fmt.Sprintf("%s: Writer %s: the upload has all %d parts S3 allows (%d bytes); a larger chunksize makes room for more",
		DriverName, e.Path, e.MaxParts, e.Size)
}

// Is reports whether target is driver.ErrFileTooLarge.
func (e *PartLimitError) Is(target error) bool { return target == driver.ErrFileTooLarge }

// ensureUpload creates the multipart upload on first need.
func (w *writer) ensureUpload(ctx context.Context) error {
	if w.uploadID != "" {
		return nil
	}
	b := w.b
	in := &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(b.bucket),
		Key:         aws.String(w.key),
		ContentType: aws.String("application/octet-stream"),
	}
	if w.checksum {
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
	}
	b.putOptions(&in.ACL, &in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId)
	out, err := b.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return wrap(ctx, "Writer", w.path, err)
	}
	w.uploadID = aws.ToString(out.UploadId)
	return nil
}

// uploadPart uploads data as the next part.
func (w *writer) uploadPart(ctx context.Context, data []byte) error {
	if err := w.ensureUpload(ctx); err != nil {
		return err
	}
	b := w.b
	num := int32(len(w.parts) + 1)
	in := &s3.UploadPartInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(w.key),
		UploadId:      aws.String(w.uploadID),
		PartNumber:    aws.Int32(num),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	}
	var opts []func(*s3.Options)
	switch {
	case w.checksum:
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
	case b.cfg.Checksum == ChecksumWhenSupported:
		// A part with a checksum does not complete in an upload without
		// a checksum algorithm.
		opts = append(opts, func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
	}
	out, err := b.client.UploadPart(ctx, in, opts...)
	if err != nil {
		return wrap(ctx, "Writer", w.path, err)
	}
	part := types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag}
	if w.checksum {
		part.ChecksumCRC32 = out.ChecksumCRC32
	}
	w.parts = append(w.parts, part)
	w.partsSize += int64(len(data))
	return nil
}

// Close implements io.Closer. An open writer keeps its upload: the
// buffered bytes are stored as the tail object (or a stale tail removed).
// It runs under driver.CloseContext, not the Writer's ctx, which has often
// ended by now.
func (w *writer) Close() error {
	ctx, cancel, open, err := w.BeginClose(w.ctx)
	if !open {
		return err
	}
	defer cancel()
	if err := w.ensureUpload(ctx); err != nil {
		return err
	}
	b := w.b
	tailKey := b.tailKey(w.key, w.uploadID)
	switch {
	case len(w.buf) > 0:
		in := &s3.PutObjectInput{
			Bucket:        aws.String(b.bucket),
			Key:           aws.String(tailKey),
			Body:          bytes.NewReader(w.buf),
			ContentLength: aws.Int64(int64(len(w.buf))),
			Metadata: map[string]string{
				tailPartsMeta: strconv.Itoa(len(w.parts)),
				// For StagedUploads, once the upload may be gone.
				tailPathMeta:   w.path,
				tailUploadMeta: w.uploadID,
			},
		}
		b.putOptions(&in.ACL, &in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId) // encrypted like the content
		_, err = b.client.PutObject(ctx, in)
	case w.tail:
		_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(tailKey)})
	}
	w.released += int64(len(w.buf))
	w.buf = nil
	if err != nil {
		return wrap(ctx, "Writer.Close", w.path, err)
	}
	return nil
}

// Commit implements driver.FileWriter. On failure the writer stays open,
// so Commit may be tried again or Cancel called.
func (w *writer) Commit(ctx context.Context) error {
	if err := w.BeginCommit(ctx); err != nil {
		return err
	}
	b := w.b
	if len(w.parts) == 0 {
		// Everything fits one request; a multipart upload with one small
		// part would cost two.
		in := &s3.PutObjectInput{
			Bucket:        aws.String(b.bucket),
			Key:           aws.String(w.key),
			Body:          bytes.NewReader(w.buf),
			ContentLength: aws.Int64(int64(len(w.buf))),
			ContentType:   aws.String("application/octet-stream"),
		}
		b.putOptions(&in.ACL, &in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId)
		if _, err := b.client.PutObject(ctx, in); err != nil {
			return wrap(ctx, "Commit", w.path, err)
		}
		if w.uploadID != "" {
			w.cleanup(ctx, true)
		}
		w.Committed()
		return nil
	}
	if len(w.buf) > 0 {
		if err := w.uploadPart(ctx, w.buf); err != nil {
			return err
		}
		w.buf = nil
	}
	_, err := b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(b.bucket),
		Key:             aws.String(w.key),
		UploadId:        aws.String(w.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
	})
	if err != nil && !(Classify(err) == driver.KindNotFound && w.completedAnyway(ctx)) {
		return wrap(ctx, "Commit", w.path, err)
	}
	w.cleanup(ctx, false)
	w.Committed()
	return nil
}

// completedAnyway reports whether a CompleteMultipartUpload that failed
// with NoSuchUpload did in fact complete: an attempt whose response was
// lost completed it, and the SDK's retry then found the upload gone. An
// upload aborted by someone else (a lifecycle rule, another writer's
// non-append Writer) fails the same way, with whatever object was at the
// key before still there, possibly of the same size and part count.
//
// So the object's ETag must be the one the writer's own parts make. S3
// gives a multipart object the ETag md5(md5(part 1) ‖ ... ‖ md5(part N))
// followed by "-N", computed from the part ETags it returned for
// UploadPart, UploadPartCopy and ListParts (which w.parts holds); MinIO
// and Ceph RGW do the same. Any other content yields another ETag. The
// check fails safe: where a server's part ETags are not hex MD5s (some
// server-side encryption modes of S3-compatibles), the ETag cannot be
// predicted and Commit reports the NoSuchUpload, possibly of an upload
// that did complete, but never a stale object as committed.
// (LastModified after the upload's start was the other candidate; it
// trusts two clocks and cannot tell two writers of the same key apart.)
func (w *writer) completedAnyway(ctx context.Context) bool {
	want, ok := multipartETag(w.parts)
	if !ok {
		return false
	}
	out, err := w.b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(w.b.bucket), Key: aws.String(w.key)})
	if err != nil {
		return false
	}
	return strings.Trim(aws.ToString(out.ETag), `"`) == want && aws.ToInt64(out.ContentLength) == w.Size()
}

// multipartETag returns the ETag (without quotes) S3 gives the object
// completed from parts, and false when a part ETag is not a hex MD5.
func multipartETag(parts []types.CompletedPart) (string, bool) {
	h := md5.New()
	for _, p := range parts {
		sum, err := hex.DecodeString(strings.Trim(aws.ToString(p.ETag), `"`))
		if err != nil || len(sum) != md5.Size {
			return "", false
		}
		h.Write(sum)
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), true
}

// Cancel implements driver.FileWriter: it aborts the upload and deletes the
// tail object.
func (w *writer) Cancel(ctx context.Context) error {
	if err := w.BeginCancel(ctx); err != nil {
		return err
	}
	if w.uploadID != "" {
		if err := w.b.discardUpload(ctx, w.key, w.uploadID); err != nil {
			return wrap(ctx, "Cancel", w.path, err)
		}
	}
	w.parts, w.partsSize, w.buf = nil, 0, nil
	w.Cancelled()
	return nil
}

// cleanup removes what a committed writer leaves behind: the tail object
// and, when abort is set, the upload. Failures are only logged: the content
// is committed and the leftovers are invisible.
func (w *writer) cleanup(ctx context.Context, abort bool) {
	b := w.b
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if abort {
		b.abortUpload(cctx, w.key, w.uploadID)
	}
	if !w.tail {
		return
	}
	_, err := b.client.DeleteObject(cctx, &s3.DeleteObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.tailKey(w.key, w.uploadID)),
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		b.cfg.Logger.Warn("s3: deleting a writer tail failed", "path", w.path, "error", err)
	}
}
