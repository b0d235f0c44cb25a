// Package resume holds the download stream the cloud backends share: SDKs
// retry a request only until its response headers arrive, so a connection
// that breaks in the middle of a body would otherwise end a Reader early.
package resume

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

// Reader is the stream a backend's Reader returns. When the body breaks
// (an error, or EOF before End) it asks Reopen for the rest from the
// current offset, up to MaxRetries times per stream; the backend's Reopen
// must pin the object's version (If-Match on the first response's ETag) so
// that a replaced object is never spliced in. A failure for good is passed
// through Fail (the backend's error mapping) and is sticky.
type Reader struct {
	Ctx  context.Context
	Body io.ReadCloser
	// Off is the offset of the next byte; End the offset past the last
	// byte, or -1 when unknown.
	Off, End   int64
	MaxRetries int
	// Reopen asks for the object from off on; nil disables resuming (e.g.
	// when the first response carried no ETag to pin).
	Reopen func(ctx context.Context, off int64) (io.ReadCloser, error)
	// Fail maps the final error; nil returns it as is.
	Fail func(err error) error
	// Logger, when set, gets a debug line per resume.
	Logger *slog.Logger

	retries int
	err     error
	closed  bool
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		n, err := r.Body.Read(p)
		r.Off += int64(n)
		if err == nil || errors.Is(err, io.EOF) {
			if errors.Is(err, io.EOF) && r.End >= 0 && r.Off < r.End {
				err = io.ErrUnexpectedEOF // a short body: resume it
			} else {
				return n, err
			}
		}
		if r.End >= 0 && r.Off >= r.End {
			return n, io.EOF // everything arrived; only the end was lost
		}
		if r.Ctx.Err() != nil || r.retries >= r.MaxRetries || r.Reopen == nil {
			r.err = r.fail(err)
			return n, r.err
		}
		r.retries++
		if r.Logger != nil {
			r.Logger.Debug("resuming a broken download", "offset", r.Off, "error", err)
		}
		r.Body.Close()
		body, rerr := r.Reopen(r.Ctx, r.Off)
		if rerr != nil {
			r.Body = io.NopCloser(eofReader{})
			r.err = r.fail(rerr)
			return n, r.err
		}
		r.Body = body
		if n > 0 {
			return n, nil
		}
	}
}

func (r *Reader) fail(err error) error {
	if r.Fail != nil {
		return r.Fail(err)
	}
	return err
}

// Close implements io.Closer; a second Close does nothing.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.Body.Close()
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
