package s3_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// DeleteFiles of 2,000 distinct paths: exactly 2 DeleteObjects requests and
// nothing else, and the keys are gone for an independent client.
func TestCountDeleteFiles2000(t *testing.T) {
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
	wantOps(t, "DeleteFiles of 2,000 paths", o.Take(), map[string]int{"DeleteObjects": 2})

	m := newIndependent(t)
	if got, want := m.keys(root+"/"), keysOf(root, keep); !slices.Equal(got, want) {
		t.Errorf("minio lists %v after DeleteFiles, want %v", got, want)
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
		t.Errorf("minio lists %v, want both files", got)
	}
}

// Walk over 2,500 keys sends 3 list requests; Delete of the directory
// holding them sends 3 ListObjectsV2 and 3 DeleteObjects and leaves the
// prefix siblings.
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
	wantOps(t, "Walk over 2,500 keys", o.Take(), map[string]int{"ListObjectsV2": 3})

	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatalf("Delete(/a/b): %v", err)
	}
	wantOps(t, "Delete of a directory of 2,500 files", o.Take(), map[string]int{"ListObjectsV2": 3, "DeleteObjects": 3})

	m := newIndependent(t)
	if got, want := m.keys(root+"/"), keysOf(root, siblings); !slices.Equal(got, want) {
		t.Errorf("minio lists %v after Delete(/a/b), want %v", got, want)
	}
}

// A directory skipped with ErrSkipDir that spans pages is jumped over with
// a new StartAfter, not paged through.
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
	// Page 1 holds 1,000 keys of /a; the next request starts past /a.
	wantOps(t, "Walk skipping a 2,500-file directory", o.Take(), map[string]int{"ListObjectsV2": 2})

	// A skip inside a page costs nothing extra, and parallel walks agree.
	var files []string
	var mu = make(chan struct{}, 1)
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
	wantOps(t, "Walk from a hint", o.Take(), map[string]int{"ListObjectsV2": 1})
}

func head(s []string) string {
	if len(s) > 3 {
		s = s[:3]
	}
	return strings.Join(s, " ")
}
