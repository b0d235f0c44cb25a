package swift_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// sloDriver is a driver over root whose files above 2 MiB stay static
// large objects.
func sloDriver(t *testing.T, root string) (driver.StorageDriver, *cloudtest.Ops) {
	return writerDriver(t, root, func(c *configT) { c.MaxFileSize = 2 * mib })
}

// commitSLO writes content to p in one session and commits it.
func commitSLO(t *testing.T, d driver.StorageDriver, p string, content []byte) {
	t.Helper()
	w := cloudtest.Session(t, d, p, false, 0, content)
	if err := w.Commit(context.Background()); err != nil {
		t.Fatalf("Commit(%s): %v", p, err)
	}
}

// DeleteFiles of static large objects (files committed above
// MaxFileSize) deletes their segments with them, through the driver that
// committed them and through a new one (another process, which finds
// the root's SLO index at New); plain files and missing paths in the same
// call go as before, and nothing is left in either container. A moved
// SLO is deleted with its segments at its new path.
func TestDeleteFilesRemovesSLOSegments(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, _ := sloDriver(t, root)
	content := cloudtest.PatternBytes(5*mib + 1)
	commitSLO(t, d, "/big/a", content)
	commitSLO(t, d, "/big/b", content)
	commitSLO(t, d, "/big/c", content)
	if err := d.Move(ctx, "/big/c", "/moved/c"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if err := d.PutContent(ctx, "/plain", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if segs := m.names(m.segments, root+"/"); len(segs) == 0 {
		t.Fatal("no segments stored for the SLO files")
	}

	n, err := d.DeleteFiles(ctx, []string{"/big/a", "/plain", "/missing"})
	if err != nil || n != 3 {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	d2, o := sloDriver(t, root) // a new process
	o.Take()
	n, err = d2.DeleteFiles(ctx, []string{"/big/b", "/moved/c"})
	if err != nil || n != 2 {
		t.Fatalf("DeleteFiles through a new driver = %d, %v", n, err)
	}
	// The index listing (a page and the empty one); per SLO file a HEAD,
	// the manifest's GET, its multipart-manifest=delete and a bulk delete
	// of the committed marker and index entry.
	cloudtest.WantOps(t, "DeleteFiles of two SLO files", o.Take(),
		map[string]int{"List": 2, "Head": 2, "GetManifest": 2, "DeleteManifest": 2, "BulkDelete": 2})
	if left := m.keys(root + "/"); len(left) != 0 {
		t.Errorf("DeleteFiles left %v in the container", left)
	}
	if segs := m.names(m.segments, root+"/"); len(segs) != 0 {
		t.Errorf("DeleteFiles of SLO files left %d objects in the segments container, e.g. %s", len(segs), segs[0])
	}
}

// An indexed SLO path overwritten by a plain file is deleted as a plain
// file: the driver falls back to a plain DELETE when Swift reports "Not
// an SLO manifest" (a multipart-manifest=delete would keep the object and
// answer 200).
func TestDeleteFilesOverwrittenSLO(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, _ := sloDriver(t, root)
	commitSLO(t, d, "/f", cloudtest.PatternBytes(3*mib))
	if err := d.PutContent(ctx, "/f", []byte("plain now")); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeleteFiles(ctx, []string{"/f"}); err != nil || n != 1 {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	if left := m.keys(root + "/"); len(left) != 0 {
		t.Errorf("DeleteFiles of an overwritten SLO path left %v", left)
	}
	if _, err := d.Stat(ctx, "/f"); !driver.IsNotFound(err) {
		t.Errorf("Stat after DeleteFiles = %v, want not found", err)
	}
}

// Delete of a directory holding an SLO file removes the file's segments
// and its index entry too.
func TestDeleteSLOThroughDelete(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, _ := sloDriver(t, root)
	content := cloudtest.PatternBytes(3 * mib)
	commitSLO(t, d, "/dir/f", content)
	if got, err := d.GetContent(ctx, "/dir/f"); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent = %d bytes, %v", len(got), err)
	}
	if err := d.Delete(ctx, "/dir"); err != nil {
		t.Fatal(err)
	}
	if left := slices.Concat(m.keys(root+"/"), m.names(m.segments, root+"/")); len(left) != 0 {
		t.Errorf("Delete of an SLO file's directory left %v", left)
	}
}
