package instrument

import (
	"context"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stowage-dev/stowage/driver"
)

// reader counts the bytes read from a Reader stream.
type reader struct {
	rc    io.ReadCloser
	bytes prometheus.Counter
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.bytes.Add(float64(n))
	}
	return n, err
}

func (r *reader) Close() error { return r.rc.Close() }

// writer counts the bytes written to a FileWriter and instruments its
// Close, Commit and Cancel as operations of their own.
type writer struct {
	w    *wrapped
	fw   driver.FileWriter
	path string
	// caller is the context Writer was called with, without its
	// cancellation: Close's span belongs under the same parent.
	caller context.Context
	bytes  prometheus.Counter
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.fw.Write(p)
	if n > 0 {
		w.bytes.Add(float64(n))
	}
	return n, err
}

func (w *writer) Size() int64 { return w.fw.Size() }

func (w *writer) Close() error {
	_, o := w.w.begin(w.caller, "Writer.Close", AttrPath.String(w.path))
	err := w.fw.Close()
	o.span.SetAttributes(AttrBytes.Int64(w.fw.Size()))
	return o.end(err)
}

func (w *writer) Commit(ctx context.Context) error {
	ctx, o := w.w.begin(ctx, "Writer.Commit", AttrPath.String(w.path))
	err := w.fw.Commit(ctx)
	o.span.SetAttributes(AttrBytes.Int64(w.fw.Size()))
	return o.end(err)
}

func (w *writer) Cancel(ctx context.Context) error {
	ctx, o := w.w.begin(ctx, "Writer.Cancel", AttrPath.String(w.path))
	return o.end(w.fw.Cancel(ctx))
}
