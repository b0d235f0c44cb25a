package gcs_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// Objects written by the SDK, outside the driver, show through the driver
// as files and directories; names that are no valid path (an empty
// component, a directory marker, a space) are left out of List and Walk,
// and Delete of a directory removes them with the rest.
func TestCrossCheckForeignObjects(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	for _, name := range []string{"/a/f", "/a/b/g", "/a//x", "/a/dir/", "/a/sp ace", "/z"} {
		m.put(root+name, []byte(name))
	}
	d := newDriver(t, testConfig(t, root, nil))

	got, err := d.GetContent(ctx, "/a/b/g")
	if err != nil || string(got) != "/a/b/g" {
		t.Errorf("GetContent(/a/b/g) = %q, %v", got, err)
	}
	fi, err := d.Stat(ctx, "/a/dir")
	if err != nil || !fi.IsDir() {
		t.Errorf("Stat(/a/dir) = %v, %v; want a directory (it holds a marker)", fi, err)
	}
	list, err := d.List(ctx, "/a")
	if want := []string{"/a/b", "/a/dir", "/a/f"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List(/a) = %v, %v; want %v", list, err, want)
	}
	var walked []string
	err = d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		walked = append(walked, driver.WalkKey(fi.Path(), fi.IsDir()))
		return nil
	})
	if want := []string{"/a/", "/a/b/", "/a/b/g", "/a/f", "/z"}; err != nil || !slices.Equal(walked, want) {
		t.Errorf("Walk(/) = %v, %v; want %v", walked, err, want)
	}
	if err := d.Delete(ctx, "/a"); err != nil {
		t.Fatalf("Delete(/a): %v", err)
	}
	if got, want := m.names(root+"/"), []string{root + "/z"}; !slices.Equal(got, want) {
		t.Errorf("the SDK lists %v after Delete(/a), want %v", got, want)
	}
}
