package azure

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// Move implements driver.StorageDriver: a server-side Copy Blob
// (StartCopyFromURL) from the source's URL, then Delete Blob of the
// source. Within one storage account the copy needs no SAS (the request is
// authorized with the shared key) and has no size limit, unlike the
// synchronous Copy Blob From URL (256 MiB, SAS source). When the service
// answers that the copy is still pending, Move polls Get Blob Properties
// of the destination, waiting Config.CopyStatusPollDelay and doubling, up
// to Config.CopyStatusPollMaxRetry times. A missing source answers 404 and
// changes nothing. Moving a file onto itself leaves it as it is.
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
	src := d.blob(sourcePath)
	if sourcePath == destPath {
		if _, err := src.GetProperties(ctx, nil); err != nil {
			return d.wrap(ctx, "Move", sourcePath, err)
		}
		return nil
	}
	dst := d.blob(destPath)
	resp, err := dst.StartCopyFromURL(ctx, src.URL(), nil)
	if err != nil {
		return d.wrap(ctx, "Move", sourcePath, err)
	}
	status := deref(resp.CopyStatus, blob.CopyStatusTypeSuccess)
	delay := d.cfg.CopyStatusPollDelay
	for i := 0; status == blob.CopyStatusTypePending; i++ {
		if i == d.cfg.CopyStatusPollMaxRetry {
			return fmt.Errorf("%s: Move %s to %s: copy still pending after %d polls", DriverName, sourcePath, destPath, i)
		}
		if err := wait.Sleep(ctx, delay); err != nil {
			return d.wrap(ctx, "Move", sourcePath, err)
		}
		delay = min(2*delay, 10*time.Second)
		props, err := dst.GetProperties(ctx, nil)
		if err != nil {
			return d.wrap(ctx, "Move", destPath, err)
		}
		status = deref(props.CopyStatus, blob.CopyStatusTypeSuccess)
		if props.CopyStatusDescription != nil && status != blob.CopyStatusTypeSuccess && status != blob.CopyStatusTypePending {
			return fmt.Errorf("%s: Move %s to %s: copy %s: %s", DriverName, sourcePath, destPath, status, *props.CopyStatusDescription)
		}
	}
	if status != blob.CopyStatusTypeSuccess {
		return fmt.Errorf("%s: Move %s to %s: copy %s", DriverName, sourcePath, destPath, status)
	}
	// A retried delete whose first answer was lost finds the source gone.
	if _, err := src.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: deleteSnapshots()}); err != nil && !isNotFound(err) {
		return d.wrap(ctx, "Move", sourcePath, err)
	}
	return nil
}

// deleteSnapshots makes a delete take the blob's snapshots with it.
func deleteSnapshots() *blob.DeleteSnapshotsOptionType {
	v := blob.DeleteSnapshotsOptionTypeInclude
	return &v
}
