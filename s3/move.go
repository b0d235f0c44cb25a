package s3

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
)

// moveAttempts bounds how often Move starts over because the source
// changed under it.
const moveAttempts = 3

// Move implements driver.Backend: a server-side CopyObject for objects up
// to Config.MultipartCopyThresholdSize, a multipart copy with parallel
// UploadPartCopy requests above it, then DeleteObject of the source. Moving
// a file onto itself leaves it as it is.
//
// Move is pinned and conditional, so that a source overwritten while it
// is moved never loses the new content: the copy (CopyObject, or every
// UploadPartCopy of a multipart copy, which therefore cannot mix two
// versions) names the ETag HeadObject saw as x-amz-copy-source-if-match,
// and the source is deleted with If-Match on that ETag. When either
// answers 412 PreconditionFailed the source has changed; Move starts over
// with the new version, up to moveAttempts times in all, and then fails
// with the source and whatever was copied in place.
//
// A conditional DeleteObject needs s3:GetObject permission besides
// s3:DeleteObject on AWS, which general purpose buckets support since
// September 2025 (before, and on servers that still do not, it is
// answered 501 NotImplemented: Move then deletes without the condition,
// leaving the window between the copy and the delete open, and so does
// every later Move of the driver). MinIO
// ignores the header (minio/minio#21677) and deletes whatever is there.
// A conditional delete of a source that is gone already (the retry of a
// delete whose answer was lost) is answered 404 NoSuchKey, which is done.
func (b *backend) Move(ctx context.Context, sourcePath, destPath string) error {
	for attempt := 1; ; attempt++ {
		err := b.moveOnce(ctx, sourcePath, destPath)
		if err == nil || !preconditionFailed(err) {
			return err
		}
		if attempt == moveAttempts {
			return fmt.Errorf("the source changed during each of %d attempts: %w", attempt, err)
		}
	}
}

// moveOnce is one attempt of Move, pinned to the source's ETag of now.
func (b *backend) moveOnce(ctx context.Context, sourcePath, destPath string) error {
	head, err := b.head(ctx, sourcePath)
	if err != nil {
		return err
	}
	if sourcePath == destPath {
		return nil
	}
	size := aws.ToInt64(head.ContentLength)
	if size <= b.cfg.MultipartCopyThresholdSize {
		in := &s3.CopyObjectInput{
			Bucket:            aws.String(b.bucket),
			Key:               aws.String(b.keys.Key(destPath)),
			CopySource:        aws.String(b.copySource(sourcePath)),
			CopySourceIfMatch: head.ETag,
		}
		b.putOptions(&in.ACL, &in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId)
		if _, err := b.client.CopyObject(ctx, in); err != nil {
			return err
		}
	} else if err := b.multipartCopy(ctx, b, sourcePath, destPath, size, head.ContentType, head.ETag); err != nil {
		return err
	}
	del := &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.keys.Key(sourcePath))}
	if !b.noConditionalDelete.Load() {
		del.IfMatch = head.ETag
	}
	_, err = b.client.DeleteObject(ctx, del)
	if del.IfMatch != nil && errorCode(err) == "NotImplemented" {
		if !b.noConditionalDelete.Swap(true) {
			b.cfg.Logger.Warn("s3: the server does not take If-Match on DeleteObject; Move deletes its sources unconditionally", "path", sourcePath)
		}
		del.IfMatch = nil
		_, err = b.client.DeleteObject(ctx, del)
	}
	if Classify(err) == driver.KindNotFound {
		return nil
	}
	return err
}

// copySource is the CopySource value naming the object at path: bucket and
// key, URL-escaped.
func (b *backend) copySource(path string) string {
	parts := strings.Split(b.bucket+"/"+b.keys.Key(path), "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// multipartCopy copies source of src (b or another bucket's backend),
// which must have the ETag etag, to dest in MultipartCopyChunkSize parts,
// up to MultipartCopyMaxConcurrency at once. A failure aborts the upload.
func (b *backend) multipartCopy(ctx context.Context, src *backend, sourcePath, destPath string, size int64, contentType, etag *string) error {
	create := &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(b.bucket),
		Key:         aws.String(b.keys.Key(destPath)),
		ContentType: contentType,
	}
	b.putOptions(&create.ACL, &create.StorageClass, &create.ServerSideEncryption, &create.SSEKMSKeyId)
	up, err := b.client.CreateMultipartUpload(ctx, create)
	if err != nil {
		return wrap(ctx, "Move", destPath, err)
	}
	uploadID := up.UploadId

	parts, err := b.copyParts(ctx, "Move", sourcePath, b.keys.Key(destPath), aws.ToString(uploadID), src.copySource(sourcePath), etag,
		partRanges(size, b.cfg.MultipartCopyChunkSize, b.maxParts, false))
	if err == nil {
		_, err = b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(b.bucket),
			Key:             aws.String(b.keys.Key(destPath)),
			UploadId:        uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
		if err == nil {
			return nil
		}
		err = wrap(ctx, "Move", destPath, err)
	}
	b.abortUpload(ctx, b.keys.Key(destPath), aws.ToString(uploadID))
	return err
}

// byteRange is the inclusive byte range [first, last] of one part copy.
type byteRange struct{ first, last int64 }

// partRanges splits size bytes into parts of chunk bytes, the last one
// holding the rest, and at most maxParts of them: a larger object gets
// parts of ceil(size/maxParts) bytes instead. (Move copies at most
// MaxParts parts; the continuation of an object at most half of them,
// leaving the other half to the bytes written after it.) With keepMin a
// rest below MinChunkSize joins the part before it, so that every part may
// be followed by more parts (S3 accepts a part below MinChunkSize only as
// the last one); chunk is then capped at MaxChunkSize-MinChunkSize so that
// the joined part stays within MaxChunkSize.
func partRanges(size, chunk int64, maxParts int, keepMin bool) []byteRange {
	chunk = max(chunk, (size+int64(maxParts)-1)/int64(maxParts))
	if keepMin {
		chunk = min(chunk, MaxChunkSize-MinChunkSize)
	}
	var out []byteRange
	for first := int64(0); first < size; first += chunk {
		out = append(out, byteRange{first, min(first+chunk, size) - 1})
	}
	if n := len(out); keepMin && n > 1 && out[n-1].last-out[n-1].first+1 < MinChunkSize {
		out[n-2].last = out[n-1].last
		out = out[:n-1]
	}
	return out
}

// copyParts copies ranges of the object copySource names (see
// backend.copySource) server-side into the
// multipart upload uploadID of key, as parts 1, 2, ..., up to
// MultipartCopyMaxConcurrency at once, and returns the completed parts in
// order (without checksums: the upload must have no checksum algorithm).
// With ifMatch set every range must come from the object of that ETag.
// Errors are wrapped for operation op on path; the caller aborts the
// upload.
func (b *backend) copyParts(ctx context.Context, op, path, key, uploadID, copySource string, ifMatch *string, ranges []byteRange) ([]types.CompletedPart, error) {
	parts := make([]types.CompletedPart, len(ranges))
	err := driver.ForEach(ctx, len(ranges), b.cfg.MultipartCopyMaxConcurrency, func(ctx context.Context, i int) error {
		num := aws.Int32(int32(i + 1))
		out, err := b.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket:            aws.String(b.bucket),
			Key:               aws.String(key),
			CopySource:        aws.String(copySource),
			CopySourceIfMatch: ifMatch,
			CopySourceRange:   aws.String(fmt.Sprintf("bytes=%d-%d", ranges[i].first, ranges[i].last)),
			PartNumber:        num,
			UploadId:          aws.String(uploadID),
		})
		if err != nil {
			return err
		}
		parts[i] = types.CompletedPart{PartNumber: num, ETag: out.CopyPartResult.ETag}
		return nil
	})
	return parts, wrap(ctx, op, path, err)
}

// abortUpload aborts a multipart upload, also when ctx has ended (with a
// bounded context of its own), logging a failure: it only cleans up.
func (b *backend) abortUpload(ctx context.Context, key, uploadID string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_, err := b.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(b.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(uploadID),
	})
	if err != nil && Classify(err) != driver.KindNotFound {
		b.cfg.Logger.Warn("s3: aborting multipart upload failed", "key", key, "error", err)
	}
}
