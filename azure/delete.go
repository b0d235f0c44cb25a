package azure

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stowage-dev/stowage/driver"
)

// DeleteBatch implements driver.Backend with one blob batch request (Blob
// Batch, one multipart POST) of a delete per object; snapshots of a blob
// go with it. Each answer names its sub-request by Content-ID, which maps
// it back to its object. A batch not answered for every delete fails as a
// whole. The SDK has retried the request already (see batchBody), so a
// whole-batch failure is not sent again.
func (b *backend) DeleteBatch(ctx context.Context, objs []driver.Object) ([]error, error) {
	bb, err := b.container.NewBatchBuilder()
	if err != nil {
		return nil, err
	}
	opts := &container.BatchDeleteOptions{DeleteOptions: blob.DeleteOptions{DeleteSnapshots: deleteSnapshots()}}
	for _, o := range objs {
		if err := bb.Delete(listedName(o), opts); err != nil {
			return nil, err
		}
	}
	resp, err := b.container.SubmitBatch(ctx, bb, nil)
	if err != nil {
		return nil, err
	}
	if len(resp.Responses) != len(objs) {
		return nil, fmt.Errorf("batch answered %d of %d deletes", len(resp.Responses), len(objs))
	}
	errs := make([]error, len(objs))
	for n, item := range resp.Responses {
		i := n
		if id := item.ContentID; id != nil && *id >= 0 && *id < len(objs) {
			i = *id
		}
		errs[i] = item.Error
	}
	return errs, nil
}

// listedName returns the blob name of o: the one its listing saw (Detail,
// see List), or else that of its key.
func listedName(o driver.Object) string {
	if name, ok := o.Detail.(string); ok {
		return name
	}
	return blobName(o.Key)
}

// deleteSnapshots makes a delete take the blob's snapshots with it.
func deleteSnapshots() *blob.DeleteSnapshotsOptionType {
	v := blob.DeleteSnapshotsOptionTypeInclude
	return &v
}
