package swift

import (
	"context"
	"errors"
	"io"
)

// resumingBody is the stream Reader returns. Retries end when the response
// headers arrive; when the connection drops in the middle of the body,
// resumingBody asks again for the rest (a ranged GET from the current
// offset, with If-Match on the first response's ETag so that a replaced
// object is never spliced in), up to Config.MaxRetries times per stream.
type resumingBody struct {
	d       *Driver
	ctx     context.Context
	path    string
	etag    string
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
		if r.ctx.Err() != nil || r.retries >= r.d.cfg.MaxRetries || r.etag == "" {
			r.err = r.d.wrap(r.ctx, "Reader", r.path, err)
			return n, r.err
		}
		r.retries++
		r.d.cfg.Logger.Debug("swift: resuming a broken download", "path", r.path, "offset", r.off, "error", err)
		r.body.Close()
		resp, _, gerr := r.d.get(r.ctx, r.path, r.off, r.etag)
		if gerr != nil {
			r.body = io.NopCloser(eofReader{})
			r.err = gerr
			return n, r.err
		}
		r.body = resp.Body
		if n > 0 {
			return n, nil
		}
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Close implements io.Closer.
func (r *resumingBody) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.body.Close()
}
