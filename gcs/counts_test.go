package gcs_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// DeleteFiles of 2,000 distinct paths: exactly 20 batch requests and
// nothing else, and the objects are gone for an independent client. Then
// duplicates, absent paths and directory paths count as deleted, in the
// same batch: 100 distinct paths and 10 repeated take one.
func TestCountDeleteFiles2000(t *testing.T) {
	b := backend()
	var root string
	fresh := b.Root
	b.Root = func(t testing.TB) string { root = fresh(t); return root }
	d, o := cloudtest.CountDeleteFiles2000(t, b, map[string]int{"Batch": 20})
	ctx := context.Background()

	files := cloudtest.Numbered("/d", 96)
	cloudtest.PutAll(t, d, files)
	paths := append(slices.Clone(files), "/a", "/b", "/missing", "/a/f00001")
	o.Take()
	n, err := d.DeleteFiles(ctx, append(paths, paths[:10]...))
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles of files, directories, absent and repeated paths = %d, %v; want %d, nil", n, err, len(paths))
	}
	cloudtest.WantOps(t, "DeleteFiles of 100 distinct paths and 10 repeated", o.Take(), map[string]int{"Batch": 1})
	if got, want := b.Keys(t, root+"/"), cloudtest.KeysOf(root, []string{"/a/keep", "/b/keep"}); !slices.Equal(got, want) {
		t.Errorf("the SDK lists %v after deleting directory paths, want %v", got, want)
	}
}

// DeleteFiles with one invalid path sends no request and deletes nothing.
func TestCountDeleteFilesInvalidPath(t *testing.T) {
	cloudtest.CountDeleteFilesInvalidPath(t, backend())
}

// Walk over 2,500 objects sends 3 list requests, List of their parent
// one; Delete of the directory holding them sends 3 list and 25 batch
// requests and leaves the prefix siblings.
func TestCountWalkAndDelete2500(t *testing.T) {
	cloudtest.CountWalkAndDelete2500(t, backend(), cloudtest.WalkDeleteCounts{
		Walk:   map[string]int{"List": 3},
		List:   map[string]int{"List": 1},
		Delete: map[string]int{"List": 3, "Batch": 25},
	})
}

// Delete of a directory whose name is followed by many siblings sorting
// before "dir/" ("dir-x", "dir.x") restarts its listing at "dir/" instead
// of paging through them; Delete of a file is one list and one batch.
func TestCountDeleteSkipsSiblings(t *testing.T) {
	root := freshRoot(t)
	d, _, o := backend().Counting(t, root)
	ctx := context.Background()

	siblings := cloudtest.Numbered("/a/b-x", 1500)
	inside := cloudtest.Numbered("/a/b", 3)
	cloudtest.PutAll(t, d, append(slices.Clone(siblings), inside...))
	cloudtest.PutAll(t, d, []string{"/a/b.f"})
	o.Take()

	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatalf("Delete(/a/b): %v", err)
	}
	// Page 1: 1,000 siblings; then the restart at "a/b/" lists the 3 files.
	cloudtest.WantOps(t, "Delete next to 1,500 siblings", o.Take(), map[string]int{"List": 2, "Batch": 1})

	if err := d.Delete(ctx, "/a/b.f"); err != nil {
		t.Fatalf("Delete(/a/b.f): %v", err)
	}
	cloudtest.WantOps(t, "Delete of a file", o.Take(), map[string]int{"List": 1, "Batch": 1})
	if got, want := newIndependent(t).names(root+"/"), cloudtest.KeysOf(root, siblings); !slices.Equal(got, want) {
		t.Errorf("the SDK lists %d objects after the deletes, want the %d siblings", len(got), len(want))
	}
	if err := d.Delete(ctx, "/a/b"); !driver.IsNotFound(err) {
		t.Errorf("Delete of a deleted directory: %v, want PathNotFoundError", err)
	}
}

// A directory skipped with ErrSkipDir that spans pages (of 1,000
// objects) is jumped over with a new startOffset, not paged through; a
// start-after hint goes to the server.
func TestWalkSkipJumpsAhead(t *testing.T) {
	cloudtest.WalkSkipJumpsAhead(t, backend(), 2500, 2000, "List")
}

// The driver's hidden objects never show: an uncommitted upload at the
// root leaves List, Walk and Stat of "/" as they were, and its objects sort
// after everything.
func TestHiddenUploadsInvisible(t *testing.T) {
	root := freshRoot(t)
	d, _, o := backend().Counting(t, root)
	ctx := context.Background()
	cloudtest.PutAll(t, d, []string{"/z", "/y/x"})
	w, err := d.Writer(ctx, "/pending", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("uncommitted")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if hidden := newIndependent(t).names(root + "/~stowage/"); len(hidden) != 1 {
		t.Fatalf("hidden objects %v, want one part", hidden)
	}
	o.Take()
	list, err := d.List(ctx, "/")
	if want := []string{"/y", "/z"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List(/) = %v, %v; want %v", list, err, want)
	}
	var walked []string
	err = d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		walked = append(walked, fi.Path())
		return nil
	})
	if want := []string{"/y", "/y/x", "/z"}; err != nil || !slices.Equal(walked, want) {
		t.Errorf("Walk(/) = %v, %v; want %v", walked, err, want)
	}
	cloudtest.WantOps(t, "List and Walk of /", o.Take(), map[string]int{"List": 2})
	if _, err := d.Stat(ctx, "/pending"); !driver.IsNotFound(err) {
		t.Errorf("Stat(/pending) before Commit: %v, want PathNotFoundError", err)
	}
}
