package azure

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

var zeroTime time.Time

// resumingBody is the stream Reader returns. The SDK retries a request
// only until the response headers arrive; when the connection drops in the
// middle of the body, resumingBody asks again for the rest (a ranged Get
// Blob from the current offset, with If-Match on the first response's ETag
// so a replaced blob is never spliced in), up to Config.MaxRetries times
// per stream.
type resumingBody struct {
	d       *Driver
	ctx     context.Context
	path    string
	blob    *blockblob.Client
	etag    *azcore.ETag
	off     int64 // offset of the next byte
	end     int64 // offset past the last byte, or -1 when unknown
	body    io.ReadCloser
	retries int
	err     error // sticky: the stream has failed for good
	closed  bool
}

// Read implements io.Reader.
func (r *resumingBody) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == nil || errors.Is(err, io.EOF) {
			if errors.Is(err, io.EOF) && r.end >= 0 && r.off < r.end {
				err = io.ErrUnexpectedEOF // a short body: resume it
			} else {
				return n, err
			}
		}
		if r.end >= 0 && r.off >= r.end {
			return n, io.EOF // everything arrived; only the end was lost
		}
		if r.ctx.Err() != nil || r.retries >= r.d.cfg.retries() || r.etag == nil {
			r.err = r.d.wrap(r.ctx, "Reader", r.path, err)
			return n, r.err
		}
		r.retries++
		r.d.cfg.Logger.Debug("azure: resuming a broken download", "path", r.path, "offset", r.off, "error", err)
		r.body.Close()
		resp, gerr := r.blob.DownloadStream(r.ctx, &blob.DownloadStreamOptions{
			Range: blob.HTTPRange{Offset: r.off},
			AccessConditions: &blob.AccessConditions{
				ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: r.etag},
			},
		})
		if gerr != nil {
			r.err = r.d.wrap(r.ctx, "Reader", r.path, gerr)
			return n, r.err
		}
		r.body = resp.Body
		if n > 0 {
			return n, nil
		}
	}
}

// Close implements io.Closer.
func (r *resumingBody) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.body.Close()
}

// deref returns *p, or def when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
