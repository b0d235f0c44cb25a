package gcs_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// After DeleteFiles and Delete, the SDK lists exactly what must be left:
// the driver cannot agree with itself by mistake.
func TestCrossCheckDeletes(t *testing.T) {
	cloudtest.CrossCheckDeletes(t, backend())
}

// Objects written by the SDK, outside the driver, show through the driver
// as files and directories; names that are no valid path (an empty
// component, a directory marker, a space) are left out of List and Walk,
// and Delete of a directory removes them with the rest.
func TestCrossCheckForeignObjects(t *testing.T) {
	cloudtest.CrossCheckForeignObjects(t, backend(), []string{"/dir/", "/dir//x", "/dir/sp ace", "/dir/sub/"})
}

// A directory that holds nothing but a marker object the SDK wrote
// ("dir/") is a directory for Stat and List; Delete of its parent removes
// it and leaves the parent's siblings.
func TestCrossCheckMarkerDirectory(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	for _, name := range []string{"/a/f", "/a/dir/", "/z"} {
		m.put(root+name, []byte(name))
	}
	d := newDriver(t, testConfig(t, root, nil))

	fi, err := d.Stat(ctx, "/a/dir")
	if err != nil || !fi.IsDir() {
		t.Errorf("Stat(/a/dir) = %v, %v; want a directory (it holds a marker)", fi, err)
	}
	list, err := d.List(ctx, "/a")
	if want := []string{"/a/dir", "/a/f"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List(/a) = %v, %v; want %v", list, err, want)
	}
	if err := d.Delete(ctx, "/a"); err != nil {
		t.Fatalf("Delete(/a): %v", err)
	}
	if got, want := m.names(root+"/"), []string{root + "/z"}; !slices.Equal(got, want) {
		t.Errorf("the SDK lists %v after Delete(/a), want %v", got, want)
	}
}
