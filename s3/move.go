package s3

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
)

// Move implements driver.StorageDriver: a server-side CopyObject for
// objects up to Config.MultipartCopyThresholdSize, a multipart copy with
// parallel UploadPartCopy requests above it, then DeleteObject of the
// source. Moving a file onto itself leaves it as it is.
func (d *Driver) Move(ctx context.Context, sourcePath, destPath string) error {
	if err := driver.ValidatePath(DriverName, sourcePath); err != nil {
		return err
	}
	if err := driver.ValidatePath(DriverName, destPath); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	head, err := d.head(ctx, "Move", sourcePath)
	if err != nil {
		return err
	}
	if sourcePath == destPath {
		return nil
	}
	size := aws.ToInt64(head.ContentLength)
	if size <= d.cfg.MultipartCopyThresholdSize {
		in := &s3.CopyObjectInput{
			Bucket:     aws.String(d.bucket),
			Key:        aws.String(d.key(destPath)),
			CopySource: aws.String(d.copySource(sourcePath)),
		}
		d.putOptions(&in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId)
		if _, err := d.client.CopyObject(ctx, in); err != nil {
			return d.wrap(ctx, "Move", sourcePath, err)
		}
	} else if err := d.multipartCopy(ctx, sourcePath, destPath, size, head.ContentType); err != nil {
		return err
	}
	if _, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(d.bucket),
		Key:    aws.String(d.key(sourcePath)),
	}); err != nil {
		return d.wrap(ctx, "Move", sourcePath, err)
	}
	return nil
}

// copySource is the CopySource value naming the object at path: bucket and
// key, URL-escaped.
func (d *Driver) copySource(path string) string {
	parts := strings.Split(d.bucket+"/"+d.key(path), "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// multipartCopy copies source to dest in MultipartCopyChunkSize parts, up
// to MultipartCopyMaxConcurrency at once. A failure aborts the upload.
func (d *Driver) multipartCopy(ctx context.Context, sourcePath, destPath string, size int64, contentType *string) error {
	create := &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(d.bucket),
		Key:         aws.String(d.key(destPath)),
		ContentType: contentType,
	}
	d.putOptions(&create.StorageClass, &create.ServerSideEncryption, &create.SSEKMSKeyId)
	up, err := d.client.CreateMultipartUpload(ctx, create)
	if err != nil {
		return d.wrap(ctx, "Move", destPath, err)
	}
	uploadID := up.UploadId

	parts, err := d.copyParts(ctx, "Move", sourcePath, d.key(destPath), aws.ToString(uploadID), sourcePath, nil,
		partRanges(size, d.cfg.MultipartCopyChunkSize, false))
	if err == nil {
		_, err = d.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(d.bucket),
			Key:             aws.String(d.key(destPath)),
			UploadId:        uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
		if err == nil {
			return nil
		}
		err = d.wrap(ctx, "Move", destPath, err)
	}
	d.abortUpload(ctx, d.key(destPath), aws.ToString(uploadID))
	return err
}

// byteRange is the inclusive byte range [first, last] of one part copy.
type byteRange struct{ first, last int64 }

// partRanges splits size bytes into parts of chunk bytes, the last one
// holding the rest. With keepMin a rest below MinChunkSize joins the part
// before it, so that every part may be followed by more parts (S3 accepts
// a part below MinChunkSize only as the last one); chunk is then capped at
// MaxChunkSize-MinChunkSize so that the joined part stays within
// MaxChunkSize.
func partRanges(size, chunk int64, keepMin bool) []byteRange {
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

// copyParts copies ranges of the object at srcPath server-side into the
// multipart upload uploadID of key, as parts 1, 2, ..., up to
// MultipartCopyMaxConcurrency at once, and returns the completed parts in
// order (without checksums: the upload must have no checksum algorithm).
// With ifMatch set every range must come from the object of that ETag.
// Errors are wrapped for operation op on path; the caller aborts the
// upload.
func (d *Driver) copyParts(ctx context.Context, op, path, key, uploadID, srcPath string, ifMatch *string, ranges []byteRange) ([]types.CompletedPart, error) {
	parts := make([]types.CompletedPart, len(ranges))
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, d.cfg.MultipartCopyMaxConcurrency)
	)
	for i, r := range ranges {
		select {
		case slots <- struct{}{}:
		case <-cctx.Done():
		}
		if cctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			num := aws.Int32(int32(i + 1))
			out, err := d.client.UploadPartCopy(cctx, &s3.UploadPartCopyInput{
				Bucket:            aws.String(d.bucket),
				Key:               aws.String(key),
				CopySource:        aws.String(d.copySource(srcPath)),
				CopySourceIfMatch: ifMatch,
				CopySourceRange:   aws.String(fmt.Sprintf("bytes=%d-%d", r.first, r.last)),
				PartNumber:        num,
				UploadId:          aws.String(uploadID),
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = d.wrap(cctx, op, path, err)
				}
				mu.Unlock()
				cancel()
				return
			}
			parts[i] = types.CompletedPart{PartNumber: num, ETag: out.CopyPartResult.ETag}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = d.wrap(ctx, op, path, ctx.Err())
	}
	return parts, firstErr
}

// abortUpload aborts a multipart upload, also when ctx has ended (with a
// bounded context of its own), logging a failure: it only cleans up.
func (d *Driver) abortUpload(ctx context.Context, key, uploadID string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_, err := d.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(d.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(uploadID),
	})
	if err != nil && !isNotFound(err) {
		d.cfg.Logger.Warn("s3: aborting multipart upload failed", "key", key, "error", err)
	}
}
