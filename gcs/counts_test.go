package gcs_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// DeleteFiles of 2,000 distinct paths: exactly 20 batch requests and
// nothing else, and the objects are gone for an independent client.
func TestCountDeleteFiles2000(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()

	paths := append(numbered("/a", 1000), numbered("/b/c", 1000)...)
	keep := []string{"/a/keep", "/b/keep"}
	putAll(t, d, append(slices.Clone(paths), keep...))
	o.Take()

	// Absent paths and directory paths count as deleted, in the same batches.
	n, err := d.DeleteFiles(ctx, append(slices.Clone(paths), paths[:10]...))
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles(%d paths) = %d, %v", len(paths), n, err)
	}
	wantOps(t, "DeleteFiles of 2,000 paths", o.Take(), map[string]int{"Batch": 20})

	m := newIndependent(t)
	if got, want := m.names(root+"/"), namesOf(root, keep); !slices.Equal(got, want) {
		t.Errorf("the SDK lists %v after DeleteFiles, want %v", got, want)
	}

	n, err = d.DeleteFiles(ctx, []string{"/a", "/b", "/missing", "/a/f00001"})
	if err != nil || n != 4 {
		t.Fatalf("DeleteFiles of directories and absent paths = %d, %v; want 4, nil", n, err)
	}
	wantOps(t, "DeleteFiles of 4 absent paths", o.Take(), map[string]int{"Batch": 1})
	if got, want := m.names(root+"/"), namesOf(root, keep); !slices.Equal(got, want) {
		t.Errorf("the SDK lists %v after deleting directory paths, want %v", got, want)
	}
}

// DeleteFiles with one invalid path sends no request and deletes nothing.
func TestCountDeleteFilesInvalidPath(t *testing.T) {
	root := freshRoot(t)
	hc, c, _ := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	putAll(t, d, []string{"/a", "/b"})
	before := c.Total()
	n, err := d.DeleteFiles(context.Background(), []string{"/a", "/b/../a", "/b"})
	var ipe *driver.InvalidPathError
	if n != 0 || !errors.As(err, &ipe) {
		t.Errorf("DeleteFiles with an invalid path = %d, %v; want 0 and an InvalidPathError", n, err)
	}
	if sent := c.Total() - before; sent != 0 {
		t.Errorf("DeleteFiles with an invalid path sent %d requests, want 0", sent)
	}
	if got := newIndependent(t).names(root + "/"); len(got) != 2 {
		t.Errorf("the SDK lists %v, want both files", got)
	}
}

// Walk over 2,500 objects sends 3 list requests; Delete of the directory
// holding them sends 3 list and 25 batch requests and leaves the prefix
// siblings.
func TestCountWalkAndDelete2500(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()

	var files []string
	for i, dir := range []string{"/a/b/x", "/a/b/y/z", "/a/b"} {
		files = append(files, numbered(dir, []int{1200, 800, 500}[i])...)
	}
	siblings := []string{"/a/bc", "/a/b-c/f", "/a/b.d", "/a/c"}
	putAll(t, d, files)
	putAll(t, d, siblings)
	o.Take()

	var walked int
	err := d.Walk(ctx, "/a/b", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			walked++
		}
		return nil
	})
	if err != nil || walked != len(files) {
		t.Fatalf("Walk(/a/b) = %v after %d files, want %d files", err, walked, len(files))
	}
	wantOps(t, "Walk over 2,500 objects", o.Take(), map[string]int{"List": 3})

	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatalf("Delete(/a/b): %v", err)
	}
	wantOps(t, "Delete of a directory of 2,500 files", o.Take(), map[string]int{"List": 3, "Batch": 25})

	m := newIndependent(t)
	if got, want := m.names(root+"/"), namesOf(root, siblings); !slices.Equal(got, want) {
		t.Errorf("the SDK lists %v after Delete(/a/b), want %v", got, want)
	}
}

// Delete of a directory whose name is followed by many siblings sorting
// before "dir/" ("dir-x", "dir.x") restarts its listing at "dir/" instead
// of paging through them; Delete of a file is one list and one batch.
func TestCountDeleteSkipsSiblings(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()

	siblings := numbered("/a/b-x", 1500)
	inside := numbered("/a/b", 3)
	putAll(t, d, append(slices.Clone(siblings), inside...))
	putAll(t, d, []string{"/a/b.f"})
	o.Take()

	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatalf("Delete(/a/b): %v", err)
	}
	// Page 1: 1,000 siblings; then the restart at "a/b/" lists the 3 files.
	wantOps(t, "Delete next to 1,500 siblings", o.Take(), map[string]int{"List": 2, "Batch": 1})

	if err := d.Delete(ctx, "/a/b.f"); err != nil {
		t.Fatalf("Delete(/a/b.f): %v", err)
	}
	wantOps(t, "Delete of a file", o.Take(), map[string]int{"List": 1, "Batch": 1})
	if got, want := newIndependent(t).names(root+"/"), namesOf(root, siblings); !slices.Equal(got, want) {
		t.Errorf("the SDK lists %d objects after the deletes, want the %d siblings", len(got), len(want))
	}
	err := d.Delete(ctx, "/a/b")
	var nf *driver.PathNotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("Delete of a deleted directory: %v, want PathNotFoundError", err)
	}
}

// A directory skipped with ErrSkipDir that spans pages is jumped over with
// a new startOffset, not paged through; a start-after hint goes to the
// server.
func TestWalkSkipJumpsAhead(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()

	big := numbered("/a", 2500)
	after := []string{"/b/f", "/c"}
	putAll(t, d, append(slices.Clone(big), after...))
	o.Take()

	var got []string
	err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		got = append(got, driver.WalkKey(fi.Path(), fi.IsDir()))
		if fi.Path() == "/a" {
			return driver.ErrSkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/a/", "/b/", "/b/f", "/c"}; !slices.Equal(got, want) {
		t.Errorf("Walk skipping /a visits %v, want %v", got, want)
	}
	// Page 1 holds 1,000 objects of /a; the next request starts past /a.
	wantOps(t, "Walk skipping a 2,500-file directory", o.Take(), map[string]int{"List": 2})

	var (
		files []string
		mu    = make(chan struct{}, 1)
	)
	err = d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			mu <- struct{}{}
			files = append(files, fi.Path())
			<-mu
		}
		return nil
	}, driver.WithParallel(4), driver.WithStartAfter("/a/f01999"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	want := append(slices.Clone(big[2000:]), after...)
	if !slices.Equal(files, want) {
		t.Errorf("parallel Walk after /a/f01999 visits %d files (%v...), want %d", len(files), head(files), len(want))
	}
	wantOps(t, "Walk from a hint", o.Take(), map[string]int{"List": 1})
}

// The driver's hidden objects never show: an uncommitted upload at the
// root leaves List, Walk and Stat of "/" as they were, and its objects sort
// after everything.
func TestHiddenUploadsInvisible(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()
	putAll(t, d, []string{"/z", "/y/x"})
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
	wantOps(t, "List and Walk of /", o.Take(), map[string]int{"List": 2})
	if _, err := d.Stat(ctx, "/pending"); !errors.As(err, new(*driver.PathNotFoundError)) {
		t.Errorf("Stat(/pending) before Commit: %v, want PathNotFoundError", err)
	}
}

func head(s []string) string {
	if len(s) > 3 {
		s = s[:3]
	}
	return strings.Join(s, " ")
}
