package azure_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// stager returns d as a driver.UploadStager or fails t.
func stager(t testing.TB, d driver.StorageDriver) driver.UploadStager {
	t.Helper()
	st, ok := d.(driver.UploadStager)
	if !ok {
		t.Fatalf("%T does not implement driver.UploadStager", d)
	}
	return st
}

// stagedPaths lists the staged uploads of st by path, sorted.
func stagedPaths(t testing.TB, st driver.UploadStager) ([]string, map[string]driver.StagedUpload) {
	t.Helper()
	list, err := st.StagedUploads(context.Background())
	if err != nil {
		t.Fatalf("StagedUploads: %v", err)
	}
	byPath := map[string]driver.StagedUpload{}
	var paths []string
	for _, u := range list {
		byPath[u.Path] = u
		paths = append(paths, u.Path)
	}
	sort.Strings(paths)
	return paths, byPath
}

// Uploads left by another driver instance (another process) are listed by
// one List Blobs of the staging prefix: a closed upload with data blocks,
// an empty closed one (a marker block only), a closed server-side
// continuation of a committed file (the staging blob holds a committed
// copy), and a staging blob that an earlier version's Cancel left with a
// "cancelled" marker; not a cancelled upload, a committed one, or the
// uploads of a driver rooted below this one. Purging the continuation
// sends one Delete Blob and leaves the file; the file then continues
// afresh. A bad path or an ID that is not the path's staging blob is
// refused without a request.
func TestStagedUploadsAcrossDrivers(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	before := time.Now()
	w1, _ := writerDriver(t, root)

	w := cloudtest.Session(t, w1, "/x/a", false, 0, cloudtest.PatternBytes(100*kib))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = cloudtest.Session(t, w1, "/x/b", false, 0, nil)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Cancelled after staging a block: the staging blob must go.
	w = cloudtest.Session(t, w1, "/x/cancelled", false, 0, cloudtest.PatternBytes(70*kib))
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	w = cloudtest.Session(t, w1, "/x/committed", false, 0, cloudtest.PatternBytes(70*kib))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// A server-side continuation of a committed file, closed.
	content := cloudtest.PatternBytes(130 * kib)
	w = cloudtest.Session(t, w1, "/x/d", false, 0, content)
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	w = cloudtest.Session(t, w1, "/x/d", true, int64(len(content)), []byte("more"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Left by an earlier version's Cancel.
	old := m.c.NewBlockBlobClient(stagingName(root, "/x/old"))
	cancelled := base64.StdEncoding.EncodeToString([]byte("stowage-00000001-ffffffff"))
	if _, err := old.StageBlock(ctx, cancelled, nopSeeker([]byte{0}), nil); err != nil {
		t.Fatal(err)
	}
	// Another root, below this one.
	sub, _ := writerDriver(t, root+"/sub")
	w = cloudtest.Session(t, sub, "/x/a", false, 0, []byte("sub"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	d, o := writerDriver(t, root)
	st := stager(t, d)
	paths, got := stagedPaths(t, st)
	cloudtest.WantOps(t, "StagedUploads", o.Take(), map[string]int{"ListBlobs": 1})
	if want := []string{"/x/a", "/x/b", "/x/d", "/x/old"}; !slices.Equal(paths, want) {
		t.Fatalf("StagedUploads lists %v, want %v", paths, want)
	}
	for _, p := range paths {
		u := got[p]
		if u.ID != stagingName(root, p) || u.Pieces != 1 || u.Size != 0 {
			t.Errorf("%s: %+v, want ID %s, 1 piece, size 0 (unknown)", p, u, stagingName(root, p))
		}
		if u.Started.IsZero() || u.Started.Before(before.Add(-5*time.Minute)) {
			t.Errorf("%s: Started %v, the test began at %v", p, u.Started, before)
		}
	}

	// Refused without a request, nothing deleted.
	var ip *driver.InvalidPathError
	if err := st.PurgeStagedUpload(ctx, driver.StagedUpload{Path: "x/d", ID: got["/x/d"].ID}); !errors.As(err, &ip) {
		t.Errorf("PurgeStagedUpload of a relative path: %v, want InvalidPathError", err)
	}
	for what, u := range map[string]driver.StagedUpload{
		"the file's blob as ID": {Path: "/x/d", ID: root + "/x/d"},
		"another path's ID":     {Path: "/x/d", ID: got["/x/a"].ID},
		"an empty ID":           {Path: "/x/d"},
		"a longer ID":           {Path: "/x/d", ID: got["/x/d"].ID + "x"},
	} {
		var ie *driver.InvalidUploadError
		if err := st.PurgeStagedUpload(ctx, u); !errors.As(err, &ie) || ie.DriverName != azure.DriverName || ie.Upload != u {
			t.Errorf("PurgeStagedUpload with %s: %v, want a *driver.InvalidUploadError", what, err)
		}
	}
	cloudtest.WantOps(t, "refused purges", o.Take(), map[string]int{})

	for _, p := range []string{"/x/d", "/x/old"} {
		if err := st.PurgeStagedUpload(ctx, got[p]); err != nil {
			t.Fatalf("PurgeStagedUpload(%s): %v", p, err)
		}
		cloudtest.WantOps(t, "PurgeStagedUpload", o.Take(), map[string]int{"DeleteBlob": 1})
		if err := st.PurgeStagedUpload(ctx, got[p]); err != nil {
			t.Fatalf("PurgeStagedUpload(%s) again: %v", p, err)
		}
		cloudtest.WantOps(t, "PurgeStagedUpload again", o.Take(), map[string]int{"DeleteBlob": 1})
	}
	if got := m.get(root + "/x/d"); !bytes.Equal(got, content) {
		t.Fatalf("/x/d reads %d bytes after the purge, want the %d committed", len(got), len(content))
	}
	if paths, _ := stagedPaths(t, st); !slices.Equal(paths, []string{"/x/a", "/x/b"}) {
		t.Fatalf("after the purges StagedUploads lists %v, want /x/a and /x/b", paths)
	}
	w = cloudtest.Session(t, d, "/x/d", true, int64(len(content)), nil)
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	w = cloudtest.Session(t, d, "/x/a", true, 100*kib, nil)
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if paths, _ := stagedPaths(t, st); !slices.Equal(paths, []string{"/x/b"}) {
		t.Fatalf("after cancelling /x/a and /x/d StagedUploads lists %v, want /x/b", paths)
	}
}

// Cancel deletes the staging blob only while it is the cancelled
// upload's: a writer cancelled after a later Writer(path, false) started
// a newer upload of the path leaves that upload resumable.
func TestCancelLeavesNewerUpload(t *testing.T) {
	root := freshRoot(t)
	ctx := context.Background()
	d, o := writerDriver(t, root)
	older := cloudtest.Session(t, d, "/f", false, 0, cloudtest.PatternBytes(70*kib))
	newer := cloudtest.Session(t, d, "/f", false, 0, []byte("newer"))
	if err := newer.Close(); err != nil {
		t.Fatal(err)
	}
	o.Take()
	if err := older.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Cancel of the older writer", o.Take(), map[string]int{"GetBlockList": 1})
	w := cloudtest.Session(t, d, "/f", true, int64(len("newer")), nil)
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := string(newIndependent(t).get(root + "/f")); got != "newer" {
		t.Errorf("azblob reads %q, want %q", got, "newer")
	}
}
