package gcs

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/stowage-dev/stowage/driver"
)

// Reader implements driver.StorageDriver with one ranged GET. The SDK's
// reader pins the object's generation and, when the connection drops in
// the middle of the body, asks again for the rest from the current offset,
// so a replaced object is never spliced in. An offset at or beyond the end
// is answered 416 by GCS; one metadata request then tells an empty stream
// (offset == size) from an *driver.InvalidOffsetError.
func (d *Driver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	obj := d.bucket.Object(d.key(path))
	r, err := obj.NewRangeReader(ctx, offset, -1)
	if err == nil {
		return r, nil
	}
	if offset > 0 && httpStatus(err) == http.StatusRequestedRangeNotSatisfiable {
		attrs, aerr := obj.Attrs(ctx)
		if aerr != nil {
			return nil, d.wrap(ctx, "Reader", path, aerr)
		}
		if offset == attrs.Size {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	return nil, d.wrap(ctx, "Reader", path, err)
}
