package azure

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// Move implements driver.Backend: Get Blob Properties of the source for
// its ETag, a server-side Copy Blob (StartCopyFromURL) from the source's
// URL pinned to that ETag (x-ms-source-if-match), then Delete Blob of the
// source with If-Match on the same ETag: three requests. The pins make
// Move lose nothing to a concurrent writer: a source replaced before the
// copy fails the copy (nothing changed), one replaced between the copy
// and the delete is not deleted (the destination holds the content Move
// saw, the source the new one); either way Move returns an *OpError
// saying so. (A delete that fails If-Match costs one more Get Blob
// Properties, to tell a changed source from one a lost answer's first
// delete removed.) Within one storage account the copy needs no SAS (the request is
// authorized with the shared key) and has no size limit, unlike the
// synchronous Copy Blob From URL (256 MiB, SAS source). When the service
// answers that the copy is still pending, Move polls Get Blob Properties
// of the destination, waiting Config.CopyStatusPollDelay and doubling, up
// to Config.CopyStatusPollMaxRetry times. A missing source answers 404 and
// changes nothing. Moving a file onto itself leaves it as it is.
func (b *backend) Move(ctx context.Context, sourcePath, destPath string) error {
	src := b.blob(sourcePath)
	if sourcePath == destPath {
		_, err := src.GetProperties(ctx, nil)
		return err
	}
	props, err := src.GetProperties(ctx, nil)
	if err != nil {
		return err
	}
	etag := props.ETag
	dst := b.blob(destPath)
	var copyOpts *blob.StartCopyFromURLOptions
	if etag != nil {
		copyOpts = &blob.StartCopyFromURLOptions{
			SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: etag},
		}
	}
	if err := b.copyBlob(ctx, dst, src.URL(), copyOpts); err != nil {
		if httpStatus(err) == http.StatusPreconditionFailed {
			return &driver.OpError{DriverName: DriverName, Op: "Move", Path: sourcePath,
				Err: fmt.Errorf("the source changed while Move read it; nothing was copied: %w", err)}
		}
		return err
	}
	// A retried delete whose first answer was lost finds the source gone.
	delOpts := &blob.DeleteOptions{DeleteSnapshots: deleteSnapshots()}
	if etag != nil {
		delOpts.AccessConditions = ifMatch(etag)
	}
	_, err = src.Delete(ctx, delOpts)
	switch {
	case err == nil || classify(err) == driver.KindNotFound:
		return nil
	case httpStatus(err) == http.StatusPreconditionFailed:
		// A retried delete whose first answer was lost meets a missing
		// source with 412 (If-Match), not 404: tell the two apart.
		if _, herr := src.GetProperties(ctx, nil); classify(herr) == driver.KindNotFound {
			return nil
		}
		return &driver.OpError{DriverName: DriverName, Op: "Move", Path: sourcePath,
			Err: fmt.Errorf("the source changed after it was copied to %s; the destination holds the content copied, the source, kept, the new one: %w", destPath, err)}
	}
	return err
}

// copyBlob copies the blob at srcURL, in the driver's storage account, to
// dst with Copy Blob (StartCopyFromURL) and opts, and waits for the copy:
// when the service answers that it is still pending, copyBlob polls Get
// Blob Properties of dst, waiting Config.CopyStatusPollDelay and doubling
// (up to 10 s), at most Config.CopyStatusPollMaxRetry times. A copy that
// ends in another state than success is an error. The SDK's error of the
// Copy Blob request itself is returned as it is, so callers can tell its
// status (404, 412).
func (b *backend) copyBlob(ctx context.Context, dst *blockblob.Client, srcURL string, opts *blob.StartCopyFromURLOptions) error {
	resp, err := dst.StartCopyFromURL(ctx, srcURL, opts)
	if err != nil {
		return err
	}
	status := deref(resp.CopyStatus, blob.CopyStatusTypeSuccess)
	delay := b.cfg.CopyStatusPollDelay
	for i := 0; status == blob.CopyStatusTypePending; i++ {
		if i == b.cfg.CopyStatusPollMaxRetry {
			return fmt.Errorf("copy to %s still pending after %d polls", dst.URL(), i)
		}
		if err := wait.Sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, 10*time.Second)
		props, err := dst.GetProperties(ctx, nil)
		if err != nil {
			return fmt.Errorf("status of the copy to %s: %w", dst.URL(), err)
		}
		status = deref(props.CopyStatus, blob.CopyStatusTypeSuccess)
		if props.CopyStatusDescription != nil && status != blob.CopyStatusTypeSuccess && status != blob.CopyStatusTypePending {
			return fmt.Errorf("copy to %s %s: %s", dst.URL(), status, *props.CopyStatusDescription)
		}
	}
	if status != blob.CopyStatusTypeSuccess {
		return fmt.Errorf("copy to %s %s", dst.URL(), status)
	}
	return nil
}
