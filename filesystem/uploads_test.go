package filesystem_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/filesystem"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

var _ driver.UploadStager = (*filesystem.Driver)(nil)

// uploadDirOf is the staging directory of path under root, as the package
// documents it: the hex SHA-256 of the path under #stowage/uploads.
func uploadDirOf(root, path string) string {
	sum := sha256.Sum256([]byte(path))
	return filepath.Join(root, bookDir, "uploads", hex.EncodeToString(sum[:]))
}

// TestStagedUploadsFromAnotherDriver: uploads a driver (another process,
// say) staged and abandoned are listed by a second driver over the root,
// which purges one of them; the first driver then has nothing to resume,
// and a continued committed file stays as it was.
func TestStagedUploadsFromAnotherDriver(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "root")
	d1 := newDriver(t, root)
	cloudtest.StageUpload(t, d1, "/a/b", "12345")
	if err := d1.PutContent(ctx, "/c", []byte("committed")); err != nil {
		t.Fatal(err)
	}
	w, err := d1.Writer(ctx, "/c", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(" more")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	d2 := newDriver(t, root)
	got := cloudtest.StagedByPath(t, d2)
	if len(got) != 2 || got["/a/b"].Size != 5 || got["/c"].Size != int64(len("committed more")) ||
		got["/a/b"].Pieces != 1 || got["/c"].Pieces != 1 {
		t.Fatalf("StagedUploads = %+v, want /a/b (5 bytes) and /c (14), one piece each", got)
	}
	for _, p := range []string{"/a/b", "/c"} {
		if err := d2.PurgeStagedUpload(ctx, got[p]); err != nil {
			t.Fatalf("PurgeStagedUpload(%s): %v", p, err)
		}
	}
	if _, err := d1.Writer(ctx, "/a/b", true); !driver.IsNotFound(err) {
		t.Errorf("Writer(/a/b, append) after the purge: %v, want not found", err)
	}
	if b, err := d1.GetContent(ctx, "/c"); err != nil || string(b) != "committed" {
		t.Errorf("/c after the purge = %q, %v; want the committed file", b, err)
	}
	if left := osEntries(t, filepath.Join(root, bookDir, "uploads")); len(left) != 0 {
		t.Errorf("staging left after the purges: %v", left)
	}
}

// TestPurgeStagedUploadLeavesNewerUpload: an upload listed, then replaced
// by a new Writer for the same path, is gone; purging the listed one must
// not remove the new one, whose staging directory has the same name.
func TestPurgeStagedUploadLeavesNewerUpload(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t, filepath.Join(t.TempDir(), "root"))
	cloudtest.StageUpload(t, d, "/a", "old")
	old := cloudtest.StagedByPath(t, d)["/a"]
	cloudtest.StageUpload(t, d, "/a", "newer")
	if err := d.PurgeStagedUpload(ctx, old); err != nil {
		t.Fatalf("PurgeStagedUpload of the replaced upload: %v", err)
	}
	w, err := d.Writer(ctx, "/a", true)
	if err != nil || w.Size() != 5 {
		t.Fatalf("the newer upload after the purge: %v, %v; want it resumed at 5 bytes", w, err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPurgeStagedUploadOpenWriter: purging the upload of a Writer still
// open makes its Commit fail, and nothing is committed.
func TestPurgeStagedUploadOpenWriter(t *testing.T) {
	ctx := context.Background()
	d := newDriver(t, filepath.Join(t.TempDir(), "root"))
	w, err := d.Writer(ctx, "/a", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := d.PurgeStagedUpload(ctx, cloudtest.StagedByPath(t, d)["/a"]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err == nil {
		t.Fatal("Commit of a purged upload succeeded")
	}
	if _, err := d.Stat(ctx, "/a"); !driver.IsNotFound(err) {
		t.Errorf("Stat(/a) after the failed Commit: %v, want not found", err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStagedUploadsOldAndBrokenState: a staging directory whose sidecar
// names only the path (written before sidecars carried an upload id) is
// listed with its path; one without a sidecar (a crash while the upload
// started) or whose sidecar names another path is listed with no path.
// All of them can be purged.
func TestStagedUploadsOldAndBrokenState(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "root")
	d := newDriver(t, root)
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(uploadDirOf(root, "/old"), "path"), "/old\n")
	write(filepath.Join(uploadDirOf(root, "/old"), "data"), "1234")
	if err := os.MkdirAll(uploadDirOf(root, "/nosidecar"), 0o777); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(uploadDirOf(root, "/other"), "path"), "/elsewhere\n")

	list, err := d.StagedUploads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var unnamed []driver.StagedUpload
	var old driver.StagedUpload
	for _, u := range list {
		switch u.Path {
		case "":
			unnamed = append(unnamed, u)
		case "/old":
			old = u
		default:
			t.Errorf("listed %+v", u)
		}
	}
	if old.Size != 4 || old.Pieces != 1 || old.Started.IsZero() {
		t.Errorf("old-style upload listed as %+v, want /old with 4 bytes in 1 piece", old)
	}
	if len(unnamed) != 2 || unnamed[0].Pieces != 0 || unnamed[1].Pieces != 0 {
		t.Errorf("uploads with no valid sidecar listed as %+v, want two, no path, no pieces", unnamed)
	}
	if w, err := d.Writer(ctx, "/old", true); err != nil || w.Size() != 4 {
		t.Fatalf("old-style upload does not resume: %v", err)
	} else if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, u := range list {
		if err := d.PurgeStagedUpload(ctx, u); err != nil {
			t.Errorf("PurgeStagedUpload(%+v): %v", u, err)
		}
	}
	if left := osEntries(t, filepath.Join(root, bookDir, "uploads")); len(left) != 0 {
		t.Errorf("staging left after the purges: %v", left)
	}
}

// TestPurgeStagedUploadBadInput: an ID that does not name a staging
// directory, or an invalid path, is a typed error and removes nothing.
func TestPurgeStagedUploadBadInput(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "root")
	d := newDriver(t, root)
	cloudtest.StageUpload(t, d, "/a", "abc")
	u := cloudtest.StagedByPath(t, d)["/a"]
	other := cloudtest.StagedByPath(t, d)["/a"]
	other.Path = "/b" // not the path the upload's directory is named by
	for _, bad := range []driver.StagedUpload{
		{Path: u.Path, ID: ""},
		{Path: u.Path, ID: "../../.."},
		{Path: u.Path, ID: "zz"},
		{Path: u.Path, ID: u.ID + "/x/y"},
		other,
	} {
		var ie *driver.InvalidUploadError
		if err := d.PurgeStagedUpload(ctx, bad); !errors.As(err, &ie) || ie.DriverName != filesystem.DriverName || ie.Upload != bad {
			t.Errorf("PurgeStagedUpload(%+v) = %v, want a *driver.InvalidUploadError", bad, err)
		}
	}
	badPath := u
	badPath.Path = "a/../b"
	var pathErr *driver.InvalidPathError
	if err := d.PurgeStagedUpload(ctx, badPath); !errors.As(err, &pathErr) {
		t.Errorf("PurgeStagedUpload(Path %q) = %v, want a *driver.InvalidPathError", badPath.Path, err)
	}
	if got := cloudtest.StagedByPath(t, d); len(got) != 1 || got["/a"] != u {
		t.Fatalf("after bad purges: %+v; want %+v untouched", got, u)
	}
}
