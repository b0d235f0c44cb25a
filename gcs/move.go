package gcs

import (
	"context"

	"github.com/stowage-dev/stowage/driver"
)

// Move implements driver.StorageDriver: a server-side rewrite (the SDK's
// Copier, which repeats the rewrite call until GCS reports it done, one
// call for most objects), then a delete of the source. A missing source
// gives a *driver.PathNotFoundError and changes nothing. Moving a file
// onto itself leaves it as it is.
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
	src := d.bucket.Object(d.key(sourcePath))
	if sourcePath == destPath {
		if _, err := src.Attrs(ctx); err != nil {
			return d.wrap(ctx, "Move", sourcePath, err)
		}
		return nil
	}
	if _, err := d.bucket.Object(d.key(destPath)).CopierFrom(src).Run(ctx); err != nil {
		return d.wrap(ctx, "Move", sourcePath, err)
	}
	// A retried delete whose first attempt succeeded finds nothing: the
	// source is gone either way.
	if err := src.Delete(ctx); err != nil && !isNotFound(err) {
		return d.wrap(ctx, "Move", sourcePath, err)
	}
	return nil
}
