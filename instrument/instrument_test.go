package instrument_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/instrument"
	"github.com/stowage-dev/stowage/s3"
)

// Every call of the wrapped driver is counted, with its errors by kind
// and its bytes.
func TestCountsOperations(t *testing.T) {
	in, _ := newInstrument(t)
	d := in.Wrap(inmemory.New())
	ctx := context.Background()
	reg := in.Registry()

	if err := d.PutContent(ctx, "/a/b", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if b, err := d.GetContent(ctx, "/a/b"); err != nil || string(b) != "hello" {
		t.Fatalf("GetContent = %q, %v", b, err)
	}
	rc, err := d.Reader(ctx, "/a/b", 1)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(rc); err != nil || string(b) != "ello" {
		t.Fatalf("Reader read %q, %v", b, err)
	}
	rc.Close()
	fw, err := d.Writer(ctx, "/a/c", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if err := fw.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if fw.Size() != 10 {
		t.Fatalf("Size = %d, want 10", fw.Size())
	}
	if _, err := d.Stat(ctx, "/missing"); !driver.IsNotFound(err) {
		t.Fatalf("Stat(/missing) = %v, want not found", err)
	}
	if _, err := d.Reader(ctx, "/a/b", 99); err == nil {
		t.Fatal("Reader at 99 succeeded")
	}
	if _, err := d.DeleteFiles(ctx, []string{"/a/b", "/bad/../path"}); err == nil {
		t.Fatal("DeleteFiles with an invalid path succeeded")
	}
	n, err := d.DeleteFiles(ctx, []string{"/a/b", "/a/c", "/a/absent"})
	if err != nil || n != 3 {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	if _, err := d.URLFor(ctx, "/a/b", nil); !errors.Is(err, driver.ErrUnsupportedMethod) {
		t.Fatalf("URLFor = %v, want unsupported", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.List(cctx, "/"); err == nil {
		t.Fatal("List with a cancelled context succeeded")
	}
	if err := d.PutContent(ctx, "/w/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var walked int
	if err := d.Walk(ctx, "/", func(driver.FileInfo) error { walked++; return nil }); err != nil || walked != 2 {
		t.Fatalf("Walk = %v after %d entries, want 2", err, walked)
	}

	ops := map[string]float64{
		"PutContent": 2, "GetContent": 1, "Reader": 2, "Writer": 1, "Writer.Commit": 1, "Writer.Close": 1,
		"Stat": 1, "DeleteFiles": 2, "URLFor": 1, "List": 1, "Walk": 1, "Move": 0,
	}
	for op, want := range ops {
		if got := value(t, reg, "stowage_operations_total", lbl("driver", "inmemory", "operation", op)); got != want {
			t.Errorf("operations_total{%s} = %v, want %v", op, got, want)
		}
		if got := scrape(t, reg, "stowage_operation_duration_seconds", lbl("driver", "inmemory", "operation", op)).count; got != want {
			t.Errorf("operation_duration_seconds_count{%s} = %v, want %v", op, got, want)
		}
	}
	errs := []struct {
		op, kind string
	}{
		{"Stat", instrument.KindNotFound},
		{"Reader", instrument.KindInvalidOffset},
		{"DeleteFiles", instrument.KindInvalidPath},
		{"URLFor", instrument.KindUnsupported},
		{"List", instrument.KindCanceled},
	}
	for _, e := range errs {
		if got := value(t, reg, "stowage_operation_errors_total", lbl("driver", "inmemory", "operation", e.op, "kind", e.kind)); got != 1 {
			t.Errorf("operation_errors_total{%s,%s} = %v, want 1", e.op, e.kind, got)
		}
	}
	if got := errorSeries(t, reg); got != len(errs) {
		t.Errorf("%d error series, want %d", got, len(errs))
	}
	bytesWant := []struct {
		metric, op string
		want       float64
	}{
		{"stowage_written_bytes_total", "PutContent", 6},
		{"stowage_written_bytes_total", "Writer", 10},
		{"stowage_read_bytes_total", "GetContent", 5},
		{"stowage_read_bytes_total", "Reader", 4},
	}
	for _, b := range bytesWant {
		if got := value(t, reg, b.metric, lbl("driver", "inmemory", "operation", b.op)); got != b.want {
			t.Errorf("%s{%s} = %v, want %v", b.metric, b.op, got, b.want)
		}
	}
	if got := value(t, reg, "stowage_delete_files_paths_total", lbl("driver", "inmemory")); got != 5 {
		t.Errorf("delete_files_paths_total = %v, want 5", got)
	}
	if got := value(t, reg, "stowage_walk_entries_total", lbl("driver", "inmemory")); got != 2 {
		t.Errorf("walk_entries_total = %v, want 2", got)
	}
}

// errorSeries counts the series of operation_errors_total.
func errorSeries(t *testing.T, g prometheus.Gatherer) int {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "stowage_operation_errors_total" {
			return len(f.GetMetric())
		}
	}
	return 0
}

// A DeleteFiles whose paths partly fail counts the failures, and its
// error kind is that of the causes.
func TestDeleteFilesFailures(t *testing.T) {
	in, rec := newInstrument(t)
	cause := &driver.TooManyRequestsError{DriverName: "fake", Cause: errors.New("slow down")}
	d := in.Wrap(failingDeletes{StorageDriver: inmemory.New(), cause: cause})
	n, err := d.DeleteFiles(context.Background(), []string{"/a", "/b", "/c"})
	if n != 1 || err == nil {
		t.Fatalf("DeleteFiles = %d, %v; want 1 and an error", n, err)
	}
	reg := in.Registry()
	if got := value(t, reg, "stowage_delete_files_failures_total", lbl("driver", "inmemory")); got != 2 {
		t.Errorf("delete_files_failures_total = %v, want 2", got)
	}
	if got := value(t, reg, "stowage_operation_errors_total", lbl("driver", "inmemory", "operation", "DeleteFiles", "kind", "too_many_requests")); got != 1 {
		t.Errorf("operation_errors_total{DeleteFiles,too_many_requests} = %v, want 1", got)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	attrs := attrMap(spans[0])
	if attrs["stowage.paths.count"] != attribute.IntValue(3) || attrs["stowage.deleted.count"] != attribute.IntValue(1) ||
		attrs["stowage.failed.count"] != attribute.IntValue(2) {
		t.Errorf("DeleteFiles span attributes = %v", attrs)
	}
	if spans[0].Status().Code != codes.Error {
		t.Errorf("DeleteFiles span status = %v, want Error", spans[0].Status())
	}
}

// failingDeletes is a driver whose DeleteFiles fails every path but the
// first with cause: a double for the instrument's own bookkeeping.
type failingDeletes struct {
	driver.StorageDriver
	cause error
}

func (f failingDeletes) DeleteFiles(_ context.Context, paths []string) (int, error) {
	e := &driver.DeleteFilesError{DriverName: f.Name()}
	for _, p := range paths[1:] {
		e.Failures = append(e.Failures, driver.DeleteFailure{Path: p, Err: f.cause})
	}
	return 1, e
}

func attrMap(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// Every operation is one span named after it, with the driver and path,
// and an error status when it failed.
func TestSpans(t *testing.T) {
	in, rec := newInstrument(t)
	d := in.Wrap(inmemory.New())
	ctx := context.Background()
	if err := d.PutContent(ctx, "/x/y", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetContent(ctx, "/x/y"); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(ctx, "/x/y", "/x/z"); err != nil {
		t.Fatal(err)
	}
	_, statErr := d.Stat(ctx, "/x/y")
	if !driver.IsNotFound(statErr) {
		t.Fatalf("Stat after Move = %v", statErr)
	}
	if _, err := d.DeleteFiles(ctx, []string{"/x/z"}); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	want := []struct {
		name  string
		attrs map[string]attribute.Value
		err   bool
	}{
		{"stowage.PutContent", map[string]attribute.Value{"stowage.path": attribute.StringValue("/x/y"), "stowage.bytes": attribute.IntValue(3)}, false},
		{"stowage.GetContent", map[string]attribute.Value{"stowage.path": attribute.StringValue("/x/y"), "stowage.bytes": attribute.IntValue(3)}, false},
		{"stowage.Move", map[string]attribute.Value{"stowage.path": attribute.StringValue("/x/y"), "stowage.dest_path": attribute.StringValue("/x/z")}, false},
		{"stowage.Stat", map[string]attribute.Value{"stowage.path": attribute.StringValue("/x/y")}, true},
		{"stowage.DeleteFiles", map[string]attribute.Value{"stowage.paths.count": attribute.IntValue(1), "stowage.deleted.count": attribute.IntValue(1)}, false},
	}
	if len(spans) != len(want) {
		t.Fatalf("%d spans, want %d", len(spans), len(want))
	}
	for i, w := range want {
		s := spans[i]
		if s.Name() != w.name {
			t.Errorf("span %d is %s, want %s", i, s.Name(), w.name)
			continue
		}
		attrs := attrMap(s)
		if attrs["stowage.driver"] != attribute.StringValue("inmemory") {
			t.Errorf("%s: stowage.driver = %v", s.Name(), attrs["stowage.driver"])
		}
		for k, v := range w.attrs {
			if attrs[k] != v {
				t.Errorf("%s: %s = %v, want %v", s.Name(), k, attrs[k], v)
			}
		}
		if got := s.Status().Code == codes.Error; got != w.err {
			t.Errorf("%s: status %v, want error %v", s.Name(), s.Status(), w.err)
		}
		if w.err {
			var recorded bool
			for _, e := range s.Events() {
				if e.Name == "exception" {
					recorded = true
				}
			}
			if !recorded || s.Status().Description != statErr.Error() {
				t.Errorf("%s: error not recorded (events %v, status %v)", s.Name(), s.Events(), s.Status())
			}
		}
	}
}

// A purge of an upload StagedUploads cannot have listed counts as
// invalid_upload; a Writer refusing bytes past the backend's limit (no
// local backend has one: the error is classified directly) as
// file_too_large, behind the backend's own error type.
func TestUploadErrorKinds(t *testing.T) {
	in, _ := newInstrument(t)
	d := in.Wrap(inmemory.New())
	reg := in.Registry()
	err := d.(driver.UploadStager).PurgeStagedUpload(context.Background(), driver.StagedUpload{Path: "/a", ID: "not-an-id"})
	if !errors.As(err, new(*driver.InvalidUploadError)) {
		t.Fatalf("PurgeStagedUpload with a garbage ID = %v, want a *driver.InvalidUploadError", err)
	}
	if got := value(t, reg, "stowage_operation_errors_total", lbl("driver", "inmemory", "operation", "PurgeStagedUpload", "kind", instrument.KindInvalidUpload)); got != 1 {
		t.Errorf("operation_errors_total{PurgeStagedUpload,invalid_upload} = %v, want 1", got)
	}
	tooLarge := &driver.OpError{DriverName: "s3", Op: "Writer", Path: "/big", Err: &s3.PartLimitError{Path: "/big", MaxParts: 10000}}
	if got := instrument.ErrorKind(tooLarge); got != instrument.KindFileTooLarge {
		t.Errorf("ErrorKind(%v) = %q, want %q", tooLarge, got, instrument.KindFileTooLarge)
	}
}

// The wrapped driver keeps the optional interfaces of the inner one, and
// its capabilities.
func TestKeepsInterfaces(t *testing.T) {
	in, _ := newInstrument(t)
	d := in.Wrap(inmemory.New())
	if _, ok := d.(driver.UploadStager); !ok {
		t.Error("wrapped inmemory is no UploadStager")
	}
	if _, ok := d.(driver.ServerSideCopier); ok {
		t.Error("wrapped inmemory is a ServerSideCopier; inmemory is not")
	}
	if got, want := driver.CapabilitiesOf(d), driver.CapabilitiesOf(inmemory.New()); got != want {
		t.Errorf("Capabilities = %+v, want %+v", got, want)
	}
	bare := in.Wrap(plain{inmemory.New()})
	if _, ok := bare.(driver.UploadStager); ok {
		t.Error("a driver without StagedUploads became an UploadStager")
	}
	if u, ok := d.(interface{ Unwrap() driver.StorageDriver }); !ok || u.Unwrap().Name() != "inmemory" {
		t.Error("no Unwrap")
	}
}

// plain hides every method but the StorageDriver's.
type plain struct{ driver.StorageDriver }

// WriteText prints the non-zero series, sorted.
func TestWriteText(t *testing.T) {
	in, _ := newInstrument(t)
	d := in.Wrap(inmemory.New())
	ctx := context.Background()
	if err := d.PutContent(ctx, "/a", []byte("12")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(ctx, "/b"); err == nil {
		t.Fatal("Stat(/b) succeeded")
	}
	in.Retried("s3", errors.New("503"))
	in.DeleteBatch("s3", 1000, 0)
	in.DeleteBatch("s3", 500, 2)
	var b bytes.Buffer
	if err := in.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if !strings.HasPrefix(l, "stowage_operation_duration_seconds_sum") {
			lines = append(lines, l)
		}
	}
	want := []string{
		`stowage_delete_batch_failures_total{driver="s3"} 2`,
		`stowage_delete_batch_size_count{driver="s3"} 2`,
		`stowage_delete_batch_size_sum{driver="s3"} 1500`,
		`stowage_operation_duration_seconds_count{driver="inmemory",operation="PutContent"} 1`,
		`stowage_operation_duration_seconds_count{driver="inmemory",operation="Stat"} 1`,
		`stowage_operation_errors_total{driver="inmemory",kind="not_found",operation="Stat"} 1`,
		`stowage_operations_total{driver="inmemory",operation="PutContent"} 1`,
		`stowage_operations_total{driver="inmemory",operation="Stat"} 1`,
		`stowage_retries_total{driver="s3"} 1`,
		`stowage_written_bytes_total{driver="inmemory",operation="PutContent"} 2`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("WriteText:\n%s\nwant (durations' sums aside):\n%s", b.String(), strings.Join(want, "\n"))
	}
}

// Two Instruments on one Registerer share its series; the Registerer sees
// what the Instrument's own registry sees.
func TestSharedRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := instrument.New(instrument.Options{Registerer: reg})
	b := instrument.New(instrument.Options{Registerer: reg})
	a.Retried("gcs", nil)
	b.Retried("gcs", nil)
	b.RateLimited("gcs", 1500*time.Millisecond)
	if got := value(t, reg, "stowage_retries_total", lbl("driver", "gcs")); got != 2 {
		t.Errorf("retries_total = %v, want 2", got)
	}
	if got := value(t, a.Registry(), "stowage_rate_limit_wait_seconds_total", lbl("driver", "gcs")); got != 1.5 {
		t.Errorf("rate_limit_wait_seconds_total = %v, want 1.5", got)
	}
	if got := value(t, reg, "stowage_rate_limit_waits_total", lbl("driver", "gcs")); got != 1 {
		t.Errorf("rate_limit_waits_total = %v, want 1", got)
	}
	c := instrument.New(instrument.Options{Registerer: reg, Namespace: "other"})
	c.Retried("gcs", nil)
	if got := value(t, reg, "other_retries_total", lbl("driver", "gcs")); got != 1 {
		t.Errorf("other_retries_total = %v, want 1", got)
	}
}
