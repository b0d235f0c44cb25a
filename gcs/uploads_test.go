package gcs_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// closeUpload writes content to a new Writer of d for p and closes it
// without committing.
func closeUpload(t *testing.T, d driver.StorageDriver, p string, content []byte) {
	t.Helper()
	w, err := d.Writer(context.Background(), p, false)
	if err != nil {
		t.Fatalf("Writer(%s): %v", p, err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatalf("Write(%s): %v", p, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%s): %v", p, err)
	}
}

// Uploads closed by one driver instance are listed by another, as a new
// process would see them, with one list request for all of them (parts,
// a marker, a continued file's copy): each with its path, the size
// Writer(append) resumes from, its piece count and its start. Purging one
// costs one list and one batch request, again one list and nothing else;
// afterwards Writer(append) finds nothing to resume, while the other
// uploads still resume, and the continued file is untouched.
func TestStagedUploadsAcrossDrivers(t *testing.T) {
	root := freshRoot(t)
	ctx := context.Background()
	before := time.Now()
	w1, _ := writerDriver(t, root)
	closeUpload(t, w1, "/a/parts", cloudtest.PatternBytes(gcs.MinChunkSize+10)) // a part and the Close tail
	closeUpload(t, w1, "/b/marker", nil)                                        // an empty marker
	if err := w1.PutContent(ctx, "/c/file", []byte("committed")); err != nil {
		t.Fatal(err)
	}
	w, err := w1.Writer(ctx, "/c/file", true) // the copy of the file
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("+more")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	d, o := writerDriver(t, root)
	o.Take()
	got := cloudtest.StagedByPath(t, d)
	cloudtest.WantOps(t, "StagedUploads of three uploads", o.Take(), map[string]int{"List": 1})
	want := map[string]driver.StagedUpload{
		"/a/parts":  {Size: gcs.MinChunkSize + 10, Pieces: 2},
		"/b/marker": {Size: 0, Pieces: 1},
		"/c/file":   {Size: int64(len("committed+more")), Pieces: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("StagedUploads = %+v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
	for p, wu := range want {
		u := got[p]
		if u.Path != p || u.Size != wu.Size || u.Pieces != wu.Pieces || u.ID == "" {
			t.Errorf("%s: %+v, want size %d and %d pieces", p, u, wu.Size, wu.Pieces)
		}
		if u.Started.Before(before.Add(-time.Minute)) || u.Started.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: Started %v, the test began at %v", p, u.Started, before)
		}
	}

	st := d.(driver.UploadStager)
	for _, p := range []string{"/a/parts", "/c/file"} {
		if err := st.PurgeStagedUpload(ctx, got[p]); err != nil {
			t.Fatalf("PurgeStagedUpload(%s): %v", p, err)
		}
		cloudtest.WantOps(t, "PurgeStagedUpload of "+p, o.Take(), map[string]int{"List": 1, "Batch": 1})
		if err := st.PurgeStagedUpload(ctx, got[p]); err != nil {
			t.Fatalf("PurgeStagedUpload(%s) again: %v", p, err)
		}
		if ops := o.Take(); ops["List"] != 1 || len(ops) != 1 {
			t.Errorf("PurgeStagedUpload of a purged upload: %v, want one list request", ops)
		}
	}
	if _, err := d.Writer(ctx, "/a/parts", true); !driver.IsNotFound(err) {
		t.Errorf("Writer(/a/parts, append) after the purge: %v, want PathNotFoundError", err)
	}
	if b, err := d.GetContent(ctx, "/c/file"); err != nil || string(b) != "committed" {
		t.Errorf("/c/file after purging its continuation: %q, %v", b, err)
	}
	w, err = d.Writer(ctx, "/b/marker", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := cloudtest.StagedByPath(t, d); len(got) != 0 {
		t.Errorf("StagedUploads after purging two and committing one: %+v", got)
	}
}

// An upload left by a version that did not record its path (parts with no
// metadata, written here by a plain SDK client under the hashed prefix) is
// listed with Path "" and its size, still resumes, and is purged by its
// ID.
func TestStagedUploadsWithoutRecordedPath(t *testing.T) {
	root := freshRoot(t)
	ctx := context.Background()
	m := newIndependent(t)
	old := uploadPrefix(root, "/old")
	m.put(old+"00000000000000000000", []byte("0123456789"))
	m.put(old+"00000000000000000010", []byte("abc"))
	m.put(old+"00000000000000000099", []byte("stale")) // does not follow: not counted

	d, o := writerDriver(t, root)
	o.Take()
	got := cloudtest.StagedByPath(t, d)
	cloudtest.WantOps(t, "StagedUploads", o.Take(), map[string]int{"List": 1})
	u, ok := got[""]
	if len(got) != 1 || !ok {
		t.Fatalf("StagedUploads = %+v, want one upload with Path \"\"", got)
	}
	if u.Size != 13 || u.Pieces != 3 || !strings.Contains(old, "/"+u.ID+"/") {
		t.Errorf("the old upload: %+v, want size 13, 3 pieces, ID in %s", u, old)
	}
	w, err := d.Writer(ctx, "/old", true)
	if err != nil || w.Size() != 13 {
		t.Fatalf("Writer(/old, append) of the old upload: %v (size %v)", err, w)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.(driver.UploadStager).PurgeStagedUpload(ctx, u); err != nil {
		t.Fatalf("PurgeStagedUpload by ID: %v", err)
	}
	if names := m.names(root + "/"); len(names) != 0 {
		t.Errorf("after the purge the bucket holds %v", names)
	}
}

// A StagedUpload that StagedUploads cannot have returned (an ID that is
// not a hash, one of another path, an invalid path) is refused with a
// typed error before any request, and nothing is deleted.
func TestPurgeStagedUploadInvalid(t *testing.T) {
	root := freshRoot(t)
	ctx := context.Background()
	d, o := writerDriver(t, root)
	closeUpload(t, d, "/a", []byte("abc"))
	closeUpload(t, d, "/b", []byte("abc"))
	ups := cloudtest.StagedByPath(t, d)
	a := ups["/a"]
	o.Take()
	st := d.(driver.UploadStager)
	for _, u := range []driver.StagedUpload{
		{},
		{ID: "../"},
		{ID: strings.ToUpper(a.ID), Path: "/a"},
		{ID: a.ID + "0"},
		{ID: a.ID, Path: "/b"},
		{ID: "", Path: "/a"},
	} {
		err := st.PurgeStagedUpload(ctx, u)
		var ie *driver.InvalidUploadError
		if !errors.As(err, &ie) || ie.DriverName != gcs.DriverName || ie.Upload != u {
			t.Errorf("PurgeStagedUpload(%+v) = %v, want a *driver.InvalidUploadError naming gcs and the upload", u, err)
		}
	}
	var ip *driver.InvalidPathError
	if err := st.PurgeStagedUpload(ctx, driver.StagedUpload{ID: a.ID, Path: "a//"}); !errors.As(err, &ip) {
		t.Errorf("PurgeStagedUpload with an invalid path = %v, want *driver.InvalidPathError", err)
	}
	if ops := o.Take(); len(ops) != 0 {
		t.Errorf("refused purges sent %v", ops)
	}
	if got := cloudtest.StagedByPath(t, d); len(got) != 2 || got["/a"].ID != a.ID {
		t.Errorf("after the refused purges: %+v, want /a and /b as they were", got)
	}
}
