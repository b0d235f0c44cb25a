package azure_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// DeleteFiles of 2,000 distinct paths: exactly ceil(2000/256) = 8 blob
// batch requests and nothing else, and the blobs are gone for an
// independent client. 256 paths take one batch, 257 take two.
func TestCountDeleteFiles(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()

	paths := append(numbered("/a", 1000), numbered("/b/c", 1000)...)
	keep := []string{"/a/keep", "/b/keep"}
	putAll(t, d, append(slices.Clone(paths), keep...))
	o.Take()

	n, err := d.DeleteFiles(ctx, paths)
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles(%d paths) = %d, %v", len(paths), n, err)
	}
	wantOps(t, "DeleteFiles of 2,000 paths", o.Take(), map[string]int{"SubmitBatch": 8})

	m := newIndependent(t)
	if got, want := m.names(root+"/"), namesOf(root, keep); !slices.Equal(got, want) {
		t.Errorf("azblob lists %v after DeleteFiles, want %v", got, want)
	}

	for _, tc := range []struct{ n, batches int }{{256, 1}, {257, 2}} {
		// Absent paths count as deleted: no need to create them.
		n, err := d.DeleteFiles(ctx, numbered("/absent", tc.n))
		if err != nil || n != tc.n {
			t.Fatalf("DeleteFiles(%d absent paths) = %d, %v", tc.n, n, err)
		}
		wantOps(t, "DeleteFiles of absent paths", o.Take(), map[string]int{"SubmitBatch": tc.batches})
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
		t.Errorf("azblob lists %v, want both files", got)
	}
}

// Walk over 2,500 blobs sends one list request; Delete of the directory
// holding them sends one List Blobs and ceil(2500/256) = 10 batches and
// leaves the prefix siblings.
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
	wantOps(t, "Walk over 2,500 blobs", o.Take(), map[string]int{"ListBlobs": 1})

	list, err := d.List(ctx, "/a")
	if want := []string{"/a/b", "/a/b-c", "/a/b.d", "/a/bc", "/a/c"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List(/a) = %v, %v; want %v", list, err, want)
	}
	wantOps(t, "List", o.Take(), map[string]int{"ListBlobs": 1})

	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatalf("Delete(/a/b): %v", err)
	}
	wantOps(t, "Delete of a directory of 2,500 files", o.Take(), map[string]int{"ListBlobs": 1, "SubmitBatch": 10})

	m := newIndependent(t)
	if got, want := m.names(root+"/"), namesOf(root, siblings); !slices.Equal(got, want) {
		t.Errorf("azblob lists %v after Delete(/a/b), want %v", got, want)
	}
}

// A directory skipped with ErrSkipDir that spans pages is jumped over with
// a new StartFrom, not paged through; a start-after hint goes to the server
// as StartFrom.
func TestWalkSkipJumpsAhead(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 6,000 blobs")
	}
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()

	big := numbered("/a", 6000)
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
	// Page 1 holds 5,000 blobs of /a; the next request starts past /a.
	wantOps(t, "Walk skipping a 6,000-file directory", o.Take(), map[string]int{"ListBlobs": 2})

	// A hint skips the first 5,500 files in one request, and parallel
	// walks agree.
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
	}, driver.WithParallel(4), driver.WithStartAfter("/a/f05499"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	want := append(slices.Clone(big[5500:]), after...)
	if !slices.Equal(files, want) {
		t.Errorf("parallel Walk after /a/f05499 visits %d files (%v...), want %d", len(files), head(files), len(want))
	}
	wantOps(t, "Walk from a hint", o.Take(), map[string]int{"ListBlobs": 1})
}

// Single-blob operations cost one request each; Move two; URLFor none.
func TestCountSingleOps(t *testing.T) {
	root := freshRoot(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()
	check := func(what string, err error, want map[string]int) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		wantOps(t, what, o.Take(), want)
	}
	check("PutContent", d.PutContent(ctx, "/d/f", []byte("content")), map[string]int{"PutBlob": 1})
	_, err := d.GetContent(ctx, "/d/f")
	check("GetContent", err, map[string]int{"GetBlob": 1})
	_, err = d.Stat(ctx, "/d/f")
	check("Stat of a file", err, map[string]int{"GetBlobProperties": 1})
	_, err = d.Stat(ctx, "/d")
	check("Stat of a directory", err, map[string]int{"GetBlobProperties": 1, "ListBlobs": 1})
	rc, err := d.Reader(ctx, "/d/f", 7)
	if err == nil {
		rc.Close()
	}
	check("Reader at the end", err, map[string]int{"GetBlob": 1})
	_, err = d.URLFor(ctx, "/d/f", nil)
	check("URLFor", err, map[string]int{})
	check("Move", d.Move(ctx, "/d/f", "/e/g"), map[string]int{"CopyBlob": 1, "DeleteBlob": 1})
	if got, want := newIndependent(t).names(root+"/"), []string{root + "/e/g"}; !slices.Equal(got, want) {
		t.Errorf("azblob lists %v after Move, want %v", got, want)
	}
}

func head(s []string) string {
	if len(s) > 3 {
		s = s[:3]
	}
	return strings.Join(s, " ")
}
