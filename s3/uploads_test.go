package s3_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/transport"
)

// stagerDriver is writerDriver as a driver.UploadStager.
func stagerDriver(t testing.TB, root string) (driver.StorageDriver, driver.UploadStager, *cloudtest.Ops) {
	t.Helper()
	d, o := writerDriver(t, root, nil)
	st, ok := d.(driver.UploadStager)
	if !ok {
		t.Fatalf("%T does not implement driver.UploadStager", d)
	}
	return d, st, o
}

// closeUpload writes content to a new Writer of p on d and closes it.
func closeUpload(t testing.TB, d driver.StorageDriver, p string, content []byte) {
	t.Helper()
	w := cloudtest.Session(t, d, p, false, 0, content)
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%s): %v", p, err)
	}
}

// Uploads closed by one driver instance are listed by another (as by
// stowage uploads in another process) with two flat listings under a
// root directory, which MinIO can only answer without a prefix; purging
// one aborts its upload and deletes its tail, and nothing else.
func TestStagedUploadsAcrossDrivers(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	before := time.Now()
	d, _ := writerDriver(t, root, nil)
	closeUpload(t, d, "/tail-only", []byte("three bytes"))                       // an upload without parts, and a tail
	closeUpload(t, d, "/part-and-tail", cloudtest.PatternBytes(6*mib))           // part 1, and a 1 MiB tail
	closeUpload(t, d, "/part-only", cloudtest.PatternBytes(5*mib))               // part 1, no tail
	if err := d.PutContent(ctx, "/part-only", []byte("committed")); err != nil { // the file it would replace
		t.Fatal(err)
	}

	_, st, o := stagerDriver(t, root)
	got := cloudtest.StagedByPath(t, st)
	cloudtest.WantOps(t, "StagedUploads", o.Take(), map[string]int{"ListMultipartUploads": 1, "ListObjectsV2": 1})
	if len(got) != 3 {
		t.Fatalf("StagedUploads = %+v, want the three closed uploads", got)
	}
	for p, pieces := range map[string]int{"/tail-only": 2, "/part-and-tail": 2, "/part-only": 1} {
		u := got[p]
		if u.Pieces != pieces || u.Size != 0 || !strings.HasPrefix(u.ID, "upload/") {
			t.Errorf("%s: %+v, want %d pieces, size 0 (unknown), an upload ID", p, u, pieces)
		}
		if u.Started.Before(before.Add(-time.Minute)) || u.Started.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: Started %v, the test began at %v", p, u.Started, before)
		}
	}

	for _, p := range []string{"/part-and-tail", "/part-only"} {
		if err := st.PurgeStagedUpload(ctx, got[p]); err != nil {
			t.Fatalf("PurgeStagedUpload(%s): %v", p, err)
		}
		cloudtest.WantOps(t, "PurgeStagedUpload", o.Take(), map[string]int{"AbortMultipartUpload": 1, "DeleteObject": 1})
		if err := st.PurgeStagedUpload(ctx, got[p]); err != nil {
			t.Fatalf("PurgeStagedUpload(%s) again: %v", p, err)
		}
		o.Take()
		if up := m.uploads(root + p); len(up) != 0 {
			t.Errorf("uploads of %s after the purge: %v", p, up)
		}
	}
	if left := cloudtest.StagedByPath(t, st); len(left) != 1 || left["/tail-only"].ID != got["/tail-only"].ID {
		t.Fatalf("after two purges: %+v, want /tail-only alone", left)
	}
	if tl := tails(m, root); len(tl) != 1 {
		t.Errorf("tails after the purges: %v, want /tail-only's", tl)
	}
	if b := m.get(root + "/part-only"); string(b) != "committed" {
		t.Errorf("the committed file reads %q after its upload's purge", b)
	}
	if _, err := d.Writer(ctx, "/part-and-tail", true); !errors.As(err, new(*driver.PathNotFoundError)) {
		t.Errorf("Writer(/part-and-tail, append) after the purge: %v, want a PathNotFoundError", err)
	}
	w := cloudtest.Session(t, d, "/tail-only", true, int64(len("three bytes")), []byte(", resumed"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if b := m.get(root + "/tail-only"); string(b) != "three bytes, resumed" {
		t.Errorf("the other upload commits %q", b)
	}
	if left := cloudtest.StagedByPath(t, st); len(left) != 0 {
		t.Errorf("after the last commit: %+v, want none", left)
	}
}

// A tail whose upload was aborted behind the driver's back (as an
// AbortIncompleteMultipartUpload lifecycle rule does, leaving the tail
// object) is listed with the path and upload its metadata records, its
// exact size and its time, at one HeadObject; purging it deletes it, and
// the path has nothing to resume any more.
func TestStagedUploadsTailWithoutUpload(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, st, o := stagerDriver(t, root)
	closeUpload(t, d, "/dir/orphan", []byte("0123456789"))
	up := m.uploads(root + "/dir/orphan")
	if len(up) != 1 {
		t.Fatalf("uploads %v, want one", up)
	}
	if err := m.c.RemoveIncompleteUpload(ctx, m.bucket, root+"/dir/orphan"); err != nil {
		t.Fatal(err)
	}
	o.Take()

	got := cloudtest.StagedByPath(t, st)
	cloudtest.WantOps(t, "StagedUploads", o.Take(), map[string]int{"ListMultipartUploads": 1, "ListObjectsV2": 1, "HeadObject": 1})
	u, ok := got["/dir/orphan"]
	if len(got) != 1 || !ok {
		t.Fatalf("StagedUploads = %+v, want /dir/orphan's tail", got)
	}
	if u.ID != "upload/"+up[0] || u.Size != 10 || u.Pieces != 1 || time.Since(u.Started) > time.Minute || time.Until(u.Started) > time.Minute {
		t.Errorf("%+v: want ID upload/%s, size 10, 1 piece, started now", u, up[0])
	}
	if err := st.PurgeStagedUpload(ctx, u); err != nil {
		t.Fatalf("PurgeStagedUpload: %v", err)
	}
	if tl := tails(m, root); len(tl) != 0 {
		t.Errorf("tails after the purge: %v", tl)
	}
	if left := cloudtest.StagedByPath(t, st); len(left) != 0 {
		t.Errorf("after the purge: %+v", left)
	}
	if _, err := d.Writer(ctx, "/dir/orphan", true); !errors.As(err, new(*driver.PathNotFoundError)) {
		t.Errorf("Writer(append) after the purge: %v, want a PathNotFoundError", err)
	}
}

// A tail without an upload that records none (as written before tails
// recorded theirs) is listed under its own hidden key, which no file can
// have, and purging it deletes that object alone.
func TestStagedUploadsOldTail(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	name := strings.Repeat("ab", 20)
	m.put(root+"/~stowage/tails/"+name, []byte("old tail"))
	m.put(root+"/file", []byte("committed"))
	_, st, _ := stagerDriver(t, root)

	got := cloudtest.StagedByPath(t, st)
	u, ok := got["/~stowage/tails/"+name]
	if len(got) != 1 || !ok || u.ID != "tail/"+name || u.Size != 8 || u.Pieces != 1 {
		t.Fatalf("StagedUploads = %+v, want the old tail under its key", got)
	}
	if err := st.PurgeStagedUpload(ctx, u); err != nil {
		t.Fatalf("PurgeStagedUpload: %v", err)
	}
	if err := st.PurgeStagedUpload(ctx, u); err != nil {
		t.Fatalf("PurgeStagedUpload again: %v", err)
	}
	if keys := m.keys(root + "/"); len(keys) != 1 || keys[0] != root+"/file" {
		t.Errorf("keys after the purge: %v, want the file alone", keys)
	}
}

// A StagedUpload that StagedUploads cannot have returned is a typed error
// and sends no request.
func TestPurgeStagedUploadBadInput(t *testing.T) {
	root := freshRoot(t)
	_, st, o := stagerDriver(t, root)
	ctx := context.Background()
	o.Take()
	for _, u := range []driver.StagedUpload{
		{Path: "/a//b", ID: "upload/x"},
		{Path: "/", ID: "upload/x"},
		{Path: "", ID: "upload/x"},
	} {
		if err := st.PurgeStagedUpload(ctx, u); !errors.As(err, new(*driver.InvalidPathError)) {
			t.Errorf("PurgeStagedUpload(%+v) = %v, want an InvalidPathError", u, err)
		}
	}
	for _, u := range []driver.StagedUpload{
		{Path: "/a", ID: ""},
		{Path: "/a", ID: "upload/"},
		{Path: "/a", ID: "x"},
		{Path: "/a", ID: "tail/"},
		{Path: "/a", ID: "tail/../../a"},
		{Path: "/a", ID: "tail/" + strings.Repeat("AB", 20)},
		{Path: "/a", ID: "tail/" + strings.Repeat("ab", 19)},
	} {
		var ie *driver.InvalidUploadError
		if err := st.PurgeStagedUpload(ctx, u); !errors.As(err, &ie) || ie.DriverName != "s3" || ie.Upload != u || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("PurgeStagedUpload(%+v) = %v, want a *driver.InvalidUploadError for the id", u, err)
		}
	}
	cloudtest.WantOps(t, "bad input", o.Take(), map[string]int{})
}

// Under 503 SlowDown answers, resets before and after the server saw the
// request and cut bodies on a third of the requests, StagedUploads lists
// what it lists without faults, and purges (whose lost answers are
// retried) remove the uploads and report no error.
func TestStagedUploadsUnderFaults(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, st, _ := stagerDriver(t, root)
	closeUpload(t, d, "/a", []byte("tail of a"))
	closeUpload(t, d, "/b", cloudtest.PatternBytes(5*mib+1))
	closeUpload(t, d, "/c", []byte("tail of c"))
	if err := m.c.RemoveIncompleteUpload(ctx, m.bucket, root+"/c"); err != nil { // a tail without upload
		t.Fatal(err)
	}
	want := cloudtest.StagedByPath(t, st)

	faults := &transport.Faults{
		Base: http.DefaultTransport, Seed: 7, Rate: 0.35, Body: transport.SlowDownBody,
		Kinds: []transport.FaultKind{transport.FaultStatus, transport.FaultReset, transport.FaultResetAfter, transport.FaultCutBody},
	}
	fd := backend().New(t, root, &http.Client{Transport: faults}, cloudtest.Options{})
	fst := fd.(driver.UploadStager)
	got := cloudtest.StagedByPath(t, fst)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("StagedUploads under faults:\n%+v\nwant\n%+v", got, want)
	}
	for p, u := range got {
		if err := fst.PurgeStagedUpload(ctx, u); err != nil {
			t.Fatalf("PurgeStagedUpload(%s) under faults: %v", p, err)
		}
	}
	if faults.Total() == 0 {
		t.Fatal("no fault injected")
	}
	if left := cloudtest.StagedByPath(t, st); len(left) != 0 {
		t.Errorf("after the purges: %+v", left)
	}
	if tl := tails(m, root); len(tl) != 0 {
		t.Errorf("tails after the purges: %v", tl)
	}
}
