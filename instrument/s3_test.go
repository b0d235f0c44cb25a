package instrument_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/instrument"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/testenv"
	_ "github.com/stowage-dev/stowage/s3"
)

// openS3 opens the s3 backend on the test server under a fresh root, with
// in as its observer and extra parameters, and wraps it with in.
func openS3(t *testing.T, in *instrument.Instrument, extra map[string]any) driver.StorageDriver {
	t.Helper()
	params := testenv.Params(t, "s3", "")
	params[driver.ObserverParam] = in
	for k, v := range extra {
		params[k] = v
	}
	d, err := driver.Open(context.Background(), "s3", params)
	if err != nil {
		t.Fatalf("open s3: %v", err)
	}
	return in.Wrap(d)
}

// A DeleteFiles of 2,000 paths on S3 is two DeleteObjects batches of
// 1,000, which the backend reports to the Instrument as its observer.
func TestS3DeleteFilesBatches(t *testing.T) {
	in, rec := newInstrument(t)
	d := openS3(t, in, nil)
	paths := cloudtest.Numbered("/d", 2000)
	cloudtest.PutAll(t, d, paths)
	var written float64
	for _, p := range paths {
		written += float64(len(p))
	}
	n, err := d.DeleteFiles(context.Background(), paths)
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles = %d, %v; want %d", n, err, len(paths))
	}
	if _, err := d.List(context.Background(), "/d"); !driver.IsNotFound(err) {
		t.Fatalf("List(/d) after DeleteFiles = %v, want not found", err)
	}

	reg := in.Registry()
	s3 := lbl("driver", "s3")
	if b := scrape(t, reg, "stowage_delete_batch_size", s3); b.count != 2 || b.sum != 2000 {
		t.Errorf("delete_batch_size: count %v sum %v, want 2 and 2000", b.count, b.sum)
	}
	if got := value(t, reg, "stowage_delete_batch_failures_total", s3); got != 0 {
		t.Errorf("delete_batch_failures_total = %v, want 0", got)
	}
	if got := value(t, reg, "stowage_delete_files_paths_total", s3); got != 2000 {
		t.Errorf("delete_files_paths_total = %v, want 2000", got)
	}
	if got := value(t, reg, "stowage_operations_total", lbl("driver", "s3", "operation", "DeleteFiles")); got != 1 {
		t.Errorf("operations_total{DeleteFiles} = %v, want 1", got)
	}
	if got := value(t, reg, "stowage_operations_total", lbl("driver", "s3", "operation", "PutContent")); got != 2000 {
		t.Errorf("operations_total{PutContent} = %v, want 2000", got)
	}
	if got := value(t, reg, "stowage_written_bytes_total", lbl("driver", "s3", "operation", "PutContent")); got != written {
		t.Errorf("written_bytes_total{PutContent} = %v, want %v", got, written)
	}
	if got := errorSeries(t, reg); got != 1 { // List(/d) not found
		t.Errorf("%d error series, want 1 (List not found)", got)
	}

	spans := rec.Ended()
	if len(spans) != 2002 {
		t.Fatalf("%d spans, want 2,002 (2,000 PutContent, DeleteFiles, List)", len(spans))
	}
	del := spans[2000]
	attrs := attrMap(del)
	if del.Name() != "stowage.DeleteFiles" || attrs["stowage.driver"] != attribute.StringValue("s3") ||
		attrs["stowage.paths.count"] != attribute.IntValue(2000) || attrs["stowage.deleted.count"] != attribute.IntValue(2000) {
		t.Errorf("span %s with %v, want stowage.DeleteFiles of 2,000 paths on s3", del.Name(), attrs)
	}
	var text bytes.Buffer
	if err := in.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`stowage_delete_batch_size_count{driver="s3"} 2`,
		`stowage_delete_batch_size_sum{driver="s3"} 2000`,
		`stowage_delete_files_paths_total{driver="s3"} 2000`,
		`stowage_operations_total{driver="s3",operation="DeleteFiles"} 1`,
	} {
		if !strings.Contains(text.String(), line+"\n") {
			t.Errorf("WriteText has no line %s:\n%s", line, text.String())
		}
	}
}

// Keys a DeleteObjects answer reports as failed with a transient per-key
// code are sent again in a second round, which the core reports as a
// retry: the retry, both batches and the failed keys are counted.
func TestS3RetriedDeleteRound(t *testing.T) {
	in, _ := newInstrument(t)
	// The first DeleteObjects answer reports its first three keys failed
	// with transient per-key codes (the server deleted them all, so the
	// retry round finds them gone).
	codes := []string{"InternalError", "SlowDown", "ServiceUnavailable"}
	rw := &cloudtest.S3DeleteAnswers{Errors: func(n int, keys []string) map[string]string {
		if n > 1 {
			return nil
		}
		failed := map[string]string{}
		for i, code := range codes {
			failed[keys[i]] = code
		}
		return failed
	}}
	d := openS3(t, in, map[string]any{driver.HTTPClientParam: &http.Client{Transport: rw}})
	paths := cloudtest.Numbered("/r", 10)
	cloudtest.PutAll(t, d, paths)
	n, err := d.DeleteFiles(context.Background(), paths)
	if err != nil || n != 10 {
		t.Fatalf("DeleteFiles = %d, %v; want 10", n, err)
	}
	if n := rw.Requests(); n != 2 {
		t.Fatalf("%d DeleteObjects requests, want 2", n)
	}
	reg := in.Registry()
	s3 := lbl("driver", "s3")
	if got := value(t, reg, "stowage_retries_total", s3); got != 1 {
		t.Errorf("retries_total = %v, want 1", got)
	}
	if b := scrape(t, reg, "stowage_delete_batch_size", s3); b.count != 2 || b.sum != 13 {
		t.Errorf("delete_batch_size: count %v sum %v, want 2 and 13", b.count, b.sum)
	}
	if got := value(t, reg, "stowage_delete_batch_failures_total", s3); got != 3 {
		t.Errorf("delete_batch_failures_total = %v, want 3", got)
	}
	if got := value(t, reg, "stowage_delete_files_failures_total", s3); got != 0 {
		t.Errorf("delete_files_failures_total = %v, want 0", got)
	}
}

// The wrapped s3 driver is still a ServerSideCopier and an UploadStager,
// and CopyFrom recognises a wrapped s3 source: the copy is server-side.
func TestS3KeepsInterfaces(t *testing.T) {
	in, rec := newInstrument(t)
	src := openS3(t, in, nil)
	dst := openS3(t, in, nil)
	ctx := context.Background()
	if _, ok := dst.(driver.UploadStager); !ok {
		t.Error("wrapped s3 is no UploadStager")
	}
	c, ok := dst.(driver.ServerSideCopier)
	if !ok {
		t.Fatal("wrapped s3 is no ServerSideCopier")
	}
	if err := src.PutContent(ctx, "/c/src", []byte("copied")); err != nil {
		t.Fatal(err)
	}
	copied, err := c.CopyFrom(ctx, src, "/c/src", "/c/dst")
	if err != nil || !copied {
		t.Fatalf("CopyFrom = %v, %v; want a server-side copy", copied, err)
	}
	if b, err := dst.GetContent(ctx, "/c/dst"); err != nil || string(b) != "copied" {
		t.Fatalf("GetContent of the copy = %q, %v", b, err)
	}
	for _, d := range []driver.StorageDriver{src, dst} {
		if err := d.Delete(ctx, "/c"); err != nil {
			t.Fatal(err)
		}
	}
	if got := value(t, in.Registry(), "stowage_operations_total", lbl("driver", "s3", "operation", "CopyFrom")); got != 1 {
		t.Errorf("operations_total{CopyFrom} = %v, want 1", got)
	}
	var found bool
	for _, s := range rec.Ended() {
		if s.Name() == "stowage.CopyFrom" {
			a := attrMap(s)
			found = a["stowage.path"] == attribute.StringValue("/c/src") && a["stowage.dest_path"] == attribute.StringValue("/c/dst") &&
				a["stowage.copied"] == attribute.BoolValue(true)
		}
	}
	if !found {
		t.Error("no stowage.CopyFrom span with its paths")
	}
}
