package instrument

import (
	"context"
	"errors"
	"io"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/stowage-dev/stowage/driver"
)

// Span attribute keys.
const (
	AttrDriver       = attribute.Key("stowage.driver")
	AttrPath         = attribute.Key("stowage.path")
	AttrDestPath     = attribute.Key("stowage.dest_path")
	AttrPathsCount   = attribute.Key("stowage.paths.count")
	AttrDeletedCount = attribute.Key("stowage.deleted.count")
	AttrBytes        = attribute.Key("stowage.bytes")
	AttrOffset       = attribute.Key("stowage.offset")
)

// Wrap returns d with every call counted, timed and traced (see the package
// documentation). The result implements driver.ServerSideCopier and
// driver.UploadStager when d does, and reports d's Capabilities.
func (in *Instrument) Wrap(d driver.StorageDriver) driver.StorageDriver {
	w := &wrapped{in: in, d: d, name: d.Name()}
	_, copies := d.(driver.ServerSideCopier)
	_, stages := d.(driver.UploadStager)
	switch {
	case copies && stages:
		return copierStager{w}
	case copies:
		return copier{w}
	case stages:
		return stager{w}
	}
	return w
}

// wrapped is the instrumented driver; copier, stager and copierStager add
// the optional interfaces the inner driver has.
type wrapped struct {
	in   *Instrument
	d    driver.StorageDriver
	name string
}

type copier struct{ *wrapped }

type stager struct{ *wrapped }

type copierStager struct{ *wrapped }

var (
	_ driver.ServerSideCopier = copier{}
	_ driver.UploadStager     = stager{}
	_ driver.ServerSideCopier = copierStager{}
	_ driver.UploadStager     = copierStager{}
)

// op is one operation under way: its span and its start.
type op struct {
	w     *wrapped
	name  string
	span  trace.Span
	start time.Time
}

// begin starts operation name: a span under ctx with the driver's name and
// attrs, and the clock. The returned context carries the span.
func (w *wrapped) begin(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, *op) {
	attrs = append(attrs, AttrDriver.String(w.name))
	ctx, span := w.in.tracer.Start(ctx, "stowage."+name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, &op{w: w, name: name, span: span, start: time.Now()}
}

// end records the outcome of the operation and ends its span; it returns err.
func (o *op) end(err error) error {
	in := o.w.in
	in.ops.WithLabelValues(o.w.name, o.name).Inc()
	in.duration.WithLabelValues(o.w.name, o.name).Observe(time.Since(o.start).Seconds())
	if err != nil {
		in.opErrors.WithLabelValues(o.w.name, o.name, ErrorKind(err)).Inc()
		o.span.RecordError(err)
		o.span.SetStatus(codes.Error, err.Error())
	}
	o.span.End()
	return err
}

// Unwrap returns the driver Wrap was given.
func (w *wrapped) Unwrap() driver.StorageDriver { return w.d }

// Name returns the inner driver's name.
func (w *wrapped) Name() string { return w.name }

// Capabilities reports the inner driver's capabilities.
func (w *wrapped) Capabilities() driver.Capabilities { return driver.CapabilitiesOf(w.d) }

// GetContent implements driver.StorageDriver.
func (w *wrapped) GetContent(ctx context.Context, path string) ([]byte, error) {
	ctx, o := w.begin(ctx, "GetContent", AttrPath.String(path))
	b, err := w.d.GetContent(ctx, path)
	if err == nil {
		w.in.readBytes.WithLabelValues(w.name, "GetContent").Add(float64(len(b)))
		o.span.SetAttributes(AttrBytes.Int(len(b)))
	}
	return b, o.end(err)
}

// PutContent implements driver.StorageDriver.
func (w *wrapped) PutContent(ctx context.Context, path string, content []byte) error {
	ctx, o := w.begin(ctx, "PutContent", AttrPath.String(path), AttrBytes.Int(len(content)))
	err := w.d.PutContent(ctx, path, content)
	if err == nil {
		w.in.wrote.WithLabelValues(w.name, "PutContent").Add(float64(len(content)))
	}
	return o.end(err)
}

// Reader implements driver.StorageDriver; the stream counts its bytes.
func (w *wrapped) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	ctx, o := w.begin(ctx, "Reader", AttrPath.String(path), AttrOffset.Int64(offset))
	rc, err := w.d.Reader(ctx, path, offset)
	if err != nil {
		return nil, o.end(err)
	}
	o.end(nil)
	return &reader{rc: rc, bytes: w.in.readBytes.WithLabelValues(w.name, "Reader")}, nil
}

// Writer implements driver.StorageDriver; the writer counts its bytes and
// instruments Close, Commit and Cancel.
func (w *wrapped) Writer(ctx context.Context, path string, append bool) (driver.FileWriter, error) {
	caller := context.WithoutCancel(ctx)
	ctx, o := w.begin(ctx, "Writer", AttrPath.String(path), attribute.Bool("stowage.append", append))
	fw, err := w.d.Writer(ctx, path, append)
	if err != nil {
		return nil, o.end(err)
	}
	o.end(nil)
	return &writer{w: w, fw: fw, path: path, caller: caller, bytes: w.in.wrote.WithLabelValues(w.name, "Writer")}, nil
}

// Stat implements driver.StorageDriver.
func (w *wrapped) Stat(ctx context.Context, path string) (driver.FileInfo, error) {
	ctx, o := w.begin(ctx, "Stat", AttrPath.String(path))
	fi, err := w.d.Stat(ctx, path)
	return fi, o.end(err)
}

// List implements driver.StorageDriver.
func (w *wrapped) List(ctx context.Context, path string) ([]string, error) {
	ctx, o := w.begin(ctx, "List", AttrPath.String(path))
	entries, err := w.d.List(ctx, path)
	if err == nil {
		o.span.SetAttributes(attribute.Int("stowage.entries.count", len(entries)))
	}
	return entries, o.end(err)
}

// Move implements driver.StorageDriver.
func (w *wrapped) Move(ctx context.Context, sourcePath, destPath string) error {
	ctx, o := w.begin(ctx, "Move", AttrPath.String(sourcePath), AttrDestPath.String(destPath))
	return o.end(w.d.Move(ctx, sourcePath, destPath))
}

// Delete implements driver.StorageDriver.
func (w *wrapped) Delete(ctx context.Context, path string) error {
	ctx, o := w.begin(ctx, "Delete", AttrPath.String(path))
	return o.end(w.d.Delete(ctx, path))
}

// DeleteFiles implements driver.StorageDriver. It counts the paths given
// and the paths a *driver.DeleteFilesError lists as failed.
func (w *wrapped) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	ctx, o := w.begin(ctx, "DeleteFiles", AttrPathsCount.Int(len(paths)))
	w.in.deletePaths.WithLabelValues(w.name).Add(float64(len(paths)))
	n, err := w.d.DeleteFiles(ctx, paths)
	o.span.SetAttributes(AttrDeletedCount.Int(n))
	var dfe *driver.DeleteFilesError
	if errors.As(err, &dfe) && len(dfe.Failures) > 0 {
		w.in.deleteFailures.WithLabelValues(w.name).Add(float64(len(dfe.Failures)))
		o.span.SetAttributes(attribute.Int("stowage.failed.count", len(dfe.Failures)))
	}
	return n, o.end(err)
}

// URLFor implements driver.StorageDriver.
func (w *wrapped) URLFor(ctx context.Context, path string, options map[string]any) (string, error) {
	ctx, o := w.begin(ctx, "URLFor", AttrPath.String(path))
	u, err := w.d.URLFor(ctx, path, options)
	return u, o.end(err)
}

// Walk implements driver.StorageDriver; it counts the entries f is given.
func (w *wrapped) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	ctx, o := w.begin(ctx, "Walk", AttrPath.String(path))
	entries := w.in.walkEntries.WithLabelValues(w.name)
	err := w.d.Walk(ctx, path, func(fi driver.FileInfo) error {
		entries.Inc()
		return f(fi)
	}, opts...)
	return o.end(err)
}

// copyFrom instruments the inner driver's CopyFrom, handing it src
// unwrapped when src is an instrumented driver.
func (w *wrapped) copyFrom(ctx context.Context, src driver.StorageDriver, srcPath, dstPath string) (bool, error) {
	ctx, o := w.begin(ctx, "CopyFrom", AttrPath.String(srcPath), AttrDestPath.String(dstPath),
		attribute.String("stowage.source.driver", src.Name()))
	ok, err := w.d.(driver.ServerSideCopier).CopyFrom(ctx, unwrap(src), srcPath, dstPath)
	o.span.SetAttributes(attribute.Bool("stowage.copied", ok))
	return ok, o.end(err)
}

// unwrap returns the driver under the layers of Wrap that d is made of.
func unwrap(d driver.StorageDriver) driver.StorageDriver {
	for {
		switch w := d.(type) {
		case *wrapped:
			d = w.d
		case copier:
			d = w.d
		case stager:
			d = w.d
		case copierStager:
			d = w.d
		default:
			return d
		}
	}
}

func (w *wrapped) stagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	ctx, o := w.begin(ctx, "StagedUploads")
	ups, err := w.d.(driver.UploadStager).StagedUploads(ctx)
	return ups, o.end(err)
}

func (w *wrapped) purgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	ctx, o := w.begin(ctx, "PurgeStagedUpload", AttrPath.String(u.Path))
	return o.end(w.d.(driver.UploadStager).PurgeStagedUpload(ctx, u))
}

// CopyFrom implements driver.ServerSideCopier.
func (c copier) CopyFrom(ctx context.Context, src driver.StorageDriver, srcPath, dstPath string) (bool, error) {
	return c.copyFrom(ctx, src, srcPath, dstPath)
}

// CopyFrom implements driver.ServerSideCopier.
func (c copierStager) CopyFrom(ctx context.Context, src driver.StorageDriver, srcPath, dstPath string) (bool, error) {
	return c.copyFrom(ctx, src, srcPath, dstPath)
}

// StagedUploads implements driver.UploadStager.
func (s stager) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	return s.stagedUploads(ctx)
}

// PurgeStagedUpload implements driver.UploadStager.
func (s stager) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	return s.purgeStagedUpload(ctx, u)
}

// StagedUploads implements driver.UploadStager.
func (c copierStager) StagedUploads(ctx context.Context) ([]driver.StagedUpload, error) {
	return c.stagedUploads(ctx)
}

// PurgeStagedUpload implements driver.UploadStager.
func (c copierStager) PurgeStagedUpload(ctx context.Context, u driver.StagedUpload) error {
	return c.purgeStagedUpload(ctx, u)
}
