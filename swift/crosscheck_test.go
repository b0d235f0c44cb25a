package swift_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// After DeleteFiles and Delete, an independent ncw/swift connection lists
// exactly what must be left: the driver cannot agree with itself by
// mistake.
func TestCrossCheckDeletes(t *testing.T) {
	cloudtest.CrossCheckDeletes(t, backend())
}

// Objects written by another client are read, listed and walked; names
// that are not valid paths (directory markers, spaces, "+", non-ASCII) are
// left out of listings but deleted with their directory: the bulk delete
// URL-encodes them.
func TestCrossCheckForeignObjects(t *testing.T) {
	cloudtest.CrossCheckForeignObjects(t, backend(), []string{"/dir/", "/dir/with space", "/dir/sub/", "/dir/sub/x+y", "/dir/sub/é%20?#"})
}

// Move copies server-side and deletes the source: two requests.
func TestMoveIsCopyThenDelete(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d, _, o := backend().Counting(t, root)
	ctx := context.Background()
	content := cloudtest.PatternBytes(3 * mib)
	m.put(root+"/src", content)
	o.Take()
	if err := d.Move(ctx, "/src", "/a/b/dst"); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Move", o.Take(), map[string]int{"Copy": 1, "Delete": 1})
	if got := m.get(root + "/a/b/dst"); !bytes.Equal(got, content) {
		t.Errorf("swift reads %d bytes of the copy, want %d", len(got), len(content))
	}
	if left := m.keys(root + "/"); !slices.Equal(left, []string{root + "/a/b/dst"}) {
		t.Errorf("swift lists %v after Move", left)
	}
	if err := d.Move(ctx, "/missing", "/x"); !driver.IsNotFound(err) {
		t.Errorf("Move of a missing file = %v, want PathNotFoundError", err)
	}
}
