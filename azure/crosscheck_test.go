package azure_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// After DeleteFiles and Delete, an independent azblob client lists exactly
// what must be left: the driver cannot agree with itself by mistake.
func TestCrossCheckDeletes(t *testing.T) {
	cloudtest.CrossCheckDeletes(t, backend())
}

// Blobs written by another client are read, listed and walked; names that
// are not valid paths (a trailing slash, empty components, spaces, "+")
// are left out of listings but deleted with their directory, through the
// blob batch's URL escaping.
func TestCrossCheckForeignBlobs(t *testing.T) {
	cloudtest.CrossCheckForeignObjects(t, backend(), []string{"/dir/with space", "/dir/sub/x+y", "/dir/sub//z", "/dir/sub/%41"})
}

// Move of a 9 MiB blob that another client committed from blocks: the copy
// is server-side, azblob reads it back whole, and a second Move of the
// gone source changes nothing.
func TestCrossCheckMoveBlockBlob(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d := newDriver(t, testConfig(t, root, nil))
	ctx := context.Background()
	content := cloudtest.PatternBytes(9<<20 + 3)
	bb := m.c.NewBlockBlobClient(root + "/src")
	if _, err := bb.UploadBuffer(ctx, content, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(ctx, "/src", "/dst/x"); err != nil {
		t.Fatal(err)
	}
	if got := m.get(root + "/dst/x"); !bytes.Equal(got, content) {
		t.Errorf("azblob reads %d bytes after Move, want %d", len(got), len(content))
	}
	if got, want := m.names(root+"/"), []string{root + "/dst/x"}; !slices.Equal(got, want) {
		t.Errorf("azblob lists %v after Move, want %v", got, want)
	}
	if err := d.Move(ctx, "/src", "/dst/y"); !isNotFound(err) {
		t.Errorf("Move of a missing source = %v, want PathNotFoundError", err)
	}
}
