package azure_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// quirkWriterDriver returns a new driver instance (as a new process
// would build it) over root behind the Azure quirks, with 64 KiB blocks.
func quirkWriterDriver(t testing.TB, root string) driver.StorageDriver {
	t.Helper()
	cfg := testConfig(t, root, &http.Client{Transport: newQuirks(t, nil)})
	cfg.ChunkSize = 64 * kib
	return newDriver(t, cfg)
}

// TestUploadSurvivesOtherWrites: a closed, uncommitted upload survives a
// PutContent, DeleteFiles or Delete of its path on Azure (the quirks:
// Put Blob and Delete Blob discard a blob's uncommitted blocks there). A
// Writer(path, true) from another driver instance finds the whole upload
// and its Commit makes the path hold exactly the upload's bytes. Failed
// before the writer staged its blocks under a hidden blob name: the
// resume found no upload (a PathNotFoundError, or the PutContent's file
// to continue).
func TestUploadSurvivesOtherWrites(t *testing.T) {
	ctx := context.Background()
	upload := cloudtest.PatternBytes(150*kib + 11) // two full blocks and a short one at Close
	for _, tc := range []struct {
		name     string
		existing bool // a committed file is at the path before the upload
		op       func(d driver.StorageDriver) error
	}{
		{"PutContent", false, func(d driver.StorageDriver) error { return d.PutContent(ctx, "/d/f", []byte("put meanwhile")) }},
		{"PutContentOverExisting", true, func(d driver.StorageDriver) error { return d.PutContent(ctx, "/d/f", []byte("put meanwhile")) }},
		{"DeleteFiles", false, func(d driver.StorageDriver) error {
			_, err := d.DeleteFiles(ctx, []string{"/d/f"})
			return err
		}},
		{"DeleteFilesOfExisting", true, func(d driver.StorageDriver) error {
			n, err := d.DeleteFiles(ctx, []string{"/d/f"})
			if err == nil && n != 1 {
				t.Errorf("DeleteFiles = %d, want 1", n)
			}
			return err
		}},
		{"Delete", true, func(d driver.StorageDriver) error { return d.Delete(ctx, "/d/f") }},
		{"DeleteDirectory", true, func(d driver.StorageDriver) error { return d.Delete(ctx, "/d") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			d := quirkWriterDriver(t, root)
			if tc.existing {
				if err := d.PutContent(ctx, "/d/f", []byte("old file")); err != nil {
					t.Fatal(err)
				}
			}
			w := cloudtest.Session(t, d, "/d/f", false, 0, upload)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := tc.op(d); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}

			d2 := quirkWriterDriver(t, root) // another process resumes
			w, err := d2.Writer(ctx, "/d/f", true)
			if err != nil {
				t.Fatalf("Writer(append) after %s: %v", tc.name, err)
			}
			if w.Size() != int64(len(upload)) {
				t.Fatalf("Writer(append) after %s: Size() = %d, want the %d bytes of the upload", tc.name, w.Size(), len(upload))
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := d2.GetContent(ctx, "/d/f")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, upload) {
				t.Fatalf("after Commit the file holds %d bytes, want the %d of the upload", len(got), len(upload))
			}
			if got, want := newIndependent(t).names(root+"/"), []string{root + "/d/f"}; !slices.Equal(got, want) {
				t.Errorf("azblob lists %v after Commit, want %v", got, want)
			}
		})
	}
}

// TestQuirkPutBlobDropsBlocks checks the quirk transport itself: through
// it, a Put Blob discards the blob's uncommitted blocks, as on Azure, and
// stores its content.
func TestQuirkPutBlobDropsBlocks(t *testing.T) {
	ctx := context.Background()
	root := freshRoot(t)
	m := newIndependent(t)
	name := root + "/f"
	if _, err := m.c.NewBlockBlobClient(name).StageBlock(ctx, "YmxvY2s=", nopSeeker([]byte("staged")), nil); err != nil {
		t.Fatal(err)
	}
	d := quirkWriterDriver(t, root)
	if err := d.PutContent(ctx, "/f", []byte("put")); err != nil {
		t.Fatal(err)
	}
	if got := m.uncommitted(name); len(got) != 0 {
		t.Errorf("uncommitted blocks after a Put Blob through the quirks: %v, want none", got)
	}
	if got := string(m.get(name)); got != "put" {
		t.Errorf("azblob reads %q, want %q", got, "put")
	}
}
