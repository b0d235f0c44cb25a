package cloudtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// CountDeleteFiles2000 checks that DeleteFiles of 2,000 distinct paths in
// two directories sends exactly want (the provider's bulk deletes) and
// nothing else, and that the files are gone for b.Keys while their
// neighbours stay. It returns the driver and its classifier, for the
// backend's own further checks.
func CountDeleteFiles2000(t *testing.T, b Backend, want map[string]int) (driver.StorageDriver, *Ops) {
	t.Helper()
	root := b.Root(t)
	d, _, o := b.Counting(t, root)
	paths := append(Numbered("/a", 1000), Numbered("/b/c", 1000)...)
	keep := []string{"/a/keep", "/b/keep"}
	PutAll(t, d, append(slices.Clone(paths), keep...))
	o.Take()

	n, err := d.DeleteFiles(context.Background(), paths)
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles(%d paths) = %d, %v", len(paths), n, err)
	}
	WantOps(t, "DeleteFiles of 2,000 paths", o.Take(), want)
	if got, want := b.Keys(t, root+"/"), KeysOf(root, keep); !slices.Equal(got, want) {
		t.Errorf("%s lists %v after DeleteFiles, want %v", b.Name, got, want)
	}
	return d, o
}

// CountDeleteFilesInvalidPath checks that DeleteFiles with one invalid path
// among valid ones sends no request and deletes nothing.
func CountDeleteFilesInvalidPath(t *testing.T, b Backend) {
	t.Helper()
	root := b.Root(t)
	d, c, _ := b.Counting(t, root)
	PutAll(t, d, []string{"/a", "/b"})
	before := c.Total()
	n, err := d.DeleteFiles(context.Background(), []string{"/a", "/b/../a", "/b"})
	var ipe *driver.InvalidPathError
	if n != 0 || !errors.As(err, &ipe) {
		t.Errorf("DeleteFiles with an invalid path = %d, %v; want 0 and an InvalidPathError", n, err)
	}
	if sent := c.Total() - before; sent != 0 {
		t.Errorf("DeleteFiles with an invalid path sent %d requests, want 0", sent)
	}
	if got := b.Keys(t, root+"/"); len(got) != 2 {
		t.Errorf("%s lists %v, want both files", b.Name, got)
	}
}

// WalkDeleteCounts are the requests CountWalkAndDelete2500 wants for each
// step.
type WalkDeleteCounts struct {
	Walk, List, Delete map[string]int
}

// CountWalkAndDelete2500 stores 2,500 files in and under /a/b, with prefix
// siblings of /a/b ("/a/bc", "/a/b-c/f", "/a/b.d") and "/a/c", and checks
// that Walk(/a/b) visits every file, List(/a) shows the five entries and
// Delete(/a/b) leaves exactly the siblings, each sending exactly what want
// says.
func CountWalkAndDelete2500(t *testing.T, b Backend, want WalkDeleteCounts) {
	t.Helper()
	root := b.Root(t)
	d, _, o := b.Counting(t, root)
	ctx := context.Background()

	var files []string
	for i, dir := range []string{"/a/b/x", "/a/b/y/z", "/a/b"} {
		files = append(files, Numbered(dir, []int{1200, 800, 500}[i])...)
	}
	siblings := []string{"/a/bc", "/a/b-c/f", "/a/b.d", "/a/c"}
	PutAll(t, d, files)
	PutAll(t, d, siblings)
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
	WantOps(t, "Walk over 2,500 files", o.Take(), want.Walk)

	list, err := d.List(ctx, "/a")
	if wantList := []string{"/a/b", "/a/b-c", "/a/b.d", "/a/bc", "/a/c"}; err != nil || !slices.Equal(list, wantList) {
		t.Errorf("List(/a) = %v, %v; want %v", list, err, wantList)
	}
	WantOps(t, "List next to 2,500 files", o.Take(), want.List)

	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatalf("Delete(/a/b): %v", err)
	}
	WantOps(t, "Delete of a directory of 2,500 files", o.Take(), want.Delete)
	if got, want := b.Keys(t, root+"/"), KeysOf(root, siblings); !slices.Equal(got, want) {
		t.Errorf("%s lists %v after Delete(/a/b), want %v", b.Name, got, want)
	}
}

// WalkSkipJumpsAhead stores n files in /a (more than a listing page of
// the driver b.New builds, fewer than two) and two after it, and checks
// that a directory skipped with ErrSkipDir is jumped over, not paged
// through: two list requests, the second starting past /a. Then a parallel
// walk from a start-after hint at file from of /a sends one list request
// and visits exactly the files after the hint. list is the provider's
// name for a list request.
func WalkSkipJumpsAhead(t *testing.T, b Backend, n, from int, list string) {
	t.Helper()
	root := b.Root(t)
	d, _, o := b.Counting(t, root)
	ctx := context.Background()

	big := Numbered("/a", n)
	after := []string{"/b/f", "/c"}
	PutAll(t, d, append(slices.Clone(big), after...))
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
	// Page 1 holds files of /a only; the next request starts past /a.
	WantOps(t, "Walk skipping a directory longer than a page", o.Take(), map[string]int{list: 2})

	// A skip inside a page costs nothing extra, and parallel walks agree.
	var (
		mu    sync.Mutex
		files []string
	)
	hint := big[from-1]
	err = d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			mu.Lock()
			files = append(files, fi.Path())
			mu.Unlock()
		}
		return nil
	}, driver.WithParallel(4), driver.WithStartAfter(hint))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	want := append(slices.Clone(big[from:]), after...)
	if !slices.Equal(files, want) {
		t.Errorf("parallel Walk after %s visits %d files (%v...), want %d", hint, len(files), Head(files), len(want))
	}
	WantOps(t, "Walk from a hint", o.Take(), map[string]int{list: 1})
}
