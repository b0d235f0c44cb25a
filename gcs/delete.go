package gcs

import (
	"context"
	"slices"

	"github.com/stowage-dev/stowage/driver"
)

// DeleteBatch implements driver.Backend with one JSON batch request of up
// to MaxDeleteBatchSize deletes. A missing object is answered 404, which
// counts as deleted; a missing bucket is answered 404 too, but with its own
// message (see bucketMissing), and fails every path, as s3's NoSuchBucket
// and azure's ContainerNotFound do. A whole batch that fails with 408, 429 or 5xx, loses
// its connection or gets a response cut short is marked driver.Retryable:
// deletes are safe to send again, and the batch client does not retry.
func (b *backend) DeleteBatch(ctx context.Context, objs []driver.Object) ([]error, error) {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.Key
	}
	errs, err := b.batch.delete(ctx, names)
	if err != nil && !driver.IsRetryable(err) {
		if k := b.Classify(err); k == driver.KindTransient || k == driver.KindThrottled {
			err = driver.Retryable(err)
		}
	}
	return errs, err
}

// deleteHidden deletes the driver's own objects names (a writer's parts
// and markers) for the writer's operation op, in batch requests
// with per-item retries, up to Config.MaxConcurrency at once. A missing
// object counts as deleted. Failures come back as one
// *driver.DeleteFilesError whose paths are the names relative to the root.
func (b *backend) deleteHidden(ctx context.Context, op string, names []string) error {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	objs := make([]driver.Object, len(names))
	for i, n := range names {
		objs[i] = driver.Object{Key: n}
	}
	d := driver.BatchDeleter{
		DriverName: DriverName,
		Backend:    b,
		Keys:       b.keys,
		BatchSize:  b.cfg.DeleteBatchSize,
		Config:     b.cfg.CommonConfig,
	}
	return d.All(ctx, op, objs)
}
