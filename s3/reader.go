package s3

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-dev/stowage/internal/resume"
)

// resumable wraps a GetObject body so that a connection that breaks in the
// middle is resumed with a ranged GetObject from the current offset, with
// If-Match on the first response's ETag so a replaced object is never
// spliced in, up to Config.MaxRetries times per stream.
func (b *backend) resumable(ctx context.Context, path string, etag *string, off, end int64, body io.ReadCloser) io.ReadCloser {
	r := &resume.Reader{
		Ctx: ctx, Body: body, Off: off, End: end, MaxRetries: b.cfg.Retries(),
		Fail:   func(err error) error { return wrap(ctx, "Reader", path, err) },
		Logger: b.cfg.Logger.With("driver", DriverName, "path", path),
	}
	if etag != nil {
		key := b.keys.Key(path)
		r.Reopen = func(ctx context.Context, off int64) (io.ReadCloser, error) {
			out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
				Bucket:  aws.String(b.bucket),
				Key:     aws.String(key),
				Range:   aws.String(fmt.Sprintf("bytes=%d-", off)),
				IfMatch: etag,
			})
			if err != nil {
				return nil, err
			}
			return out.Body, nil
		}
	}
	return r
}
