package azure

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// Move implements driver.Backend: a server-side Copy Blob
// (StartCopyFromURL) from the source's URL, then Delete Blob of the
// source. Within one storage account the copy needs no SAS (the request is
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
	dst := b.blob(destPath)
	resp, err := dst.StartCopyFromURL(ctx, src.URL(), nil)
	if err != nil {
		return err
	}
	status := deref(resp.CopyStatus, blob.CopyStatusTypeSuccess)
	delay := b.cfg.CopyStatusPollDelay
	for i := 0; status == blob.CopyStatusTypePending; i++ {
		if i == b.cfg.CopyStatusPollMaxRetry {
			return fmt.Errorf("copy to %s still pending after %d polls", destPath, i)
		}
		if err := wait.Sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, 10*time.Second)
		props, err := dst.GetProperties(ctx, nil)
		if err != nil {
			return wrap(ctx, "Move", destPath, err)
		}
		status = deref(props.CopyStatus, blob.CopyStatusTypeSuccess)
		if props.CopyStatusDescription != nil && status != blob.CopyStatusTypeSuccess && status != blob.CopyStatusTypePending {
			return fmt.Errorf("copy to %s %s: %s", destPath, status, *props.CopyStatusDescription)
		}
	}
	if status != blob.CopyStatusTypeSuccess {
		return fmt.Errorf("copy to %s %s", destPath, status)
	}
	// A retried delete whose first answer was lost finds the source gone.
	if _, err := src.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: deleteSnapshots()}); err != nil && classify(err) != driver.KindNotFound {
		return err
	}
	return nil
}
