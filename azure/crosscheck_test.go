package azure_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// After DeleteFiles and Delete, an independent azblob client lists exactly
// what must be left: the driver cannot agree with itself by mistake.
func TestCrossCheckDeletes(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d := newDriver(t, testConfig(t, root, nil))
	ctx := context.Background()
	files := []string{"/a/b/c", "/a/b/d/e", "/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/r", "/q/rs", "/q/r-s", "/x/1", "/x/2", "/x/3"}
	putAll(t, d, files)

	n, err := d.DeleteFiles(ctx, []string{"/x/1", "/x/3", "/x/3", "/x/missing", "/a"})
	if err != nil || n != 4 {
		t.Fatalf("DeleteFiles = %d, %v; want 4 (3 unique files and a missing one; /a is a directory)", n, err)
	}
	want := namesOf(root, []string{"/a/b/c", "/a/b/d/e", "/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/r", "/q/rs", "/q/r-s", "/x/2"})
	if got := m.names(root + "/"); !slices.Equal(got, want) {
		t.Fatalf("azblob lists %v after DeleteFiles, want %v", got, want)
	}

	// A directory, then a file, each with prefix siblings on both sides.
	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "/q/r"); err != nil {
		t.Fatal(err)
	}
	want = namesOf(root, []string{"/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/rs", "/q/r-s", "/x/2"})
	if got := m.names(root + "/"); !slices.Equal(got, want) {
		t.Fatalf("azblob lists %v after Delete(/a/b) and Delete(/q/r), want %v", got, want)
	}
	if err := d.Delete(ctx, "/a/b"); !isNotFound(err) {
		t.Errorf("second Delete(/a/b) = %v, want PathNotFoundError", err)
	}
}

// Blobs written by another client are read, listed and walked; names that
// are not valid paths (a trailing slash, empty components, spaces, "+")
// are left out of listings but deleted with their directory, through the
// blob batch's URL escaping.
func TestCrossCheckForeignBlobs(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d := newDriver(t, testConfig(t, root, nil))
	ctx := context.Background()
	content := patternBytes(100_000)
	m.put(root+"/dir/file", content)
	for _, junk := range []string{"/dir/with space", "/dir/sub/x+y", "/dir/sub//z", "/dir/sub/%41"} {
		m.put(root+junk, []byte("junk"))
	}
	got, err := d.GetContent(ctx, "/dir/file")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent of an azblob blob = %d bytes, %v", len(got), err)
	}
	if l, err := d.List(ctx, "/dir"); err != nil || !slices.Equal(l, []string{"/dir/file", "/dir/sub"}) {
		t.Errorf("List(/dir) = %v, %v", l, err)
	}
	var walked []string
	if err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		walked = append(walked, driver.WalkKey(fi.Path(), fi.IsDir()))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/dir/", "/dir/file"}; !slices.Equal(walked, want) {
		t.Errorf("Walk(/) = %v, want %v", walked, want)
	}
	if err := d.Delete(ctx, "/dir"); err != nil {
		t.Fatal(err)
	}
	if left := m.names(root + "/"); len(left) != 0 {
		t.Errorf("azblob lists %v after Delete(/dir)", left)
	}
}

// Move of a 9 MiB blob that another client committed from blocks: the copy
// is server-side, azblob reads it back whole, and a second Move of the
// gone source changes nothing.
func TestCrossCheckMoveBlockBlob(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d := newDriver(t, testConfig(t, root, nil))
	ctx := context.Background()
	content := patternBytes(9<<20 + 3)
	bb := m.c.NewBlockBlobClient(root + "/src")
	if _, err := bb.UploadBuffer(ctx, content, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(ctx, "/src", "/dst/x"); err != nil {
		t.Fatal(err)
	}
	if got := m.get(root + "/dst/x"); !bytes.Equal(got, content) {
		t.Errorf("azblob reads %d bytes after Move, want %d", len(got), len(content))
	}
	if got, want := m.names(root+"/"), []string{root + "/dst/x"}; !slices.Equal(got, want) {
		t.Errorf("azblob lists %v after Move, want %v", got, want)
	}
	if err := d.Move(ctx, "/src", "/dst/y"); !isNotFound(err) {
		t.Errorf("Move of a missing source = %v, want PathNotFoundError", err)
	}
}
