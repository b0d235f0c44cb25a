package swift

import (
	"context"
	"io"

	"github.com/stowage-dev/stowage/internal/resume"
)

// resumable wraps a GET body so that a connection that drops in the middle
// is resumed with a ranged GET from the current offset, with If-Match on the
// first response's ETag so that a replaced object is never spliced in, up to
// Config.MaxRetries times per stream.
func (d *Driver) resumable(ctx context.Context, path, etag string, off, end int64, body io.ReadCloser) io.ReadCloser {
	var reopenErr error // already mapped by d.get
	r := &resume.Reader{
		Ctx: ctx, Body: body, Off: off, End: end, MaxRetries: d.cfg.MaxRetries,
		Fail: func(err error) error {
			if err == reopenErr {
				return err
			}
			return d.wrap(ctx, "Reader", path, err)
		},
		Logger: d.cfg.Logger.With("driver", DriverName, "path", path),
	}
	if etag != "" {
		r.Reopen = func(ctx context.Context, off int64) (io.ReadCloser, error) {
			resp, _, err := d.get(ctx, path, off, etag)
			if err != nil {
				reopenErr = err
				return nil, err
			}
			return resp.Body, nil
		}
	}
	return r
}
