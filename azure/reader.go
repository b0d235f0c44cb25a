package azure

import (
	"context"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/stowage-dev/stowage/internal/resume"
)

// resumable wraps a Get Blob body so that a connection that breaks in the
// middle is resumed with a ranged Get Blob from the current offset, with
// If-Match on the first response's ETag so a replaced blob is never
// spliced in, up to Config.MaxRetries times per stream.
func (b *backend) resumable(ctx context.Context, path string, bb *blockblob.Client, etag *azcore.ETag, off, end int64, body io.ReadCloser) io.ReadCloser {
	r := &resume.Reader{
		Ctx: ctx, Body: body, Off: off, End: end, MaxRetries: b.cfg.Retries(),
		Fail:   func(err error) error { return wrap(ctx, "Reader", path, err) },
		Logger: b.cfg.Logger.With("driver", DriverName, "path", path),
	}
	if etag != nil {
		r.Reopen = func(ctx context.Context, off int64) (io.ReadCloser, error) {
			resp, err := bb.DownloadStream(ctx, &blob.DownloadStreamOptions{
				Range:            blob.HTTPRange{Offset: off},
				AccessConditions: ifMatch(etag),
			})
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		}
	}
	return r
}

// ifMatch is the access condition of a request pinned to etag.
func ifMatch(etag *azcore.ETag) *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: etag}}
}
