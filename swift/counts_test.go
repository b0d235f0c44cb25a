package swift_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// New authenticates and reads /info: two requests, then none until used.
func TestCountNew(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	wantOps(t, "New", o.Take(), map[string]int{"Auth": 1, "Info": 1})
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
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()

	paths := numbered("/d", 10001)
	var real []string
	for i := 0; i < len(paths); i += 50 {
		real = append(real, paths[i])
	}
	real = append(real, paths[len(paths)-1])
	keep := []string{"/d/keep", "/e/f00000"}
	putAll(t, d, append(slices.Clone(real), keep...))
	o.Take()

	n, err := d.DeleteFiles(ctx, paths)
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles(%d paths) = %d, %v", len(paths), n, err)
	}
	wantOps(t, "DeleteFiles of 10,001 paths", o.Take(), map[string]int{"BulkDelete": 2})
	if got, want := newIndependent(t).keys(root+"/"), keysOf(root, keep); !slices.Equal(got, want) {
		t.Errorf("swift lists %v after DeleteFiles, want %v", got, want)
	}
}

// A lower deletebatchsize splits the bulk deletes: 2,500 paths in batches
// of 1,000 are 3 requests.
func TestCountDeleteFilesBatchSize(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	cfg := testConfig(t, root, hc)
	cfg.DeleteBatchSize = 1000
	d := newDriver(t, cfg)
	paths := numbered("/d", 2500)
	putAll(t, d, paths[:100])
	o.Take()
	n, err := d.DeleteFiles(context.Background(), paths)
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	wantOps(t, "DeleteFiles of 2,500 paths in batches of 1,000", o.Take(), map[string]int{"BulkDelete": 3})
	if got := newIndependent(t).keys(root + "/"); len(got) != 0 {
		t.Errorf("swift lists %d names after DeleteFiles", len(got))
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
	if got := newIndependent(t).keys(root + "/"); len(got) != 2 {
		t.Errorf("swift lists %v, want both files", got)
	}
}

// Walk over 2,500 names sends one listing at the real page size and 3 with
// pages of 1,000; Delete of the directory holding them sends 3 listings
// and 3 bulk deletes (batches of 1,000) and leaves the prefix siblings.
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

	walk := func(d driver.StorageDriver) int {
		var walked int
		err := d.Walk(ctx, "/a/b", func(fi driver.FileInfo) error {
			if !fi.IsDir() {
				walked++
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Walk(/a/b): %v", err)
		}
		return walked
	}
	if n := walk(d); n != len(files) {
		t.Fatalf("Walk(/a/b) visited %d files, want %d", n, len(files))
	}
	wantOps(t, "Walk over 2,500 names", o.Take(), map[string]int{"List": 1})

	hc2, _, o2 := countingClient(nil)
	cfg := testConfig(t, root, hc2)
	cfg.ListLimit = 1000
	cfg.DeleteBatchSize = 1000
	small := newDriver(t, cfg)
	o2.Take()
	if n := walk(small); n != len(files) {
		t.Fatalf("Walk(/a/b) with pages of 1,000 visited %d files, want %d", n, len(files))
	}
	wantOps(t, "Walk over 2,500 names, pages of 1,000", o2.Take(), map[string]int{"List": 3})

	if err := small.Delete(ctx, "/a/b"); err != nil {
		t.Fatalf("Delete(/a/b): %v", err)
	}
	wantOps(t, "Delete of a directory of 2,500 files", o2.Take(), map[string]int{"List": 3, "BulkDelete": 3})
	if got, want := newIndependent(t).keys(root+"/"), keysOf(root, siblings); !slices.Equal(got, want) {
		t.Errorf("swift lists %v after Delete(/a/b), want %v", got, want)
	}
}

// A directory skipped with ErrSkipDir that spans pages is jumped over with
// a new marker, not paged through; a start-after hint becomes the marker.
func TestWalkSkipJumpsAhead(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	cfg := testConfig(t, root, hc)
	cfg.ListLimit = 1000
	d := newDriver(t, cfg)
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
	wantOps(t, "Walk skipping a 2,500-file directory", o.Take(), map[string]int{"List": 2})

	var (
		mu    sync.Mutex
		files []string
	)
	err = d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			mu.Lock()
			files = append(files, fi.Path())
			mu.Unlock()
		}
		return nil
	}, driver.WithParallel(4), driver.WithStartAfter("/a/f01999"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	want := append(slices.Clone(big[2000:]), after...)
	if !slices.Equal(files, want) {
		t.Errorf("parallel Walk after /a/f01999 visits %d files (%s...), want %d", len(files), strings.Join(files[:min(3, len(files))], " "), len(want))
	}
	wantOps(t, "Walk from a hint", o.Take(), map[string]int{"List": 1})
}
