package cloudtest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// CrossCheckDeletes checks with b.Keys, a client that shares none of the
// driver's code, that DeleteFiles (with a duplicate, a missing file and a
// directory among its paths) and Delete of a directory and of a file, each
// with prefix siblings on both sides, leave exactly what must be left: the
// driver cannot agree with itself by mistake.
func CrossCheckDeletes(t *testing.T, b Backend) {
	t.Helper()
	root := b.Root(t)
	d := b.New(t, root, nil, Options{})
	ctx := context.Background()
	files := []string{"/a/b/c", "/a/b/d/e", "/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/r", "/q/rs", "/q/r-s", "/x/1", "/x/2", "/x/3"}
	PutAll(t, d, files)

	n, err := d.DeleteFiles(ctx, []string{"/x/1", "/x/3", "/x/3", "/x/missing", "/a"})
	if err != nil || n != 4 {
		t.Fatalf("DeleteFiles = %d, %v; want 4 (3 unique files and a missing one; /a is a directory)", n, err)
	}
	want := KeysOf(root, []string{"/a/b/c", "/a/b/d/e", "/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/r", "/q/rs", "/q/r-s", "/x/2"})
	if got := b.Keys(t, root+"/"); !slices.Equal(got, want) {
		t.Fatalf("%s lists %v after DeleteFiles, want %v", b.Name, got, want)
	}

	// A directory, then a file, each with prefix siblings on both sides.
	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "/q/r"); err != nil {
		t.Fatal(err)
	}
	want = KeysOf(root, []string{"/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/rs", "/q/r-s", "/x/2"})
	if got := b.Keys(t, root+"/"); !slices.Equal(got, want) {
		t.Fatalf("%s lists %v after Delete(/a/b) and Delete(/q/r), want %v", b.Name, got, want)
	}
	var nf *driver.PathNotFoundError
	if err := d.Delete(ctx, "/a/b"); !errors.As(err, &nf) || nf.DriverName != d.Name() {
		t.Errorf("second Delete(/a/b) = %v, want PathNotFoundError of driver %q", err, d.Name())
	}
}

// CrossCheckForeignObjects stores, with b.Put, a file /dir/file and, under
// /dir, the junk keys given: keys that are no valid path (directory
// markers, empty components, spaces, "+", escapes), each ending in /dir/
// or /dir/sub/ or a name in them. The driver reads the file, List(/dir)
// shows /dir/file and /dir/sub only, Walk(/) shows /dir and its file, and
// Delete(/dir) removes the junk with the rest.
func CrossCheckForeignObjects(t *testing.T, b Backend, junk []string) {
	t.Helper()
	root := b.Root(t)
	d := b.New(t, root, nil, Options{})
	ctx := context.Background()
	content := PatternBytes(100_000)
	b.Put(t, root+"/dir/file", content)
	for _, j := range junk {
		b.Put(t, root+j, []byte("junk"))
	}
	got, err := d.GetContent(ctx, "/dir/file")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent of a file %s wrote = %d bytes, %v", b.Name, len(got), err)
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
	if left := b.Keys(t, root+"/"); len(left) != 0 {
		t.Errorf("%s lists %q after Delete(/dir)", b.Name, left)
	}
}
