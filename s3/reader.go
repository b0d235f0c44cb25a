package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// resumingBody is the stream Reader returns. The SDK retries a request
// only until the response headers arrive; when the connection drops in
// the middle of the body, resumingBody asks again for the rest (a ranged
// GetObject from the current offset, with If-Match on the first response's
// ETag so a replaced object is never spliced in), up to Config.MaxRetries
// times per stream.
type resumingBody struct {
	d       *Driver
	ctx     context.Context
	path    string
	key     string
	etag    *string
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
		if r.ctx.Err() != nil || r.retries >= r.d.cfg.MaxRetries || r.etag == nil {
			r.err = r.d.wrap(r.ctx, "Reader", r.path, err)
			return n, r.err
		}
		r.retries++
		r.d.cfg.Logger.Debug("s3: resuming a broken download", "path", r.path, "offset", r.off, "error", err)
		r.body.Close()
		out, gerr := r.d.client.GetObject(r.ctx, &s3.GetObjectInput{
			Bucket:  aws.String(r.d.bucket),
			Key:     aws.String(r.key),
			Range:   aws.String(fmt.Sprintf("bytes=%d-", r.off)),
			IfMatch: r.etag,
		})
		if gerr != nil {
			r.err = r.d.wrap(r.ctx, "Reader", r.path, gerr)
			return n, r.err
		}
		r.body = out.Body
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
