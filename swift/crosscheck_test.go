package swift_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

func isNotFound(err error) bool {
	var nf *driver.PathNotFoundError
	return errors.As(err, &nf)
}

// After DeleteFiles and Delete, an independent ncw/swift connection lists
// exactly what must be left: the driver cannot agree with itself by
// mistake.
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
	want := keysOf(root, []string{"/a/b/c", "/a/b/d/e", "/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/r", "/q/rs", "/q/r-s", "/x/2"})
	if got := m.keys(root + "/"); !slices.Equal(got, want) {
		t.Fatalf("swift lists %v after DeleteFiles, want %v", got, want)
	}
	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "/q/r"); err != nil {
		t.Fatal(err)
	}
	want = keysOf(root, []string{"/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/rs", "/q/r-s", "/x/2"})
	if got := m.keys(root + "/"); !slices.Equal(got, want) {
		t.Fatalf("swift lists %v after Delete(/a/b) and Delete(/q/r), want %v", got, want)
	}
	if err := d.Delete(ctx, "/a/b"); !isNotFound(err) {
		t.Errorf("second Delete(/a/b) = %v, want PathNotFoundError", err)
	}
}

// Objects written by another client are read, listed and walked; names
// that are not valid paths (directory markers, spaces, "+", non-ASCII) are
// left out of listings but deleted with their directory: the bulk delete
// URL-encodes them.
func TestCrossCheckForeignObjects(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d := newDriver(t, testConfig(t, root, nil))
	ctx := context.Background()
	content := patternBytes(100_000)
	m.put(root+"/dir/file", content)
	for _, junk := range []string{"/dir/", "/dir/with space", "/dir/sub/", "/dir/sub/x+y", "/dir/sub/é%20?#"} {
		m.put(root+junk, []byte("junk"))
	}
	got, err := d.GetContent(ctx, "/dir/file")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent of an ncw/swift object = %d bytes, %v", len(got), err)
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
	if left := m.keys(root + "/"); len(left) != 0 {
		t.Errorf("swift lists %q after Delete(/dir)", left)
	}
}

// Move copies server-side and deletes the source: two requests.
func TestMoveIsCopyThenDelete(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	hc, _, o := countingClient(nil)
	d := newDriver(t, testConfig(t, root, hc))
	ctx := context.Background()
	content := patternBytes(3 * mib)
	m.put(root+"/src", content)
	o.Take()
	if err := d.Move(ctx, "/src", "/a/b/dst"); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "Move", o.Take(), map[string]int{"Copy": 1, "Delete": 1})
	if got := m.get(root + "/a/b/dst"); !bytes.Equal(got, content) {
		t.Errorf("swift reads %d bytes of the copy, want %d", len(got), len(content))
	}
	if left := m.keys(root + "/"); !slices.Equal(left, []string{root + "/a/b/dst"}) {
		t.Errorf("swift lists %v after Move", left)
	}
	if err := d.Move(ctx, "/missing", "/x"); !isNotFound(err) {
		t.Errorf("Move of a missing file = %v, want PathNotFoundError", err)
	}
}
