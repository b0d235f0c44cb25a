package swift_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// countBackend is backend() with listing pages and bulk deletes of 1,000,
// the sizes the shared count tests are written for (the cluster's are
// 10,000 each).
func countBackend() cloudtest.Backend {
	return backendWith(func(c *configT) {
		c.ListLimit = 1000
		c.DeleteBatchSize = 1000
	})
}

// New authenticates, reads /info and lists the root's SLO index (limit
// 1): three requests, then none until used.
func TestCountNew(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := cloudtest.CountingClient(nil, opName)
	d := newDriver(t, testConfig(t, root, hc))
	cloudtest.WantOps(t, "New", o.Take(), map[string]int{"Auth": 1, "Info": 1, "List": 1})
	if got := d.DeleteBatchSize(); got != 10000 {
		t.Errorf("DeleteBatchSize() = %d, want the server's max_deletes_per_request, 10000", got)
	}
}

// DeleteFiles of 10,001 paths (a few hundred of them real files, the rest
// absent) sends exactly 2 bulk deletes and nothing else; the server would
// answer 413 to one of 10,001 names. The real files are gone for an
// independent client, and the neighbours are kept.
func TestCountDeleteFiles10001(t *testing.T) {
	root := freshRoot(t)
	d, _, o := backend().Counting(t, root)
	ctx := context.Background()

	paths := cloudtest.Numbered("/d", 10001)
	var real []string
	for i := 0; i < len(paths); i += 50 {
		real = append(real, paths[i])
	}
	real = append(real, paths[len(paths)-1])
	keep := []string{"/d/keep", "/e/f00000"}
	cloudtest.PutAll(t, d, append(slices.Clone(real), keep...))
	o.Take()

	n, err := d.DeleteFiles(ctx, paths)
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles(%d paths) = %d, %v", len(paths), n, err)
	}
	cloudtest.WantOps(t, "DeleteFiles of 10,001 paths", o.Take(), map[string]int{"BulkDelete": 2})
	if got, want := newIndependent(t).keys(root+"/"), cloudtest.KeysOf(root, keep); !slices.Equal(got, want) {
		t.Errorf("swift lists %v after DeleteFiles, want %v", got, want)
	}
}

// A lower deletebatchsize splits the bulk deletes: 2,000 paths in batches
// of 1,000 are exactly 2 requests, and the files are gone for an
// independent client while their neighbours stay; then 2,500 paths (100
// of them real files) are 3.
func TestCountDeleteFilesBatchSize(t *testing.T) {
	b := countBackend()
	var root string
	fresh := b.Root
	b.Root = func(t testing.TB) string { root = fresh(t); return root }
	d, o := cloudtest.CountDeleteFiles2000(t, b, map[string]int{"BulkDelete": 2})

	paths := cloudtest.Numbered("/d", 2500)
	cloudtest.PutAll(t, d, paths[:100])
	o.Take()
	n, err := d.DeleteFiles(context.Background(), paths)
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	cloudtest.WantOps(t, "DeleteFiles of 2,500 paths in batches of 1,000", o.Take(), map[string]int{"BulkDelete": 3})
	if got, want := b.Keys(t, root+"/"), cloudtest.KeysOf(root, []string{"/a/keep", "/b/keep"}); !slices.Equal(got, want) {
		t.Errorf("swift lists %v after DeleteFiles, want %v", got, want)
	}
}

// DeleteFiles with one invalid path sends no request and deletes nothing.
func TestCountDeleteFilesInvalidPath(t *testing.T) {
	cloudtest.CountDeleteFilesInvalidPath(t, backend())
}

// With pages of 1,000, Walk over 2,500 names sends 4 listings (3 pages
// and the empty one that ends a Swift listing, see List), List of their
// parent 2; Delete of the directory holding them sends 3 listings (it
// stops at the first name past the directory) and 3 bulk deletes
// (batches of 1,000) and leaves the prefix siblings.
func TestCountWalkAndDelete2500(t *testing.T) {
	cloudtest.CountWalkAndDelete2500(t, countBackend(), cloudtest.WalkDeleteCounts{
		Walk:   map[string]int{"List": 4},
		List:   map[string]int{"List": 2},
		Delete: map[string]int{"List": 3, "BulkDelete": 3},
	})
}

// At the real page size (10,000), Walk over 2,500 names in a tree sends
// one listing and the empty one that ends it.
func TestCountWalkRealPageSize(t *testing.T) {
	root := freshRoot(t)
	d, _, o := backend().Counting(t, root)
	var files []string
	for i, dir := range []string{"/a/b/x", "/a/b/y/z", "/a/b"} {
		files = append(files, cloudtest.Numbered(dir, []int{1200, 800, 500}[i])...)
	}
	cloudtest.PutAll(t, d, files)
	o.Take()
	var walked int
	err := d.Walk(context.Background(), "/a/b", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			walked++
		}
		return nil
	})
	if err != nil || walked != len(files) {
		t.Fatalf("Walk(/a/b) = %v after %d files, want %d files", err, walked, len(files))
	}
	cloudtest.WantOps(t, "Walk over 2,500 names", o.Take(), map[string]int{"List": 2})
}

// A directory skipped with ErrSkipDir that spans pages (of 1,000) is
// jumped over with a new marker, not paged through; a start-after hint
// becomes the marker. This is cloudtest.WalkSkipJumpsAhead with Swift's
// counts: every listing ends with one empty page (see List), so the jump
// costs the full page of /a, the page past /a and the empty page (3, the
// helper's 2 + 1), and the walk from a hint its page and the empty one
// (2, the helper's 1 + 1). (The shared helper hard-codes 2 and 1.)
func TestWalkSkipJumpsAhead(t *testing.T) {
	root := freshRoot(t)
	d, _, o := countBackend().Counting(t, root)
	ctx := context.Background()
	big := cloudtest.Numbered("/a", 2500)
	after := []string{"/b/f", "/c"}
	cloudtest.PutAll(t, d, append(slices.Clone(big), after...))
	o.Take()

	var got []string
	err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		got = append(got, driver.WalkKey(fi.Path(), fi.IsDir()))
		if fi.Path() == "/a" {
			return driver.ErrSkipDir
		}
		return nil
	})
	if want := []string{"/a/", "/b/", "/b/f", "/c"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Walk skipping /a = %v, visits %v, want %v", err, got, want)
	}
	cloudtest.WantOps(t, "Walk skipping a directory longer than a page", o.Take(), map[string]int{"List": 3})

	var files []string
	err = d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			files = append(files, fi.Path())
		}
		return nil
	}, driver.WithStartAfter(big[1999]))
	if want := append(slices.Clone(big[2000:]), after...); err != nil || !slices.Equal(files, want) {
		t.Errorf("Walk after %s = %v, visits %d files, want %d", big[1999], err, len(files), len(want))
	}
	cloudtest.WantOps(t, "Walk from a hint", o.Take(), map[string]int{"List": 2})
}
